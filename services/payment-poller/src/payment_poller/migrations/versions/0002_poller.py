"""Poller tables: schedule, documents, reported applications, published changes, runs.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from sqlalchemy import MetaData

from payment_poller.adapters.tables import poller_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "payment_poller"


def upgrade() -> None:
    # The table definitions are the single source; this revision creates them as of today.
    metadata = MetaData(schema=SCHEMA)
    poller_tables(metadata)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    for name in ("poll_runs", "published_changes", "reported_applications", "documents", "poll_schedule"):
        op.drop_table(name, schema=SCHEMA)
