"""Every service starts as a process: migrates its schema from scratch, declares its topology,
answers /readyz, parks what breaks the contract, and exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
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

from qbsync_common.messaging.topology import EVENTS_EXCHANGE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ["oauth-gateway", "partner-sync", "invoice-sync", "payment-poller"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def system_database_url(database_dsn: str) -> Iterator[str]:
    """A database of its own: the services migrate from scratch, as on a new machine."""
    name = f"qbsync_system_{uuid.uuid4().hex[:8]}"
    admin = database_dsn.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    try:
        yield database_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + (
            f"/{name}"
        )
    finally:
        subprocess.run(["psql", admin, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'], check=False)


@pytest.fixture(scope="module")
def stack(system_database_url: str) -> Iterator[dict[str, int]]:
    env = {
        **os.environ,
        "QBSYNC_DATABASE_URL": system_database_url,
        "QBSYNC_LOG_LEVEL": "WARNING",
    }
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
            for _ in range(300):
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


async def test_a_malformed_event_is_parked_with_its_reason_and_the_service_keeps_running(
    stack: dict[str, int], broker_url: str
) -> None:
    await test_every_service_becomes_ready(stack)
    message_id = f"malformed-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(b'{"specversion": "1.0", "type": ', message_id=message_id),
            "qbsync.partner.upserted.v1",
            mandatory=True,
        )
        parking = await channel.get_queue("partner-sync.parking")
        for _ in range(50):
            held = []
            while (message := await parking.get(no_ack=False, fail=False)) is not None:
                held.append(message)
            ours = [m for m in held if m.message_id == message_id]
            for message in held:
                await (message.ack() if message in ours else message.nack(requeue=True))
            if ours:
                reason = str((ours[0].headers or {}).get("x-qbsync-park-reason"))
                assert reason.startswith("malformed-json")
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("partner-sync did not park the malformed event")
    async with httpx.AsyncClient(timeout=2) as client:
        ready = await client.get(f"http://127.0.0.1:{stack['partner-sync']}/readyz")
        assert ready.status_code == 200
