"""The poller's own tables: schedule, synced documents, reported applications, dedupe, runs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)


@dataclass(frozen=True)
class PollerTables:
    schedule: Table
    documents: Table
    reported: Table
    published: Table
    runs: Table
    credits: Table
    marked_paid: Table

    def all(self) -> list[Table]:
        return [
            self.schedule,
            self.documents,
            self.reported,
            self.published,
            self.runs,
            self.credits,
            self.marked_paid,
        ]


def poller_tables(metadata: MetaData) -> PollerTables:
    """Define the poller's tables in `metadata`'s schema."""
    now = func.now()
    schedule = Table(
        "poll_schedule",
        metadata,
        Column("tenant_id", Text, primary_key=True),
        Column("realm_id", Text, nullable=True),
        # connected | needs_reauthorization | disconnected: only connected tenants are polled.
        Column("state", Text, nullable=False, server_default="connected"),
        Column("interval_s", Integer, nullable=False),
        Column("settings_version", BigInteger, nullable=False, server_default="-1"),
        Column("next_poll_at", DateTime(timezone=True), nullable=False, server_default=now),
        Column("pending_trigger", Text, nullable=False, server_default="schedule"),
        # Everything changed before `cursor` has been turned into outbox rows.
        Column("cursor", DateTime(timezone=True), nullable=True),
        # A claim is a lease with a fencing token: a crashed replica's claim lapses at
        # claim_expires_at, and a late commit with a stale token is refused.
        Column("claim_token", Text, nullable=True),
        Column("claimed_by", Text, nullable=True),
        Column("claim_expires_at", DateTime(timezone=True), nullable=True),
        Column("last_success_at", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
    )
    Index(
        "poll_schedule_due",
        schedule.c.next_poll_at,
        postgresql_where=schedule.c.state == "connected",
    )
    documents = Table(
        "documents",
        metadata,
        Column("tenant_id", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("document_id", Text, nullable=False),
        Column("version", BigInteger, nullable=False),
        Column("qbo_id", Text, nullable=False),
        Column("doc_number", Text, nullable=True),
        Column("total", Numeric, nullable=False),
        Column("balance", Numeric, nullable=False),
        Column("currency", Text, nullable=False),
        # CustomerRef/VendorRef as last seen in QBO: recovery by number must match it too.
        Column("partner_qbo_id", Text, nullable=True),
        # synced | missing (gone from QBO, recreation requested)
        Column("status", Text, nullable=False, server_default="synced"),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=now),
        PrimaryKeyConstraint("tenant_id", "kind", "document_id"),
    )
    Index("documents_by_qbo_id", documents.c.tenant_id, documents.c.kind, documents.c.qbo_id)
    reported = Table(
        "reported_applications",
        metadata,
        Column("tenant_id", Text, nullable=False),
        Column("payment_kind", Text, nullable=False),
        Column("payment_id", Text, nullable=False),
        Column("doc_kind", Text, nullable=False),
        Column("document_id", Text, nullable=False),
        Column("source_id", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("amount", Numeric, nullable=False),
        Column("txn_date", Date, nullable=True),
        Column("method", Text, nullable=True),
        Column("reference", Text, nullable=True),
        Column("active", Boolean, nullable=False),
        Column("payment_version", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=now),
        PrimaryKeyConstraint(
            "tenant_id", "payment_kind", "payment_id", "doc_kind", "document_id", "source_id"
        ),
    )
    credits = Table(
        "reported_credits",
        metadata,
        Column("tenant_id", Text, nullable=False),
        Column("payment_id", Text, nullable=False),
        # The unapplied amount last published for the payment (payment.unapplied).
        Column("amount", Numeric, nullable=False),
        Column("payment_version", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=now),
        PrimaryKeyConstraint("tenant_id", "payment_id"),
    )
    # Documents an operator marked paid in invoice-sync (document.marked_paid): their payments
    # are not reported. Apart from `documents` because the mark may come before the document is
    # in QBO, and its rows need a QBO key.
    marked_paid = Table(
        "marked_paid",
        metadata,
        Column("tenant_id", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("document_id", Text, nullable=False),
        Column("sync_key", Text, nullable=True),
        Column("marked_at", DateTime(timezone=True), nullable=False),
        Column("operation_id", Text, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=now),
        PrimaryKeyConstraint("tenant_id", "kind", "document_id"),
    )
    published = Table(
        "published_changes",
        metadata,
        Column("tenant_id", Text, nullable=False),
        # payment kind:id:version:document kind:id:source — one event per change, ever.
        Column("dedupe_key", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=now),
        PrimaryKeyConstraint("tenant_id", "dedupe_key"),
    )
    runs = Table(
        "poll_runs",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("tenant_id", Text, nullable=False),
        Column("trigger", Text, nullable=False),
        Column("replica", Text, nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=False, server_default=now),
        Column("finished_at", DateTime(timezone=True), nullable=True),
        Column("window_from", DateTime(timezone=True), nullable=True),
        Column("window_to", DateTime(timezone=True), nullable=True),
        Column("mode", Text, nullable=True),
        Column("payments_seen", Integer, nullable=False, server_default="0"),
        Column("events_published", Integer, nullable=False, server_default="0"),
        Column("errors", Integer, nullable=False, server_default="0"),
        # running | ok | error | claim-lost | needs-reauthorization
        Column("outcome", Text, nullable=False, server_default="running"),
        Column("error", Text, nullable=True),
    )
    Index("poll_runs_by_tenant", runs.c.tenant_id, runs.c.started_at.desc())
    return PollerTables(schedule, documents, reported, published, runs, credits, marked_paid)
