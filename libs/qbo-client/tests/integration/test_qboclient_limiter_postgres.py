"""The PostgreSQL limiter: state shared by separate pools (as separate processes would)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from qbo_client.errors import LimiterTimeout
from qbo_client.limiter import Priority, RealmLimits, slot
from qbo_client.limiter_postgres import PostgresRateLimiter

pytestmark = pytest.mark.integration


@pytest.fixture
async def pools(database_dsn: str, schema: str) -> AsyncIterator[list[asyncpg.Pool]]:
    made = [await asyncpg.create_pool(database_dsn, min_size=1, max_size=4) for _ in range(2)]
    try:
        yield made
    finally:
        for pool in made:
            await pool.close()


def realm() -> str:
    return f"realm-{uuid.uuid4().hex[:10]}"


async def test_two_limiters_share_one_per_second_budget(
    pools: list[asyncpg.Pool], schema: str
) -> None:
    limits = RealmLimits(per_second=3)
    a = PostgresRateLimiter(pools[0], limits, schema=schema)
    b = PostgresRateLimiter(pools[1], limits, schema=schema)
    await asyncio.gather(a.ensure_schema(), b.ensure_schema(), a.ensure_schema())
    r = realm()
    grants: list[float] = []

    async def one(limiter: PostgresRateLimiter) -> None:
        async with slot(limiter, r):
            grants.append(time.perf_counter())

    await asyncio.gather(*(one(a if i % 2 else b) for i in range(7)))
    grants.sort()
    # Never more than 3 grants inside any 1-second window, across both "processes".
    for i in range(len(grants) - 3):
        assert grants[i + 3] - grants[i] >= 1.0
    assert grants[-1] - grants[0] < 3.5


async def test_backoff_is_shared_and_other_realms_are_not_delayed(
    pools: list[asyncpg.Pool], schema: str
) -> None:
    a = PostgresRateLimiter(pools[0], schema=schema)
    b = PostgresRateLimiter(pools[1], schema=schema)
    await a.ensure_schema()
    throttled, other = realm(), realm()
    await a.backoff(throttled, 30.0)
    with pytest.raises(LimiterTimeout) as info:
        await b.acquire(throttled, max_wait=0.5)
    assert info.value.retry_after == pytest.approx(30.0, abs=1.0)
    started = time.perf_counter()
    lease = await b.acquire(other)
    assert time.perf_counter() - started < 0.5
    await b.release(lease)


async def test_crashed_holder_lease_expires(pools: list[asyncpg.Pool], schema: str) -> None:
    limits = RealmLimits(concurrent=1, lease_seconds=0.3)
    a = PostgresRateLimiter(pools[0], limits, schema=schema)
    b = PostgresRateLimiter(pools[1], limits, schema=schema)
    await a.ensure_schema()
    r = realm()
    await a.acquire(r)  # never released: its process "crashed"
    with pytest.raises(LimiterTimeout):
        await b.acquire(r, max_wait=0.1)
    started = time.perf_counter()
    lease = await b.acquire(r, max_wait=2.0)
    assert 0.1 < time.perf_counter() - started < 1.0
    await b.release(lease)


async def test_interactive_waiter_in_another_process_goes_first(
    pools: list[asyncpg.Pool], schema: str
) -> None:
    limits = RealmLimits(concurrent=1)
    a = PostgresRateLimiter(pools[0], limits, schema=schema)
    b = PostgresRateLimiter(pools[1], limits, schema=schema)
    await a.ensure_schema()
    r = realm()
    held = await a.acquire(r)
    order: list[str] = []

    async def take(limiter: PostgresRateLimiter, name: str, priority: Priority) -> None:
        async with slot(limiter, r, priority=priority):
            order.append(name)
            await asyncio.sleep(0.02)

    background = asyncio.create_task(take(a, "background", Priority.BACKGROUND))
    await asyncio.sleep(0.2)
    interactive = asyncio.create_task(take(b, "interactive", Priority.INTERACTIVE))
    await asyncio.sleep(0.2)
    await a.release(held)
    await asyncio.gather(background, interactive)
    assert order == ["interactive", "background"]


def test_schema_name_is_validated(pools: list[asyncpg.Pool]) -> None:
    with pytest.raises(ValueError, match="schema"):
        PostgresRateLimiter(pools[0], schema="x; DROP TABLE y")
