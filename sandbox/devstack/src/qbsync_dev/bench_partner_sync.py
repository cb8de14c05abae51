"""Benchmark of partner-sync against the emulator (a separate process), the real broker and database:
QBO calls per new partner, multi-tenant throughput and publish-to-synced latency beside raw broker
throughput, and fairness (another tenant's event while one tenant has a backlog).

Sizes scale with QBSYNC_BENCH_PS_* env vars; defaults follow issue 6 where the run stays short.
Each measurement with a target in issue 6 is reported with PASS or FAIL, and a last row says how
many targets were met.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aio_pika
import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from partner_sync.adapters.tables import partner_tables
from partner_sync.bootstrap import PartnerSync, compose, qbo_transport
from qbo_client import AccessToken, QBOClient, StaticTokenProvider
from qbo_client.limiter import RealmLimits
from qbo_client.limiter_memory import InMemoryRateLimiter
from qbsync_common import assembly
from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.topology import RESULTS_EXCHANGE, ConsumerSpec, declare_exchanges
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.settings import ServiceSettings
from qbsync_common.tables import plumbing_tables
from qbsync_common.tenant_settings import StaticTenantSettings
from qbsync_dev.bench_common import pct
from qbsync_dev.database import ensure_database

BROKER = os.environ.get("QBSYNC_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/qbsync_bench_partner_sync"
TOKEN = "bench-partner-sync"
OPEN = RealmLimits(per_minute=10**6, per_second=10**5, concurrent=10**4, batch_per_minute=10**5)
DELAYS = (500, 2_000, 10_000)
BATCH_ITEMS = 30  # QBO's most operations per batch request
# Issue 6's targets.
CALLS_PER_PARTNER_TARGET = 1.1
BACKFILL_RATIO_TARGET = 1.2
FAIRNESS_TARGET_MS = 2000.0


def _env_int(name: str, default: int) -> int:
    variable = f"QBSYNC_BENCH_PS_{name}"
    raw = os.environ.get(variable, str(default))
    try:
        value: int | None = int(raw)
    except ValueError:
        value = None
    if value is None or value < 0:
        raise ValueError(f"{variable} must be an integer >= 0, not {raw!r}")
    return value


@dataclass(frozen=True)
class Config:
    steady: int  # new partners of one tenant, for calls per partner
    events: int  # partner events spread over `tenants`
    tenants: int
    backlog: int  # one tenant's queued events while another's single event is timed
    backfill: int  # partners one tenant backfills
    scale: int  # QBO's limits scaled up by this factor in the backfill (issue 6 allows it)
    database: str

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            steady=max(_env_int("STEADY", 300), 1),
            events=_env_int("EVENTS", 5000),
            tenants=max(_env_int("TENANTS", 50), 1),
            backlog=_env_int("BACKLOG", 1000),
            backfill=max(_env_int("BACKFILL", 10000), 1),
            scale=max(_env_int("SCALE", 4), 1),
            database=os.environ.get("QBSYNC_BENCH_PS_DATABASE_URL", DATABASE),
        )


def verdict(met: bool) -> str:
    return "PASS" if met else "FAIL"


def backfill_minimum_s(partners: int, batch_per_minute: int, per_minute: int) -> float:
    """The least time QBO's per-minute limits allow for a backfill through batches.

    The windows are sliding minutes that start full: the first minute's allowance goes at once,
    and each further allowance a minute later, so the last batch can leave no earlier than
    (ceil(batches / allowance) - 1) minutes after the first. A batch is one request too, so the
    request limit binds the same way when it is the smaller one."""
    batches = -(-partners // BATCH_ITEMS)
    allowance = min(batch_per_minute, per_minute)
    return (-(-batches // allowance) - 1) * 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Bench:
    def __init__(self, emulator: str, schema: str, config: Config) -> None:
        self.config = config
        self.emulator = emulator
        self.schema = schema
        self.tokens = StaticTokenProvider({})
        self.limits: dict[str, RealmLimits] = {}
        self.admin = httpx.AsyncClient(base_url=f"{emulator}/_emulator", timeout=30)
        self.queue = f"bench-partner-sync-{uuid.uuid4().hex[:8]}"
        self.commands = f"{self.queue}.commands"
        self.synced_at: dict[tuple[str, str], float] = {}
        self.tenants: set[str] = set()
        self.runtime: ServiceRuntime | None = None
        self.service: PartnerSync | None = None
        self.transport = qbo_transport()  # production's: httpx over aiohttp, call counting
        self._task: asyncio.Task[None] | None = None
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._qbo: QBOClient | None = None

    async def tenant(self) -> tuple[str, str]:
        realm_id = str(9160000000000000 + uuid.uuid4().int % 10**12)
        created = await self.admin.post(
            "/companies", json={"realm_id": realm_id, "company_name": "Bench", "seeded": False}
        )
        created.raise_for_status()
        tenant = f"bench-{uuid.uuid4().hex[:10]}"
        expires = datetime.now(UTC) + timedelta(hours=3)
        self.tokens._tokens[tenant] = AccessToken(TOKEN, realm_id, self.emulator, expires)
        self.tenants.add(tenant)
        return realm_id, tenant

    async def start(self) -> None:
        settings = ServiceSettings(
            service_name=self.queue,
            database_url=self.config.database,
            broker_url=BROKER,
            retry_delays_ms=DELAYS,
            prefetch=64,
        )
        metadata = MetaData(schema=self.schema)
        tables = partner_tables(metadata)
        parts = assembly.plumbing(settings, metadata)
        qbo = self._qbo = QBOClient(
            self.tokens,
            limiter=InMemoryRateLimiter(limits_for=lambda realm: self.limits.get(realm, OPEN)),
            transport=self.transport,
            registry=CollectorRegistry(),
            # As in production: work that cannot get its realm's budget soon goes back to the
            # delay queue instead of holding a consumer slot other tenants need.
            max_wait=20.0,
        )
        self.service = compose(
            parts,
            qbo,
            StaticTenantSettings(),
            tables=tables,
            max_attempts=settings.max_attempts,
            command_exchange=self.commands,
        )
        self._connection = await aio_pika.connect_robust(BROKER)
        channel = await self._connection.channel()
        await declare_exchanges(channel)
        await channel.declare_exchange(self.commands, aio_pika.ExchangeType.TOPIC, auto_delete=True)
        collector = await channel.declare_queue(exclusive=True, auto_delete=True)
        await collector.bind(RESULTS_EXCHANGE, "#")

        async def on_result(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            if (message.headers or {}).get("tenantid") in self.tenants:
                body = json.loads(message.body)
                key = (body["tenantid"], body["data"]["partner_id"])
                self.synced_at.setdefault(key, time.perf_counter())

        await collector.consume(on_result)
        spec = ConsumerSpec(self.queue, [(self.commands, "#")], retry_delays_ms=DELAYS)
        self.runtime = assembly.runtime(
            settings, parts, [(spec, self.service.handler_map())], jobs=self.service.jobs()
        )
        self._task = asyncio.create_task(self.runtime.run())
        for _ in range(300):
            if await self.runtime.broker_ready():
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("partner-sync did not become ready")

    async def stop(self) -> None:
        if self.runtime is not None and self._task is not None:
            self.runtime.request_stop()
            await asyncio.wait_for(self._task, 30)
        if self._connection is not None:
            channel = await self._connection.channel()
            for name in [self.queue, f"{self.queue}.parking"] + [
                f"{self.queue}.retry.{d}" for d in DELAYS
            ]:
                await channel.queue_delete(name)
            await self._connection.close()
        await self.admin.aclose()
        if self._qbo is not None:
            await self._qbo.aclose()

    async def publish(self, items: list[tuple[str, str, str]]) -> dict[tuple[str, str], float]:
        """(tenant, partner id, name) → partner.upserted, straight to the service's queue."""
        sent: dict[tuple[str, str], float] = {}
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=True)
        for tenant, partner_id, name in items:
            data = events.PartnerUpserted(
                kind="client",
                partner_id=partner_id,
                version=1,
                name=name,
                currency="USD",
                active=True,
            )
            envelope = new_event(data, tenant_id=tenant, source="bench")
            sent[(tenant, partner_id)] = time.perf_counter()
            await channel.default_exchange.publish(
                aio_pika.Message(encode(envelope), message_id=envelope.id), self.queue
            )
        await channel.close()
        return sent

    async def wait_for(self, keys: list[tuple[str, str]], within: float) -> None:
        deadline = time.perf_counter() + within
        while time.perf_counter() < deadline:
            if all(k in self.synced_at for k in keys):
                return
            await asyncio.sleep(0.05)
        missing = sum(1 for k in keys if k not in self.synced_at)
        raise RuntimeError(f"{missing} of {len(keys)} partners not synced within {within}s")


