"""The alembic history creates exactly the tables the code defines."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from payment_poller.bootstrap import DEFINITION, METADATA, SCHEMA, TABLES
from qbsync_common.migrations import upgrade

pytestmark = pytest.mark.integration


@pytest.fixture
async def scratch_database(database_dsn: str) -> AsyncIterator[str]:
    """A database of its own: the migrations always use the real schema name."""
    base = database_dsn.rsplit("/", 1)[0]
    name = f"pp_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{base}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrations_match_the_table_definitions(scratch_database: str) -> None:
    await asyncio.to_thread(upgrade, DEFINITION.migrations, scratch_database, SCHEMA)
    ours = {t.name for t in TABLES.all()}

    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"include_schemas": True, "compare_server_default": True}
        )

        # Tables that are not ours (inbox, outbox, held, alembic_version) show up as
        # "remove_table", and their indexes as "remove_index".
        def foreign(d: Any) -> bool:
            if not isinstance(d, tuple):
                return False
            if d[0] == "remove_table":
                return d[1].name not in ours
            return bool(d[0] == "remove_index" and d[1].table.name not in ours)

        return [d for d in compare_metadata(context, METADATA) if not foreign(d)]

    engine = create_async_engine(scratch_database)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == []
