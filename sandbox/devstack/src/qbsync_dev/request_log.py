"""A recording HTTP transport for fault tests (RELIABILITY §8 F8): what left for QBO, and when.

The services' F8 tests hand it to their QBO client to prove a 429 backs the whole realm off: no
request may leave within the back-off after a 429 came back.
"""

from __future__ import annotations

import asyncio
import time

import httpx

# Requests already admitted when a 429 came back may still leave just after it.
ADMITTED_GRACE_S = 1.0


class RequestLog(httpx.AsyncBaseTransport):
    """Every request sent, with when it left and when (and with what status) it came back."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[tuple[float, float, int]] = []
        self.throttled = asyncio.Event()  # set at the first 429

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = await self._inner.handle_async_request(request)
        self.exchanges.append((sent, time.monotonic(), response.status_code))
        if response.status_code == 429:
            self.throttled.set()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

    def throttled_at(self) -> list[float]:
        """When each 429 came back."""
        return [back for _, back, status in self.exchanges if status == 429]

    def sent_during_backoff(self, backoff_s: float) -> list[float]:
        """Seconds after a 429 at which a request left although the back-off forbade it."""
        return [
            sent - t429
            for t429 in self.throttled_at()
            for sent, _, _ in self.exchanges
            if t429 + ADMITTED_GRACE_S < sent < t429 + backoff_s
        ]
