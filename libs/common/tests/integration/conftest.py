"""Fixtures of the plumbing tests: a schema with the test app's tables, a private queue, a result
collector, and processes that are killed at teardown whatever happened."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).parent))

import plumbing_app
from harness import Harness

from qbsync_common.messaging.topology import (
    RESULTS_EXCHANGE,
    ConsumerSpec,
    declare_consumer,
    declare_exchanges,
)
from qbsync_common.tables import plumbing_tables
from qbsync_dev.private_servers import PrivateRabbit


@pytest.fixture
async def harness(
    database_dsn: str, database_url: str, broker_url: str, schema: str
) -> AsyncIterator[Harness]:
    metadata, _, _ = plumbing_app.tables(schema)
    plumbing_tables(metadata)
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    h = Harness(database_dsn, database_url, broker_url, schema, f"plumbing-{uuid.uuid4().hex[:10]}")
    # Collect the results our test app publishes (filtered by this test's tenant).
    connection = await aio_pika.connect(broker_url)
    channel = await connection.channel()
    await declare_exchanges(channel)
    # Declared up front (as the app will, idempotently) so a test can publish before it starts.
    await declare_consumer(channel, ConsumerSpec(h.queue, [], retry_delays_ms=(200, 400, 800)))
    collector = await channel.declare_queue(exclusive=True, auto_delete=True)
    await collector.bind(RESULTS_EXCHANGE, "#")

    async def on_result(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        if (message.headers or {}).get("tenantid") == h.tenant:
            h.results.append(message)

    await collector.consume(on_result)
    yield h
    await connection.close()
    channel2_conn = await aio_pika.connect(broker_url)
    async with channel2_conn:
        ch = await channel2_conn.channel()
        for name in [h.queue, f"{h.queue}.parking"] + [
            f"{h.queue}.retry.{d}" for d in (200, 400, 800)
        ]:
            await ch.queue_delete(name)


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
def private_rabbit() -> Iterator[PrivateRabbit]:
    """A RabbitMQ node of the test's own, booted with qbsync's broker configuration: for tests
    that restart the broker (F3) or need its configuration (test_broker_config)."""
    try:
        node = PrivateRabbit()
    except FileNotFoundError as exc:
        pytest.skip(f"needs a RabbitMQ node of its own: {exc}")
    try:
        node.start()
        yield node
    finally:
        node.close()
