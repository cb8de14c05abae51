"""Operator API keys: stored as SHA-256 digests, sent as bearer tokens, constant-time checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from fastapi import HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.tenants.repository import TenantRepository
from oauth_gateway.tenants.signing import digest, same_digest

log = logging.getLogger(__name__)


class OperatorKeys:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], repository: TenantRepository
    ) -> None:
        self._sessions = sessions
        self._repo = repository

    async def install(self, keys: Iterable[str], now: datetime) -> None:
        """Store the configured bootstrap keys (digests only); existing keys are kept."""
        async with self._sessions.begin() as session:
            for n, key in enumerate(keys):
                await self._repo.ensure_api_key(session, digest(key), f"bootstrap-{n + 1}", now)

    async def is_valid(self, presented: str) -> bool:
        if not presented:
            return False
        async with self._sessions() as session:
            stored = await self._repo.active_key_digest(session, digest(presented))
        return stored is not None and same_digest(presented, stored)


def _presented(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    return request.headers.get("x-api-key", "").strip()


def require_operator(keys: OperatorKeys) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency refusing requests without an active operator API key."""

    async def dependency(request: Request) -> None:
        if not await keys.is_valid(_presented(request)):
            # Audit trail for rejected callers; the presented key itself is never logged.
            log.warning(
                "operator API: rejected key",
                extra={
                    "audit": "operator-api-denied",
                    "client": request.client.host if request.client else "",
                    "path": request.url.path,
                },
            )
            raise HTTPException(
                status_code=401,
                detail="a valid operator API key is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return dependency
