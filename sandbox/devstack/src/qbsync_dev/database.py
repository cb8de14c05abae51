"""Creating the local database and running every service's migrations."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg

from qbsync_common.migrations import upgrade
from qbsync_dev.stack import SERVICES, database_url

PG_ADMIN_DSN = os.environ.get("QBSYNC_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432")


async def ensure_database(url: str | None = None) -> None:
    """CREATE DATABASE if it does not exist (PostgreSQL has no IF NOT EXISTS for it)."""
    target = (url or database_url()).replace("postgresql+asyncpg://", "postgresql://", 1)
    base, _, name = target.rpartition("/")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def migrate_all(url: str | None = None) -> None:
    env = {**os.environ, "QBSYNC_DATABASE_URL": url or database_url()}
    for name, _ in SERVICES:
        subprocess.run(
            [sys.executable, "-m", name.replace("-", "_"), "migrate"], env=env, check=True
        )


def migrate_all_in_process(url: str) -> None:
    """Like migrate_all, in this process, one service after the other: alembic's context is
    process-global, and four extra interpreters cost more than the migrations on a busy machine."""
    for service, _ in SERVICES:
        bootstrap = importlib.import_module(f"{service.replace('-', '_')}.bootstrap")
        definition = bootstrap.DEFINITION
        upgrade(definition.migrations, url, definition.schema)


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(f"{PG_ADMIN_DSN}/postgres")
    try:
        with contextlib.suppress(asyncpg.PostgresError):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def private_database(name: str) -> AsyncIterator[str]:
    """A database of its own for a system test or benchmark: (re)created empty, migrated by every
    service, dropped afterwards. Yields its SQLAlchemy URL."""
    await _drop(name)  # a run killed before its cleanup left it behind
    admin = await asyncpg.connect(f"{PG_ADMIN_DSN}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{PG_ADMIN_DSN}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        await asyncio.to_thread(migrate_all_in_process, url)
        yield url
    finally:
        await _drop(name)
