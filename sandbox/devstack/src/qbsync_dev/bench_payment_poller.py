"""Benchmark of payment-poller against the emulator (a separate process) and the real broker/database:
webhook-triggered latency, polling-only latency, QBO calls per idle poll, 1,000 idle tenants a minute."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aio_pika
import asyncpg
import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from payment_poller.adapters.tables import poller_tables
from payment_poller.bootstrap import Assembled, assemble
from payment_poller.config import Settings
from payment_poller.service_layer.scheduler import scheduler_job
from qbo_client import (
    AccessToken,
    Invoice,
    Item,
    PostgresRateLimiter,
    QBOClient,
    Query,
    StaticTokenProvider,
    UnlimitedRateLimiter,
)
from qbo_client.models import Customer, Ref
from qbo_client.models.transactions import Line, SalesItemLineDetail
from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.consumer import Delivery, as_handler
from qbsync_common.messaging.topology import RESULTS_EXCHANGE, declare_exchanges
from qbsync_common.tables import plumbing_tables
from qbsync_common.tenant_settings import StaticTenantSettings
from qbsync_dev.bench_common import pct
from qbsync_dev.database import ensure_database

BROKER = os.environ.get("QBSYNC_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/qbsync_bench"
TOKEN = "bench-payment-poller"
PAYMENTS = int(os.environ.get("QBSYNC_BENCH_PP_PAYMENTS", "20"))
IDLE_TENANTS = int(os.environ.get("QBSYNC_BENCH_PP_TENANTS", "1000"))
IDLE_SECONDS = float(os.environ.get("QBSYNC_BENCH_PP_SECONDS", "60"))
POLL_INTERVAL_S = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _no_crash(point: str) -> None:
    """Delivery's crash hook: the benchmark injects no faults."""


class Bench:
    def __init__(self, emulator: str, schema: str) -> None:
        self.emulator = emulator
        self.schema = schema
        self.tokens = StaticTokenProvider({})
        self.http = httpx.AsyncClient(base_url=f"{emulator}/_emulator", timeout=30)

    async def realm(self, *, seeded: bool = True) -> tuple[str, str]:
        """A new realm and the tenant id mapped to it."""
        realm_id = str(9150000000000000 + uuid.uuid4().int % 10**12)
        created = await self.http.post(
            "/companies", json={"realm_id": realm_id, "company_name": "Bench", "seeded": seeded}
        )
        created.raise_for_status()
        tenant = f"bench-{uuid.uuid4().hex[:10]}"
        expires = datetime.now(UTC) + timedelta(hours=3)
        self.tokens._tokens[tenant] = AccessToken(TOKEN, realm_id, self.emulator, expires)
        return realm_id, tenant

    async def poller(self, queue: str, **overrides: Any) -> Assembled:
        settings = Settings(
            service_name=queue,
            database_url=DATABASE,
            broker_url=BROKER,
            webhook_debounce_s=0.2,
            scheduler_tick_s=0.2,
            **overrides,
        )
        return await assemble(
            settings,
            MetaData(schema=self.schema),
            poller_tables(MetaData(schema=self.schema)),
            tokens=self.tokens,
            limiter=UnlimitedRateLimiter(),
            tenant_settings=StaticTenantSettings(),
            queue=queue,
        )

    async def invoices(self, tenant: str, n: int) -> list[Invoice]:
        client = QBOClient(
            self.tokens, limiter=UnlimitedRateLimiter(), registry=CollectorRegistry()
        )
        s = client.for_tenant(tenant)
        customer = (await s.query(Query(Customer)))[0]
        item = (await s.query(Query(Item).where("Name", "=", "Services")))[0]
        out = []
        for i in range(n):
            line = Line(
                Amount=Decimal(100),
                DetailType="SalesItemLineDetail",
                SalesItemLineDetail=SalesItemLineDetail(
                    ItemRef=Ref(value=item.Id or ""), Qty=Decimal(1), UnitPrice=Decimal(100)
                ),
            )
            invoice = Invoice(
                CustomerRef=Ref(value=customer.Id or ""), Line=[line], DocNumber=f"B-{i}"
            )
            out.append(await s.create(invoice, request_id=uuid.uuid4().hex))
        await client.aclose()
        return out

    async def synced(self, p: Assembled, tenant: str, invoice: Invoice) -> None:
        data = events.DocumentSynced(
            document_kind="invoice",
            document_id=f"inv-{invoice.Id}",
            version=1,
            sync_key=invoice.Id or "",
            sync_token="0",
            doc_number=invoice.DocNumber,
            total=Decimal(100),
            balance=Decimal(100),
            currency="USD",
            adopted=False,
            operation_id=uuid.uuid4().hex,
        )
        env = new_event(data, tenant_id=tenant, source="bench")
        handler = as_handler(p.handlers.mapping()[env.type])
        await handler(Delivery(env, data, 1, "bench", p.parts.sessions, p.parts.tables, _no_crash))

    async def pay(self, realm_id: str, invoice_id: str) -> str:
        paid = await self.http.post(
            f"/companies/{realm_id}/payments", json={"invoice_id": invoice_id, "amount": "10"}
        )
        paid.raise_for_status()
        return str(paid.json()["Payment"]["Id"])


