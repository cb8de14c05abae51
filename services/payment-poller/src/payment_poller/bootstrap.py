"""Composition root of payment-poller: the only place concrete adapters are chosen."""

from __future__ import annotations

import asyncio
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from prometheus_client import Counter
from sqlalchemy import MetaData

from payment_poller.adapters.repository import Repository
from payment_poller.adapters.tables import PollerTables, poller_tables
from payment_poller.config import Settings
from payment_poller.entrypoints.http import operator_router
from payment_poller.service_layer.handlers import Handlers
from payment_poller.service_layer.poll import Poller, PollSettings
from payment_poller.service_layer.scheduler import scheduler_job
from qbo_client import (
    Priority,
    QBOClient,
    TokenProvider,
)
from qbo_client.limiter import RateLimiter
from qbsync_common import assembly
from qbsync_common.contract import events
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, RESULTS_EXCHANGE, ConsumerSpec
from qbsync_common.operator_auth import OperatorKeys, parse_keys
from qbsync_common.qbo_access import rate_limiter, tenant_settings_source, token_provider
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for
from qbsync_common.tenant_settings import (
    TenantSettingsSource,
)

SCHEMA = "payment_poller"
METADATA = MetaData(schema=SCHEMA)
TABLES = poller_tables(METADATA)
CONSUMER = ConsumerSpec(
    queue="payment-poller",
    bindings=[
        (RESULTS_EXCHANGE, events.DocumentSynced.event_type),
        (RESULTS_EXCHANGE, events.DocumentMarkedPaid.event_type),
        (RESULTS_EXCHANGE, events.TenantConnected.event_type),
        (RESULTS_EXCHANGE, events.TenantDisconnected.event_type),
        (RESULTS_EXCHANGE, events.TenantReauthorizationRequired.event_type),
        (RESULTS_EXCHANGE, events.TenantConnectionRecovered.event_type),
        (EVENTS_EXCHANGE, events.TenantSettingsChanged.event_type),
        (EVENTS_EXCHANGE, events.QboEntitiesChanged.event_type),
    ],
)


@dataclass(frozen=True)
class Assembled:
    """Everything a test needs to drive the service: the built service and its parts."""

    built: BuiltService
    runtime: ServiceRuntime
    poller: Poller
    handlers: Handlers
    repo: Repository
    parts: assembly.Plumbing
    qbo: QBOClient


async def assemble(
    settings: Settings,
    metadata: MetaData,
    tables: PollerTables,
    *,
    tokens: TokenProvider | None = None,
    limiter: RateLimiter | None = None,
    tenant_settings: TenantSettingsSource | None = None,
    queue: str = CONSUMER.queue,
    replica: str | None = None,
) -> Assembled:
    parts = assembly.plumbing(settings, metadata)
    # One provider for the QBO client and the realm lookup of late-learned tenants.
    token_source = tokens or token_provider(settings)
    qbo = QBOClient(
        token_source,
        limiter=limiter if limiter is not None else await rate_limiter(settings),
        max_wait=settings.qbo_max_wait_s,
        # QBO call metrics appear on this service's /metrics next to its own.
        registry=parts.metrics.registry,
    )
    repo = Repository(tables)
    wake = asyncio.Event()
    settings_source = tenant_settings or tenant_settings_source(settings)

    async def tenant_facts(tenant_id: str) -> tuple[str, int]:
        token = await token_source.get_token(tenant_id)
        tenant = await settings_source.get(tenant_id)
        return token.realm_id, tenant.payment_poll_interval_seconds

    poller = Poller(
        parts.sessions,
        repo,
        parts.outbox,
        lambda tenant: qbo.for_tenant(tenant, priority=Priority.BACKGROUND),
        PollSettings(
            overlap=timedelta(seconds=settings.poll_overlap_s),
            lease=timedelta(seconds=settings.poll_lease_s),
            retry_s=settings.poll_retry_s,
            max_concurrent=settings.max_concurrent_polls,
        ),
        replica or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}",
        tenant_facts=tenant_facts,
        # QBSYNC_CRASH_AT=poll-before-commit: a replica dies mid-poll, for fault-injection tests.
        crash=parts.crash_hook,
    )
    handlers = Handlers(
        repo,
        settings_source,
        settings.default_poll_interval_s,
        timedelta(seconds=settings.webhook_debounce_s),
        wake,
        Counter(
            "qbsync_poller_unknown_tenant_webhooks",
            "QBO webhooks for a tenant the poller had no schedule for (now scheduled)",
            registry=parts.metrics.registry,
        ),
    )
    spec = ConsumerSpec(queue, CONSUMER.bindings, settings.retry_delays_ms)
    runtime = assembly.runtime(
        settings,
        parts,
        [(spec, handlers.mapping())],
        jobs=[scheduler_job(poller, settings.scheduler_tick_s, wake)],
    )
    http = ops_app_for(runtime, "qbsync payment-poller")
    keys = OperatorKeys(parse_keys(settings.operator_keys_text()))
    http.include_router(operator_router(parts.sessions, repo, keys, wake))
    built = BuiltService(runtime=runtime, http=http)
    return Assembled(built, runtime, poller, handlers, repo, parts, qbo)


async def build(settings: Settings) -> BuiltService:
    return (await assemble(settings, METADATA, TABLES)).built


DEFINITION = ServiceDefinition(
    name="payment-poller",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
