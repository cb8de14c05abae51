"""RELIABILITY §8 F3 and F6 with real server restarts, on a broker and a database of the test's own
(qbsync_dev.private_servers): the servers other tests share are never touched.

F3: the broker's VM is killed (`kill -9`, and separately `stop_app`) while events are in flight and
upstream keeps writing events to publish; after the restart every consumer is back within 30 s,
no connection of the service sits there without consumers, every event is processed exactly once
and every event written during the outage is relayed.
F6: PostgreSQL stops with `-m immediate` while events are in flight; no delivery is acknowledged
before its transaction committed, every event is processed exactly once, and /readyz is healthy
again within 30 s of the database coming back.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import asyncpg
import httpx
import plumbing_app
import pytest
from harness import Harness, wait_until
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from qbsync_common.contract import events
from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import new_event
from qbsync_common.health import serve
from qbsync_common.messaging.consumer import EventConsumer
from qbsync_common.messaging.topology import RESULTS_EXCHANGE, UPSTREAM_RESULTS_QUEUE
from qbsync_common.outbox import Outbox
from qbsync_common.runtime import ServiceRuntime
from qbsync_common.service import ops_app_for
from qbsync_common.tables import plumbing_tables
from qbsync_dev.private_servers import PrivatePostgres, PrivateRabbit

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# §8 keeps the servers down 30 s (F3) and 10 s (F6); shorter here to fit the CI budget. Either is
# past the 5 s cap of the broker supervisor's backoff and several database retries, which is what
# the outage has to exercise.
BROKER_DOWN_S = 6.0
DATABASE_DOWN_S = 5.0
RECOVERY_S = 30.0  # §7/§8: consumers back and service ready within 30 s of the server being up
# "slow" events take 0.5 s each and the prefetch (32) bounds how many run at once: 160 of them
# take several seconds, so the fault lands while most are queued and a prefetch-full in flight.
IN_FLIGHT_EVENTS = 160


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        cluster = PrivatePostgres()
    except FileNotFoundError as exc:
        pytest.skip(f"F6 needs a database of its own to restart: {exc}")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


async def _start(runtime: ServiceRuntime) -> asyncio.Task[None]:
    task = asyncio.create_task(runtime.run())
    await wait_until(runtime.broker_ready, 30, "consumer ready")
    return task


async def _stop(runtime: ServiceRuntime, task: asyncio.Task[None]) -> None:
    runtime.request_stop()
    await asyncio.wait_for(task, 60)


async def _first_effect(harness: Harness) -> None:
    async def any_effect() -> bool:
        return bool(await harness.effects_by_event())

    await wait_until(any_effect, 30, "the first event processed")


async def _each_once(harness: Harness, event_ids: list[str]) -> bool:
    effects = await harness.effects_by_event()
    return all(effects.get(e) == 1 for e in event_ids)


def _upstream_event(tenant: str, n: int) -> Envelope:
    """An event an upstream transaction writes to the outbox while the broker is away."""
    return new_event(
        events.PartnerDeactivated(kind="vendor", partner_id=f"outage-{n}", version=1),
        tenant_id=tenant,
        source="restart-test",
        subject=f"vendor/outage-{n}",
    )


class TestBrokerRestart:
    """F3 on a private RabbitMQ node."""

    @pytest.fixture
    def broker_url(self, private_rabbit: PrivateRabbit) -> str:
        # Overrides the shared broker for this class: `harness` declares its queues on our node.
        return private_rabbit.url

    @pytest.mark.parametrize("fault", ["kill-9", "stop_app"])
    async def test_f3_broker_restart_loses_nothing_and_every_consumer_comes_back(
        self, harness: Harness, private_rabbit: PrivateRabbit, fault: str
    ) -> None:
        runtime = plumbing_app.build(harness.settings(), harness.schema, harness.queue)
        task = await _start(runtime)
        engine = create_async_engine(harness.database_url)
        broker_down = False
        try:
            before = await harness.publish_partners(["slow"] * IN_FLIGHT_EVENTS)
            await _first_effect(harness)
            pending = len(before) - len(await harness.effects_by_event())
            assert pending > 0, "every event was done before the fault: nothing was in flight"
            broker_down = True
            if fault == "kill-9":
                await asyncio.to_thread(private_rabbit.kill)
            else:
                await asyncio.to_thread(private_rabbit.ctl, "stop_app")
            await wait_until(_negated(runtime.broker_ready), RECOVERY_S, "the service to notice")

            # Upstream keeps committing events to publish while the broker is away.
            outbox = Outbox(plumbing_tables(plumbing_app.tables(harness.schema)[0]))
            during = [_upstream_event(harness.tenant, n) for n in range(10)]
            async with async_sessionmaker(engine)() as session, session.begin():
                await outbox.enqueue_many(session, during, exchange=RESULTS_EXCHANGE)
            await asyncio.sleep(BROKER_DOWN_S)

            if fault == "kill-9":
                await asyncio.to_thread(private_rabbit.start)
            else:
                await asyncio.to_thread(private_rabbit.ctl, "start_app")
            broker_down = False
            up_at = time.monotonic()

            async def consumers_back() -> bool:
                return (
                    await runtime.broker_ready()
                    and await _queue_consumers(private_rabbit, harness.queue) == 1
                )

            await wait_until(consumers_back, RECOVERY_S, "the consumer back on its queue")
            assert time.monotonic() - up_at <= RECOVERY_S
            assert await _idle_connections(private_rabbit, harness.queue) == []

            after = await harness.publish_partners([f"after-{i}" for i in range(20)])
            await wait_until(
                lambda: _each_once(harness, before + after), 90, "every event processed"
            )
            expected = {f"op:{e}" for e in before + after} | {f"id:{e.id}" for e in during}
            relayed = await _drain_results(harness, private_rabbit, expected)
            assert expected <= relayed
            assert await harness.fetch("SELECT event_id FROM {s}.outbox") == []
            assert await harness.parked() == []
            effects = await harness.effects_by_event()
            assert {e: effects[e] for e in before + after} == dict.fromkeys(before + after, 1)
        finally:
            try:
                if broker_down:  # a failure mid-outage: bring it back for a clean teardown
                    if fault == "kill-9":
                        await asyncio.to_thread(private_rabbit.start)
                    else:
                        await asyncio.to_thread(private_rabbit.ctl, "start_app")
            finally:
                await _stop(runtime, task)
                await engine.dispose()


def _negated(check: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[bool]]:
    async def negated() -> bool:
        return not await check()

    return negated


async def _queue_consumers(node: PrivateRabbit, queue: str) -> int:
    """Consumers of the queue as the broker counts them (`list_queues consumers`, §8 F3)."""
    listing = await asyncio.to_thread(
        node.ctl, "list_queues", "--no-table-headers", "name", "consumers"
    )
    for line in listing.splitlines():
        name, _, count = line.partition("\t")
        if name == queue:
            return int(count)
    return 0


async def _idle_connections(node: PrivateRabbit, service: str) -> list[str]:
    """The service's connections that carry no consumer: the "zombie" of §8 F3."""
    connections = await asyncio.to_thread(
        node.ctl, "list_connections", "--no-table-headers", "pid", "client_properties"
    )
    ours = [line.split("\t")[0] for line in connections.splitlines() if service in line]
    assert ours, "the service's connection is not visible to the broker"
    channels = await asyncio.to_thread(
        node.ctl, "list_channels", "--no-table-headers", "connection", "consumer_count"
    )
    consumers: dict[str, int] = {}
    for line in channels.splitlines():
        pid, _, count = line.partition("\t")
        consumers[pid] = consumers.get(pid, 0) + int(count)
    return [pid for pid in ours if consumers.get(pid, 0) == 0]


