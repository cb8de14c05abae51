"""Fixtures for oauth-gateway integration tests: the migrated schema in the shared test database."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import oauth_gateway

# Test support modules (custody_fakes, custody_harness) import by plain name, like libs/common's.
sys.path.insert(0, str(Path(__file__).parent))

from custody_harness import NewTenant

from qbsync_common.migrations import upgrade

SCHEMA = "oauth_gateway"
MIGRATIONS = Path(oauth_gateway.__file__).parent / "migrations"


@pytest.fixture(scope="session")
async def gateway_db(database_url: str) -> str:
    """The test database with the gateway's schema at head (shared; tests use random tenant ids)."""
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, SCHEMA)
    return database_url


@pytest.fixture(scope="session")
async def gateway_engine(gateway_db: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(gateway_db, pool_size=20, max_overflow=20)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def gateway_sessions(gateway_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(gateway_engine, expire_on_commit=False)


@pytest.fixture
def gateway_metadata() -> MetaData:
    return MetaData(schema=SCHEMA)


@pytest.fixture
async def new_tenant(
    gateway_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[NewTenant]:
    """Insert tenant rows (part A's table) directly; deleted (with their tokens) afterwards."""
    created: list[str] = []

    async def create(state: str = "connected", realm_id: str | None = None) -> str:
        tenant_id = f"t-{uuid.uuid4().hex[:12]}"
        now = datetime.now(UTC)
        async with gateway_sessions.begin() as session:
            await session.execute(
                text(
                    f"INSERT INTO {SCHEMA}.tenants "
                    "(tenant_id, name, state, realm_id, created_at, updated_at) "
                    "VALUES (:t, :n, :s, :r, :now, :now)"
                ),
                {"t": tenant_id, "n": f"Tenant {tenant_id}", "s": state, "r": realm_id, "now": now},
            )
        created.append(tenant_id)
        return tenant_id

    yield create
    async with gateway_sessions.begin() as session:
        await session.execute(
            text(f"DELETE FROM {SCHEMA}.tenants WHERE tenant_id = ANY(:ids)"), {"ids": created}
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    """A real QBO + Intuit OAuth emulator (uvicorn in a thread) shared by the session."""
    from qbo_emulator.app import create_app  # imported here: unit runs need not load it

    port = _free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("emulator did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
