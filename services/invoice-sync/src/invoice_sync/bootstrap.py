"""Composition root of invoice-sync: the only place concrete adapters are chosen."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from invoice_sync.config import Settings
from qbsync_common import assembly
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, RESULTS_EXCHANGE, ConsumerSpec
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for

SCHEMA = "invoice_sync"
METADATA = MetaData(schema=SCHEMA)
CONSUMER = ConsumerSpec(
    queue="invoice-sync",
    bindings=[
        (EVENTS_EXCHANGE, "qbsync.invoice.*.v1"),
        (EVENTS_EXCHANGE, "qbsync.credit_memo.*.v1"),
        (EVENTS_EXCHANGE, "qbsync.payment.recorded_upstream.v1"),
        (RESULTS_EXCHANGE, "qbsync.partner.synced.v1"),
        (RESULTS_EXCHANGE, "qbsync.partner.sync_failed.v1"),
    ],
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
    return BuiltService(runtime=runtime, http=ops_app_for(runtime, "qbsync invoice-sync"))


DEFINITION = ServiceDefinition(
    name="invoice-sync",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