async def _drain_results(harness: Harness, node: PrivateRabbit, expected: set[str]) -> set[str]:
    """What reached the durable results queue of our node (it outlives the broker restart, unlike
    the harness's exclusive collector): `op:<source event>` per handler result, `id:<event>` per
    event; waits until everything expected is in, and fails if it never is."""
    seen: set[str] = set()
    connection = await aio_pika.connect(node.url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(UPSTREAM_RESULTS_QUEUE)

        async def all_in() -> bool:
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                if (message.headers or {}).get("tenantid") != harness.tenant:
                    continue
                seen.add(f"id:{message.message_id}")
                data = json.loads(message.body).get("data", {})
                if "operation_id" in data:
                    seen.add(f"op:{data['operation_id']}")
            return expected <= seen

        await wait_until(all_in, 60, "every result and every outage event relayed")
    return seen


class TestDatabaseRestart:
    """F6 on a private PostgreSQL cluster (the broker is the shared one: nothing happens to it)."""

    @pytest.fixture
    def database_dsn(self, private_postgres: PrivatePostgres) -> str:
        # Overrides the shared database for this class: `schema` and `harness` create the test
        # app's tables in our cluster, as they do in the shared one.
        return private_postgres.dsn

    @pytest.fixture
    def database_url(self, database_dsn: str) -> str:
        return database_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    @pytest.fixture
    async def schema(self, database_dsn: str) -> str:
        # The shared fixture keeps one connection open until teardown, which the crash kills;
        # this cluster is thrown away whole afterwards, so nothing needs dropping.
        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(database_dsn)
        try:
            await conn.execute(f'CREATE SCHEMA "{name}"')
        finally:
            await conn.close()
        return name

    async def test_f6_database_crash_acks_nothing_uncommitted_and_service_recovers(
        self,
        harness: Harness,
        private_postgres: PrivatePostgres,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # The repo's tiers (1 s … 300 s, 8 attempts) outlast minutes of outage; the harness's
        # short tiers need more attempts to outlast this one (200+400+800 ms, then 800 ms each).
        settings = harness.settings(max_attempts=40, http_port=0)
        runtime = plumbing_app.build(settings, harness.schema, harness.queue)
        audit: list[tuple[str, bool]] = []
        for consumer in runtime.consumers:
            _audit_acks(monkeypatch, consumer, harness, audit)
        server = await serve(ops_app_for(runtime, "f6"), settings)
        task = await _start(runtime)
        database_down = False
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{server.port}", timeout=5
            ) as http:

                async def ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await wait_until(ready, RECOVERY_S, "ready before the crash")
                event_ids = await harness.publish_partners(["slow"] * IN_FLIGHT_EVENTS)
                await _first_effect(harness)
                pending = len(event_ids) - len(await harness.effects_by_event())
                assert pending > 0, "every event was done before the crash: nothing was in flight"

                database_down = True
                await asyncio.to_thread(private_postgres.crash)
                await wait_until(_negated(ready), RECOVERY_S, "/readyz failing without a database")
                await asyncio.sleep(DATABASE_DOWN_S)
                await asyncio.to_thread(private_postgres.start)
                database_down = False
                up_at = time.monotonic()
                await wait_until(ready, RECOVERY_S, "/readyz healthy after the database is back")
                assert time.monotonic() - up_at <= RECOVERY_S
                # Checked early as well as at the end: an ack ahead of its commit also shows as
                # a lost event below, and this names the cause.
                assert [e for e, ok in audit if not ok] == [], "acknowledged before commit"

                await wait_until(
                    lambda: _each_once(harness, event_ids), 120, "every event processed"
                )
                effects = await harness.effects_by_event()
                assert {e: effects[e] for e in event_ids} == dict.fromkeys(event_ids, 1)

                async def results_complete() -> bool:
                    ids = {json.loads(m.body)["data"]["operation_id"] for m in harness.results}
                    return ids >= set(event_ids)

                await wait_until(results_complete, 60, "every result relayed")
                assert await harness.parked() == []

            # Events that were in flight at the crash ran again (a second attempt row) and still
            # have one effect each (checked above).
            retried = await harness.fetch(
                "SELECT event_id FROM {s}.attempts GROUP BY event_id HAVING count(*) > 1"
            )
            assert retried, "no event was in flight when the database went down"
            assert {r["event_id"] for r in retried} <= set(event_ids)
            uncommitted = [event_id for event_id, committed in audit if not committed]
            assert uncommitted == [], "acknowledged before their transaction committed"
            # Not every event need be in it: one whose commit answer was lost in the crash is
            # found done on its retry and acknowledged as a duplicate.
            assert audit and {event_id for event_id, _ in audit} <= set(event_ids)
        finally:
            try:
                if database_down:  # a failure mid-outage: bring it back for a clean teardown
                    await asyncio.to_thread(private_postgres.start)
            finally:
                await _stop(runtime, task)
                await server.stop()


def _audit_acks(
    monkeypatch: pytest.MonkeyPatch,
    consumer: EventConsumer,
    harness: Harness,
    audit: list[tuple[str, bool]],
) -> None:
    """Before each ack of a handled event ("ack" outcome: its effects are committed, the consumer
    claims), look for its inbox row from another session; a database that is down at that moment
    is waited for, so the answer is about what committed, never about reachability."""
    settle = consumer._settle

    async def audited(message: aio_pika.abc.AbstractIncomingMessage, outcome: str, *a: Any) -> None:
        if outcome == "ack":
            event_id = json.loads(message.body)["id"]
            audit.append((event_id, await _inbox_has(harness, consumer.name, event_id)))
        await settle(message, outcome, *a)

    monkeypatch.setattr(consumer, "_settle", audited)


async def _inbox_has(harness: Harness, consumer: str, event_id: str) -> bool:
    deadline = time.monotonic() + 60
    while True:
        try:
            rows = await harness.fetch(
                "SELECT 1 FROM {s}.inbox WHERE consumer = $1 AND event_id = $2", consumer, event_id
            )
            return bool(rows)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
