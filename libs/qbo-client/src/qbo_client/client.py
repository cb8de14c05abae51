"""QBOClient: one per process, one connection pool, hands out per-tenant sessions."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx
from opentelemetry import trace
from prometheus_client import REGISTRY, CollectorRegistry

from qbo_client.caller import Caller, CallSettings
from qbo_client.limiter import Priority, RateLimiter
from qbo_client.limiter_memory import InMemoryRateLimiter
from qbo_client.session import TenantSession
from qbo_client.telemetry import metrics_for
from qbo_client.tokens import TokenProvider
from qbo_client.transport import TransportKind, make_http_client

__all__ = ["QBOClient", "TenantSession"]


class QBOClient:
    """Entry point. ``transport`` is ``"aiohttp"`` (default, fastest), ``"httpx"``, or an
    ``httpx.AsyncBaseTransport`` (tests use ``httpx.MockTransport``).

    Without a ``limiter`` an in-process one with QBO's limits is used; pass a
    PostgresRateLimiter whenever more than one process talks to the same realms.
    ``max_wait`` bounds how long a call waits for its realm's budget before raising
    LimiterTimeout (transient), so a consumer can requeue instead of holding a worker.
    """

    def __init__(
        self,
        tokens: TokenProvider,
        *,
        minorversion: int = 75,
        limiter: RateLimiter | None = None,
        timeout: float = 30.0,
        transport: TransportKind | httpx.AsyncBaseTransport = "aiohttp",
        registry: CollectorRegistry = REGISTRY,
        max_wait: float | None = None,
        user_agent: str = "qbsync-qbo-client/0.1",
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        self._tokens = tokens
        if isinstance(transport, httpx.AsyncBaseTransport):
            self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        else:
            self._http = make_http_client(timeout=timeout, kind=transport)
        self._settings = CallSettings(
            minorversion=minorversion,
            limiter=limiter or InMemoryRateLimiter(),
            metrics=metrics_for(registry),
            user_agent=user_agent,
            tracer=trace.get_tracer("qbo_client", tracer_provider=tracer_provider),
        )
        self._max_wait = max_wait

    @property
    def limiter(self) -> RateLimiter:
        return self._settings.limiter

    def for_tenant(
        self,
        tenant_id: str,
        *,
        priority: Priority = Priority.INTERACTIVE,
        max_wait: float | None = None,
    ) -> TenantSession:
        caller = Caller(
            self._http,
            self._tokens,
            self._settings,
            tenant_id,
            priority,
            max_wait if max_wait is not None else self._max_wait,
        )
        return TenantSession(caller)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
