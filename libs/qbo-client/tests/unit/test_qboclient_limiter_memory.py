"""The in-process limiter: realms are independent, lanes are ordered, waits are bounded."""

from __future__ import annotations

import asyncio
import time

import pytest

from qbo_client.errors import LimiterTimeout
from qbo_client.limiter import Priority, RealmLimits, slot
from qbo_client.limiter_memory import InMemoryRateLimiter


async def test_backoff_of_one_realm_does_not_delay_another() -> None:
    limiter = InMemoryRateLimiter()
    await limiter.backoff("throttled", 30.0)
    started = time.perf_counter()
    lease = await limiter.acquire("other")
    assert time.perf_counter() - started < 0.05
    await limiter.release(lease)
    with pytest.raises(LimiterTimeout) as info:
        await limiter.acquire("throttled", max_wait=1.0)
    assert info.value.retry_after == pytest.approx(30.0, abs=0.5)
    assert info.value.transient


async def test_interactive_lane_is_served_before_background() -> None:
    limiter = InMemoryRateLimiter(RealmLimits(concurrent=1))
    held = await limiter.acquire("r")
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        async with slot(limiter, "r", priority=priority):
            order.append(name)
            await asyncio.sleep(0.01)

    background = asyncio.create_task(take("background", Priority.BACKGROUND))
    await asyncio.sleep(0.1)  # the background caller is queued first
    interactive = asyncio.create_task(take("interactive", Priority.INTERACTIVE))
    await asyncio.sleep(0.1)
    await limiter.release(held)
    await asyncio.gather(background, interactive)
    assert order == ["interactive", "background"]


async def test_per_second_limit_spaces_grants() -> None:
    limiter = InMemoryRateLimiter(RealmLimits(per_second=2))
    times = []
    for _ in range(3):
        lease = await limiter.acquire("r")
        times.append(time.perf_counter())
        await limiter.release(lease)
    assert times[1] - times[0] < 0.1
    assert times[2] - times[0] >= 1.0


async def test_concurrency_slots_are_released() -> None:
    limiter = InMemoryRateLimiter(RealmLimits(concurrent=2))
    a = await limiter.acquire("r")
    b = await limiter.acquire("r")
    with pytest.raises(LimiterTimeout):
        await limiter.acquire("r", max_wait=0.01)
    await limiter.release(a)
    c = await limiter.acquire("r", max_wait=0.5)
    await limiter.release(b)
    await limiter.release(c)
