"""Benchmark: RELIABILITY §8 B1, the poison mix. Good messages' p99 lag must be unchanged (±10%)
when 1% of the traffic is poison: malformed JSON, a schema violation, a 10 MB body, an unknown
event type, and an event whose handler fails permanently.

It runs on a RabbitMQ node of its own booted with the broker configuration qbsync ships
(deploy/rabbitmq/qbsync.conf), as production runs: that broker refuses the 10 MB body at publish
(the publisher gets the error; reported as "refused"), so it never sits in the queue ahead of the
good events. On a broker without the limit, the same body held the good events behind it for
100-200 ms (p99 47 -> 265 ms): the queue delivers in order, and writing 10 MB out takes that long.

The upstream app (its own process) publishes good partner events at a steady rate, well below
what the service can take, so the lag measured is what one event waits, not a queue's length; the
poison comes from another process on the same clock, as from a buggy publisher elsewhere. Rounds
without poison and with it alternate (a shared machine's hiccups land on both), the first second
of each is warm-up, and the verdict compares one p99 over all rounds of each kind. The service runs the ordinary path (one
transaction per event), the one every handler that calls QBO takes. A good event's lag runs from
its CloudEvents `time` (stamped just before publishing) to the commit of its transaction.

Why this is a benchmark and not a test: it compares timings, and timed tests flake on shared
machines. That poison is parked with its reason and the consumer keeps going is a test
(libs/common/tests/integration/test_plumbing_flow.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
from sqlalchemy import Table

from qbsync_common import aio, assembly
from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.batch import Batched
from qbsync_common.messaging.consumer import Delivery, Handler
from qbsync_common.messaging.errors import PermanentError
from qbsync_dev.bench_common import pct, size_from_env
from qbsync_dev.bench_plumbing import BROKER, bench_service, partner_synced
from qbsync_dev.private_servers import PrivateRabbit

RATE = size_from_env("QBSYNC_BENCH_POISON_RATE", 200)  # good events/s
SECONDS = size_from_env("QBSYNC_BENCH_POISON_SECONDS", 8)
ROUNDS = size_from_env("QBSYNC_BENCH_POISON_ROUNDS", 3)  # of each kind
POISON_EVERY = 100  # 1%
POISON_KINDS = ("malformed-json", "invalid-data", "huge-body", "unknown-type", "permanent")
TOLERANCE = 0.10
WARMUP_S = 1.0
HUGE = 10 * 1024 * 1024


def poison_body(kind: str, i: int) -> bytes:
    """One poison message of the given kind (see the module's docstring)."""
    if kind == "malformed-json":
        return b'{"specversion": "1.0", "id": "broken'
    body = json.loads(good_body(i, name="poison" if kind == "permanent" else f"Partner {i}"))
    if kind == "invalid-data":
        del body["data"]["partner_id"]
    elif kind == "huge-body":
        body["data"]["name"] = "x" * HUGE
    elif kind == "unknown-type":
        body["type"] = "qbsync.no.such.event.v1"
    return json.dumps(body).encode()


def good_body(i: int, *, name: str | None = None) -> bytes:
    event = events.PartnerUpserted(
        kind="client",
        partner_id=f"p{i}",
        version=1,
        name=name or f"Partner {i}",
        currency="USD",
        active=True,
    )
    return encode(new_event(event, tenant_id="bench", source="bench"))


def schedule(total: int, poison: bool) -> list[str | None]:
    """What the i-th slot carries: None for a good event, a poison kind, or "" (a poison slot
    left empty in a round without poison, so both kinds of round send the same good events at
    the same moments)."""
    slots: list[str | None] = []
    kinds = 0
    for i in range(total):
        if i % POISON_EVERY == POISON_EVERY // 2:
            slots.append(POISON_KINDS[kinds % len(POISON_KINDS)] if poison else "")
            kinds += 1
        else:
            slots.append(None)
    return slots


def _publish_good(
    broker: str, queue: str, total: int, poison: bool, start_at: float, rate: int
) -> int:
    """In a child process: the good events of one round, one slot every 1/rate s from
    `start_at` (wall clock, shared with the poison publisher); returns how many were sent.
    (The rate is passed, not read: a spawned child has the module's defaults.)"""
    return aio.run(_good_publisher(broker, queue, schedule(total, poison), start_at, rate))


def _publish_poison(
    broker: str, queue: str, total: int, start_at: float, rate: int
) -> tuple[int, int]:
    """In a child process of its own, like a buggy publisher elsewhere: the round's poison in
    its slots; returns how many messages were sent, and how many the broker refused. (In the
    good publisher's process, writing a 10 MB body held its event loop and socket, which is
    the load generator's delay, not the service's.)"""
    return aio.run(_poison_publisher(broker, queue, schedule(total, True), start_at, rate))


async def _at(start_at: float, slot: int, rate: int) -> None:
    delay = start_at + slot / rate - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _good_publisher(
    broker: str, queue: str, slots: list[str | None], start_at: float, rate: int
) -> int:
    connection = await aio_pika.connect(broker)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        pending: list[asyncio.Task[object]] = []
        for i, slot in enumerate(slots):
            if slot is not None:
                continue
            await _at(start_at, i, rate)
            # Not awaited one by one: a confirm's round trip must not pace the schedule.
            message = aio_pika.Message(good_body(i), message_id=uuid.uuid4().hex)
            pending.append(asyncio.create_task(channel.default_exchange.publish(message, queue)))
        await asyncio.gather(*pending)
    return len(pending)


async def _poison_publisher(
    broker: str, queue: str, slots: list[str | None], start_at: float, rate: int
) -> tuple[int, int]:
    bad = {i: poison_body(slot, i) for i, slot in enumerate(slots) if slot}
    refused = 0
    connection = await aio_pika.connect(broker)
    async with connection:
        for i, body in bad.items():
            await _at(start_at, i, rate)
            # A channel each: the broker's refusal closes the channel it came on.
            channel = await connection.channel(publisher_confirms=True)
            try:
                await channel.default_exchange.publish(
                    aio_pika.Message(body, message_id=uuid.uuid4().hex), queue
                )
            except aio_pika.exceptions.AMQPError:
                refused += 1
            else:
                await channel.close()
    return len(bad), refused


@dataclass(frozen=True)
class Round:
    lags: list[float]  # of the good events committed after the warm-up, in seconds
    poison: int  # poison messages sent
    refused: int  # of which the broker refused at publish
    parked: int  # of which the service parked


async def _round(broker: str, poison: bool) -> Round:
    """One round against a fresh service."""
    total = int(RATE * SECONDS)
    good = sum(1 for slot in schedule(total, poison) if slot is None)
    lags: list[float] = []
    warming: list[float] = []
    all_good = asyncio.Event()

    def handlers(parts: assembly.Plumbing, state: Table) -> Mapping[str, Handler | Batched]:
        insert_state = state.insert()

        async def handle(delivery: Delivery) -> None:
            data = delivery.data
            assert isinstance(data, events.PartnerUpserted)
            if data.name == "poison":
                raise PermanentError("poison-pill", "this event can never succeed")
            async with delivery.transaction() as session:
                await session.execute(insert_state, {"partner_id": data.partner_id})
                await parts.outbox.enqueue(session, partner_synced(data, delivery.envelope.id))
            lag = (datetime.now(UTC) - delivery.envelope.time).total_seconds()
            # The first events of a round meet cold connections and caches (tens of ms, in
            # either kind of round): the first WARMUP_S of them are not counted.
            index = int(data.partner_id[1:])
            (warming if index < RATE * WARMUP_S else lags).append(lag)
            if len(lags) + len(warming) >= good:
                all_good.set()

        return {"qbsync.partner.upserted.v1": handle}

    # Production's prefetch: a poison message shares the window with the good ones.
    async with bench_service(broker, handlers, prefetch=64) as queue:
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            # Both publishers start on the same clock, once both processes are up.
            start_at = time.time() + 3.0
            good_sent = loop.run_in_executor(
                pool, _publish_good, broker, queue, total, poison, start_at, RATE
            )
            sent, refused = (
                await loop.run_in_executor(
                    pool, _publish_poison, broker, queue, total, start_at, RATE
                )
                if poison
                else (0, 0)
            )
            assert await good_sent == good
        await asyncio.wait_for(all_good.wait(), 120)
        parked = await _parked(broker, f"{queue}.parking", sent - refused)
    return Round(lags, sent, refused, parked)


async def _parked(broker: str, parking_queue: str, expected: int) -> int:
    """How many messages the parking lot holds, once it holds `expected` (or after 60 s)."""
    connection = await aio_pika.connect(broker)
    async with connection:
        channel = await connection.channel()
        deadline = time.monotonic() + 60
        while True:
            queue = await channel.declare_queue(parking_queue, passive=True)
            count = queue.declaration_result.message_count or 0
            if count >= expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.2)


