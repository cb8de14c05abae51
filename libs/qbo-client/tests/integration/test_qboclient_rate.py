"""Shared limits end to end against the emulator: two processes on one realm, and isolation."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from qbo_client import (
    LimiterTimeout,
    PostgresRateLimiter,
    QBOClient,
    StaticTokenProvider,
    ThrottledError,
)

pytestmark = pytest.mark.integration

WORKER = Path(__file__).parent / "qboclient_rate_worker.py"


@pytest.mark.slow
async def test_two_processes_share_one_realm_without_429(
    qbo_emulator_url: str, admin: Any, emulator_token: str, database_dsn: str, schema: str
) -> None:
    realm = await admin.new_realm(seeded=False)
    await admin.set_limits(realm, per_minute=60, per_second=10, concurrent=10)
    start = time.time() + 3.0  # both processes import and connect before the start line
    # Both have work past the first minute, so the test also crosses a window boundary.
    until = start + 62.0
    cmd = [
        sys.executable,
        str(WORKER),
        f"--base-url={qbo_emulator_url}",
        f"--realm={realm}",
        f"--token={emulator_token}",
        f"--dsn={database_dsn}",
        f"--schema={schema}",
        "--per-minute=60",
        f"--start={start}",
        f"--until={until}",
    ]
    procs = [
        await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE) for _ in range(2)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    per_process = [json.loads(out)["calls"] for out, _ in outputs]
    assert all(p.returncode == 0 for p in procs)
    assert all(len(calls) > 0 for calls in per_process), "both processes must have been served"
    outcomes = {outcome for calls in per_process for _, outcome in calls}
    assert outcomes == {"ok"}
    stats = await admin.stats(realm)
    assert stats["throttled"] == 0
    done = sorted(t for calls in per_process for t, _ in calls)
    first_minute = sum(1 for t in done if t < done[0] + 60.0)
    # Within 10% of the limit while both had work, and never above it in any window.
    assert 54 <= first_minute <= 60
    assert max(sum(1 for t in done if s <= t < s + 60.0) for s in done) <= 60


async def test_throttled_realm_does_not_delay_another(
    admin: Any,
    emulator_tokens: Callable[..., StaticTokenProvider],
    limiter_pool: asyncpg.Pool,
    schema: str,
) -> None:
    slow, fast = await admin.new_realm(seeded=False), await admin.new_realm(seeded=False)
    await admin.set_limits(slow, per_minute=2)
    limiter = PostgresRateLimiter(limiter_pool, schema=schema)  # QBO's limits, shared state
    await limiter.ensure_schema()
    tokens = emulator_tokens(slow, fast)
    async with QBOClient(tokens, limiter=limiter, registry=CollectorRegistry()) as client:
        throttled = client.for_tenant(slow)
        await throttled.company_info()
        await throttled.company_info()
        with pytest.raises(ThrottledError) as info:
            await throttled.company_info()
        assert info.value.code == "3001"
        assert info.value.transient
        # Callers of the throttled realm now queue in the limiter for ~60 s ...
        blocked = [asyncio.create_task(throttled.company_info()) for _ in range(3)]
        await asyncio.sleep(0.3)
        # ... while the other realm goes at full speed.
        started = time.perf_counter()
        other = client.for_tenant(fast)
        results = await asyncio.gather(*(other.company_info() for _ in range(8)))
        elapsed = time.perf_counter() - started
        assert all(r.CompanyName == f"Co {fast}" for r in results)
        # Far from the throttled realm's ~60 s back-off (a tight bound would only measure how
        # loaded the machine is), and the throttled callers are still waiting meanwhile.
        assert elapsed < 20.0
        assert not any(task.done() for task in blocked)
        # The back-off is in the shared table: a second "process" sees it too.
        second = PostgresRateLimiter(limiter_pool, schema=schema)
        with pytest.raises(LimiterTimeout) as waited:
            await second.acquire(slow, max_wait=1.0)
        assert waited.value.retry_after > 50
        for task in blocked:
            task.cancel()
        await asyncio.gather(*blocked, return_exceptions=True)
    stats = await admin.stats(slow)
    assert stats["total"] == 3  # nothing was sent during the back-off
    assert stats["throttled"] == 1