class Collector:
    """payment.received results on qbsync.results, timestamped on arrival, by invoice id."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    async def start(self, channel: aio_pika.abc.AbstractChannel) -> None:
        await declare_exchanges(channel)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(RESULTS_EXCHANGE, events.PaymentReceived.event_type)
        await queue.consume(self._on_message)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        import json

        data = json.loads(message.body)["data"]
        self.arrived.setdefault(data["qbo_invoice_id"], time.perf_counter())

    async def wait(self, invoice_id: str, within: float) -> float:
        deadline = time.perf_counter() + within
        while invoice_id not in self.arrived:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no payment.received for invoice {invoice_id}")
            await asyncio.sleep(0.01)
        return self.arrived[invoice_id]


async def _latencies(bench: Bench, webhooks: bool) -> list[float]:
    """Payment recorded in QBO → payment.received on the broker, for PAYMENTS payments."""
    queue = f"bench-pp-{uuid.uuid4().hex[:8]}"
    interval = 3600 if webhooks else POLL_INTERVAL_S
    p = await bench.poller(queue, default_poll_interval_s=interval)
    realm_id, tenant = await bench.realm()
    invoices = await bench.invoices(tenant, PAYMENTS)
    connection = await aio_pika.connect(BROKER)
    collector = Collector()
    await collector.start(await connection.channel())
    publisher = await connection.channel(publisher_confirms=True)
    running = asyncio.create_task(p.runtime.run())
    latencies = []
    try:
        for invoice in invoices:
            await bench.synced(p, tenant, invoice)
        await asyncio.sleep(1.0)  # first poll of the new tenant
        for invoice in invoices:
            payment_id = await bench.pay(realm_id, invoice.Id or "")
            started = time.perf_counter()
            if webhooks:
                # What the gateway publishes when Intuit's webhook arrives.
                change = events.EntityChange(
                    name="Payment",
                    id=payment_id,
                    operation="Create",
                    last_updated=datetime.now(UTC),
                )
                env = new_event(
                    events.QboEntitiesChanged(realm_id=realm_id, entities=[change]),
                    tenant_id=tenant,
                    source="bench",
                )
                await publisher.default_exchange.publish(
                    aio_pika.Message(encode(env), message_id=env.id), queue
                )
            arrived = await collector.wait(invoice.Id or "", within=interval + 10)
            latencies.append(arrived - started)
            await asyncio.sleep(0.05 if webhooks else 0.37)  # spread over the poll cycle
    finally:
        p.runtime.request_stop()
        await running
        await p.qbo.aclose()
        ch = await connection.channel()
        for q in [queue, f"{queue}.parking"] + [
            f"{queue}.retry.{d}" for d in (1000, 5000, 30000, 60000, 300000)
        ]:
            await ch.queue_delete(q)
        await connection.close()
    return latencies


async def _idle_calls_per_poll(bench: Bench) -> int:
    p = await bench.poller(f"bench-pp-{uuid.uuid4().hex[:8]}")
    realm_id, tenant = await bench.realm()
    [invoice] = await bench.invoices(tenant, 1)
    await bench.synced(p, tenant, invoice)
    await p.poller.run_due()  # first poll
    before = (await bench.http.get(f"/companies/{realm_id}/stats")).json()["total"]
    async with p.parts.sessions() as s, s.begin():
        await s.execute(
            text(
                f'UPDATE "{bench.schema}".poll_schedule SET next_poll_at = now() WHERE tenant_id = :t'
            ),
            {"t": tenant},
        )
    await p.poller.run_due()
    after = (await bench.http.get(f"/companies/{realm_id}/stats")).json()["total"]
    await p.qbo.aclose()
    return int(after - before)


async def _idle_tenants(bench: Bench) -> list[tuple[str, str]]:
    """IDLE_TENANTS tenants, each due once a minute, spread over the minute; the production
    limiter (PostgreSQL) and the real scheduler job; CPU is this process's only."""
    realms = await asyncio.gather(*(bench.realm(seeded=False) for _ in range(IDLE_TENANTS)))
    pool = await asyncpg.create_pool(DATABASE.replace("+asyncpg", ""), min_size=1, max_size=8)
    limiter = PostgresRateLimiter(pool)
    await limiter.ensure_schema()
    settings = Settings(
        service_name="bench-pp-idle",
        database_url=DATABASE,
        broker_url=BROKER,
        max_concurrent_polls=16,
    )
    p = await assemble(
        settings,
        MetaData(schema=bench.schema),
        poller_tables(MetaData(schema=bench.schema)),
        tokens=bench.tokens,
        limiter=limiter,
        tenant_settings=StaticTenantSettings(),
    )
    engine = create_async_engine(DATABASE)
    async with engine.begin() as conn:
        await conn.execute(text(f'DELETE FROM "{bench.schema}".poll_schedule'))
        for i, (_, tenant) in enumerate(realms):
            await conn.execute(
                text(
                    f'INSERT INTO "{bench.schema}".poll_schedule (tenant_id, interval_s, cursor, next_poll_at) '
                    "VALUES (:t, 60, now(), now() + make_interval(secs => :offset))"
                ),
                {"t": tenant, "offset": 60.0 * i / len(realms)},
            )
    stop = asyncio.Event()
    wall, cpu = time.perf_counter(), time.process_time()
    job = asyncio.create_task(scheduler_job(p.poller, 0.2, asyncio.Event())(stop))
    await asyncio.sleep(IDLE_SECONDS)
    stop.set()
    await job
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    async with engine.connect() as conn:
        stats = (
            await conn.execute(
                text(
                    f"SELECT count(*) AS runs, count(*) FILTER (WHERE outcome <> 'ok') AS failed, "
                    f'max(finished_at - started_at) AS slowest FROM "{bench.schema}".poll_runs '
                    "WHERE replica = :r"
                ),
                {"r": p.poller.replica},
            )
        ).one()
        late = (
            await conn.execute(
                text(
                    f"SELECT count(*) FROM \"{bench.schema}\".poll_schedule WHERE next_poll_at < now() - interval '5 seconds'"
                )
            )
        ).scalar_one()
    await engine.dispose()
    await p.qbo.aclose()
    await pool.close()
    return [
        (
            f"idle tenants polled in {IDLE_SECONDS:.0f}s (target {IDLE_TENANTS}/min)",
            str(stats.runs),
        ),
        ("idle polls failed", str(stats.failed)),
        (
            "slowest idle poll",
            f"{stats.slowest.total_seconds() * 1000:.0f} ms" if stats.slowest else "-",
        ),
        ("tenants overdue by > 5 s at the end", str(late)),
        ("poller CPU (one core = 100%)", f"{100 * cpu / wall:.0f}%"),
    ]


