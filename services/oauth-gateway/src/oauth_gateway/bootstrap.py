"""Composition root of oauth-gateway: the only place concrete adapters are chosen."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from qbsync_common import assembly
from qbsync_common.service import BuiltService, ServiceDefinition, ops_app_for

from oauth_gateway.config import Settings

SCHEMA = "oauth_gateway"
METADATA = MetaData(schema=SCHEMA)


async def build(settings: Settings) -> BuiltService:
    parts = assembly.plumbing(settings, METADATA)
    # The gateway consumes nothing yet: it publishes through its outbox (tenant events).
    runtime = assembly.runtime(settings, parts, [])
    return BuiltService(runtime=runtime, http=ops_app_for(runtime, "qbsync oauth-gateway"))


DEFINITION = ServiceDefinition(
    name="oauth-gateway",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    settings=Settings,
    build=build,
)
