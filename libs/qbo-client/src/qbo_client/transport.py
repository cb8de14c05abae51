"""The HTTP connection pool: httpx's API over aiohttp's faster transport (see README numbers)."""

from __future__ import annotations

from typing import Literal

import httpx
from httpx_aiohttp import AiohttpTransport

TransportKind = Literal["aiohttp", "httpx"]


def make_http_client(
    *,
    timeout: float,
    kind: TransportKind = "aiohttp",
    max_connections: int = 100,
) -> httpx.AsyncClient:
    """One pooled client for the whole process.

    ``aiohttp`` is the default because plain httpx spends several times more CPU per
    request (README: Transport benchmark); ``httpx`` stays available for environments
    where aiohttp is unwelcome.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    timeouts = httpx.Timeout(timeout)
    if kind == "httpx":
        return httpx.AsyncClient(timeout=timeouts, limits=limits)
    return httpx.AsyncClient(timeout=timeouts, transport=AiohttpTransport(limits=limits))
