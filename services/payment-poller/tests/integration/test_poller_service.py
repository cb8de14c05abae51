"""The whole service on the real broker: a QBO webhook triggers a poll; the operator API reports it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import aio_pika
import httpx
import pytest
from docs import synced

from conftest import World
from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.topology import RESULTS_EXCHANGE, declare_exchanges

pytestmark = pytest.mark.integration


@pytest.fixture
async def results(
    world: World, broker_url: str
) -> AsyncIterator[list[aio_pika.abc.AbstractIncomingMessage]]:
    """Payment results published for this test's tenant."""
    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    connection = await aio_pika.connect(broker_url)
    channel = await connection.channel()
    await declare_exchanges(channel)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(RESULTS_EXCHANGE, "qbsync.payment.#")

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        if (message.headers or {}).get("tenantid") == world.tenant:
            got.append(message)

    await queue.consume(on_message)
    yield got
    await connection.close()
    cleanup = await aio_pika.connect(broker_url)
    async with cleanup:
        ch = await cleanup.channel()
        name = f"pp-{world.schema}"
        for q in [name, f"{name}.parking", f"{name}.retry.200", f"{name}.retry.400"]:
            await ch.queue_delete(q)


async def send(world: World, broker_url: str, data: events.EventData) -> None:
    """Publish straight to the poller's private queue: other tests' tenants never reach it."""
    envelope = new_event(data, tenant_id=world.tenant, source="test")
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(encode(envelope), message_id=envelope.id), f"pp-{world.schema}"
        )


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_webhook_triggers_a_poll_and_the_payment_is_published(
    world: World, broker_url: str, results: list[aio_pika.abc.AbstractIncomingMessage]
) -> None:
    p = await world.poller(default_poll_interval_s=3600)
    running = asyncio.create_task(p.runtime.run())
    try:
        await eventually(p.runtime.broker_ready)
        invoice = await world.books.invoice("100.00")
        # The first document registers the tenant, which is polled once right away.
        document_id = await synced(world, p, invoice)
        await eventually(lambda: _ok_runs(world, 1))
        payment = await world.books.user_pays(invoice_id=invoice.Id, amount="75.00")
        started = time.monotonic()
        await send(
            world,
            broker_url,
            events.QboEntitiesChanged(
                realm_id=world.realm_id,
                entities=[
                    events.EntityChange(
                        name="Payment",
                        id=payment["Payment"]["Id"],
                        operation="Create",
                        last_updated=datetime.now(UTC),
                    )
                ],
            ),
        )

        async def published() -> bool:
            return bool(results)

        await eventually(published, within=5)
        latency = time.monotonic() - started
        assert latency < 2.0, latency
        body = results[0].body.decode()
        assert document_id in body
        assert results[0].routing_key == "qbsync.payment.received.v1"
        runs = await world.runs()
        assert [r["trigger"] for r in runs] == ["schedule", "webhook"]
        await _operator_api(world, p.built.http)
    finally:
        p.runtime.request_stop()
        await asyncio.wait_for(running, 30)


async def _ok_runs(world: World, n: int) -> bool:
    done: int = sum(r["outcome"] == "ok" for r in await world.runs())
    return done >= n


async def _operator_api(world: World, app: object) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://poller") as http:
        assert (await http.get("/v1/poller/runs")).status_code == 401
        auth = {"Authorization": "Bearer op-key-1"}
        runs = (await http.get(f"/v1/poller/runs?tenant_id={world.tenant}", headers=auth)).json()
        assert [r["trigger"] for r in runs] == ["webhook", "schedule"]
        assert runs[0]["events_published"] == 1
        assert runs[0]["window_from"] < runs[0]["window_to"]
        status = (
            await http.get(f"/v1/poller/tenants/{world.tenant}", headers={"X-API-Key": "op-key-1"})
        ).json()
        assert status["state"] == "connected"
        assert status["last_success_at"] is not None
        missing = await http.get(f"/v1/poller/tenants/{uuid.uuid4().hex}", headers=auth)
        assert missing.status_code == 404
        asked = await http.post(f"/v1/poller/tenants/{world.tenant}/poll", headers=auth)
        assert asked.status_code == 202
        await eventually(lambda: _ok_runs(world, 3))
        assert (await world.runs())[-1]["trigger"] == "operator"
