"""Helpers of partner-sync's integration tests: publish events, wait for results, read QBO."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData

from partner_sync.adapters.call_trace import TracingTransport
from partner_sync.adapters.tables import partner_tables
from partner_sync.bootstrap import PartnerSync, compose
from qbo_client import QBOClient
from qbo_client.limiter import RealmLimits
from qbo_client.limiter_memory import InMemoryRateLimiter
from qbo_client.tokens import StaticTokenProvider, TokenProvider
from qbsync_common import assembly
from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.topology import ConsumerSpec
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.settings import ServiceSettings
from qbsync_common.tenant_settings import StaticTenantSettings

TOKEN = "partner-sync-test-token"
DELAYS = (200, 400, 800)


async def wait_until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


@dataclass
class ServiceUnderTest:
    runtime: ServiceRuntime
    service: PartnerSync
    transport: TracingTransport
    qbo: QBOClient
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.runtime.run())
        await wait_until(self.runtime.broker_ready, 15, "consumer ready")

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.runtime.request_stop()
            await asyncio.wait_for(self.task, 20)
        await self.qbo.aclose()


@dataclass
class Harness:
    dsn: str
    database_url: str
    broker_url: str
    schema: str
    queue: str
    emulator_url: str
    realm: str
    tenant: str = field(default_factory=lambda: f"tenant-{uuid.uuid4().hex[:8]}")

    @property
    def commands_exchange(self) -> str:
        """A private exchange for the commands the service sends itself (resync, re-drive)."""
        return f"{self.queue}.commands"

    results: list[dict[str, Any]] = field(default_factory=list)
    services: list[ServiceUnderTest] = field(default_factory=list)
    tenant_settings: StaticTenantSettings = field(default_factory=StaticTenantSettings)
    other_tenants: set[str] = field(default_factory=set)

    def collect(self, body: bytes) -> None:
        self.results.append(json.loads(body))

    # -- publishing ----------------------------------------------------------------------------

    async def publish_raw(self, body: bytes, message_id: str | None = None) -> None:
        """Straight to our private queue (default exchange): no cross-talk between tests."""
        connection = await aio_pika.connect(self.broker_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=message_id or uuid.uuid4().hex,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                self.queue,
                mandatory=True,
            )

    async def publish(
        self, data: Any, *, event_id: str | None = None, tenant_id: str | None = None
    ) -> str:
        envelope = new_event(
            data,
            tenant_id=tenant_id or self.tenant,
            source="test-upstream",
            time=datetime.now(UTC),
            event_id=event_id,
        )
        await self.publish_raw(encode(envelope), message_id=envelope.id)
        return envelope.id

    async def upsert(self, partner_id: str, name: str, **kw: Any) -> str:
        values: dict[str, Any] = {
            "kind": "client",
            "partner_id": partner_id,
            "version": 1,
            "name": name,
            "currency": "USD",
            "active": True,
            **kw,
        }
        return await self.publish(events.PartnerUpserted(**values))

    # -- results -------------------------------------------------------------------------------

    def results_for(self, partner_id: str, type_suffix: str = "") -> list[dict[str, Any]]:
        return [
            r
            for r in self.results
            if (r["data"].get("partner_id") or r["data"].get("project_id")) == partner_id
            and r["type"].endswith(type_suffix)
        ]

    async def result(
        self, partner_id: str, count: int = 1, within: float = 20.0
    ) -> list[dict[str, Any]]:
        async def enough() -> bool:
            return len(self.results_for(partner_id)) >= count

        await wait_until(enough, within, f"{count} result(s) for {partner_id}")
        return self.results_for(partner_id)

    # -- QBO and database ----------------------------------------------------------------------

    async def qbo_records(self, entity: str = "Customer") -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.emulator_url) as admin:
            response = await admin.get(f"/_emulator/companies/{self.realm}/records/{entity}")
            response.raise_for_status()
            records: list[dict[str, Any]] = response.json()["records"]
            return records

    async def qbo_named(self, display_name: str, entity: str = "Customer") -> list[dict[str, Any]]:
        return [r for r in await self.qbo_records(entity) if r.get("DisplayName") == display_name]

    async def qbo_api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A QuickBooks user's change, straight through the emulator's API."""
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        base = f"{self.emulator_url}/v3/company/{self.realm}/"
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            return await client.request(method, path, **kw)

    async def admin_post_company(self, realm_id: str) -> None:
        async with httpx.AsyncClient(base_url=self.emulator_url) as admin:
            response = await admin.post(
                "/_emulator/companies", json={"realm_id": realm_id, "company_name": "Other"}
            )
            response.raise_for_status()

    async def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.emulator_url) as admin:
            response = await admin.request(method, f"/_emulator/companies/{self.realm}{path}", **kw)
            response.raise_for_status()
            return response

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetch(sql.replace("{s}", f'"{self.schema}"'), *args)
        finally:
            await conn.close()

    async def partner_row(self, partner_id: str, kind: str = "client") -> asyncpg.Record | None:
        rows = await self.fetch(
            "SELECT * FROM {s}.partners WHERE tenant_id=$1 AND kind=$2 AND partner_id=$3",
            self.tenant,
            kind,
            partner_id,
        )
        return rows[0] if rows else None

    async def history(self, partner_id: str, kind: str = "client") -> list[asyncpg.Record]:
        return await self.fetch(
            "SELECT * FROM {s}.partner_history WHERE tenant_id=$1 AND kind=$2 AND partner_id=$3 "
            "ORDER BY id",
            self.tenant,
            kind,
            partner_id,
        )

    async def parked(self) -> list[aio_pika.abc.AbstractIncomingMessage]:
        connection = await aio_pika.connect(self.broker_url)
        out = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(f"{self.queue}.parking")
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                out.append(message)
        return out


