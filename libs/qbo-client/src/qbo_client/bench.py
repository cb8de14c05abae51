"""Transport and client-overhead benchmark: ``python -m qbo_client.bench --help``.

Measures, with N concurrent requests against one QBO-shaped URL: raw aiohttp, plain httpx,
httpx over aiohttp, and the full QBOClient (limiter off); then the limiter's own cost
per call (in memory, and PostgreSQL when a DSN is given).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry

from qbo_client.client import QBOClient
from qbo_client.limiter import RateLimiter, RealmLimits
from qbo_client.limiter_memory import InMemoryRateLimiter, UnlimitedRateLimiter
from qbo_client.tokens import AccessToken, StaticTokenProvider
from qbo_client.transport import TransportKind, make_http_client


@dataclass(frozen=True)
class Target:
    base_url: str
    realm_id: str
    access_token: str

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/v3/company/{self.realm_id}/companyinfo/{self.realm_id}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}


async def _run(total: int, concurrency: int, one: Callable[[], Awaitable[None]]) -> float:
    """Requests per second for ``total`` calls spread over ``concurrency`` workers."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


async def bench_aiohttp(target: Target, total: int, concurrency: int) -> float:
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            params = {"minorversion": "75"}
            async with session.get(target.url, headers=target.headers, params=params) as resp:
                await resp.read()
                resp.raise_for_status()

        await one()  # warm the connection
        return await _run(total, concurrency, one)


async def bench_httpx(target: Target, total: int, concurrency: int, kind: TransportKind) -> float:
    async with make_http_client(timeout=30.0, kind=kind) as http:

        async def one() -> None:
            resp = await http.get(target.url, headers=target.headers, params={"minorversion": "75"})
            resp.raise_for_status()

        await one()
        return await _run(total, concurrency, one)


async def bench_client(
    target: Target, total: int, concurrency: int, limiter: RateLimiter | None = None
) -> float:
    expires = datetime.now(UTC) + timedelta(hours=1)
    token = AccessToken(target.access_token, target.realm_id, target.base_url, expires)
    tokens = StaticTokenProvider({"bench": token})
    async with QBOClient(
        tokens, limiter=limiter or UnlimitedRateLimiter(), registry=CollectorRegistry()
    ) as client:
        session = client.for_tenant("bench")

        async def one() -> None:
            await session.company_info()

        await one()
        return await _run(total, concurrency, one)


async def limiter_cost(limiter: RateLimiter, calls: int) -> float:
    """Mean seconds per acquire+release on an unconstrained realm."""
    realm = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    for _ in range(calls):
        await limiter.release(await limiter.acquire(realm))
    return (time.perf_counter() - started) / calls


def _serve_stub(port: int) -> None:
    """A QBO-shaped stub so the transports can be compared without the emulator."""
    body = (
        b'{"CompanyInfo":{"Id":"1","SyncToken":"0","CompanyName":"Bench Co","Country":"US",'
        b'"domain":"QBO","sparse":false},"time":"2026-01-01T00:00:00-08:00"}'
    )

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v3/company/{realm}/companyinfo/{id}", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", help="QBO or emulator base URL (default: built-in stub)")
    parser.add_argument("--realm", default="1")
    parser.add_argument("--token", default="bench-token")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--pg-dsn", help="also measure the PostgreSQL limiter")
    args = parser.parse_args(argv)

    stub: multiprocessing.Process | None = None
    base_url = args.base_url
    if base_url is None:
        port = 18000 + uuid.uuid4().int % 2000
        stub = multiprocessing.Process(target=_serve_stub, args=(port,), daemon=True)
        stub.start()
        base_url = f"http://127.0.0.1:{port}"
        await _wait_up(f"{base_url}/v3/company/1/companyinfo/1")
    target = Target(base_url, args.realm, args.token)
    n, c = args.requests, args.concurrency
    try:
        raw = await bench_aiohttp(target, n, c)
        rows = [
            ("raw aiohttp", raw),
            ("plain httpx", await bench_httpx(target, n, c, "httpx")),
            ("httpx over aiohttp", await bench_httpx(target, n, c, "aiohttp")),
            ("QBOClient (limiter off)", await bench_client(target, n, c)),
            (
                "QBOClient (in-memory limiter)",
                await bench_client(
                    target, n, c, InMemoryRateLimiter(RealmLimits(10**9, 10**9, 10**9, 10**9))
                ),
            ),
        ]
        print(f"{n} GET companyinfo, {c} concurrent, {base_url}")
        for name, rate in rows:
            print(f"  {name:32s} {rate:9.0f} req/s  {rate / raw:6.2f} x raw aiohttp")
        mem = await limiter_cost(InMemoryRateLimiter(RealmLimits(10**9, 10**9, 10**9)), 2000)
        print(f"  limiter overhead, in memory:      {mem * 1e6:9.1f} us/call")
        if args.pg_dsn:
            pg = await _pg_cost(args.pg_dsn)
            print(f"  limiter overhead, PostgreSQL:     {pg * 1e3:9.2f} ms/call")
    finally:
        if stub is not None:
            stub.terminate()


async def _pg_cost(dsn: str) -> float:
    import asyncpg

    from qbo_client.limiter_postgres import PostgresRateLimiter

    schema = f"qbo_limits_bench_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        limiter = PostgresRateLimiter(pool, RealmLimits(10**9, 10**9, 10**9), schema=schema)
        await limiter.ensure_schema()
        return await limiter_cost(limiter, 300)
    finally:
        await pool.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await pool.close()


async def _wait_up(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            try:
                await http.get(url)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"stub server at {url} did not start")


if __name__ == "__main__":
    asyncio.run(main())
