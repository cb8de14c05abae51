"""Counts QBO calls and keeps the last intuit_tid and requestid of a unit of work, by wrapping the
transport.

qbo-client raises errors carrying `intuit_tid` but returns plain entities on success, and its
errors do not carry the requestid; history rows need both for every write, refused or not, so we
read them from the HTTP exchange on its way through.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


@dataclass
class CallTrace:
    calls: int = 0
    last_tid: str | None = None
    last_request_id: str | None = None  # of the last write (reads carry none)


# The trace object (not a value) is shared: a task the client may spawn copies the context but
# still mutates the same CallTrace.
_CURRENT: contextvars.ContextVar[CallTrace | None] = contextvars.ContextVar(
    "partner_sync_call_trace", default=None
)


@contextmanager
def traced() -> Iterator[CallTrace]:
    """Every QBO response inside the block is counted in the yielded trace."""
    trace = CallTrace()
    token = _CURRENT.set(trace)
    try:
        yield trace
    finally:
        _CURRENT.reset(token)


class TracingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.total_calls = 0  # process-wide, for benchmarks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.total_calls += 1
        trace = _CURRENT.get()
        if trace is not None:
            trace.calls += 1
            trace.last_tid = response.headers.get("intuit_tid") or trace.last_tid
            trace.last_request_id = request.url.params.get("requestid") or trace.last_request_id
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
