"""Composition root of invoice-sync: the only place concrete adapters are chosen."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from invoice_sync.adapters.books import QboBooksFactory
from invoice_sync.adapters.tables import METADATA, SCHEMA
from invoice_sync.config import Settings
from invoice_sync.entrypoints.operator_api import operator_router
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.handlers import handlers
from invoice_sync.service_layer.preflight import CompanyProfiles
from qbo_client import QBOClient
from qbo_client.limiter import RateLimiter
from qbo_client.limiter_memory import InMemoryRateLimiter
from qbo_client.limiter_postgres import PostgresRateLimiter
from qbo_client.tokens import AccessToken, GatewayTokenProvider, StaticTokenProvider, TokenProvider
from qbsync_common import assembly
from qbsync_common.db import asyncpg_dsn
from qbsync_common.messaging.topology import EVENTS_EXCHANGE, RESULTS_EXCHANGE, ConsumerSpec
from qbsync_common.operator_auth import OperatorKeys, parse_keys
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for
from qbsync_common.tenant_settings import (
    GatewayTenantSettings,
    StaticTenantSettings,
    TenantSettingsSource,
)

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
        (RESULTS_EXCHANGE, "qbsync.tenant.connected.v1"),
        (RESULTS_EXCHANGE, "qbsync.tenant.connection_recovered.v1"),
    ],
)


def static_tokens(raw: str) -> StaticTokenProvider:
    doc = json.loads(raw)
    expires = datetime.now(UTC) + timedelta(days=3650)
    return StaticTokenProvider(
        {
            tenant: AccessToken(v["access_token"], v["realm_id"], v["api_base_url"], expires)
            for tenant, v in doc.items()
        }
    )


async def build(settings: Settings) -> BuiltService:
    parts = assembly.plumbing(settings, METADATA)
    tokens: TokenProvider
    tenant_settings: TenantSettingsSource
    static = settings.qbo_static_tokens.get_secret_value() if settings.qbo_static_tokens else ""
    if static and settings.environment != "production":
        tokens, tenant_settings = static_tokens(static), StaticTenantSettings()
    else:
        credential = settings.service_credential.get_secret_value()
        tokens = GatewayTokenProvider(settings.gateway_url, credential)
        tenant_settings = GatewayTenantSettings(
            settings.gateway_url, credential, ttl_s=settings.settings_cache_ttl_s
        )
    limiter: RateLimiter
    if settings.qbo_limiter == "postgres":
        # Shared by every replica (and every service) calling QBO for a realm.
        pool = await asyncpg.create_pool(
            asyncpg_dsn(settings.database_url.get_secret_value()), min_size=1, max_size=4
        )
        postgres_limiter = PostgresRateLimiter(pool)
        await postgres_limiter.ensure_schema()
        limiter = postgres_limiter
    else:
        limiter = InMemoryRateLimiter()
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
    raw_keys = settings.operator_api_keys.get_secret_value() if settings.operator_api_keys else ""
    http.include_router(operator_router(ctx, OperatorKeys(parse_keys(raw_keys))))
    return BuiltService(runtime=runtime, http=http)


DEFINITION = ServiceDefinition(
    name="invoice-sync",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
