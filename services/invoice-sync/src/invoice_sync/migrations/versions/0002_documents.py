"""Documents, their history, partner keys, waiting documents, payments and named QBO refs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "invoice_sync"


def _updated() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("document_kind", sa.Text, primary_key=True),
        sa.Column("document_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("number", sa.Text),
        sa.Column("partner_kind", sa.Text, nullable=False),
        sa.Column("partner_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason_code", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("operation_id", sa.Text),
        sa.Column("request_id", sa.Text),
        sa.Column("intuit_tid", sa.Text),
        sa.Column("sync_key", sa.Text),
        sa.Column("sync_token", sa.Text),
        sa.Column("doc_number", sa.Text),
        sa.Column("expected_total", sa.Numeric),
        sa.Column("qbo_total", sa.Numeric),
        sa.Column("qbo_balance", sa.Numeric),
        sa.Column("currency", sa.Text),
        sa.Column("adopted", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("marked_paid", sa.Boolean, nullable=False, server_default="false"),
        _updated(),
        schema=SCHEMA,
    )
    op.create_index(
        "documents_by_status", "documents", ["tenant_id", "status"], schema=SCHEMA
    )
    op.create_table(
        "document_history",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.Text, nullable=False, index=True),
        sa.Column("document_kind", sa.Text, nullable=False),
        sa.Column("document_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("reason_code", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("operation_id", sa.Text),
        sa.Column("request_id", sa.Text),
        sa.Column("intuit_tid", sa.Text),
        sa.Column("sync_key", sa.Text),
        sa.Column("sync_token", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "partner_keys",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("partner_id", sa.Text, primary_key=True),
        sa.Column("sync_key", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _updated(),
        schema=SCHEMA,
    )
    op.create_table(
        "waiting_documents",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("partner_kind", sa.Text, primary_key=True),
        sa.Column("partner_id", sa.Text, primary_key=True),
        sa.Column("document_kind", sa.Text, primary_key=True),
        sa.Column("document_id", sa.Text, primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )
    op.create_table(
        "payments",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("payment_id", sa.Text, primary_key=True),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.Column("invoice_kind", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason_code", sa.Text),
        sa.Column("message", sa.Text),
        sa.Column("snapshot", JSONB, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("operation_id", sa.Text),
        sa.Column("sync_key", sa.Text),
        sa.Column("sync_token", sa.Text),
        _updated(),
        schema=SCHEMA,
    )
    op.create_table(
        "named_refs",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("entity", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("qbo_id", sa.Text, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("named_refs", "payments", "waiting_documents", "partner_keys"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_table("document_history", schema=SCHEMA)
    op.drop_index("documents_by_status", table_name="documents", schema=SCHEMA)
    op.drop_table("documents", schema=SCHEMA)
