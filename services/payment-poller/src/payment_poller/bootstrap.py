"""Composition root of payment-poller: the only place concrete adapters are chosen."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import MetaData

from payment_poller.adapters.repository import Repository
from payment_poller.adapters.tables import PollerTables, poller_tables
from payment_poller.config import Settings
from payment_poller.entrypoints.http import operator_router
from payment_poller.service_layer.handlers import Handlers
from payment_poller.service_layer.poll import Poller, PollSettings
from payment_poller.service_layer.scheduler import scheduler_job
from qbo_client import (
    AccessToken,
    GatewayTokenProvider,
    InMemoryRateLimiter,
    PostgresRateLimiter,
    Priority,
    QBOClient,
    StaticTokenProvider,
    TokenProvider,
)
from qbo_client.limiter import RateLimiter
from qbsync_common import assembly
from qbsync_common.contract import events
from qbsync_common.db import asyncpg_dsn
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, RESULTS_EXCHANGE, ConsumerSpec
from qbsync_common.operator_auth import OperatorKeys, parse_keys
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for
from qbsync_common.tenant_settings import (
    GatewayTenantSettings,
    StaticTenantSettings,
    TenantSettingsSource,
)

SCHEMA = "payment_poller"
METADATA = MetaData(schema=SCHEMA)
TABLES = poller_tables(METADATA)
CONSUMER = ConsumerSpec(
    queue="payment-poller",
    bindings=[
        (RESULTS_EXCHANGE, events.DocumentSynced.event_type),
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
    qbo = QBOClient(
        tokens or _tokens(settings),
        limiter=limiter if limiter is not None else await _limiter(settings),
        max_wait=settings.qbo_max_wait_s,
        # QBO call metrics appear on this service's /metrics next to its own.
        registry=parts.metrics.registry,
    )
    repo = Repository(tables)
    wake = asyncio.Event()
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
    )
    handlers = Handlers(
        repo,
        tenant_settings or _tenant_settings(settings),
        settings.default_poll_interval_s,
        timedelta(seconds=settings.webhook_debounce_s),
        wake,
    )
    spec = ConsumerSpec(queue, CONSUMER.bindings, settings.retry_delays_ms)
    runtime = assembly.runtime(
        settings,
        parts,
        [(spec, handlers.mapping())],
        jobs=[scheduler_job(poller, settings.scheduler_tick_s, wake)],
    )
    http = ops_app_for(runtime, "qbsync payment-poller")
    keys = OperatorKeys(parse_keys(settings.operator_api_keys.get_secret_value()))
    http.include_router(operator_router(parts.sessions, repo, keys, wake))
    built = BuiltService(runtime=runtime, http=http)
    return Assembled(built, runtime, poller, handlers, repo, parts, qbo)


def _tokens(settings: Settings) -> TokenProvider:
    static = settings.qbo_static_tokens.get_secret_value() if settings.qbo_static_tokens else ""
    if static and settings.environment != "production":
        doc = json.loads(static)
        expires = datetime.now(UTC) + timedelta(days=3650)
        return StaticTokenProvider(
            {
                tenant: AccessToken(v["access_token"], v["realm_id"], v["api_base_url"], expires)
                for tenant, v in doc.items()
            }
        )
    return GatewayTokenProvider(
        settings.gateway_url, settings.service_credential.get_secret_value()
    )


def _tenant_settings(settings: Settings) -> TenantSettingsSource:
    if settings.qbo_static_tokens and settings.environment != "production":
        return StaticTenantSettings()
    credential = settings.service_credential.get_secret_value()
    return GatewayTenantSettings(settings.gateway_url, credential)


async def _limiter(settings: Settings) -> RateLimiter:
    """Per-realm QBO limits shared with every other process (the qbo_limits schema)."""
    if settings.qbo_limiter == "memory":
        return InMemoryRateLimiter()
    pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url.get_secret_value()), min_size=1, max_size=4
    )
    limiter = PostgresRateLimiter(pool)
    await limiter.ensure_schema()
    return limiter


async def build(settings: Settings) -> BuiltService:
    return (await assemble(settings, METADATA, TABLES)).built


DEFINITION = ServiceDefinition(
    name="payment-poller",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