def make_service(
    h: Harness,
    *,
    crash_hook: Callable[[str], None] | None = None,
    max_attempts: int = 4,
    tokens: TokenProvider | None = None,
    max_wait: float = 5.0,
    limits_for: Callable[[str], RealmLimits] | None = None,
    http: httpx.AsyncBaseTransport | None = None,
    backfill_lease_s: float = 60.0,
) -> ServiceUnderTest:
    """partner-sync wired like production, except: static token, fixed settings, private queue."""
    settings = ServiceSettings(
        service_name=h.queue,
        database_url=h.database_url,
        broker_url=h.broker_url,
        retry_delays_ms=DELAYS,
        max_attempts=max_attempts,
        prefetch=32,
        shutdown_grace_s=10.0,
    )
    # Fresh table objects per instance: a restarted service builds its own, like a new process.
    metadata = MetaData(schema=h.schema)
    tables = partner_tables(metadata)
    parts = assembly.plumbing(settings, metadata)
    tokens = tokens or StaticTokenProvider.single(
        h.tenant, access_token=TOKEN, realm_id=h.realm, api_base_url=h.emulator_url
    )
    transport = TracingTransport(http or httpx.AsyncHTTPTransport())
    qbo = QBOClient(
        tokens,
        limiter=InMemoryRateLimiter(limits_for=limits_for),
        transport=transport,
        registry=CollectorRegistry(),
        max_wait=max_wait,
    )
    service = compose(
        parts,
        qbo,
        h.tenant_settings,
        tables=tables,
        max_attempts=max_attempts,
        crash_hook=crash_hook,
        command_exchange=h.commands_exchange,
        backfill_lease_s=backfill_lease_s,
        backfill_poll_s=0.2,
    )
    spec = ConsumerSpec(h.queue, [(h.commands_exchange, "#")], retry_delays_ms=DELAYS)
    runtime = assembly.runtime(
        settings, parts, [(spec, service.handler_map())], jobs=service.jobs()
    )
    return ServiceUnderTest(runtime=runtime, service=service, transport=transport, qbo=qbo)
