"""Composition root of partner-sync: the only place concrete adapters are chosen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from httpx_aiohttp import AiohttpTransport
from sqlalchemy import MetaData

from partner_sync.adapters.backfill_jobs import BackfillJobs
from partner_sync.adapters.call_trace import TracingTransport
from partner_sync.adapters.qbo_directory import QboDirectory
from partner_sync.adapters.repository import PartnerRepository
from partner_sync.adapters.tables import PartnerTables, partner_tables
from partner_sync.config import Settings
from partner_sync.entrypoints.operator_api import operator_router
from partner_sync.service_layer.backfill import Backfill, BackfillRunner
from partner_sync.service_layer.deferred import DeferredWork
from partner_sync.service_layer.handlers import PartnerHandlers
from partner_sync.service_layer.operator_actions import OperatorActions
from partner_sync.service_layer.push import Pusher
from qbo_client import QBOClient
from qbsync_common import assembly
from qbsync_common.messaging.consumer import Handler
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, RESULTS_EXCHANGE, ConsumerSpec
from qbsync_common.operator_auth import OperatorKeys, parse_keys
from qbsync_common.qbo_access import rate_limiter, tenant_settings_source, token_provider
from qbsync_common.runtime import BackgroundJob
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for
from qbsync_common.tenant_settings import (
    TenantSettingsSource,
)

SCHEMA = "partner_sync"
METADATA = MetaData(schema=SCHEMA)
TABLES = partner_tables(METADATA)
CONSUMER = ConsumerSpec(
    queue="partner-sync",
    bindings=[
        (EVENTS_EXCHANGE, "qbsync.partner.*.v1"),
        (EVENTS_EXCHANGE, "qbsync.project.*.v1"),
        (EVENTS_EXCHANGE, "qbsync.tenant.settings_changed.v1"),
        (EVENTS_EXCHANGE, "qbsync.qbo.entities_changed.v1"),
        (RESULTS_EXCHANGE, "qbsync.tenant.connected.v1"),
        (RESULTS_EXCHANGE, "qbsync.tenant.connection_recovered.v1"),
    ],
)


@dataclass(frozen=True)
class PartnerSync:
    """The service's parts, built once; tests build the same with their own QBO and settings."""

    handlers: PartnerHandlers
    actions: OperatorActions
    directory: QboDirectory
    repository: PartnerRepository
    deferred: DeferredWork
    backfills: BackfillRunner

    def jobs(self) -> list[BackgroundJob]:
        """The runtime jobs every replica runs beside its consumer."""
        return [self.deferred.run, self.backfills.run]

    def handler_map(self) -> dict[str, Handler]:
        h = self.handlers
        return {
            "qbsync.partner.upserted.v1": h.on_partner_upserted,
            "qbsync.partner.deactivated.v1": h.on_partner_deactivated,
            "qbsync.partner.sync_requested.v1": h.on_sync_requested,
            "qbsync.project.upserted.v1": h.on_project_upserted,
            "qbsync.tenant.connected.v1": h.on_tenant_reconnected,
            "qbsync.tenant.connection_recovered.v1": h.on_tenant_reconnected,
            "qbsync.tenant.settings_changed.v1": h.on_settings_changed,
            "qbsync.qbo.entities_changed.v1": h.on_qbo_entities_changed,
        }


def compose(
    parts: assembly.Plumbing,
    qbo: QBOClient,
    tenant_settings: TenantSettingsSource,
    *,
    tables: PartnerTables | None = None,
    max_attempts: int,
    crash_hook: Callable[[str], None] | None = None,
    command_exchange: str | None = None,
    interactive_max_wait: float | None = 1.0,
    backfill_lease_s: float = 60.0,
    backfill_poll_s: float = 5.0,
) -> PartnerSync:
    tables = tables or TABLES
    repository = PartnerRepository(tables)
    directory = QboDirectory(qbo, interactive_max_wait=interactive_max_wait)
    handlers = PartnerHandlers(
        repository=repository,
        pusher=Pusher(directory, repository),
        settings=tenant_settings,
        outbox=parts.outbox,
        max_attempts=max_attempts,
        crash_hook=crash_hook or parts.crash_hook,
        command_exchange=command_exchange,
    )
    jobs = BackfillJobs(tables.backfill_jobs)
    backfills = BackfillRunner(
        sessions=parts.sessions,
        jobs=jobs,
        backfill=Backfill(
            sessions=parts.sessions,
            repository=repository,
            jobs=jobs,
            directory=directory,
            handlers=handlers,
            settings=tenant_settings,
        ),
        lease_s=backfill_lease_s,
        poll_s=backfill_poll_s,
    )
    actions = OperatorActions(
        sessions=parts.sessions,
        repository=repository,
        directory=directory,
        handlers=handlers,
        settings=tenant_settings,
        backfills=backfills,
    )
    deferred = DeferredWork(sessions=parts.sessions, repository=repository, handlers=handlers)
    return PartnerSync(handlers, actions, directory, repository, deferred, backfills)


def qbo_transport() -> TracingTransport:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return TracingTransport(AiohttpTransport(limits=limits))


async def build(settings: Settings) -> BuiltService:
    parts = assembly.plumbing(settings, METADATA)
    tokens = token_provider(settings)
    tenant_settings = tenant_settings_source(settings)
    limiter = await rate_limiter(settings)
    qbo = QBOClient(
        tokens,
        limiter=limiter,
        transport=qbo_transport(),
        max_wait=settings.qbo_max_wait_s,
        registry=parts.metrics.registry,
    )
    service = compose(
        parts,
        qbo,
        tenant_settings,
        max_attempts=settings.max_attempts,
        interactive_max_wait=settings.qbo_interactive_wait_s,
        backfill_lease_s=settings.backfill_lease_s,
        backfill_poll_s=settings.backfill_poll_s,
    )
    runtime = assembly.runtime(
        settings,
        parts,
        [
            (
                ConsumerSpec(CONSUMER.queue, CONSUMER.bindings, settings.retry_delays_ms),
                service.handler_map(),
            )
        ],
        jobs=service.jobs(),
    )
    http = ops_app_for(runtime, "qbsync partner-sync")
    raw_keys = settings.operator_keys_text()
    http.include_router(operator_router(service.actions, OperatorKeys(parse_keys(raw_keys))))
    return BuiltService(runtime=runtime, http=http)


DEFINITION = ServiceDefinition(
    name="partner-sync",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
