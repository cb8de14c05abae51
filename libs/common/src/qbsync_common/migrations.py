"""Alembic glue: each service keeps its own history in its own schema, run by `<service> migrate`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from qbsync_common.tables import plumbing_tables


def alembic_config(script_location: Path, database_url: str, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = database_url
    config.attributes["schema"] = schema
    return config


def upgrade(script_location: Path, database_url: str, schema: str, revision: str = "head") -> None:
    """Bring `schema` to `revision`; safe to run on every start and from several pods at once."""
    command.upgrade(alembic_config(script_location, database_url, schema), revision)


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py (online mode only: we always have a database)."""
    config = context.config
    url: str = config.attributes["database_url"]
    schema: str = config.attributes["schema"]

    def do_run(connection: Connection) -> None:
        # Serialise concurrent `migrate` runs (a Job and a dev's terminal) on one advisory lock.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


def create_plumbing(schema: str) -> None:
    """Used by each service's first revision: the inbox and outbox tables in its schema."""
    tables = plumbing_tables(MetaData(schema=schema))
    bind = op.get_bind()
    tables.inbox.create(bind)
    tables.outbox.create(bind)


def create_held(schema: str) -> None:
    """The `held` table of tenant fairness (added after the first revision of every service)."""
    plumbing_tables(MetaData(schema=schema)).held.create(op.get_bind())


def drop_held(schema: str) -> None:
    op.drop_table("held", schema=schema)


def drop_plumbing(schema: str) -> None:
    op.drop_table("outbox", schema=schema)
    op.drop_table("inbox", schema=schema)
