"""Async SQLAlchemy engine and session factories, built from settings by a service's bootstrap."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from qbsync_common.settings import ServiceSettings


def create_engine(settings: ServiceSettings, *, pool_size: int = 10) -> AsyncEngine:
    """One engine per process; `pool_pre_ping` so a restarted PostgreSQL costs one failed checkout, not a crash."""
    return create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
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
