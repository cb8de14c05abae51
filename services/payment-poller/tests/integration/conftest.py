"""Fixtures of the poller's integration tests: the emulator over HTTP, a private schema per test,
and pollers wired exactly as in production except for tokens (static) and the limiter (in memory)."""

from __future__ import annotations

import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from payment_poller.adapters.tables import poller_tables
from payment_poller.bootstrap import Assembled, assemble
from payment_poller.config import Settings
from qbo_client import AccessToken, QBOClient, StaticTokenProvider, UnlimitedRateLimiter
from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import new_event, parse_event
from qbsync_common.messaging.consumer import Delivery, as_handler
from qbsync_common.tables import plumbing_tables
from qbsync_common.tenant_settings import StaticTenantSettings

sys.path.insert(0, str(Path(__file__).parent))

from books import Books

TOKEN = "payment-poller-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def poller_emulator_url() -> Iterator[str]:
    from qbo_emulator.app import create_app
    from qbo_emulator.config import EmulatorConfig

    app = create_app(EmulatorConfig(static_tokens=frozenset({TOKEN}), webhooks=False))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("emulator did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class World:
    """One tenant connected to one fresh emulator realm, and the pollers watching it."""

    schema: str
    database_url: str
    broker_url: str
    emulator_url: str
    realm_id: str
    tenant: str
    tokens: StaticTokenProvider
    books: Books
    pollers: list[Assembled] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "service_name": f"pp-{self.schema}",
            "database_url": self.database_url,
            "broker_url": self.broker_url,
            "poll_lease_s": 5.0,
            "webhook_debounce_s": 0.2,
            "scheduler_tick_s": 0.2,
            "retry_delays_ms": (200, 400),
            "operator_api_keys": "op-key-1",
            **overrides,
        }
        return Settings(**values)

    async def poller(self, **overrides: Any) -> Assembled:
        metadata = MetaData(schema=self.schema)  # plumbing() adds inbox and outbox to it
        assembled = await assemble(
            self.settings(**overrides),
            metadata,
            poller_tables(metadata),
            tokens=self.tokens,
            limiter=UnlimitedRateLimiter(),
            tenant_settings=StaticTenantSettings(),
            queue=f"pp-{self.schema}",
            replica=f"replica-{len(self.pollers)}",
        )
        self.pollers.append(assembled)
        return assembled

    async def deliver(self, p: Assembled, data: BaseModel, **envelope: Any) -> None:
        """Hand one event to the poller's handler, as its consumer would."""
        env = new_event(data, tenant_id=self.tenant, source="test", **envelope)
        handler = as_handler(p.handlers.mapping()[env.type])
        await handler(
            Delivery(
                env, data, 1, f"pp-{self.schema}", p.parts.sessions, p.parts.tables, lambda _: None
            )
        )

    async def poll_now(self, p: Assembled) -> int:
        """Make the tenant due and run one scheduler round of `p`."""
        await self.sql("UPDATE {s}.poll_schedule SET next_poll_at = now() WHERE tenant_id = :t")
        return await p.poller.run_due()

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        engine = create_async_engine(self.database_url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(
                    text(statement.replace("{s}", f'"{self.schema}"')), {"t": self.tenant, **params}
                )
                return list(result.mappings()) if result.returns_rows else []
        finally:
            await engine.dispose()

    async def outbox(self) -> list[Envelope]:
        """Every event the pollers wrote (no relay runs in these tests, so nothing left)."""
        rows = await self.sql("SELECT body FROM {s}.outbox ORDER BY seq")
        return [parse_event(bytes(r["body"]))[0] for r in rows]

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        return [e.data for e in await self.outbox() if e.type == event_type]

    async def runs(self) -> list[Any]:
        return await self.sql("SELECT * FROM {s}.poll_runs WHERE tenant_id = :t ORDER BY id")


@pytest.fixture
async def world(
    schema: str, database_url: str, broker_url: str, poller_emulator_url: str
) -> AsyncIterator[World]:
    metadata = MetaData(schema=schema)
    plumbing_tables(metadata)
    poller_tables(metadata)
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    realm_id = str(9140000000000000 + uuid.uuid4().int % 10**12)
    async with httpx.AsyncClient() as http:
        created = await http.post(
            f"{poller_emulator_url}/_emulator/companies",
            json={"realm_id": realm_id, "company_name": f"Co {realm_id}"},
        )
        created.raise_for_status()
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    expires = datetime.now(UTC) + timedelta(hours=2)
    tokens = StaticTokenProvider(
        {tenant: AccessToken(TOKEN, realm_id, poller_emulator_url, expires)}
    )
    client = QBOClient(tokens, limiter=UnlimitedRateLimiter(), registry=CollectorRegistry())
    books = Books(client.for_tenant(tenant), poller_emulator_url, realm_id, TOKEN)
    w = World(
        schema, database_url, broker_url, poller_emulator_url, realm_id, tenant, tokens, books
    )
    yield w
    await client.aclose()
    for p in w.pollers:
        await p.qbo.aclose()
        await p.parts.engine.dispose()