async def _steady(bench: Bench) -> list[tuple[str, str]]:
    n = bench.config.steady
    _, tenant = await bench.tenant()
    assert bench.service is not None
    await bench.service.directory.names(tenant)  # production loads it when the tenant connects
    before = bench.transport.total_calls
    items = [(tenant, f"s-{i}", f"Steady Partner {i}") for i in range(n)]
    started = time.perf_counter()
    await bench.publish(items)
    await bench.wait_for([(t, p) for t, p, _ in items], 300)
    elapsed = time.perf_counter() - started
    calls = (bench.transport.total_calls - before) / n
    return [
        (
            f"steady state: QBO calls per new partner ({n}; target ≤ {CALLS_PER_PARTNER_TARGET})",
            f"{calls:.2f} {verdict(calls <= CALLS_PER_PARTNER_TARGET)}",
        ),
        ("steady state: partners/s (one tenant)", f"{n / elapsed:.0f}"),
    ]


async def _multi_tenant(bench: Bench) -> list[tuple[str, str]]:
    config = bench.config
    tenants = [(await bench.tenant())[1] for _ in range(config.tenants)]
    per = max(config.events // config.tenants, 1)
    items = [(t, f"m-{i}", f"Multi Partner {i}") for i in range(per) for t in tenants]
    before = bench.transport.total_calls
    started = time.perf_counter()
    sent = await bench.publish(items)
    await bench.wait_for(list(sent), 900)
    elapsed = time.perf_counter() - started
    latencies = [bench.synced_at[k] - sent[k] for k in sent]
    calls = (bench.transport.total_calls - before) / len(items)
    # Issue 6 asks these to be reported, with no target.
    return [
        (
            f"{len(items)} events over {config.tenants} tenants: events/s end to end",
            f"{len(items) / elapsed:.0f}",
        ),
        ("publish → partner.synced p50", f"{pct(latencies, 0.5) * 1000:.0f} ms"),
        ("publish → partner.synced p99", f"{pct(latencies, 0.99) * 1000:.0f} ms"),
        ("QBO calls per partner incl. index loads", f"{calls:.2f}"),
    ]


async def _raw_broker(n: int) -> list[tuple[str, str]]:
    """The same number of messages through a plain queue: publish with confirms, consume, ack."""
    connection = await aio_pika.connect(BROKER)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=64)
        queue = await channel.declare_queue(
            f"bench-raw-{uuid.uuid4().hex[:8]}", durable=True, arguments={"x-queue-type": "quorum"}
        )
        body = b"x" * 600
        got = asyncio.Event()
        count = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal count
            await message.ack()
            count += 1
            if count >= n:
                got.set()

        started = time.perf_counter()
        await queue.consume(on_message)
        for _ in range(n):
            await channel.default_exchange.publish(aio_pika.Message(body), queue.name)
        await asyncio.wait_for(got.wait(), 300)
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
    return [("raw broker: messages/s (publish confirmed + consume + ack)", f"{n / elapsed:.0f}")]


