"""Preflight per tenant: QBO company facts read once and cached, assessed against the settings."""

from __future__ import annotations

import time
from collections.abc import Callable

from invoice_sync.domain.policy import SyncPolicy
from invoice_sync.domain.preflight import CompanyFacts, CompanyProfile, assess
from invoice_sync.service_layer.ports import Books


class CompanyProfiles:
    """Facts are cached per tenant (3 QBO reads each time); the verdict is recomputed from them on
    every use, so a settings change applies at once. QBO preference changes call `invalidate`."""

    def __init__(
        self, *, ttl_s: float = 900.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._facts: dict[str, tuple[float, CompanyFacts]] = {}

    async def get(self, tenant_id: str, books: Books, policy: SyncPolicy) -> CompanyProfile:
        cached = self._facts.get(tenant_id)
        if cached is None or self._clock() - cached[0] > self._ttl:
            cached = (self._clock(), await books.company_facts())
            self._facts[tenant_id] = cached
        return assess(cached[1], policy)

    def invalidate(self, tenant_id: str) -> None:
        self._facts.pop(tenant_id, None)
