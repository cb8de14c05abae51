"""Benchmark of the internal token API: requests/s and p99 latency for cached tokens, 100 tenants.

Run: `uv run python -m oauth_gateway.bench [--tenants 100] [--requests 5000] [--concurrency 32]`
against the PostgreSQL of QBSYNC_DATABASE_URL (a private schema is created and dropped). The
token API runs under uvicorn in a child process (as the gateway would); this process is the
client (httpx over TCP, keep-alive), so client and server do not share one CPU-bound event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import secrets
import socket
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Column, DateTime, MetaData, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from oauth_gateway.config import Settings
from oauth_gateway.custody.api import token_router
from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.custody.intuit import IntuitOAuth
from oauth_gateway.custody.keyring import KeyRing
from oauth_gateway.custody.metrics import CustodyMetrics
from oauth_gateway.custody.model import TokenGrant
from oauth_gateway.custody.refresher import Refresher
from oauth_gateway.custody.repository import TokenRepository
from oauth_gateway.custody.tables import tokens_table
from oauth_gateway.custody.vault import TokenVault


class _NoEvents:
    """Cached-token reads emit nothing; present only to satisfy the port."""

    async def reauthorization_required(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None:
        return None

    async def connection_recovered(
        self, session: AsyncSession, tenant_id: str, realm_id: str, at: datetime
    ) -> None:
        return None

    async def refresh_token_expiring(
        self, session: AsyncSession, tenant_id: str, realm_id: str, hard_expires_at: datetime
    ) -> None:
        return None


def _metadata(schema: str) -> MetaData:
    metadata = MetaData(schema=schema)
    tokens_table(metadata)
    # Just enough of part A's tenants table for custody's state lookups.
    Table(
        "tenants",
        metadata,
        Column("tenant_id", Text, primary_key=True),
        Column("state", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True)),
    )
    return metadata


def _vault(database_url: str, schema: str, key: bytes) -> TokenVault:
    engine = create_async_engine(database_url, pool_size=10)
    refresher = Refresher(
        async_sessionmaker(engine, expire_on_commit=False),
        TokenRepository(tokens_table(_metadata(schema)), KeyRing({"bench": key}, "bench")),
        IntuitOAuth("http://127.0.0.1:9/unused", "bench", "bench", "http://127.0.0.1:9/cb"),
        _NoEvents(),
        CustodyMetrics("oauth-gateway-bench"),
    )
    return TokenVault(refresher, "http://127.0.0.1:8090")


def _serve(database_url: str, schema: str, key: bytes, credential: str, port: int) -> None:
    """Child process: the token API alone, as the gateway serves it."""
    app = FastAPI()
    vault = _vault(database_url, schema, key)
    app.include_router(token_router(vault, ServiceCredentials({"bench": credential})))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _seed(database_url: str, schema: str, key: bytes, tenants: int) -> list[str]:
    vault = _vault(database_url, schema, key)
    sessions = vault.refresher.sessions
    ids = [f"bench-{i}" for i in range(tenants)]
    insert = text(f'INSERT INTO "{schema}".tenants (tenant_id, state) VALUES (:t, :s)')
    for tenant_id in ids:
        grant = TokenGrant(secrets.token_urlsafe(48), secrets.token_urlsafe(32), 3600, 8_640_000)
        async with sessions.begin() as session:
            await session.execute(insert, {"t": tenant_id, "s": "connected"})
            await vault.store_initial(session, tenant_id, f"realm-{tenant_id}", grant)
    return ids


async def _load(
    port: int, credential: str, ids: list[str], requests: int, concurrency: int
) -> list[float]:
    latencies: list[float] = []
    pending = iter([ids[i % len(ids)] for i in range(requests)])
    headers = {"Authorization": f"Bearer {credential}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:

        async def worker() -> None:
            for tenant_id in pending:
                start = time.perf_counter()
                resp = await client.post(
                    f"/internal/v1/tenants/{tenant_id}/access-token", json={}, headers=headers
                )
                latencies.append(time.perf_counter() - start)
                resp.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def _wait_up(port: int, server: multiprocessing.process.BaseProcess) -> None:
    # A spawned child imports the whole gateway first: on a busy shared machine that alone can
    # take many seconds, so wait generously but give up at once if the child died.
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline and server.is_alive():
            try:
                await client.get(f"http://127.0.0.1:{port}/docs")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"bench server did not start (exit code {server.exitcode})")


@dataclass(frozen=True)
class Result:
    tenants: int
    requests: int
    concurrency: int
    per_second: float
    p99_ms: float
    median_ms: float

    def rows(self) -> list[tuple[str, str]]:
        """`make bench` rows (qbsync_dev.bench)."""
        return [
            (
                "tenants / requests / concurrency",
                f"{self.tenants} / {self.requests} / {self.concurrency}",
            ),
            ("requests/s (cached tokens)", f"{self.per_second:,.0f}"),
            ("p99 latency", f"{self.p99_ms:.2f} ms"),
            ("median latency", f"{self.median_ms:.2f} ms"),
        ]


async def measure(
    tenants: int = 100,
    requests: int = 5000,
    concurrency: int = 32,
    database_url: str | None = None,
) -> Result:
    """Serve the token API in a child process over a private schema and time cached reads.

    Every request must answer 200 (any other status aborts the run), so a figure is never the
    rate of fast refusals.
    """
    database_url = database_url or Settings().database_url.get_secret_value()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    key, credential, port = os.urandom(32), secrets.token_urlsafe(32), _free_port()
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(_metadata(schema).create_all)
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(database_url, schema, key, credential, port), daemon=True
    )
    try:
        ids = await _seed(database_url, schema, key, tenants)
        server.start()
        await _wait_up(port, server)
        # Warm-up: one database read and decryption per tenant fills the cache.
        await _load(port, credential, ids, len(ids), concurrency)
        started = time.perf_counter()
        latencies = await _load(port, credential, ids, requests, concurrency)
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.join(10)
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()
    return Result(
        tenants=tenants,
        requests=requests,
        concurrency=concurrency,
        per_second=len(latencies) / elapsed,
        p99_ms=statistics.quantiles(latencies, n=100)[98] * 1000,
        median_ms=statistics.median(latencies) * 1000,
    )


# The database the other `make bench` cases use (qbsync_dev.bench_plumbing); created if missing.
BENCH_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/qbsync_bench"


async def _ensure_database(url: str) -> None:
    base, _, name = url.replace("postgresql+asyncpg://", "postgresql://", 1).rpartition("/")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def run() -> list[tuple[str, str]]:
    """The `make bench` case: the issue's figure (100 tenants, cached tokens)."""
    await _ensure_database(BENCH_DATABASE)
    return (await measure(database_url=BENCH_DATABASE)).rows()


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="internal token API benchmark")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    result = await measure(args.tenants, args.requests, args.concurrency)
    print(
        f"internal token API, cached tokens: {args.tenants} tenants, {args.requests} requests, "
        f"concurrency {args.concurrency}"
    )
    print(f"requests/s: {result.per_second:.0f}")
    print(f"p99 latency: {result.p99_ms:.2f} ms (median {result.median_ms:.2f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
