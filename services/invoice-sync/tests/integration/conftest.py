"""Fixtures of invoice-sync's integration tests: the emulator served by uvicorn in a thread, a
private database schema per test, and a World with the real handlers and QBO client."""

from __future__ import annotations

import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))

from world import TOKEN, Tokens, World, tables

from invoice_sync.adapters.books import QboBooksFactory
from invoice_sync.adapters.tables import METADATA, SCHEMA
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.handlers import handlers
from invoice_sync.service_layer.preflight import CompanyProfiles
from qbo_client import QBOClient, RateLimiter, UnlimitedRateLimiter
from qbo_emulator.app import create_app
from qbo_emulator.config import EmulatorConfig
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.db import session_factory
from qbsync_common.outbox import Outbox
from qbsync_common.tenant_settings import StaticTenantSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    port = _free_port()
    app = create_app(EmulatorConfig(static_tokens=frozenset({TOKEN})))
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


@pytest.fixture
async def new_world(
    emulator_url: str, database_url: str, schema: str
) -> AsyncIterator[Callable[..., Any]]:
    """new_world(settings=TenantSettings(...), multicurrency=False, country="US") → World, each
    with a fresh QBO company, a fresh tenant and the test's private schema; `limiter`,
    `transport` (an httpx one) and `max_wait` reach the QBO client."""
    closers: list[tuple[Any, QBOClient]] = []

    async def make(
        settings: TenantSettings | None = None,
        *,
        multicurrency: bool = False,
        country: str = "US",
        qbo_timeout: float = 30.0,
        limiter: RateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_wait: float | None = None,
    ) -> World:
        realm = str(uuid.uuid4().int % 10**15)
        async with httpx.AsyncClient() as http:
            created = await http.post(
                f"{emulator_url}/_emulator/companies",
                json={
                    "realm_id": realm,
                    "company_name": f"Co {realm}",
                    "country": country,
                    "multicurrency": multicurrency,
                },
            )
            created.raise_for_status()
        engine = create_async_engine(
            database_url, execution_options={"schema_translate_map": {SCHEMA: schema}}
        )
        plumbing = tables()
        async with engine.begin() as conn:
            await conn.run_sync(METADATA.create_all)
        sessions = session_factory(engine)
        tenant = f"tenant-{uuid.uuid4().hex[:10]}"
        tokens = Tokens(tenant, realm, emulator_url)
        # Unlimited unless a test exercises the limiter itself (429 back-off).
        qbo = QBOClient(
            tokens,
            limiter=limiter or UnlimitedRateLimiter(),
            timeout=qbo_timeout,
            transport=transport or "aiohttp",
            max_wait=max_wait,
        )
        tenant_settings = StaticTenantSettings({tenant: settings or TenantSettings()})
        ctx = Context(
            sessions=sessions,
            outbox=Outbox(plumbing),
            books=QboBooksFactory(qbo),
            settings=tenant_settings,
            profiles=CompanyProfiles(),
        )
        closers.append((engine, qbo))
        return World(
            ctx,
            engine,
            sessions,
            plumbing,
            handlers(ctx),
            emulator_url,
            realm,
            tenant,
            tenant_settings,
            tokens,
        )

    yield make
    for engine, qbo in closers:
        await qbo.aclose()
        await engine.dispose()
