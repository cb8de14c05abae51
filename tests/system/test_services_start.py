"""Every service starts as a process: migrates its schema, declares its topology, answers /readyz,
parks what it cannot handle yet, and exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator

import aio_pika
import httpx
import pytest

from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.topology import EVENTS_EXCHANGE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ["oauth-gateway", "partner-sync", "invoice-sync", "payment-poller"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stack(database_url: str) -> Iterator[dict[str, int]]:
    env = {**os.environ, "QBSYNC_DATABASE_URL": database_url, "QBSYNC_LOG_LEVEL": "WARNING"}
    for name in SERVICES:
        subprocess.run(
            [sys.executable, "-m", name.replace("-", "_"), "migrate"], env=env, check=True
        )
    ports = {name: free_port() for name in SERVICES}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", name.replace("-", "_"), "run"],
            env={**env, "QBSYNC_HTTP_PORT": str(port)},
        )
        for name, port in ports.items()
    }
    try:
        yield ports
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            assert proc.wait(30) == 0, f"{name} did not exit 0 on SIGTERM"


async def test_every_service_becomes_ready(stack: dict[str, int]) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for name, port in stack.items():
            for _ in range(150):
                try:
                    ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                    if ready.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"{name} never became ready")
            assert (await client.get(f"http://127.0.0.1:{port}/livez")).status_code == 200
            metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
            assert metrics.status_code == 200


async def test_unimplemented_events_are_parked_with_reason(
    stack: dict[str, int], broker_url: str
) -> None:
    await test_every_service_becomes_ready(stack)
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    event = new_event(
        events.PartnerDeactivated(kind="client", partner_id="c-1", version=2),
        tenant_id=tenant,
        source="system-test",
    )
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(encode(event), message_id=event.id), event.type, mandatory=True
        )
        parking = await channel.get_queue("partner-sync.parking")
        for _ in range(50):
            held = []
            while (message := await parking.get(no_ack=False, fail=False)) is not None:
                held.append(message)
            ours = [m for m in held if m.message_id == event.id]
            for message in held:
                await (message.ack() if message in ours else message.nack(requeue=True))
            if ours:
                reason = str((ours[0].headers or {}).get("x-qbsync-park-reason"))
                assert reason.startswith("not-implemented")
                assert json.loads(ours[0].body)["id"] == event.id
                return
            await asyncio.sleep(0.2)
    raise AssertionError("partner-sync did not park the event")
