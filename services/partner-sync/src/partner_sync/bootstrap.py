"""Composition root of partner-sync: the only place concrete adapters are chosen."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from partner_sync.config import Settings
from qbsync_common import assembly
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, ConsumerSpec
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for

SCHEMA = "partner_sync"
METADATA = MetaData(schema=SCHEMA)
CONSUMER = ConsumerSpec(
    queue="partner-sync",
    bindings=[(EVENTS_EXCHANGE, "qbsync.partner.*.v1"), (EVENTS_EXCHANGE, "qbsync.project.*.v1")],
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
    return BuiltService(runtime=runtime, http=ops_app_for(runtime, "qbsync partner-sync"))


DEFINITION = ServiceDefinition(
    name="partner-sync",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
