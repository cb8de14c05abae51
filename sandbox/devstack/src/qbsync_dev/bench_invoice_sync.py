"""Benchmark of invoice-sync: 5,000 invoices over 50 tenants through the real broker, database and
the emulator (its own process, limits off); invoices/s end to end, p50/p99 latency from publish to
the document.synced result, and raw broker throughput measured in the same run for comparison."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from decimal import Decimal

import aio_pika
import asyncpg
import httpx

from invoice_sync.bootstrap import DEFINITION, build
from invoice_sync.config import Settings
from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.contract.values import DocumentLine
from qbsync_common.messaging.topology import RESULTS_EXCHANGE, declare_exchanges
from qbsync_common.migrations import upgrade
from qbsync_dev.bench_common import pct, size_from_env
from qbsync_dev.database import ensure_database

BROKER = os.environ.get("QBSYNC_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432"
TOKEN = "bench-invoice-sync"


INVOICES = size_from_env("QBSYNC_BENCH_IS_INVOICES", 5000)
TENANTS = size_from_env("QBSYNC_BENCH_IS_TENANTS", 50)
RAW_MESSAGES = 20_000
# Issue 7: at most 1.2 QBO calls per synced invoice on average in steady state.
MAX_CALLS_PER_INVOICE = 1.2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def judge_calls(calls: int, invoices: int) -> str:
    """QBO calls per invoice against issue 7's steady-state budget. The count includes each
    tenant's first preflight, items and terms, so it can only overstate the steady state."""
    per_invoice = calls / invoices
    verdict = "PASS" if per_invoice <= MAX_CALLS_PER_INVOICE else "FAIL"
    return f"{per_invoice:.2f} (target <= {MAX_CALLS_PER_INVOICE}) {verdict}"


async def _qbo_calls(emulator: str, realms: list[str]) -> int:
    """Requests the emulator has answered for these companies so far."""
    async with httpx.AsyncClient(base_url=emulator, timeout=30) as http:
        total = 0
        for realm in realms:
            stats = await http.get(f"/_emulator/companies/{realm}/stats")
            stats.raise_for_status()
            total += int(stats.json()["total"])
    return total


async def _tenants(emulator: str) -> dict[str, tuple[str, str]]:
    """tenant -> (realm, QBO customer id), one fresh company each."""
    out: dict[str, tuple[str, str]] = {}
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=emulator, timeout=30) as http:
        for _ in range(TENANTS):
            realm = str(9160000000000000 + uuid.uuid4().int % 10**12)
            (await http.post("/_emulator/companies", json={"realm_id": realm})).raise_for_status()
            made = await http.post(
                f"/v3/company/{realm}/customer", json={"DisplayName": "Bench"}, headers=headers
            )
            out[f"bench-is-{uuid.uuid4().hex[:10]}"] = (realm, str(made.json()["Customer"]["Id"]))
    return out


