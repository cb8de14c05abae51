"""The held table: events set aside while their tenant has its share of a consumer in hand.

Revision ID: 0004
Revises: 0003
"""

from qbsync_common.migrations import create_held, drop_held

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "oauth_gateway"


def upgrade() -> None:
    create_held(SCHEMA)


def downgrade() -> None:
    drop_held(SCHEMA)
