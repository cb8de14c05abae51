"""Reported unapplied amounts (payment.unapplied) and each document's QBO partner.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "payment_poller"

# Frozen DDL of adapters/tables.py as of this revision (a test compares the two).
STATEMENTS = [
    """CREATE TABLE {s}.reported_credits (
        tenant_id TEXT NOT NULL,
        payment_id TEXT NOT NULL,
        amount NUMERIC NOT NULL,
        payment_version TEXT NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (tenant_id, payment_id)
    )""",
    "ALTER TABLE {s}.documents ADD COLUMN partner_qbo_id TEXT",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement.format(s=f'"{SCHEMA}"'))


def downgrade() -> None:
    op.drop_column("documents", "partner_qbo_id", schema=SCHEMA)
    op.drop_table("reported_credits", schema=SCHEMA)
