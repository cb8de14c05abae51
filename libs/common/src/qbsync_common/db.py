"""Async SQLAlchemy engine and session factories, built from settings by a service's bootstrap."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from qbsync_common.settings import ServiceSettings


def create_engine(settings: ServiceSettings, *, pool_size: int | None = None) -> AsyncEngine:
    """One engine per process. No pre-ping (it doubles round trips on the hot path): a connection
    that died under us fails one transaction, which the consumer retries like any transient error,
    and SQLAlchemy drops the invalidated connection from the pool.

    The pool is deliberately smaller than the prefetch: handlers queue for a connection (the pool
    timeout is a transient error, retried), while four services times their replicas with big
    pools would exhaust PostgreSQL's max_connections (100 by default) and fail everyone at once."""
    size = pool_size if pool_size is not None else settings.db_pool_size
    overflow = 0 if pool_size is not None else settings.db_max_overflow
    return create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=size,
        max_overflow=overflow,
        pool_recycle=1800,
        # Named sessions: operators (and the fault tests) can tell whose connections are whose.
        connect_args={"server_settings": {"application_name": settings.service_name}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: handlers read results after commit without a second round trip.
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain libpq URL asyncpg wants, from the SQLAlchemy one we configure."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
