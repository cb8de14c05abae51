"""partner-sync's own tables: partner state, its history, the automatch review queue and the
tenants' backfill jobs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class PartnerTables:
    partners: Table
    history: Table
    proposals: Table
    backfill_jobs: Table


def partner_tables(metadata: MetaData) -> PartnerTables:
    partners = Table(
        "partners",
        metadata,
        Column("tenant_id", Text, primary_key=True),
        # client, vendor, or project (a QBO sub-customer of its client).
        Column("kind", Text, primary_key=True),
        Column("partner_id", Text, primary_key=True),
        # The newest snapshot received: sync commands and deactivations carry none of their own.
        Column("snapshot", JSONB, nullable=True),
        Column("version", BigInteger, nullable=False),
        Column("synced_version", BigInteger, nullable=True),
        Column("sync_key", Text, nullable=True),
        Column("sync_token", Text, nullable=True),
        Column("qbo_name", Text, nullable=True),
        Column("currency", Text, nullable=True),
        # Bumped whenever the key is dropped, so a re-create gets a new requestid.
        Column("key_generation", Integer, nullable=False, server_default="0"),
        Column("status", Text, nullable=False),  # pending | synced | failed | skipped
        Column("reason", Text, nullable=True),
        Column("message", Text, nullable=True),
        # Set while the partner waits for the tenant to reconnect QuickBooks.
        Column("waiting", Text, nullable=True),
        Column("parent_id", Text, nullable=True),  # a project's client
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Index("ix_partners_status", partners.c.tenant_id, partners.c.status)
    Index("ix_partners_key", partners.c.tenant_id, partners.c.kind, partners.c.sync_key)
    Index(
        "ix_partners_waiting",
        partners.c.tenant_id,
        postgresql_where=partners.c.waiting.isnot(None),
    )
    history = Table(
        "partner_history",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("tenant_id", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("partner_id", Text, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("event_id", Text, nullable=True),
        Column("event_type", Text, nullable=True),
        Column("operation_id", Text, nullable=False),
        Column("version", BigInteger, nullable=True),
        # created | adopted | updated | deactivated | unchanged | key-dropped | linked |
        # unlinked | failed | skipped
        Column("action", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("reason", Text, nullable=True),
        Column("message", Text, nullable=True),
        Column("request_id", Text, nullable=True),
        Column("intuit_tid", Text, nullable=True),
        Column("qbo_id", Text, nullable=True),
        Column("sync_token", Text, nullable=True),
    )
    Index("ix_history_partner", history.c.tenant_id, history.c.kind, history.c.partner_id)
    proposals = Table(
        "automatch_proposals",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("tenant_id", Text, nullable=False),
        Column("kind", Text, nullable=False),
        Column("partner_id", Text, nullable=False),
        Column("qbo_id", Text, nullable=False),
        Column("qbo_name", Text, nullable=False),
        Column("score", Float, nullable=False),
        Column("evidence", JSONB, nullable=False),
        Column("state", Text, nullable=False),  # proposed | accepted | rejected | auto-applied
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("decided_at", DateTime(timezone=True), nullable=True),
        UniqueConstraint("tenant_id", "kind", "partner_id", "qbo_id", name="uq_proposal"),
    )
    backfill_jobs = Table(
        "backfill_jobs",
        metadata,
        # One job per tenant: a new one replaces a finished one.
        Column("tenant_id", Text, primary_key=True),
        Column("state", Text, nullable=False),  # running | done | failed
        # The last partner (in kind, id order) of the chunks committed without a gap: a resumed
        # job starts after it. Chunks past it that committed are no longer unsynced.
        Column("cursor_kind", Text, nullable=True),
        Column("cursor_id", Text, nullable=True),
        Column("batched", BigInteger, nullable=False, server_default="0"),
        Column("handed_over", BigInteger, nullable=False, server_default="0"),
        Column("batch_calls", BigInteger, nullable=False, server_default="0"),
        Column("error", Text, nullable=True),
        # The replica working on it while its lease lasts; an expired lease is free to claim.
        Column("owner", Text, nullable=True),
        Column("lease_until", DateTime(timezone=True), nullable=True),
        Column("takeovers", Integer, nullable=False, server_default="0"),
        Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("finished_at", DateTime(timezone=True), nullable=True),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Index(
        "ix_backfill_jobs_running",
        backfill_jobs.c.lease_until,
        postgresql_where=backfill_jobs.c.state == "running",
    )
    return PartnerTables(
        partners=partners, history=history, proposals=proposals, backfill_jobs=backfill_jobs
    )
