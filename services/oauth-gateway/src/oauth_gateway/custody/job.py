"""Background refresh job: keep quiet tenants' refresh tokens young and warn before hard expiry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from oauth_gateway.custody.errors import CustodyError
from oauth_gateway.custody.keyring import DecryptionError
from oauth_gateway.custody.refresher import BACKGROUND, Refresher
from qbsync_common.logs import log_context

log = logging.getLogger(__name__)


class RefreshJob:
    """A ServiceRuntime job (`async def __call__(stop)`); safe to run on every replica.

    Replicas may pick the same tenant; the row lock plus the "still old?" re-check in Refresher
    make the second one a no-op instead of a second Intuit call.
    """

    def __init__(
        self, refresher: Refresher, *, interval: timedelta = timedelta(minutes=5), batch: int = 50
    ) -> None:
        self.refresher = refresher
        self.interval = interval.total_seconds()
        self.batch = batch

    async def __call__(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                # A database hiccup must not kill the job; the next round retries.
                log.exception("background token refresh round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def run_once(self) -> tuple[int, int]:
        """One round: (tenants refreshed, expiry warnings emitted)."""
        return await self._refresh_old(), await self._warn_hard_expiry()

    async def _refresh_old(self) -> int:
        r = self.refresher
        cutoff = r.clock() - r.policy.max_refresh_age
        async with r.sessions() as session:
            due = await r.repository.refreshed_before(session, cutoff, self.batch)
        refreshed = 0
        for tenant_id in due:
            try:
                await r.refresh(tenant_id, None, trigger=BACKGROUND)
                refreshed += 1
            except (CustodyError, DecryptionError) as exc:
                # One bad row (or Intuit refusing one tenant) must not stop the others.
                with log_context(tenant_id=tenant_id):
                    log.warning("background refresh failed: %s", exc)
        return refreshed

    async def _warn_hard_expiry(self) -> int:
        r = self.refresher
        now = r.clock()
        async with r.sessions.begin() as session:
            due = await r.repository.hard_expiring_before(
                session, now + r.policy.hard_expiry_warning, self.batch
            )
            for tenant_id, realm_id, hard_expires_at in due:
                await r.events.refresh_token_expiring(session, tenant_id, realm_id, hard_expires_at)
                await r.repository.mark_expiry_warned(session, tenant_id, now)
        return len(due)
