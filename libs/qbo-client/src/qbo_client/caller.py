"""One QBO HTTP exchange for one tenant: token, shared budget, request, telemetry, faults."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from qbo_client import codec
from qbo_client.errors import (
    LimiterTimeout,
    QBOError,
    ServiceError,
    ThrottledError,
    TransportError,
)
from qbo_client.faults import error_from_response, fault_entries
from qbo_client.limiter import Priority, RateLimiter
from qbo_client.telemetry import ClientMetrics
from qbo_client.tokens import AccessToken, TokenProvider

log = logging.getLogger("qbo_client")

# QBO's advice after a 429 (QBO.md §5): the whole realm waits this long.
THROTTLE_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class Answer:
    payload: Any
    intuit_tid: str | None
    status: int


@dataclass(frozen=True)
class CallSettings:
    minorversion: int
    limiter: RateLimiter
    metrics: ClientMetrics
    user_agent: str
    tracer: Tracer


class Caller:
    """Sends requests for one tenant; shared by the TenantSession operations."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenProvider,
        settings: CallSettings,
        tenant_id: str,
        priority: Priority,
        max_wait: float | None,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._settings = settings
        self.tenant_id = tenant_id
        self.priority = priority
        self._max_wait = max_wait

    async def token(self) -> AccessToken:
        return await self._tokens.get_token(self.tenant_id)

    async def call(
        self,
        method: str,
        path: str,
        *,
        op: str,
        entity: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        text_body: str | None = None,
        write: bool = False,
        batch: bool = False,
    ) -> Answer:
        """Send once; on a 401 get a fresh token and send once more.

        ``path`` is relative to ``/v3/company/{realm}/``; ``{realm}`` in it is filled in.
        """
        token = await self._tokens.get_token(self.tenant_id)
        if json_body is not None:
            content: bytes | None = codec.dumps(json_body)
            content_type = "application/json"
        elif text_body is not None:
            content, content_type = text_body.encode(), "application/text"
        else:
            content, content_type = None, "application/json"
        query = {**(params or {}), "minorversion": str(self._settings.minorversion)}
        for attempt in (1, 2):
            response = await self._send_once(
                token, method, path, op, entity, query, content, content_type, write, batch, attempt
            )
            if response.status_code == 401 and attempt == 1:
                self._settings.metrics.token_refreshes.inc()
                token = await self._tokens.get_token(
                    self.tenant_id, failed_token=token.access_token
                )
                continue
            return await self._answer(response, token.realm_id)
        raise AssertionError("unreachable: the loop always returns")

    async def _send_once(
        self,
        token: AccessToken,
        method: str,
        path: str,
        op: str,
        entity: str,
        query: Mapping[str, str],
        content: bytes | None,
        content_type: str,
        write: bool,
        batch: bool,
        attempt: int,
    ) -> httpx.Response:
        settings = self._settings
        url = f"{token.api_base_url.rstrip('/')}/v3/company/{token.realm_id}/{path}"
        headers = {
            "Authorization": f"Bearer {token.access_token}",
            "Accept": "application/json",
            "Content-Type": content_type,
            "User-Agent": settings.user_agent,
        }
        waited_from = time.perf_counter()
        try:
            lease = await settings.limiter.acquire(
                token.realm_id, priority=self.priority, batch=batch, max_wait=self._max_wait
            )
        except LimiterTimeout:
            # Nothing was sent, but operators need to see calls turned away by the budget.
            settings.metrics.calls.labels(op, entity, "limiter_timeout").inc()
            raise
        settings.metrics.throttle_wait.labels(self.priority.name.lower()).observe(
            time.perf_counter() - waited_from
        )
        attributes: dict[str, str | int] = {
            "qbo.method": op,
            "qbo.entity": entity,
            "qbo.realm_id": token.realm_id,
            "qbo.tenant_id": self.tenant_id,
            "qbo.attempt": attempt,
            "http.request.method": method,
        }
        with settings.tracer.start_as_current_span(
            f"qbo {op} {entity}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, url, params=query, content=content, headers=headers
                )
            except httpx.HTTPError as exc:
                # A write whose answer never came may have been applied: say so, so the
                # caller retries with the same requestid instead of guessing.
                uncertain = write and not isinstance(exc, httpx.ConnectError)
                err = TransportError(f"{type(exc).__name__} calling QBO {op} {entity}")
                err.uncertain = uncertain
                settings.metrics.calls.labels(op, entity, "transport_error").inc()
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise err from exc
            finally:
                await settings.limiter.release(lease)
                settings.metrics.latency.labels(op, entity).observe(time.perf_counter() - started)
            tid = response.headers.get("intuit_tid")
            span.set_attribute("http.response.status_code", response.status_code)
            if tid:
                span.set_attribute("qbo.intuit_tid", tid)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR, str(response.status_code)))
            settings.metrics.calls.labels(op, entity, str(response.status_code)).inc()
            log.debug(
                "qbo %s %s realm=%s status=%s intuit_tid=%s attempt=%s",
                op,
                entity,
                token.realm_id,
                response.status_code,
                tid,
                attempt,
            )
            return response

    async def _answer(self, response: httpx.Response, realm_id: str) -> Answer:
        tid = response.headers.get("intuit_tid")
        status = response.status_code
        body = response.content
        payload: Any = None
        if "json" in response.headers.get("content-type", ""):
            try:
                payload = codec.loads(body) if body else None
            except ValueError:
                payload = None
        if status < 400 and payload is not None and not fault_entries(payload):
            return Answer(payload, tid, status)
        # QBO may put a Fault in a 200, and sends throttle/auth faults as XML even to JSON
        # clients; error_from_response reads all of these.
        error = error_from_response(status, body, intuit_tid=tid, payload=payload)
        if type(error) is QBOError and status < 400:
            error = ServiceError("QBO answered without JSON", status=status, intuit_tid=tid)
        if isinstance(error, ThrottledError):
            self._settings.metrics.throttled.inc()
            error.retry_after = _retry_after(response) or THROTTLE_BACKOFF_SECONDS
            await self._settings.limiter.backoff(realm_id, error.retry_after)
        raise error


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header, if QBO sends one (undocumented, QBO.md §9)."""
    try:
        value = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if 0 < value <= 3600 else None
