"""partner-sync against the real emulator (uvicorn thread), PostgreSQL and RabbitMQ, in-process.

Each test gets a fresh schema, a private queue, a fresh emulator company and its own tenant id,
so tests running in parallel never see each other's rows, messages or QBO records.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import httpx
import pytest
import uvicorn
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))

from partner_harness import DELAYS, TOKEN, Harness, ServiceUnderTest, make_service

from partner_sync.adapters.tables import partner_tables
from qbsync_common.messaging.topology import (
    RESULTS_EXCHANGE,
    ConsumerSpec,
    declare_consumer,
    declare_exchanges,
)
from qbsync_common.tables import plumbing_tables
from qbsync_common.tenant_settings import StaticTenantSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    from qbo_emulator.app import create_app
    from qbo_emulator.config import EmulatorConfig

    port = _free_port()
    app = create_app(EmulatorConfig(static_tokens=frozenset({TOKEN})))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
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
async def harness(
    database_dsn: str,
    database_url: str,
    broker_url: str,
    schema: str,
    emulator_url: str,
) -> AsyncIterator[Harness]:
    metadata = MetaData(schema=schema)
    plumbing_tables(metadata)
    partner_tables(metadata)
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    realm = str(uuid.uuid4().int % 10**15)
    async with httpx.AsyncClient(base_url=emulator_url) as admin:
        response = await admin.post(
            "/_emulator/companies", json={"realm_id": realm, "company_name": f"Co {realm}"}
        )
        response.raise_for_status()
    h = Harness(
        dsn=database_dsn,
        database_url=database_url,
        broker_url=broker_url,
        schema=schema,
        queue=f"partner-sync-test-{uuid.uuid4().hex[:10]}",
        emulator_url=emulator_url,
        realm=realm,
    )
    connection = await aio_pika.connect(broker_url)
    channel = await connection.channel()
    await declare_exchanges(channel)
    await channel.declare_exchange(
        h.commands_exchange, aio_pika.ExchangeType.TOPIC, auto_delete=True
    )
    await declare_consumer(
        channel, ConsumerSpec(h.queue, [(h.commands_exchange, "#")], retry_delays_ms=DELAYS)
    )
    collector = await channel.declare_queue(exclusive=True, auto_delete=True)
    await collector.bind(RESULTS_EXCHANGE, "#")

    async def on_result(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        tenant = (message.headers or {}).get("tenantid")
        if tenant == h.tenant or tenant in h.other_tenants:
            h.collect(message.body)

    await collector.consume(on_result)
    yield h
    for service in h.services:
        await service.stop()
    await connection.close()
    cleanup = await aio_pika.connect(broker_url)
    async with cleanup:
        ch = await cleanup.channel()
        for name in [h.queue, f"{h.queue}.parking"] + [f"{h.queue}.retry.{d}" for d in DELAYS]:
            await ch.queue_delete(name)


@pytest.fixture
async def running(harness: Harness) -> ServiceUnderTest:
    """One partner-sync instance consuming the harness's queue (stopped by `harness`)."""
    sut = make_service(harness)
    await sut.start()
    harness.services.append(sut)
    return sut


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; killed at teardown whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.fixture
def tenant_settings(harness: Harness) -> StaticTenantSettings:
    return harness.tenant_settings
