"""Composition root of invoice-sync: the only place concrete adapters are chosen."""

from __future__ import annotations

from pathlib import Path

from invoice_sync.adapters.books import QboBooksFactory
from invoice_sync.adapters.tables import METADATA, SCHEMA
from invoice_sync.config import Settings
from invoice_sync.entrypoints.operator_api import operator_router
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.handlers import handlers
from invoice_sync.service_layer.preflight import CompanyProfiles
from qbo_client import QBOClient
from qbsync_common import assembly
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, RESULTS_EXCHANGE, ConsumerSpec
from qbsync_common.operator_auth import OperatorKeys, parse_keys
from qbsync_common.qbo_access import rate_limiter, tenant_settings_source, token_provider
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for

__all__ = ["CONSUMER", "DEFINITION", "METADATA", "SCHEMA", "build"]

CONSUMER = ConsumerSpec(
    queue="invoice-sync",
    bindings=[
        (EVENTS_EXCHANGE, "qbsync.invoice.status_changed.v1"),
        (EVENTS_EXCHANGE, "qbsync.credit_memo.issued.v1"),
        (EVENTS_EXCHANGE, "qbsync.payment.recorded_upstream.v1"),
        (EVENTS_EXCHANGE, "qbsync.document.recreate_requested.v1"),
        (EVENTS_EXCHANGE, "qbsync.tenant.settings_changed.v1"),
        (EVENTS_EXCHANGE, "qbsync.qbo.entities_changed.v1"),
        (RESULTS_EXCHANGE, "qbsync.partner.synced.v1"),
        (RESULTS_EXCHANGE, "qbsync.partner.sync_failed.v1"),
        (RESULTS_EXCHANGE, "qbsync.partner.skipped.v1"),
        (RESULTS_EXCHANGE, "qbsync.project.synced.v1"),
        (RESULTS_EXCHANGE, "qbsync.document.rekeyed.v1"),
        (RESULTS_EXCHANGE, "qbsync.tenant.connected.v1"),
        (RESULTS_EXCHANGE, "qbsync.tenant.connection_recovered.v1"),
    ],
)


async def build(settings: Settings) -> BuiltService:
    parts = assembly.plumbing(settings, METADATA)
    tokens = token_provider(settings)
    tenant_settings = tenant_settings_source(settings)
    limiter = await rate_limiter(settings)
    qbo = QBOClient(
        tokens, limiter=limiter, max_wait=settings.qbo_max_wait_s, registry=parts.metrics.registry
    )
    ctx = Context(
        sessions=parts.sessions,
        outbox=parts.outbox,
        books=QboBooksFactory(qbo),
        settings=tenant_settings,
        profiles=CompanyProfiles(),
    )
    runtime = assembly.runtime(
        settings,
        parts,
        [
            (
                # The queue is named after the service (QBSYNC_SERVICE_NAME), "invoice-sync" unless
                # a test runs a private copy.
                ConsumerSpec(settings.service_name, CONSUMER.bindings, settings.retry_delays_ms),
                handlers(ctx, concurrency=settings.document_concurrency),
            )
        ],
    )
    http = ops_app_for(runtime, "qbsync invoice-sync")
    raw_keys = settings.operator_keys_text()
    http.include_router(operator_router(ctx, OperatorKeys(parse_keys(raw_keys))))
    return BuiltService(runtime=runtime, http=http)


DEFINITION = ServiceDefinition(
    name="invoice-sync",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