def _latency(bench: Bench, key: tuple[str, str], sent: dict[tuple[str, str], float]) -> str:
    ms = (bench.synced_at[key] - sent[key]) * 1000
    return f"{ms:.0f} ms {verdict(ms <= FAIRNESS_TARGET_MS)}"


async def _fairness(bench: Bench) -> list[tuple[str, str]]:
    realm, busy = await bench.tenant()
    _, quiet = await bench.tenant()
    # QBO's limits for the busy tenant's company: its backlog is throttled, the other is not.
    qbo_limits = {"per_minute": 500, "per_second": 10, "concurrent": 10, "batch_per_minute": 40}
    (await bench.admin.put(f"/companies/{realm}/limits", json=qbo_limits)).raise_for_status()
    bench.limits[realm] = RealmLimits(**qbo_limits)
    backlog = [(busy, f"b-{i}", f"Backlog Partner {i}") for i in range(bench.config.backlog)]
    await bench.publish(backlog)
    await asyncio.sleep(1.0)
    sent = await bench.publish([(quiet, "q-1", "Quiet Partner")])
    try:
        await bench.wait_for(list(sent), 120)
        latency = _latency(bench, (quiet, "q-1"), sent)
    except RuntimeError:
        latency = "> 120 s FAIL"
    return [
        (
            f"fairness: other tenant's event while one tenant has {bench.config.backlog} queued "
            f"(target ≤ {FAIRNESS_TARGET_MS:.0f} ms)",
            latency,
        )
    ]


