"""Refreshing one tenant's tokens: row lock, double check, Intuit call, CAS store, then hand out.

Exactly one refresh per tenant runs at a time across replicas because it happens under
`SELECT … FOR UPDATE` on the tenant's token row (RELIABILITY §4.2); the rotated refresh token is
committed before the new access token leaves this module.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.errors import (
    NeedsReauthorization,
    NotConnected,
    TokenUnavailable,
    UnknownTenant,
)
from oauth_gateway.custody.intuit import IntuitError, IntuitOAuth, InvalidGrant
from oauth_gateway.custody.metrics import CustodyMetrics
from oauth_gateway.custody.model import StoredTokens, fingerprint
from oauth_gateway.custody.policy import RefreshPolicy
from oauth_gateway.custody.ports import TenantEvents
from oauth_gateway.custody.repository import TokenRepository
from qbsync_common.logs import log_context

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Test seam for F12: runs after Intuit answered, before our commit (a crash there loses the answer).
AfterTokenResponse = Callable[[str], Awaitable[None]]

ON_DEMAND = "demand"
BACKGROUND = "background"


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _no_hook(_tenant_id: str) -> None:
    return None


class Refresher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repository: TokenRepository,
        intuit: IntuitOAuth,
        events: TenantEvents,
        metrics: CustodyMetrics,
        *,
        policy: RefreshPolicy | None = None,
        clock: Clock = utc_now,
        after_token_response: AfterTokenResponse = _no_hook,
    ) -> None:
        self.sessions = sessions
        self.repository = repository
        self.intuit = intuit
        self.events = events
        self.metrics = metrics
        self.policy = policy or RefreshPolicy()
        self.clock = clock
        self.after_token_response = after_token_response

    async def current(self, tenant_id: str, failed_token_sha256: str | None) -> StoredTokens:
        """The tenant's tokens, refreshed first if near expiry or named as failed."""
        async with self.sessions() as session:
            tokens = await self._load_usable(session, tenant_id, lock=False)
        if not self.policy.must_refresh(tokens, self.clock(), failed_token_sha256):
            return tokens
        return await self.refresh(tenant_id, failed_token_sha256, trigger=ON_DEMAND)

    async def refresh(
        self, tenant_id: str, failed_token_sha256: str | None, *, trigger: str
    ) -> StoredTokens:
        with log_context(tenant_id=tenant_id):
            return await self._refresh(tenant_id, failed_token_sha256, trigger)

    async def _refresh(
        self, tenant_id: str, failed_token_sha256: str | None, trigger: str
    ) -> StoredTokens:
        seen_generation: int | None = None
        for _ in range(2):
            outcome = await self._refresh_locked(
                tenant_id, failed_token_sha256, trigger, seen_generation
            )
            if isinstance(outcome, StoredTokens):
                return outcome
            # invalid_grant: another replica (or a reconnect) may have stored a newer token in the
            # meantime; look once more before declaring the grant dead.
            if seen_generation == outcome:
                break
            seen_generation = outcome
        assert seen_generation is not None
        await self._mark_reauth_required(tenant_id, seen_generation)
        raise NeedsReauthorization(tenant_id)

    async def _refresh_locked(
        self, tenant_id: str, failed_sha: str | None, trigger: str, seen_generation: int | None
    ) -> StoredTokens | int:
        """New tokens, or the generation whose refresh token Intuit called invalid_grant."""
        failure: IntuitError | None = None
        async with self.sessions.begin() as session:
            tokens = await self._load_usable(session, tenant_id, lock=True)
            now = self.clock()
            if seen_generation is not None and tokens.generation == seen_generation:
                return tokens.generation  # the re-read found nothing newer
            if not self._still_needed(tokens, now, failed_sha, trigger, seen_generation):
                self.metrics.refreshed(trigger, "lost_race")
                return tokens
            if self.policy.backing_off(tokens, now):
                self.metrics.refreshed(trigger, "backoff")
                return self._fallback(
                    tokens, now, failed_sha, "recent refresh failure; backing off"
                )
            try:
                grant = await self.intuit.refresh(tokens.refresh_token)
            except InvalidGrant:
                self.metrics.refreshed(trigger, "invalid_grant")
                log.warning("refresh refused with invalid_grant")
                return tokens.generation
            except IntuitError as exc:
                failure = exc
                await self.repository.record_failure(session, tenant_id, now)
            else:
                await self.after_token_response(tenant_id)
                fresh = tokens.after_refresh(grant, self.clock())
                if not await self.repository.compare_and_swap(
                    session, fresh, tokens.generation, now
                ):
                    # Impossible while we hold the row lock; refuse rather than overwrite.
                    raise TokenUnavailable("token row changed under the refresh lock")
        if failure is not None:
            self.metrics.refreshed(trigger, "unavailable")
            log.warning("refresh failed, will retry after back-off: %s", failure)
            return self._fallback(tokens, now, failed_sha, "Intuit token endpoint unavailable")
        self.metrics.refreshed(trigger, "ok")
        log.info("tokens refreshed", extra={"trigger": trigger})
        return fresh

    def _still_needed(
        self,
        tokens: StoredTokens,
        now: datetime,
        failed_sha: str | None,
        trigger: str,
        seen_generation: int | None,
    ) -> bool:
        if seen_generation is not None:
            # A newer generation appeared after invalid_grant; refresh with it only if required.
            return self.policy.must_refresh(tokens, now, failed_sha)
        if trigger == BACKGROUND:
            return self.policy.refresh_is_old(tokens, now)
        # Double-checked: whoever held the lock before us may already have refreshed.
        return self.policy.must_refresh(tokens, now, failed_sha)

    def _fallback(
        self, tokens: StoredTokens, now: datetime, failed_sha: str | None, why: str
    ) -> StoredTokens:
        # An access token near (but not past) expiry still works; better than failing the caller.
        # Not the one the caller just saw QBO refuse: handing it back would only earn another 401.
        if tokens.access_expires_at > now and failed_sha != fingerprint(tokens.access_token):
            return tokens
        raise TokenUnavailable(why)

    async def _load_usable(
        self, session: AsyncSession, tenant_id: str, *, lock: bool
    ) -> StoredTokens:
        tokens = await self.repository.load(session, tenant_id, lock=lock)
        if tokens is None:
            state = await self.repository.tenant_state(session, tenant_id)
            if state is None:
                raise UnknownTenant(tenant_id)
            raise NotConnected(tenant_id, state)
        if tokens.reauth_required_at is not None:
            raise NeedsReauthorization(tenant_id)
        return tokens

    async def _mark_reauth_required(self, tenant_id: str, generation: int) -> None:
        async with self.sessions.begin() as session:
            now = self.clock()
            realm_id = await self.repository.mark_reauth_required(
                session, tenant_id, generation, now
            )
            if realm_id is not None:
                await self.events.reauthorization_required(session, tenant_id, realm_id, now)
                log.warning("tenant needs re-authorization")
