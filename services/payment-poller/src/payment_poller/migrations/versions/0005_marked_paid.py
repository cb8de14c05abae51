"""Documents an operator marked paid in invoice-sync: their payments are not reported.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "payment_poller"

# Frozen DDL of adapters/tables.py as of this revision (a test compares the two).
STATEMENTS = [
    """CREATE TABLE {s}.marked_paid (
        tenant_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        document_id TEXT NOT NULL,
        sync_key TEXT,
        marked_at TIMESTAMP WITH TIME ZONE NOT NULL,
        operation_id TEXT NOT NULL,
        recorded_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (tenant_id, kind, document_id)
    )""",
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement.format(s=f'"{SCHEMA}"'))


def downgrade() -> None:
    op.drop_table("marked_paid", schema=SCHEMA)
