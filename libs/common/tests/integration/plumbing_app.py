"""A minimal service on the real plumbing: the subject of the plumbing tests, in-process or as a process.

Its handler records one `effects` row per event and emits a result through the outbox. The partner's
name steers it: "flaky-N" fails transiently on its first N attempts, "poison" fails permanently,
"slow" takes half a second, "crash" kills the process (a crash-looping poison message).
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Identity, Integer, MetaData, Table, Text, func

from qbsync_common import assembly
from qbsync_common.contract import events
from qbsync_common.contract.registry import new_event
from qbsync_common.messaging.consumer import Delivery
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


def build(settings: ServiceSettings, schema: str, queue: str) -> ServiceRuntime:
    metadata, effects, attempts = tables(schema)
    parts = assembly.plumbing(settings, metadata)

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
            result = events.PartnerSynced(
                kind=data.kind,
                partner_id=data.partner_id,
                version=data.version,
                sync_key=f"qbo-{data.partner_id}",
                sync_token="0",
                adopted=False,
                operation_id=delivery.envelope.id,
            )
            await parts.outbox.enqueue(
                session,
                new_event(result, tenant_id=delivery.envelope.tenantid, source="plumbing-test"),
            )

    spec = ConsumerSpec(queue=queue, bindings=[], retry_delays_ms=settings.retry_delays_ms)
    return assembly.runtime(settings, parts, [(spec, {PARTNER_UPSERTED: handle})])


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
    runtime = build(settings, os.environ["QBSYNC_TEST_SCHEMA"], os.environ["QBSYNC_TEST_QUEUE"])
    runtime.install_signal_handlers()
    await runtime.run()


if __name__ == "__main__":
    asyncio.run(_main())
