"""Fixtures shared by every test tier: the real PostgreSQL and RabbitMQ this machine runs."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

TEST_DATABASE = os.environ.get("QBSYNC_TEST_DATABASE", "qbsync_test")
PG_ADMIN_DSN = os.environ.get("QBSYNC_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432")
BROKER_URL = os.environ.get("QBSYNC_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
async def database_dsn() -> str:
    """libpq DSN of the test database, created on first use."""
    conn = await asyncpg.connect(f"{PG_ADMIN_DSN}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", TEST_DATABASE):
            # Another test process may win the race to create it.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
    finally:
        await conn.close()
    return f"{PG_ADMIN_DSN}/{TEST_DATABASE}"


@pytest.fixture(scope="session")
def database_url(database_dsn: str) -> str:
    """SQLAlchemy form of the test database URL."""
    return database_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def broker_url() -> str:
    return BROKER_URL


@pytest.fixture
async def schema(database_dsn: str) -> AsyncIterator[str]:
    """A fresh schema per test, dropped afterwards: tests never see each other's rows."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(database_dsn)
    await conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()
