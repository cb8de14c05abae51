"""Transactional outbox: events are written with the state change and relayed after commit."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import encode, exchange_of
from qbsync_common.tables import PlumbingTables
from qbsync_common.telemetry import inject_headers


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a schema's relay at commit."""
    return f"{schema}_outbox"


class Outbox:
    """Writes events into the current transaction; nothing reaches the broker unless it commits."""

    def __init__(self, tables: PlumbingTables) -> None:
        self._table = tables.outbox
        self._channel = notify_channel(tables.schema)

    async def enqueue(
        self, session: AsyncSession, envelope: Envelope, *, exchange: str | None = None
    ) -> None:
        """`exchange` defaults to the one the contract assigns the event's type."""
        headers = inject_headers({})
        if envelope.traceparent is None and "traceparent" in headers:
            envelope = envelope.model_copy(update={"traceparent": headers["traceparent"]})
        headers["tenantid"] = envelope.tenantid
        await session.execute(
            self._table.insert().values(
                event_id=envelope.id,
                exchange=exchange or exchange_of(envelope.type),
                routing_key=envelope.type,
                body=encode(envelope),
                headers=headers,
            )
        )
        # Delivered by PostgreSQL only if and when this transaction commits.
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": self._channel})
