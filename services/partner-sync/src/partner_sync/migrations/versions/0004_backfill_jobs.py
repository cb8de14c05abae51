"""Backfill jobs: a tenant's bulk sync and its progress, claimed by one replica under a lease.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from sqlalchemy import BigInteger, Column, DateTime, Integer, Text, func, text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "partner_sync"


def upgrade() -> None:
    # Spelled out rather than taken from adapters/tables.py, so a later change to the table
    # definition cannot change what this revision creates.
    op.create_table(
        "backfill_jobs",
        Column("tenant_id", Text, primary_key=True),
        Column("state", Text, nullable=False),
        Column("cursor_kind", Text, nullable=True),
        Column("cursor_id", Text, nullable=True),
        Column("batched", BigInteger, nullable=False, server_default="0"),
        Column("handed_over", BigInteger, nullable=False, server_default="0"),
        Column("batch_calls", BigInteger, nullable=False, server_default="0"),
        Column("error", Text, nullable=True),
        Column("owner", Text, nullable=True),
        Column("lease_until", DateTime(timezone=True), nullable=True),
        Column("takeovers", Integer, nullable=False, server_default="0"),
        Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("finished_at", DateTime(timezone=True), nullable=True),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_backfill_jobs_running",
        "backfill_jobs",
        ["lease_until"],
        schema=SCHEMA,
        postgresql_where=text("state = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("ix_backfill_jobs_running", table_name="backfill_jobs", schema=SCHEMA)
    op.drop_table("backfill_jobs", schema=SCHEMA)