async def run() -> list[tuple[str, str]]:
    with contextlib.ExitStack() as stack:
        try:
            node = PrivateRabbit()
        except FileNotFoundError as exc:
            print(f"  (no broker of its own: {exc}; on {BROKER}, without qbsync's limits)")
            broker = BROKER
        else:
            stack.callback(node.close)
            node.start()
            broker = node.url
        clean: list[Round] = []
        mixed: list[Round] = []
        for _ in range(ROUNDS):
            clean.append(await _round(broker, poison=False))
            mixed.append(await _round(broker, poison=True))
    # One p99 over every round's lags of a kind: thousands of samples, steadier than the median
    # of a few rounds' p99s (which the per-round figures show).
    baseline = pct([lag for r in clean for lag in r.lags], 0.99)
    with_poison = pct([lag for r in mixed for lag in r.lags], 0.99)
    change = with_poison / baseline - 1
    sent = sum(r.poison for r in mixed)
    refused = sum(r.refused for r in mixed)
    parked = sum(r.parked for r in mixed)
    accounted = refused + parked == sent
    verdict = "PASS" if change <= TOLERANCE and accounted else "FAIL"
    return [
        ("good events/s, seconds per round, rounds of each kind", f"{RATE}, {SECONDS:g}, {ROUNDS}"),
        ("good p99 lag without poison, each round (ms)", _ms([pct(r.lags, 0.99) for r in clean])),
        ("good p99 lag with 1% poison, each round (ms)", _ms([pct(r.lags, 0.99) for r in mixed])),
        (
            "poison sent / refused by the broker at publish / parked",
            f"{sent} / {refused} / {parked}",
        ),
        (
            f"p99 over all rounds with poison vs without (target <= +{TOLERANCE:.0%})",
            f"{baseline * 1000:.1f} -> {with_poison * 1000:.1f} ms ({change:+.0%}) {verdict}",
        ),
    ]


def _ms(values: list[float]) -> str:
    return ", ".join(f"{v * 1000:.1f}" for v in values)
