"""A separate process that calls one realm as fast as the shared PostgreSQL limiter allows.

Run by test_qboclient_emulator_rate.py; prints one JSON object with its call log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import CollectorRegistry

from qbo_client import (
    AccessToken,
    LimiterTimeout,
    PostgresRateLimiter,
    Priority,
    QBOClient,
    QBOError,
    RealmLimits,
    StaticTokenProvider,
)


async def run(args: argparse.Namespace) -> dict[str, object]:
    pool = await asyncpg.create_pool(args.dsn, min_size=1, max_size=args.concurrency + 1)
    limiter = PostgresRateLimiter(pool, RealmLimits(per_minute=args.per_minute), schema=args.schema)
    await limiter.ensure_schema()
    expires = datetime.now(UTC) + timedelta(hours=1)
    token = AccessToken(args.token, args.realm, args.base_url, expires)
    calls: list[tuple[float, str]] = []
    async with QBOClient(
        StaticTokenProvider({"t": token}), limiter=limiter, registry=CollectorRegistry()
    ) as client:

        async def worker() -> None:
            while (left := args.until - time.time()) > 0:
                # max_wait ends the run: a call that could only start after `until` stops.
                session = client.for_tenant("t", priority=Priority.BACKGROUND, max_wait=left)
                try:
                    await session.company_info()
                    outcome = "ok"
                except LimiterTimeout:
                    return
                except QBOError as err:
                    outcome = f"{type(err).__name__}:{err.status}"
                # The answer's arrival is the closest this process gets to QBO's count.
                calls.append((time.time(), outcome))

        # Start together with the other process, so both have work for the whole window.
        await asyncio.sleep(max(0.0, args.start - time.time()))
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    await pool.close()
    return {"calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("base-url", "realm", "token", "dsn", "schema"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--per-minute", type=int, required=True)
    parser.add_argument("--start", type=float, required=True)
    parser.add_argument("--until", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
