"""The parts every consuming service wires the same way; its bootstrap adds its own handlers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from qbsync_common.db import asyncpg_dsn, create_engine, session_factory
from qbsync_common.faults import CrashHook
from qbsync_common.messaging.batch import Batched
from qbsync_common.messaging.consumer import EventConsumer, Handler
from qbsync_common.messaging.relay import OutboxRelay
from qbsync_common.messaging.topology import ConsumerSpec
from qbsync_common.metrics import ServiceMetrics
from qbsync_common.outbox import Outbox
from qbsync_common.runtime import BackgroundJob, ServiceRuntime
from qbsync_common.settings import ServiceSettings
from qbsync_common.tables import PlumbingTables, plumbing_tables
from qbsync_common.telemetry import instrument_sqlalchemy


@dataclass(frozen=True)
class Plumbing:
    """Database, inbox/outbox, relay and metrics of one service process."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: PlumbingTables
    outbox: Outbox
    relay: OutboxRelay
    metrics: ServiceMetrics
    crash_hook: CrashHook


def plumbing(settings: ServiceSettings, metadata: MetaData) -> Plumbing:
    engine = create_engine(settings)
    instrument_sqlalchemy(engine)
    tables = plumbing_tables(metadata)
    metrics = ServiceMetrics(settings.service_name)
    crash_hook = CrashHook.from_env(settings.environment)
    published = metrics.published
    relay = OutboxRelay(
        asyncpg_dsn(settings.database_url.get_secret_value()),
        tables.schema,
        on_published=lambda n: published.labels(metrics.service, "outbox", "ok").inc(n),
        on_failed=lambda n: published.labels(metrics.service, "outbox", "error").inc(n),
        crash_hook=crash_hook,
        on_backlog=metrics.observe_outbox_backlog,
        application_name=settings.service_name,
    )
    return Plumbing(
        engine=engine,
        sessions=session_factory(engine),
        tables=tables,
        outbox=Outbox(tables, on_commit=relay.wake),
        relay=relay,
        metrics=metrics,
        crash_hook=crash_hook,
    )


def runtime(
    settings: ServiceSettings,
    parts: Plumbing,
    consumers: Sequence[tuple[ConsumerSpec, Mapping[str, Handler | Batched]]],
    *,
    jobs: Sequence[BackgroundJob] = (),
) -> ServiceRuntime:
    return ServiceRuntime(
        settings,
        engine=parts.engine,
        metrics=parts.metrics,
        consumers=[
            EventConsumer(
                spec,
                handlers,
                sessions=parts.sessions,
                tables=parts.tables,
                metrics=parts.metrics,
                max_attempts=settings.max_attempts,
                prefetch=settings.prefetch,
                tenant_cap=settings.tenant_max_in_flight,
                crash_hook=parts.crash_hook,
            )
            for spec, handlers in consumers
        ],
        relay=parts.relay,
        jobs=jobs,
    )
