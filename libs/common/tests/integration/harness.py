"""Harness for the plumbing tests: a private queue, a result collector, the test app as a process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

sys.path.insert(0, str(Path(__file__).parent))

import plumbing_app

from qbsync_common.settings import ServiceSettings

APP = Path(plumbing_app.__file__)


async def wait_until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


@dataclass
class Harness:
    dsn: str
    database_url: str
    broker_url: str
    schema: str
    queue: str
    tenant: str = field(default_factory=lambda: f"tenant-{uuid.uuid4().hex[:8]}")
    results: list[aio_pika.abc.AbstractIncomingMessage] = field(default_factory=list)

    def settings(self, **overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "service_name": self.queue,
            "database_url": self.database_url,
            "broker_url": self.broker_url,
            "retry_delays_ms": (200, 400, 800),
            "max_attempts": 4,
            "prefetch": 32,
            "shutdown_grace_s": 10.0,
            # Fairness has its own tests; the others run one tenant at full concurrency.
            "tenant_max_in_flight": 0,
            **overrides,
        }
        return ServiceSettings(**values)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "QBSYNC_TEST_SCHEMA": self.schema,
            "QBSYNC_TEST_QUEUE": self.queue,
            "QBSYNC_DATABASE_URL": self.database_url,
            "QBSYNC_BROKER_URL": self.broker_url,
            "QBSYNC_RETRY_DELAYS_MS": "[200, 400, 800]",
            "QBSYNC_MAX_ATTEMPTS": "4",
            "QBSYNC_LOG_LEVEL": "WARNING",
            "QBSYNC_TENANT_MAX_IN_FLIGHT": "0",
            **extra,
        }

    async def publish(
        self,
        body: bytes,
        *,
        message_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Publish straight to our private queue (default exchange): no cross-talk between tests."""
        connection = await aio_pika.connect(self.broker_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=message_id or uuid.uuid4().hex,
                    headers=headers,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                self.queue,
                mandatory=True,
            )

    async def publish_partners(self, names: list[str]) -> list[str]:
        """One partner.upserted per name; returns the event ids (parsed back from the bodies)."""
        import json

        ids = []
        connection = await aio_pika.connect(self.broker_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            for i, name in enumerate(names):
                body = plumbing_app.partner_event(self.tenant, f"p{i}", name)
                event_id = json.loads(body)["id"]
                ids.append(event_id)
                await channel.default_exchange.publish(
                    aio_pika.Message(
                        body, message_id=event_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                    ),
                    self.queue,
                    mandatory=True,
                )
        return ids

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetch(sql.replace("{s}", f'"{self.schema}"'), *args)
        finally:
            await conn.close()

    async def effects_by_event(self) -> dict[str, int]:
        rows = await self.fetch("SELECT event_id, count(*) AS n FROM {s}.effects GROUP BY event_id")
        return {r["event_id"]: r["n"] for r in rows}

    async def parked(self) -> list[aio_pika.abc.AbstractIncomingMessage]:
        connection = await aio_pika.connect(self.broker_url)
        out = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(f"{self.queue}.parking")
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                out.append(message)
        return out

    def start_process(self, **env: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, str(APP)], env=self.env(**env))
