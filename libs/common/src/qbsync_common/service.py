"""Running a service: the generic `run` / `migrate` / `parking` command line every service shares.

Each service supplies a `ServiceDefinition`; its `build` function is the service's composition root.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from fastapi import FastAPI

from qbsync_common import aio
from qbsync_common.health import create_ops_app, serve
from qbsync_common.logs import configure_logging
from qbsync_common.messaging.parking import list_parked, replay_parked
from qbsync_common.migrations import upgrade
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.settings import ServiceSettings
from qbsync_common.telemetry import instrument_fastapi, setup_tracing, shutdown_tracing

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class BuiltService:
    runtime: ServiceRuntime
    http: FastAPI


@dataclass(frozen=True)
class ServiceDefinition(Generic[S]):
    name: str
    schema: str
    migrations: Path
    settings: Callable[[], S]
    build: Callable[[S], Awaitable[BuiltService]]


def ops_app_for(runtime: ServiceRuntime, title: str) -> FastAPI:
    """The health/metrics app with the standard readiness checks of a consuming service."""
    return create_ops_app(
        runtime.settings,
        runtime.metrics,
        {"database": runtime.database_ready, "broker": runtime.broker_ready},
        title=title,
    )


async def run_service(definition: ServiceDefinition[S], settings: S) -> None:
    setup_tracing(settings)
    built = await definition.build(settings)
    instrument_fastapi(built.http)
    built.runtime.install_signal_handlers()
    server = await serve(built.http, settings)
    try:
        await built.runtime.run()
    finally:
        await server.stop()
        shutdown_tracing()


def main(definition: ServiceDefinition[S], argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=definition.name, description=f"qbsync {definition.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="consume, relay the outbox and serve health/metrics until SIGTERM")
    sub.add_parser("migrate", help=f"create or upgrade the {definition.schema!r} schema")
    parking = sub.add_parser("parking", help="inspect or replay parked messages")
    parking.add_argument("action", choices=["list", "replay"])
    parking.add_argument("--queue", help="consumer queue (default: all of this service's)")
    parking.add_argument("--limit", type=int, default=100)
    args = parser.parse_args(argv)
    settings = definition.settings()
    configure_logging(settings)
    if args.command == "migrate":
        upgrade(definition.migrations, settings.database_url.get_secret_value(), definition.schema)
        log.info("schema %s is up to date", definition.schema)
        return 0
    if args.command == "run":
        aio.run(run_service(definition, settings))
        return 0
    return aio.run(_parking(definition, settings, args.action, args.queue, args.limit))


async def _parking(
    definition: ServiceDefinition[S], settings: S, action: str, queue: str | None, limit: int
) -> int:
    built = await definition.build(settings)
    queues = [queue] if queue else [c.name for c in built.runtime.consumers]
    url = settings.broker_url.get_secret_value()
    for name in queues:
        if action == "list":
            for item in await list_parked(url, name, limit):
                sys.stdout.write(json.dumps(item) + "\n")
        else:
            moved = await replay_parked(url, name, limit)
            sys.stdout.write(f"{name}: replayed {moved} parked message(s)\n")
    await built.runtime.engine.dispose()
    return 0
