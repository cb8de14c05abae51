"""A minimal service on the real plumbing: the subject of the plumbing tests, in-process or as a process.

Its handler records one `effects` row per event and emits a result through the outbox. The partner's
name steers it: "flaky-N" fails transiently on its first N attempts, "poison" fails permanently,
"slow" takes half a second, "crash" kills the process (a crash-looping poison message).
`batched=True` (QBSYNC_TEST_BATCHED=1) registers the same behaviour as a `Batched` handler.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Identity, Integer, MetaData, Table, Text, func
from sqlalchemy.ext.asyncio import AsyncSession

from qbsync_common import assembly
from qbsync_common.contract import events
from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import new_event
from qbsync_common.messaging.batch import Batched, Event
from qbsync_common.messaging.consumer import Delivery, Handler
from qbsync_common.messaging.errors import PermanentError, TransientError
from qbsync_common.messaging.topology import ConsumerSpec
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.settings import ServiceSettings

PARTNER_UPSERTED = "qbsync.partner.upserted.v1"


def tables(schema: str) -> tuple[MetaData, Table, Table]:
    metadata = MetaData(schema=schema)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, Identity(), primary_key=True),
        Column("event_id", Text, nullable=False),
        Column("tenant_id", Text, nullable=False),
        Column("name", Text, nullable=False),
    )
    attempts = Table(
        "attempts",
        metadata,
        Column("id", Integer, Identity(), primary_key=True),
        Column("event_id", Text, nullable=False),
        Column("attempt", Integer, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return metadata, effects, attempts


def build(
    settings: ServiceSettings,
    schema: str,
    queue: str,
    *,
    batched: bool = False,
    bindings: Sequence[tuple[str, str]] = (),
) -> ServiceRuntime:
    """Tests publish to the queue through the default exchange unless `bindings` (exchange,
    routing key) route contract events to it, as a service's bindings do."""
    metadata, effects, attempts = tables(schema)
    parts = assembly.plumbing(settings, metadata)

    def synced(data: events.PartnerUpserted, event_id: str, tenant_id: str) -> Envelope:
        result = events.PartnerSynced(
            kind=data.kind,
            partner_id=data.partner_id,
            version=data.version,
            sync_key=f"qbo-{data.partner_id}",
            sync_token="0",
            adopted=False,
            operation_id=event_id,
        )
        return new_event(result, tenant_id=tenant_id, source="plumbing-test")

    async def handle_many(batch: Sequence[Event], session: AsyncSession) -> None:
        # The batched variant: same behaviours, but nothing outside the batch's transaction
        # (a batch that fails leaves no trace; its events are then handled one by one).
        for event in batch:
            data = event.data
            assert isinstance(data, events.PartnerUpserted)
            if data.name.startswith("flaky-") and event.attempt <= int(data.name.split("-")[1]):
                raise TransientError(f"flaky attempt {event.attempt}")
            if data.name == "poison":
                raise PermanentError("poison-pill", "this partner can never be synced")
            if data.name == "crash":
                os.kill(os.getpid(), signal.SIGKILL)
        await session.execute(
            effects.insert(),
            [
                {
                    "event_id": e.envelope.id,
                    "tenant_id": e.envelope.tenantid,
                    "name": getattr(e.data, "name", ""),
                }
                for e in batch
            ],
        )
        await parts.outbox.enqueue_many(
            session,
            [
                synced(e.data, e.envelope.id, e.envelope.tenantid)
                for e in batch
                if isinstance(e.data, events.PartnerUpserted)
            ],
        )

    async def handle(delivery: Delivery) -> None:
        data = delivery.data
        assert isinstance(data, events.PartnerUpserted)
        async with parts.sessions() as session, session.begin():
            await session.execute(
                attempts.insert().values(event_id=delivery.envelope.id, attempt=delivery.attempt)
            )
        name = data.name
        if name.startswith("flaky-") and delivery.attempt <= int(name.split("-")[1]):
            raise TransientError(f"flaky attempt {delivery.attempt}")
        if name == "poison":
            raise PermanentError("poison-pill", "this partner can never be synced")
        if name == "slow":
            await asyncio.sleep(0.5)
        if name == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        async with delivery.transaction() as session:
            await session.execute(
                effects.insert().values(
                    event_id=delivery.envelope.id, tenant_id=delivery.envelope.tenantid, name=name
                )
            )
            await parts.outbox.enqueue(
                session, synced(data, delivery.envelope.id, delivery.envelope.tenantid)
            )

    spec = ConsumerSpec(queue=queue, bindings=bindings, retry_delays_ms=settings.retry_delays_ms)
    handler: Handler | Batched = Batched(handle_many) if batched else handle
    return assembly.runtime(settings, parts, [(spec, {PARTNER_UPSERTED: handler})])


def partner_event(tenant_id: str, partner_id: str, name: str, *, version: int = 1) -> bytes:
    from qbsync_common.contract.registry import encode

    data = events.PartnerUpserted(
        kind="client",
        partner_id=partner_id,
        version=version,
        name=name,
        currency="USD",
        active=True,
    )
    return encode(
        new_event(data, tenant_id=tenant_id, source="plumbing-test", time=datetime.now(UTC))
    )


async def _main() -> None:
    from qbsync_common.logs import configure_logging

    settings = ServiceSettings(service_name=os.environ["QBSYNC_TEST_QUEUE"])
    configure_logging(settings)
    runtime = build(
        settings,
        os.environ["QBSYNC_TEST_SCHEMA"],
        os.environ["QBSYNC_TEST_QUEUE"],
        batched=os.environ.get("QBSYNC_TEST_BATCHED") == "1",
    )
    runtime.install_signal_handlers()
    await runtime.run()


if __name__ == "__main__":
    asyncio.run(_main())
