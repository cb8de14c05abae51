"""Inbox and outbox tables that every service keeps in its own schema."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class PlumbingTables:
    inbox: Table
    outbox: Table
    held: Table

    @property
    def schema(self) -> str:
        assert self.inbox.schema is not None
        return self.inbox.schema


def plumbing_tables(metadata: MetaData) -> PlumbingTables:
    """Define inbox and outbox in `metadata`'s schema (the service's own); idempotent."""
    key = f"{metadata.schema}.inbox" if metadata.schema else "inbox"
    if key in metadata.tables:
        prefix = f"{metadata.schema}." if metadata.schema else ""
        return PlumbingTables(
            metadata.tables[key],
            metadata.tables[f"{prefix}outbox"],
            metadata.tables[f"{prefix}held"],
        )
    inbox = Table(
        "inbox",
        metadata,
        # One row per (consumer, event id): the primary key is what makes a redelivery a no-op.
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id", name="inbox_pkey"),
    )
    outbox = Table(
        "outbox",
        metadata,
        # `seq` orders the single relay's reads; it is never used as a high-water mark (a row whose
        # transaction commits late would be skipped), rows are deleted once the broker confirmed them.
        Column("seq", BigInteger, Identity(), primary_key=True),
        Column("event_id", Text, nullable=False, unique=True),
        Column("exchange", Text, nullable=False),
        Column("routing_key", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column(
            "next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()
        ),
        Column("last_error", Text, nullable=True),
    )
    held = Table(
        "held",
        metadata,
        # Events of a tenant that had its share of the consumer in hand (messaging/fairness.py),
        # set aside in arrival order until the tenant has room again.
        Column("seq", BigInteger, Identity(), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("tenant_id", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("held_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # A redelivery of an event already held is not held twice.
        UniqueConstraint("consumer", "event_id", name="held_consumer_event_id_key"),
        Index("held_by_tenant", "consumer", "tenant_id", "seq"),
    )
    return PlumbingTables(inbox=inbox, outbox=outbox, held=held)
