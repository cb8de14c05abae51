"""Composition root of oauth-gateway: the only place concrete adapters are chosen."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from oauth_gateway.config import Settings
from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.custody.events import OutboxTenantEvents
from oauth_gateway.custody.wiring import assemble as assemble_custody
from oauth_gateway.edge import build_edge
from oauth_gateway.internal_server import InternalServer, internal_app
from oauth_gateway.tenants.internal_settings import settings_router
from oauth_gateway.tenants.outbox_events import OutboxTenantEventSink
from oauth_gateway.tenants.tables import tenant_tables
from qbsync_common import assembly
from qbsync_common.runtime import BackgroundJob
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for

SCHEMA = "oauth_gateway"
METADATA = MetaData(schema=SCHEMA)
TENANT_TABLES = tenant_tables(METADATA)


async def build(settings: Settings) -> BuiltService:
    parts = assembly.plumbing(settings, METADATA)
    # Token custody (part B): `custody.vault` is the TokenVault the OAuth callback stores grants in.
    custody = assemble_custody(
        settings,
        METADATA,
        parts.sessions,
        OutboxTenantEvents(parts.outbox),
        parts.metrics.registry,
        # QBSYNC_CRASH_AT=gateway-after-token-response: the F12 crash, for fault-injection tests.
        crash=parts.crash_hook,
    )
    # Tenants, connect flow, operator API, webhooks (part A).
    edge = build_edge(
        settings,
        tables=TENANT_TABLES,
        sessions=parts.sessions,
        events=OutboxTenantEventSink(parts.outbox),
        oauth=custody.intuit,
        vault=custody.vault,
        registry=parts.metrics.registry,
    )
    credentials = ServiceCredentials.from_json(settings.service_credentials.get_secret_value())
    # Not exposed by the public Ingress; on their own port when internal_http_port is set.
    internal_routers = [
        custody.router,
        settings_router(edge.sessions, edge.repository, credentials),
    ]
    jobs: list[BackgroundJob] = [custody.job, edge.housekeeping]
    if settings.internal_http_port is not None:
        jobs.append(InternalServer(internal_app(internal_routers), settings))
    # The gateway consumes nothing yet: it publishes through its outbox (tenant events).
    runtime = assembly.runtime(settings, parts, [], jobs=jobs)
    http = ops_app_for(runtime, "qbsync oauth-gateway")
    if settings.internal_http_port is None:
        for router in internal_routers:
            http.include_router(router)
    edge.mount(http)  # connect pages, /oauth/callback, /webhooks/intuit, /v1 operator API
    return BuiltService(runtime=runtime, http=http)


DEFINITION = ServiceDefinition(
    name="oauth-gateway",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
