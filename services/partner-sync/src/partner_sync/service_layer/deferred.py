"""The deferred-work job: syncs partners whose realm had no QBO budget when their event came.

Event handlers defer instead of waiting on a busy realm, so one tenant's backlog leaves the queue
at database speed and other tenants' events are not stuck behind it. This job then works through
the deferred partners round-robin across tenants, a few per tenant per round, at the pace each
realm's limiter allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from partner_sync.adapters.repository import PartnerRepository
from partner_sync.service_layer.handlers import PartnerHandlers

log = logging.getLogger(__name__)

PER_TENANT_PER_ROUND = 5
SCAN_LIMIT = 2000


class DeferredWork:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        repository: PartnerRepository,
        handlers: PartnerHandlers,
        idle_interval: float = 0.2,
    ) -> None:
        self._sessions = sessions
        self._repo = repository
        self._handlers = handlers
        self._idle = idle_interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                progressed = await self.round()
            except Exception:  # a database or QBO blip must not end the job; next round retries
                log.exception("deferred partner round failed")
                progressed = False
            if not progressed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._idle)

    async def round(self) -> bool:
        """One pass: up to PER_TENANT_PER_ROUND partners of every tenant, tenants in parallel."""
        async with self._sessions() as session:
            found = await self._repo.deferred(session, SCAN_LIMIT)
        by_tenant: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for tenant, kind, partner_id in found:
            if len(by_tenant[tenant]) < PER_TENANT_PER_ROUND:
                by_tenant[tenant].append((kind, partner_id))
        done = await asyncio.gather(
            *(self._tenant(t, keys) for t, keys in by_tenant.items()), return_exceptions=True
        )
        for outcome in done:
            if isinstance(outcome, BaseException):
                # Transient QBO or database trouble: the partner stays deferred for next round.
                log.warning("deferred partner not synced yet: %r", outcome)
        return any(outcome is True for outcome in done)

    async def _tenant(self, tenant_id: str, keys: list[tuple[str, str]]) -> bool:
        progressed = False
        for kind, partner_id in keys:
            async with self._sessions.begin() as session:
                progressed |= await self._handlers.resume(session, tenant_id, kind, partner_id)
        return progressed
