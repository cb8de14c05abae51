"""Benchmarks of the QBO side: emulator throughput, and the client's overhead beside raw aiohttp.

Both run against an emulator in its own process (limits off), driven from this process, so the
numbers include real HTTP on loopback.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from qbsync_dev.database import ensure_database

TOKEN = "bench-token"
BENCH_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/qbsync_bench"
_SERVE = (
    "import uvicorn; from qbo_emulator.app import create_app; "
    "from qbo_emulator.config import EmulatorConfig; "
    "uvicorn.run(create_app(EmulatorConfig(static_tokens=frozenset({'%s'}))), host='127.0.0.1', "
    "port=%d, log_level='warning', access_log=False, loop='uvloop', http='httptools')"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def emulator() -> AsyncIterator[str]:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _SERVE % (TOKEN, port))
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.get(f"{url}/_emulator/companies")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def _run_module(*argv: str) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *argv, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
    return [line.strip() for line in out.decode().splitlines() if line.strip()]


async def run_emulator() -> list[tuple[str, str]]:
    async with emulator() as url:
        lines = await _run_module(
            "qbo_emulator.bench", "--url", url, "--token", TOKEN, "--seconds", "8"
        )
    return [("target >= 2,000 req/s", line) for line in lines]


async def run_client() -> list[tuple[str, str]]:
    await ensure_database(BENCH_DATABASE)
    async with emulator() as url:
        realm = str(uuid.uuid4().int % 10**15)
        async with httpx.AsyncClient() as client:
            created = await client.post(
                f"{url}/_emulator/companies",
                json={"realm_id": realm, "company_name": "Bench Co", "seeded": True},
            )
            created.raise_for_status()
        lines = await _run_module(
            "qbo_client.bench",
            "--base-url",
            url,
            "--realm",
            realm,
            "--token",
            TOKEN,
            "--pg-dsn",
            BENCH_DATABASE.replace("+asyncpg", ""),
        )
    return [("client", line) for line in lines]
