"""In-process rate limiter with the same policy as the PostgreSQL one (single process, tests)."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from qbo_client.errors import LimiterTimeout
from qbo_client.limiter import Lease, Priority, RealmLimits, RealmUsage, decide


@dataclass
class _RealmState:
    grants: deque[float] = field(default_factory=deque)
    batches: deque[float] = field(default_factory=deque)
    leases: set[str] = field(default_factory=set)
    backoff_until: float = 0.0
    # waiter key -> (priority, arrival sequence)
    waiters: dict[int, tuple[int, int]] = field(default_factory=dict)


class InMemoryRateLimiter:
    """Each realm has its own state and nobody holds a lock while sleeping, so one realm's
    wait never delays another realm."""

    def __init__(
        self,
        limits: RealmLimits | None = None,
        *,
        limits_for: Callable[[str], RealmLimits] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        default = limits or RealmLimits()
        self._limits_for = limits_for or (lambda _realm: default)
        self._clock = clock
        self._realms: dict[str, _RealmState] = {}
        self._seq = itertools.count()

    def _state(self, realm_id: str) -> _RealmState:
        return self._realms.setdefault(realm_id, _RealmState())

    async def acquire(
        self,
        realm_id: str,
        *,
        priority: Priority = Priority.INTERACTIVE,
        batch: bool = False,
        max_wait: float | None = None,
    ) -> Lease:
        limits = self._limits_for(realm_id)
        state = self._state(realm_id)
        me = next(self._seq)
        rank = (int(priority), me)
        deadline = None if max_wait is None else self._clock() + max_wait
        try:
            while True:
                now = self._clock()
                self._expire(state, now, limits)
                ahead = sum(1 for r in state.waiters.values() if r < rank)
                usage = RealmUsage(
                    grant_times=list(state.grants),
                    batch_times=list(state.batches),
                    in_flight=len(state.leases),
                    backoff_until=state.backoff_until,
                    ahead=ahead,
                )
                wait = decide(limits, usage, now, batch=batch)
                if wait == 0.0:
                    lease = Lease(realm_id, uuid.uuid4().hex, batch)
                    state.grants.append(now)
                    if batch:
                        state.batches.append(now)
                    state.leases.add(lease.lease_id)
                    return lease
                if deadline is not None and now + wait > deadline:
                    raise LimiterTimeout(
                        f"realm budget exhausted for {wait:.1f}s", code="limiter"
                    ).with_retry_after(wait)
                state.waiters[me] = rank
                await asyncio.sleep(min(wait, limits.max_sleep))
        finally:
            state.waiters.pop(me, None)

    @staticmethod
    def _expire(state: _RealmState, now: float, limits: RealmLimits) -> None:
        horizon = now - limits.minute_window
        while state.grants and state.grants[0] <= horizon:
            state.grants.popleft()
        while state.batches and state.batches[0] <= horizon:
            state.batches.popleft()

    async def release(self, lease: Lease) -> None:
        self._state(lease.realm_id).leases.discard(lease.lease_id)

    async def backoff(self, realm_id: str, seconds: float) -> None:
        state = self._state(realm_id)
        state.backoff_until = max(state.backoff_until, self._clock() + seconds)


class UnlimitedRateLimiter:
    """Grants everything at once: for benchmarks against an emulator with limits off."""

    async def acquire(
        self,
        realm_id: str,
        *,
        priority: Priority = Priority.INTERACTIVE,
        batch: bool = False,
        max_wait: float | None = None,
    ) -> Lease:
        return Lease(realm_id, "", batch)

    async def release(self, lease: Lease) -> None:
        return None

    async def backoff(self, realm_id: str, seconds: float) -> None:
        return None
