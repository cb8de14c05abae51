"""Creating the local database and running every service's migrations."""

from __future__ import annotations

import os
import subprocess
import sys

import asyncpg

from qbsync_dev.stack import SERVICES, database_url


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
