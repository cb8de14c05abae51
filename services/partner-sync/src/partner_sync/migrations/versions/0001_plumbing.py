"""Inbox and outbox tables.

Revision ID: 0001
Revises:
"""

from qbsync_common.migrations import create_plumbing, drop_plumbing

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "partner_sync"


def upgrade() -> None:
    create_plumbing(SCHEMA)


def downgrade() -> None:
    drop_plumbing(SCHEMA)
