"""invoice-sync's own tables (beside the plumbing's inbox and outbox) in schema invoice_sync."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "invoice_sync"
METADATA = MetaData(schema=SCHEMA)


def _updated() -> Column[object]:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


documents = Table(
    "documents",
    METADATA,
    Column("tenant_id", Text, primary_key=True),
    Column("document_kind", Text, primary_key=True),
    Column("document_id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("number", Text),
    Column("partner_kind", Text, nullable=False),
    Column("partner_id", Text, nullable=False),
    # waiting_partner, creating, synced, needs_review, failed, skipped
    Column("status", Text, nullable=False),
    Column("reason_code", Text),
    Column("message", Text),
    # The upstream event (type + data) the document was last seen in: resumed work rebuilds from it.
    Column("event_type", Text, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("generation", Integer, nullable=False, server_default="0"),
    Column("operation_id", Text),
    Column("request_id", Text),
    Column("intuit_tid", Text),
    Column("sync_key", Text),
    Column("sync_token", Text),
    Column("doc_number", Text),
    Column("expected_total", Numeric),
    Column("qbo_total", Numeric),
    Column("qbo_balance", Numeric),
    Column("currency", Text),
    Column("adopted", Boolean, nullable=False, server_default="false"),
    Column("marked_paid", Boolean, nullable=False, server_default="false"),
    _updated(),
)
Index("documents_by_status", documents.c.tenant_id, documents.c.status)

document_history = Table(
    "document_history",
    METADATA,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", Text, nullable=False, index=True),
    Column("document_kind", Text, nullable=False),
    Column("document_id", Text, nullable=False),
    Column("event_id", Text),
    Column("outcome", Text, nullable=False),
    Column("reason_code", Text),
    Column("message", Text),
    Column("operation_id", Text),
    Column("request_id", Text),
    Column("intuit_tid", Text),
    Column("sync_key", Text),
    Column("sync_token", Text),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

partner_keys = Table(
    "partner_keys",
    METADATA,
    Column("tenant_id", Text, primary_key=True),
    # client, vendor or project (a project's key is its QBO sub-customer)
    Column("kind", Text, primary_key=True),
    Column("partner_id", Text, primary_key=True),
    Column("sync_key", Text, nullable=False),
    Column("version", Integer, nullable=False),
    _updated(),
)

waiting_documents = Table(
    "waiting_documents",
    METADATA,
    Column("tenant_id", Text, primary_key=True),
    Column("partner_kind", Text, primary_key=True),
    Column("partner_id", Text, primary_key=True),
    Column("document_kind", Text, primary_key=True),
    Column("document_id", Text, primary_key=True),
    Column("since", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

payments = Table(
    "payments",
    METADATA,
    Column("tenant_id", Text, primary_key=True),
    Column("payment_id", Text, primary_key=True),
    Column("invoice_id", Text, nullable=False),
    Column("invoice_kind", Text, nullable=False),
    Column("version", Integer, nullable=False),
    # waiting_invoice, exported, failed, not_exported, unsynced
    Column("status", Text, nullable=False),
    Column("reason_code", Text),
    Column("message", Text),
    Column("snapshot", JSONB, nullable=False),
    Column("generation", Integer, nullable=False, server_default="0"),
    Column("operation_id", Text),
    Column("sync_key", Text),
    Column("sync_token", Text),
    _updated(),
)

named_refs = Table(
    "named_refs",
    METADATA,
    Column("tenant_id", Text, primary_key=True),
    Column("entity", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("qbo_id", Text, nullable=False),
)