async def _backfill(bench: Bench) -> list[tuple[str, str]]:
    """One tenant backfills `backfill` partners under QBO's limits x `scale`, through batches,
    while another tenant's single partner event is timed."""
    n, scale = bench.config.backfill, bench.config.scale
    realm, busy = await bench.tenant()
    _, quiet = await bench.tenant()
    limits = {
        "per_minute": 500 * scale,
        "per_second": 10 * scale,
        "concurrent": 10 * scale,
        "batch_per_minute": 40 * scale,
    }
    (await bench.admin.put(f"/companies/{realm}/limits", json=limits)).raise_for_status()
    bench.limits[realm] = RealmLimits(**limits)
    engine = create_async_engine(bench.config.database)
    async with engine.begin() as conn:
        # Partners upstream already told us about (as pending rows), like a newly connected tenant.
        await conn.execute(
            text(
                f'INSERT INTO "{bench.schema}".partners (tenant_id, kind, partner_id, snapshot, '
                "version, status) SELECT :t, 'client', 'bf-' || n, jsonb_build_object('kind', "
                "'client', 'partner_id', 'bf-' || n, 'version', 1, 'name', 'Backfill Partner ' "
                "|| n, 'currency', 'USD', 'active', true), 1, 'pending' "
                "FROM generate_series(1, :n) AS n"
            ),
            {"t": busy, "n": n},
        )
    await engine.dispose()
    assert bench.service is not None
    await bench.service.directory.names(busy)
    started = time.perf_counter()
    assert await bench.service.actions.start_backfill(busy)
    await asyncio.sleep(2.0)
    sent = await bench.publish([(quiet, "q-2", "Quiet During Backfill")])
    try:
        await bench.wait_for(list(sent), 60)
        quiet_latency = _latency(bench, (quiet, "q-2"), sent)
    except RuntimeError:
        quiet_latency = "> 60 s FAIL"
    for _ in range(18_000):  # at most an hour
        if (await bench.service.actions.backfill_status(busy))["state"] != "running":
            break
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    status = await bench.service.actions.backfill_status(busy)
    minimum = backfill_minimum_s(n, limits["batch_per_minute"], limits["per_minute"])
    done = status["state"] == "done"
    if minimum > 0:
        ratio = elapsed / minimum
        judged = f"{ratio:.2f} {verdict(done and ratio <= BACKFILL_RATIO_TARGET)}"
    else:
        # Everything fits the first minute's allowance: the limits never make the run wait.
        judged = "n/a (fits the first minute's allowance)"
    return [
        (
            f"backfill {n} partners, QBO limits x{scale}: time",
            f"{elapsed:.1f} s ({status.get('batch_calls')} batch calls, state {status['state']}"
            f"{' ' + str(status.get('error')) if status.get('error') else ''})",
        ),
        (
            f"backfill: time / minimum the limits allow (minimum {minimum:.0f} s; "
            f"target ≤ {BACKFILL_RATIO_TARGET})",
            judged,
        ),
        (
            f"fairness: other tenant's event during the backfill (target ≤ "
            f"{FAIRNESS_TARGET_MS:.0f} ms)",
            quiet_latency,
        ),
    ]


def summary(rows: list[tuple[str, str]]) -> tuple[str, str]:
    """How many of issue 6's targets this run met, naming the missed ones."""
    judged = [(m, v) for m, v in rows if v.endswith(("PASS", "FAIL"))]
    missed = [m for m, v in judged if v.endswith("FAIL")]
    met = len(judged) - len(missed)
    value = f"{met}/{len(judged)} met"
    return ("issue 6 targets", value + (f"; missed: {'; '.join(missed)}" if missed else ""))


async def run() -> list[tuple[str, str]]:
    config = Config.from_env()
    await ensure_database(config.database)
    schema = f"bench_ps_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(config.database)
    metadata = MetaData(schema=schema)
    plumbing_tables(metadata)
    partner_tables(metadata)
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
    bench = Bench(url, schema, config)
    rows: list[tuple[str, str]] = []
    try:
        for _ in range(100):
            try:
                await bench.admin.get("/clock")
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        await bench.start()
        rows += await _steady(bench)
        rows += await _multi_tenant(bench)
        rows += await _raw_broker(max(config.events, 1))
        rows += await _fairness(bench)
        rows += await _backfill(bench)
        return [*rows, summary(rows)]
    finally:
        await bench.stop()
        emulator.terminate()
        await emulator.wait()
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


def _main() -> None:
    for metric, value in asyncio.run(run()):
        print(f"{metric}: {value}")


if __name__ == "__main__":
    _main()
