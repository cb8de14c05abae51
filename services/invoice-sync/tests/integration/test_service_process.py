"""invoice-sync as a process: migrate, consume from its queue through the real broker, write to the
emulator, publish results through the outbox relay, and exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
import upstream as up
from world import TOKEN

from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.topology import RESULTS_EXCHANGE

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def database(database_dsn: str) -> AsyncIterator[str]:
    """A database of its own: the process migrates it from scratch."""
    name = f"invoice_sync_e2e_{uuid.uuid4().hex[:8]}"
    admin = database_dsn.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + (
            f"/{name}"
        )
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def test_invoice_through_the_broker_to_qbo_and_back(
    database: str, broker_url: str, emulator_url: str
) -> None:
    realm = str(uuid.uuid4().int % 10**15)
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    queue = f"invoice-sync-e2e-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    async with httpx.AsyncClient(base_url=emulator_url) as http:
        created = await http.post("/_emulator/companies", json={"realm_id": realm})
        created.raise_for_status()
        customer = await http.post(
            f"/v3/company/{realm}/customer",
            json={"DisplayName": "Process Co"},
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
        )
        key = customer.json()["Customer"]["Id"]
    tokens = {tenant: {"access_token": TOKEN, "realm_id": realm, "api_base_url": emulator_url}}
    env = {
        **os.environ,
        "QBSYNC_DATABASE_URL": database,
        "QBSYNC_BROKER_URL": broker_url,
        "QBSYNC_SERVICE_NAME": queue,
        "QBSYNC_HTTP_PORT": str(port),
        "QBSYNC_QBO_STATIC_TOKENS": json.dumps(tokens),
        "QBSYNC_QBO_LIMITER": "memory",
        "QBSYNC_RETRY_DELAYS_MS": "[200, 400]",
        "QBSYNC_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "invoice_sync"]
    migrate = await asyncio.create_subprocess_exec(*command, "migrate", env=env)
    assert await migrate.wait() == 0
    connection = await aio_pika.connect(broker_url)
    process = await asyncio.create_subprocess_exec(*command, "run", env=env)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        results: list[dict[str, Any]] = []
        collector = await channel.declare_queue(exclusive=True, auto_delete=True)
        await collector.bind(RESULTS_EXCHANGE, "qbsync.document.#")

        async def on_result(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            if (message.headers or {}).get("tenantid") == tenant:
                results.append(json.loads(message.body))

        await collector.consume(on_result)
        await _wait_ready(port)
        invoice = up.invoice(net_total=Decimal("400"))
        for data in (up.partner_synced(key), invoice):
            envelope = new_event(data, tenant_id=tenant, source="e2e-test")
            # Straight to the private queue: no other consumer sees this test's events.
            await channel.default_exchange.publish(
                aio_pika.Message(encode(envelope), message_id=envelope.id), queue, mandatory=True
            )
        for _ in range(100):
            if results:
                break
            await asyncio.sleep(0.1)
        assert [r["type"] for r in results] == ["qbsync.document.synced.v1"]
        assert results[0]["data"]["document_id"] == invoice.invoice_id
        assert Decimal(results[0]["data"]["total"]) == Decimal("400")

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        cleanup = await connection.channel()
        for name in (queue, f"{queue}.parking", f"{queue}.retry.200", f"{queue}.retry.400"):
            await cleanup.queue_delete(name)
        await connection.close()


async def _wait_ready(port: int) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(150):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("invoice-sync never became ready")
