"""Per-realm rate-limit policy: the limiter protocol, lanes, and the pure grant decision."""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol


class Priority(IntEnum):
    """Lanes within a realm's budget; a lower value is served first."""

    INTERACTIVE = 0  # something a person just saved upstream
    BACKGROUND = 1  # polling, backfills, reconciliation


@dataclass(frozen=True)
class RealmLimits:
    """QBO's per-realm limits (QBO.md §5) plus safety margins.

    The margins widen each sliding window slightly: requests granted here reach QBO a few
    milliseconds later and not always in the same order, so a window that is exactly as
    long as QBO's would occasionally let QBO count one request too many.
    """

    per_minute: int = 500
    per_second: int = 10
    concurrent: int = 10
    batch_per_minute: int = 40
    minute_margin: float = 0.5
    second_margin: float = 0.1
    # Longer than QBO's 120 s request timeout, so a lease only expires when its holder died.
    lease_seconds: float = 150.0
    # How often a waiter re-checks when it cannot compute when a slot frees (concurrency).
    poll_interval: float = 0.05
    # Upper bound on one sleep, so waiters refresh their place in the queue.
    max_sleep: float = 1.0

    @property
    def minute_window(self) -> float:
        return 60.0 + self.minute_margin

    @property
    def second_window(self) -> float:
        return 1.0 + self.second_margin


@dataclass(frozen=True)
class Lease:
    """Permission for one request; release it when the answer (or failure) is in."""

    realm_id: str
    lease_id: str
    batch: bool = False


@dataclass(frozen=True)
class RealmUsage:
    """What the shared state says about one realm at ``now`` (all times in seconds)."""

    grant_times: Sequence[float]  # recent grants, ascending
    batch_times: Sequence[float]  # recent batch grants, ascending
    in_flight: int
    backoff_until: float
    ahead: int  # live waiters that must be served before this caller


def decide(limits: RealmLimits, usage: RealmUsage, now: float, *, batch: bool) -> float:
    """Seconds to wait before asking again; 0.0 means grant now.

    The caller gets a slot only if every budget has room for it *and* for each waiter
    ahead of it, which is how interactive work is served before background work.
    """
    if usage.backoff_until > now:
        return usage.backoff_until - now
    need = usage.ahead + 1
    waits = [
        _window_wait(usage.grant_times, limits.per_minute, limits.minute_window, now, need),
        _window_wait(usage.grant_times, limits.per_second, limits.second_window, now, need),
    ]
    if batch:
        waits.append(
            _window_wait(
                usage.batch_times, limits.batch_per_minute, limits.minute_window, now, need
            )
        )
    if limits.concurrent - usage.in_flight < need:
        # Nobody knows when a slot frees; those further back poll less often, which keeps
        # a long queue from hammering the shared state.
        waits.append(limits.poll_interval * need)
    wait = max(waits)
    return 0.0 if wait <= 0 else wait


def _window_wait(times: Sequence[float], limit: int, window: float, now: float, need: int) -> float:
    """Time until a sliding window of ``window`` seconds has ``need`` free slots."""
    start = bisect.bisect_right(times, now - window)
    used = len(times) - start
    excess = used + need - limit
    if excess <= 0:
        return 0.0
    if excess > used:
        # Even an empty window would not fit; wait a full window for waiters ahead to drain.
        return window
    return times[start + excess - 1] + window - now


class RateLimiter(Protocol):
    """A per-realm limiter; implementations share state in memory or in PostgreSQL."""

    async def acquire(
        self,
        realm_id: str,
        *,
        priority: Priority = Priority.INTERACTIVE,
        batch: bool = False,
        max_wait: float | None = None,
    ) -> Lease:
        """Wait for the realm's budget; raise LimiterTimeout if it exceeds ``max_wait``."""
        ...

    async def release(self, lease: Lease) -> None: ...

    async def backoff(self, realm_id: str, seconds: float) -> None:
        """Stop granting the whole realm for ``seconds`` (after QBO answered 429)."""
        ...


@asynccontextmanager
async def slot(
    limiter: RateLimiter,
    realm_id: str,
    *,
    priority: Priority = Priority.INTERACTIVE,
    batch: bool = False,
    max_wait: float | None = None,
) -> AsyncIterator[Lease]:
    """Hold a lease for the duration of the block."""
    lease = await limiter.acquire(realm_id, priority=priority, batch=batch, max_wait=max_wait)
    try:
        yield lease
    finally:
        await limiter.release(lease)
