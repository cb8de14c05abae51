"""Composition root of payment-poller: the only place concrete adapters are chosen."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from qbsync_common import assembly
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, RESULTS_EXCHANGE, ConsumerSpec
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for

from payment_poller.config import Settings

SCHEMA = "payment_poller"
METADATA = MetaData(schema=SCHEMA)
CONSUMER = ConsumerSpec(
    queue="payment-poller",
    bindings=[(RESULTS_EXCHANGE, "qbsync.document.synced.v1"), (EVENTS_EXCHANGE, "qbsync.qbo.entities_changed.v1")],
)


async def build(settings: Settings) -> BuiltService:
    parts = assembly.plumbing(settings, METADATA)
    # No handlers yet: every event this queue receives is parked with reason "not-implemented"
    # until the service's issue gives it real ones (see the README's status table).
    runtime = assembly.runtime(
        settings,
        parts,
        [(ConsumerSpec(CONSUMER.queue, CONSUMER.bindings, settings.retry_delays_ms), {})],
    )
    return BuiltService(runtime=runtime, http=ops_app_for(runtime, "qbsync payment-poller"))


DEFINITION = ServiceDefinition(
    name="payment-poller",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
