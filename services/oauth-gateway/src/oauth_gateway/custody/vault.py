"""TokenVault: the gateway's one entry point to tenant tokens (store, hand out, revoke)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from oauth_gateway.custody.errors import RevocationFailed
from oauth_gateway.custody.intuit import IntuitError, InvalidGrant
from oauth_gateway.custody.model import IssuedToken, StoredTokens, TokenGrant, fingerprint
from oauth_gateway.custody.refresher import Refresher
from qbsync_common.logs import log_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Cached:
    token: IssuedToken
    sha256: str
    monotonic_deadline: float


class TokenVault:
    """Hands out access tokens from a short in-memory cache, refreshing through `Refresher`.

    The cache only saves the database read and the decryption; it never outlives the token's own
    refresh margin, and a token named as failed bypasses it.
    """

    def __init__(
        self,
        refresher: Refresher,
        api_base_url: str,
        *,
        cache_ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self.refresher = refresher
        self.api_base_url = api_base_url.rstrip("/")
        self._cache_ttl = cache_ttl.total_seconds()
        self._cache: dict[str, _Cached] = {}
        # One in-flight lookup per tenant in this process, so a herd costs one DB row lock wait.
        self._flights: dict[str, asyncio.Lock] = {}

    async def access_token(
        self, tenant_id: str, *, failed_token_sha256: str | None = None
    ) -> IssuedToken:
        cached = self._fresh_cached(tenant_id, failed_token_sha256)
        if cached is not None:
            self.refresher.metrics.issued_from("cache")
            return cached
        lock = self._flights.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            # Whoever held the lock may have refreshed already: look again before the database.
            cached = self._fresh_cached(tenant_id, failed_token_sha256)
            if cached is not None:
                self.refresher.metrics.issued_from("cache")
                return cached
            stored = await self.refresher.current(tenant_id, failed_token_sha256)
            self.refresher.metrics.issued_from("database")
            return self._remember(stored)

    async def store_initial(
        self, session: AsyncSession, tenant_id: str, realm_id: str, grant: TokenGrant
    ) -> None:
        """Store a new grant inside the caller's transaction (the OAuth callback's).

        Emits TenantConnectionRecovered in that transaction if the tenant had needed
        re-authorization, so upstream learns it works again exactly when the reconnect commits.
        """
        repo = self.refresher.repository
        previous = await repo.reauth_pending(session, tenant_id)
        now = self.refresher.clock()
        await repo.save_initial(session, StoredTokens.initial(tenant_id, realm_id, grant, now), now)
        if previous:
            await self.refresher.events.connection_recovered(session, tenant_id, realm_id, now)
        self._cache.pop(tenant_id, None)

    async def revoke_and_delete(self, tenant_id: str) -> None:
        """Revoke the grant at Intuit, then delete the tenant's tokens; all or nothing.

        The row stays locked across the Intuit call so no refresh can rotate the refresh token
        we are revoking. If Intuit does not confirm, the transaction rolls back and
        `RevocationFailed` tells the caller the tenant is still connected and may retry.
        """
        self._cache.pop(tenant_id, None)
        async with self.refresher.sessions.begin() as session:
            stored = await self.refresher.repository.load(session, tenant_id, lock=True)
            if stored is None:
                return
            try:
                # Revoking the refresh token kills the whole grant, access tokens included.
                await self.refresher.intuit.revoke(stored.refresh_token)
            except InvalidGrant:
                pass  # Intuit no longer knows the grant (revoked on its side): the goal holds.
            except IntuitError as exc:
                with log_context(tenant_id=tenant_id):
                    log.warning("revoke at Intuit failed, tokens kept: %s", exc)
                raise RevocationFailed(
                    f"QuickBooks did not confirm the disconnect of tenant {tenant_id}"
                ) from None
            await self.refresher.repository.delete(session, tenant_id)
        self._cache.pop(tenant_id, None)

    def forget(self, tenant_id: str) -> None:
        """Drop a cached token (e.g. after a disconnect handled elsewhere)."""
        self._cache.pop(tenant_id, None)

    def _fresh_cached(self, tenant_id: str, failed_sha: str | None) -> IssuedToken | None:
        entry = self._cache.get(tenant_id)
        if entry is None or entry.monotonic_deadline <= time.monotonic():
            return None
        if failed_sha is not None and failed_sha == entry.sha256:
            return None
        return entry.token

    def _remember(self, stored: StoredTokens) -> IssuedToken:
        issued = IssuedToken(
            access_token=stored.access_token,
            realm_id=stored.realm_id,
            api_base_url=self.api_base_url,
            expires_at=stored.access_expires_at,
        )
        # Never cache past the point where the refresh margin says "refresh now".
        margin = self.refresher.policy.access_margin
        usable_for = (stored.access_expires_at - margin - self.refresher.clock()).total_seconds()
        ttl = min(self._cache_ttl, usable_for)
        if ttl > 0:
            self._cache[stored.tenant_id] = _Cached(
                issued, fingerprint(stored.access_token), time.monotonic() + ttl
            )
        return issued
