"""The held table: events set aside while their tenant has its share of a consumer in hand.

Revision ID: 0003
Revises: 0002
"""

from qbsync_common.migrations import create_held, drop_held

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "partner_sync"


def upgrade() -> None:
    create_held(SCHEMA)


def downgrade() -> None:
    drop_held(SCHEMA)