async def _raw_broker(channel: aio_pika.abc.AbstractChannel) -> float:
    """Messages/s through one queue with confirms and acks: the ceiling the service sits under."""
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    body = b"x" * 600
    done = asyncio.Event()
    seen = 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        await message.ack()
        seen += 1
        if seen == RAW_MESSAGES:
            done.set()

    await channel.set_qos(prefetch_count=256)
    await queue.consume(on_message)
    started = time.perf_counter()
    for _ in range(RAW_MESSAGES // 500):
        await asyncio.gather(
            *(
                channel.default_exchange.publish(aio_pika.Message(body), queue.name)
                for _ in range(500)
            )
        )
    await asyncio.wait_for(done.wait(), 120)
    return RAW_MESSAGES / (time.perf_counter() - started)


async def run() -> list[tuple[str, str]]:
    name = f"qbsync_bench_invoice_{uuid.uuid4().hex[:6]}"
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await ensure_database(url)
    try:
        # alembic runs its own event loop: give it a thread of its own.
        await asyncio.to_thread(upgrade, DEFINITION.migrations, url, DEFINITION.schema)
    except Exception:
        await _drop(name)
        raise
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
    emulator_url = f"http://127.0.0.1:{port}"
    queue = f"invoice-sync-bench-{uuid.uuid4().hex[:6]}"
    connection = await aio_pika.connect(BROKER)
    task: asyncio.Task[None] | None = None
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    await http.get(f"{emulator_url}/_emulator/clock")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        tenants = await _tenants(emulator_url)
        tokens = {
            t: {"access_token": TOKEN, "realm_id": r, "api_base_url": emulator_url}
            for t, (r, _) in tenants.items()
        }
        settings = Settings(
            service_name=queue,
            database_url=url,
            broker_url=BROKER,
            qbo_limiter="memory",
            qbo_static_tokens=json.dumps(tokens),
            log_level="WARNING",
            prefetch=64,
            retry_delays_ms=(500, 1000),
        )
        service = await build(settings)
        task = asyncio.create_task(service.runtime.run())
        channel = await connection.channel(publisher_confirms=True)
        await declare_exchanges(channel)
        for _ in range(300):
            if await service.runtime.broker_ready():
                break
            await asyncio.sleep(0.1)
        raw = await _raw_broker(channel)

        published: dict[str, float] = {}
        latencies: list[float] = []
        finished = asyncio.Event()
        collector = await channel.declare_queue(exclusive=True, auto_delete=True)
        await collector.bind(RESULTS_EXCHANGE, "qbsync.document.synced.v1")

        async def on_result(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            doc = json.loads(message.body)["data"]["document_id"]
            if doc in published:
                latencies.append(time.perf_counter() - published.pop(doc))
                if len(latencies) == INVOICES:
                    finished.set()

        await collector.consume(on_result)

        async def publish(data: events.EventData, tenant: str) -> None:
            envelope = new_event(data, tenant_id=tenant, source="bench")
            await channel.default_exchange.publish(
                aio_pika.Message(encode(envelope), message_id=envelope.id), queue
            )

        for tenant, (_, customer) in tenants.items():
            await publish(
                events.PartnerSynced(
                    kind="client",
                    partner_id="c-1",
                    version=1,
                    sync_key=customer,
                    sync_token="0",
                    adopted=False,
                    operation_id="bench",
                ),
                tenant,
            )
        await asyncio.sleep(2)  # partner keys first, so no invoice waits for its partner
        names = list(tenants)
        line = DocumentLine(
            name="Translation",
            quantity=Decimal(10),
            unit_price=Decimal("12.50"),
            amount=Decimal("125.00"),
        )
        realms = [realm for realm, _ in tenants.values()]
        calls_before = await _qbo_calls(emulator_url, realms)
        started = time.perf_counter()
        for i in range(INVOICES):
            invoice = events.InvoiceStatusChanged(
                kind="client",
                invoice_id=f"inv-{i}",
                version=1,
                number=f"B{i}",
                status="sent",
                issue_date="2026-03-02",
                modified_at="2026-03-02T09:00:00Z",
                partner_id="c-1",
                currency="USD",
                exchange_rate=Decimal(1),
                lines=[line],
                net_total=Decimal("125.00"),
            )
            published[invoice.invoice_id] = time.perf_counter()
            await publish(invoice, names[i % len(names)])
        await asyncio.wait_for(finished.wait(), max(300.0, INVOICES / 5))
        elapsed = time.perf_counter() - started
        calls = await _qbo_calls(emulator_url, realms) - calls_before
        return [
            ("raw broker throughput (publish+consume, confirms)", f"{raw:,.0f} msg/s"),
            (
                f"invoices end to end ({INVOICES} over {TENANTS} tenants)",
                f"{INVOICES / elapsed:,.1f} invoices/s",
            ),
            ("publish → document.synced p50", f"{pct(latencies, 0.5) * 1000:,.0f} ms"),
            ("publish → document.synced p99", f"{pct(latencies, 0.99) * 1000:,.0f} ms"),
            ("issue 7 target: QBO calls per invoice", judge_calls(calls, INVOICES)),
        ]
    finally:
        if task is not None:
            service.runtime.request_stop()
            await asyncio.wait_for(task, 60)
            await service.runtime.engine.dispose()
        cleanup = await connection.channel()
        for suffix in ("", ".parking", ".retry.500", ".retry.1000"):
            await cleanup.queue_delete(f"{queue}{suffix}")
        await connection.close()
        emulator.terminate()
        await emulator.wait()
        await _drop(name)


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(f"{ADMIN_DSN}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


if __name__ == "__main__":
    for metric, value in asyncio.run(run()):
        print(f"{metric}: {value}")
