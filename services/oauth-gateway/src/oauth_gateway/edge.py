"""Part A's wiring: tenants, connect pages, operator API and webhooks for the service app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway import validation
from oauth_gateway.config import Settings
from oauth_gateway.connect.flow import AuthorizeClient, ConnectFlow, TokenStore
from oauth_gateway.connect.routes import connect_router
from oauth_gateway.operators.auth import OperatorKeys
from oauth_gateway.operators.routes import operator_router
from oauth_gateway.tenants.events import TenantEventSink
from oauth_gateway.tenants.metrics import TenantMetrics
from oauth_gateway.tenants.repository import TenantRepository
from oauth_gateway.tenants.tables import TenantTables
from oauth_gateway.webhooks.receiver import WebhookReceiver
from oauth_gateway.webhooks.routes import webhook_router

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Edge:
    repository: TenantRepository
    flow: ConnectFlow
    keys: OperatorKeys
    receiver: WebhookReceiver
    metrics: TenantMetrics
    sessions: async_sessionmaker[AsyncSession]
    operator_keys: tuple[str, ...]
    public_base_url: str
    events: TenantEventSink
    clock: Callable[[], datetime]

    def mount(self, app: FastAPI) -> None:
        """Add the browser pages, the webhook receiver and the operator API to `app`."""
        secure = self.public_base_url.startswith("https://")
        validation.install(app)  # for every route of the app, the internal APIs' included
        app.include_router(connect_router(self.flow, secure_cookies=secure))
        app.include_router(webhook_router(self.receiver))
        app.include_router(
            operator_router(
                sessions=self.sessions,
                repository=self.repository,
                flow=self.flow,
                events=self.events,
                keys=self.keys,
                public_base_url=self.public_base_url,
                clock=self.clock,
            )
        )

    async def housekeeping(self, stop: asyncio.Event, interval: float = 30.0) -> None:
        """Background job: install bootstrap keys, then keep gauges fresh and purge spent states."""
        await self.keys.install(self.operator_keys, self.clock())
        while not stop.is_set():
            try:
                async with self.sessions.begin() as session:
                    await self.repository.purge_expired(session, self.clock())
                    self.metrics.tenant_counts(await self.repository.count_by_state(session))
            except Exception:  # a database blip must not end the job; the next round retries
                log.exception("tenant housekeeping failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


def build_edge(
    settings: Settings,
    *,
    tables: TenantTables,
    sessions: async_sessionmaker[AsyncSession],
    events: TenantEventSink,
    oauth: AuthorizeClient,
    vault: TokenStore,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Edge:
    """Build part A's services; `Edge.mount(app)` adds its routes."""
    repository = TenantRepository(tables)
    metrics = TenantMetrics(settings.service_name, registry)
    flow = ConnectFlow(
        sessions,
        repository,
        oauth,
        vault,
        events,
        link_key=settings.connect_signing_key.get_secret_value().encode(),
        public_base_url=settings.public_base_url,
        clock=clock,
    )
    keys = OperatorKeys(sessions, repository)
    receiver = WebhookReceiver(
        sessions,
        repository,
        events,
        settings.webhook_verifier_token.get_secret_value(),
        metrics,
        clock,
    )
    return Edge(
        repository=repository,
        flow=flow,
        keys=keys,
        receiver=receiver,
        metrics=metrics,
        sessions=sessions,
        operator_keys=tuple(settings.operator_keys()),
        public_base_url=settings.public_base_url,
        events=events,
        clock=clock,
    )