async def run() -> list[tuple[str, str]]:
    await ensure_database(DATABASE)
    schema = f"bench_pp_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(DATABASE)
    metadata = MetaData(schema=schema)
    plumbing_tables(metadata)
    poller_tables(metadata)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(metadata.create_all)
    port = _free_port()
    emulator = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from qbo_emulator.cli import main; main()",
        "--port",
        str(port),
        "--static-token",
        TOKEN,
        "--log-level",
        "warning",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        bench = Bench(url, schema)
        for _ in range(100):
            try:
                await bench.http.get("/clock")
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        hooked = await _latencies(bench, webhooks=True)
        polled = await _latencies(bench, webhooks=False)
        rows = [
            ("webhook → payment.received p50", f"{pct(hooked, 0.5) * 1000:.0f} ms"),
            (
                "webhook → payment.received p95 (target < 2000 ms)",
                f"{pct(hooked, 0.95) * 1000:.0f} ms",
            ),
            (
                f"polling only ({POLL_INTERVAL_S}s interval) p95 (target < {POLL_INTERVAL_S + 1} s)",
                f"{pct(polled, 0.95):.2f} s",
            ),
            (
                "QBO calls per poll of an idle tenant (target 1)",
                str(await _idle_calls_per_poll(bench)),
            ),
        ]
        rows += await _idle_tenants(bench)
        await bench.http.aclose()
        return rows
    finally:
        emulator.terminate()
        await emulator.wait()
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


if __name__ == "__main__":
    for metric, value in asyncio.run(run()):
        print(f"{metric}: {value}")
