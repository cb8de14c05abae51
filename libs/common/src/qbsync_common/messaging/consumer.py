"""Consuming one queue: parse at the edge, dedupe through the inbox, ack only after commit,
retry transient failures through delay queues, park everything else with its reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import MAX_EVENT_BYTES, ContractError, parse_event
from qbsync_common.logs import log_context
from qbsync_common.messaging.batch import Batched, Event, Pending, claim_inbox, inbox_claim
from qbsync_common.messaging.errors import DuplicateEvent, PermanentError, is_transient
from qbsync_common.messaging.fairness import (
    REFRESH_S,
    RELEASED_HEADER,
    TICK_S,
    HeldEvents,
    TenantShare,
)
from qbsync_common.messaging.publisher import Publisher, PublishFailed
from qbsync_common.messaging.topology import PARKING_EXCHANGE, ConsumerSpec
from qbsync_common.metrics import ServiceMetrics
from qbsync_common.tables import PlumbingTables
from qbsync_common.telemetry import extract_context, inject_headers
from qbsync_common.waiting import wait_for_event

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("qbsync.messaging")

ATTEMPT_HEADER = "x-qbsync-attempt"
PARK_REASON_HEADER = "x-qbsync-park-reason"
ORIGINAL_ROUTING_KEY_HEADER = "x-qbsync-routing-key"
NOT_IMPLEMENTED = "not-implemented"


@dataclass
class Delivery:
    """What a handler gets: the validated event and the way to commit its effects exactly once."""

    envelope: Envelope
    data: BaseModel
    attempt: int
    consumer: str
    _sessions: async_sessionmaker[AsyncSession]
    _tables: PlumbingTables
    _crash_hook: Callable[[str], None]
    recorded: bool = field(default=False, init=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The handler's final transaction. The inbox row is inserted first, so a concurrent or later
        redelivery of the same event blocks on it and then finds it: effects happen once."""
        async with self._sessions() as session, session.begin():
            inserted = await session.execute(
                inbox_claim(self._tables.inbox),
                {
                    "consumer": self.consumer,
                    "event_id": self.envelope.id,
                    "event_type": self.envelope.type,
                },
            )
            if inserted.first() is None:
                raise DuplicateEvent(self.envelope.id)
            yield session
            self._crash_hook("before-commit")
        self.recorded = True


@dataclass(frozen=True)
class ToHold:
    message: AbstractIncomingMessage
    tenant: str
    event_id: str
    event_type: str


Handler = Callable[[Delivery], Awaitable[None]]
# First deliveries of Batched handlers' events wait this long for company, at most.
BATCH_WINDOW_S = 0.005
MAX_BATCH = 200


def as_handler(handler: Handler | Batched) -> Handler:
    """Any handler as a one-delivery handler; a Batched one gets a batch of one in the
    delivery's transaction (the ordinary path, and how tests drive handlers directly)."""
    if not isinstance(handler, Batched):
        return handler
    batched = handler

    async def handle(delivery: Delivery) -> None:
        async with delivery.transaction() as session:
            await batched.fn([Event(delivery.envelope, delivery.data, delivery.attempt)], session)

    return handle


class EventConsumer:
    """One consumer queue of a service. `start` on a fresh channel after every (re)connect."""

    def __init__(
        self,
        spec: ConsumerSpec,
        handlers: Mapping[str, Handler | Batched],
        *,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlumbingTables,
        metrics: ServiceMetrics,
        max_attempts: int,
        prefetch: int,
        tenant_cap: int = 0,
        crash_hook: Callable[[str], None] = lambda point: None,
    ) -> None:
        self.spec = spec
        self._handlers: dict[str, Handler] = {t: as_handler(h) for t, h in handlers.items()}
        self._batched = {t: h for t, h in handlers.items() if isinstance(h, Batched)}
        self._batch: list[Pending] = []
        self._to_hold: list[ToHold] = []
        # Deliveries received and not yet acked or nacked: at the prefetch, none can arrive
        # until we settle some, so a batch waiting for company should go at once.
        self._unsettled = 0
        self._sessions = sessions
        self._tables = tables
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._prefetch = prefetch
        self._crash_hook = crash_hook
        self._tasks: set[asyncio.Task[None]] = set()
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._publisher: Publisher | None = None
        self.share = TenantShare(tenant_cap)
        self._held = HeldEvents(spec.queue, self.share, sessions, tables)
        self._releaser: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.spec.queue

    @property
    def consuming(self) -> bool:
        return self._consumer_tag is not None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def start(self, channel: AbstractChannel, publisher: Publisher) -> None:
        from qbsync_common.messaging.topology import declare_consumer

        await channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await declare_consumer(channel, self.spec)
        self._publisher = publisher
        self._consumer_tag = await self._queue.consume(self._on_message, no_ack=False)
        if self.share.enabled:
            self._stop_releasing()
            self._releaser = asyncio.create_task(self._release_loop(publisher))

    async def stop_consuming(self) -> None:
        """basic.cancel: no new deliveries; the ones we hold are still ours to finish."""
        queue, tag = self._queue, self._consumer_tag
        self._consumer_tag = None
        self._stop_releasing()
        if queue is not None and tag is not None:
            try:
                await queue.cancel(tag)
            except Exception as exc:  # channel already gone: nothing more will arrive anyway
                log.debug("cancel of %s failed: %s", self.name, exc)

    async def drain(self, grace_s: float) -> None:
        """Let in-flight handlers finish; past the grace period cancel them (they requeue)."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)

    def detach(self) -> None:
        """The connection died: forget its consumer tag (deliveries will be redelivered)."""
        self._consumer_tag = None
        self._queue = None
        self._stop_releasing()

    def _stop_releasing(self) -> None:
        if self._releaser is not None:
            self._releaser.cancel()
            self._releaser = None

    async def _release_loop(self, publisher: Publisher) -> None:
        """Give held events back to the queue as their tenants get room (fairness.py)."""
        refreshed = 0.0
        while True:
            # Cleared first: a tenant finishing while we release must wake the next round.
            self.share.wake.clear()
            try:
                if time.monotonic() - refreshed > REFRESH_S:
                    backlog = await self._held.refresh()
                    refreshed = time.monotonic()
                    self._metrics.held.labels(self._metrics.service, self.name).set(backlog)
                released = await self._held.release(publisher) if self.share.holding else 0
                labels = (self._metrics.service, self.name)
                self._metrics.tenants_holding.labels(*labels).set(len(self.share.holding))
                if released:
                    self._metrics.released.labels(*labels).inc(released)
                    continue  # more may be waiting; go again at once
            except Exception as exc:  # database or broker hiccup: the rows wait, try again
                log.warning("releasing held events of %s failed: %r", self.name, exc)
            await wait_for_event(self.share.wake, TICK_S)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self._unsettled += 1
        try:
            envelope, data = parse_event(message.body)
        except ContractError as exc:
            self._spawn(self._process(message, exc))
            return
        headers = message.headers or {}
        retry = ATTEMPT_HEADER in headers
        batched = self._batched.get(envelope.type)
        if batched is not None:
            # State-only work takes milliseconds: it is never held back for fairness.
            if message.redelivered or retry:
                self._spawn(self._process(message, (envelope, data)))
            else:
                self._enqueue(Pending(message, Event(envelope, data), batched, time.perf_counter()))
            return
        tenant = envelope.tenantid
        released = RELEASED_HEADER in headers
        if released:
            self.share.came_back(tenant)
        if self.share.must_hold(tenant, exempt=released or retry):
            if not self._to_hold:
                self._spawn(self._hold_after(BATCH_WINDOW_S))
            self._to_hold.append(ToHold(message, tenant, envelope.id, envelope.type))
            if self._unsettled >= self._prefetch:
                self._spawn(self._hold_now())
            return
        self.share.started(tenant)
        # Run each delivery as its own task; prefetch bounds how many exist at once.
        self._spawn(self._counted(tenant, self._process(message, (envelope, data))))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _counted(self, tenant: str, work: Awaitable[None]) -> None:
        """Run work the tenant's share already counts (`started`), and give the share back."""
        try:
            await work
        finally:
            self.share.finished(tenant)

    async def _hold_after(self, window_s: float) -> None:
        """Set a tenant's surplus aside (fairness.py): stored first, acknowledged second, in
        bursts like batches, since a flood arrives as one."""
        await asyncio.sleep(window_s)
        await self._hold_now()

    async def _hold_now(self) -> None:
        items, self._to_hold = self._to_hold, []
        if not items:
            return
        try:
            await self._held.hold([(i.message, i.tenant, i.event_id) for i in items])
        except Exception as exc:
            # Through the retry tiers, not a requeue: a requeue comes straight back (and a
            # database outage would spin them into the delivery limit). A retry is never held.
            log.warning("could not hold %d events on %s: %r; retrying", len(items), self.name, exc)
            for item in items:
                await self._retry(item.message, _attempt(item.message) + 1, item.event_type)
            return
        for item in items:
            await self._settle(item.message, "held", item.event_type)

    def _enqueue(self, pending: Pending) -> None:
        # The first arrival starts the batch's timer; a full batch goes at once.
        if not self._batch:
            self._spawn(self._flush_after(BATCH_WINDOW_S))
        self._batch.append(pending)
        if len(self._batch) >= MAX_BATCH or self._unsettled >= self._prefetch:
            self._spawn(self._run_batch(self._take_batch()))

    def _take_batch(self) -> list[Pending]:
        batch, self._batch = self._batch, []
        return batch

    async def _flush_after(self, window_s: float) -> None:
        await asyncio.sleep(window_s)
        if self._batch:
            await self._run_batch(self._take_batch())

    async def _run_batch(self, batch: Sequence[Pending]) -> None:
        """One transaction for the whole batch; if it fails, every event goes the one-by-one way."""
        first: dict[str, Pending] = {}
        for item in batch:
            first.setdefault(item.event.envelope.id, item)
        with _tracer.start_as_current_span(
            f"process {self.name}",
            kind=SpanKind.CONSUMER,
            links=[trace.Link(_span_context(item.message)) for item in first.values()],
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.name": "process",
                "messaging.destination.name": self.name,
                "messaging.batch.message_count": len(batch),
            },
        ) as span:
            try:
                self._crash_hook("before-handler")
                async with self._sessions() as session, session.begin():
                    fresh = await claim_inbox(
                        session, self._tables, self.name, [i.event for i in first.values()]
                    )
                    todo = [i for i in first.values() if i.event.envelope.id in fresh]
                    by_handler: dict[int, list[Pending]] = {}
                    for item in todo:
                        by_handler.setdefault(id(item.handler), []).append(item)
                    for items in by_handler.values():
                        await items[0].handler.fn([i.event for i in items], session)
                    self._crash_hook("before-commit")
            except asyncio.CancelledError:
                for item in batch:
                    await self._settled(item.message.nack(requeue=True))
                    self._count(item.event.envelope.type, "requeued")
                raise
            except Exception as exc:
                span.record_exception(exc)
                log.warning(
                    "batch of %d on %s failed, one by one now: %r", len(batch), self.name, exc
                )
                for item in batch:
                    event = item.event
                    self._spawn(self._process(item.message, (event.envelope, event.data)))
                return
            self._crash_hook("after-commit-before-ack")
        done = time.perf_counter()
        ran = {id(item) for item in todo}
        for item in batch:
            event_type = item.event.envelope.type
            await self._settle(item.message, "ack" if id(item) in ran else "duplicate", event_type)
            self._metrics.handling_seconds.labels(
                self._metrics.service, self.name, event_type
            ).observe(done - item.received)

    async def _process(
        self,
        message: AbstractIncomingMessage,
        parsed: tuple[Envelope, BaseModel] | ContractError,
    ) -> None:
        """One delivery on the ordinary path: the event `_on_message` parsed, or why it could
        not (a malformed message is parked here with that reason)."""
        started = time.perf_counter()
        headers = message.headers or {}
        attempt = _attempt(message)
        if isinstance(parsed, ContractError):
            # Its log line and span carry whatever ids the message claims: the operator
            # looking for an event that never arrived searches by them.
            tenant_id, event_id = _claimed_ids(message)
            with (
                log_context(tenant_id=tenant_id, event_id=event_id),
                self._span(headers, attempt, event_id, tenant_id, None) as span,
            ):
                reason = f"{parsed.reason}: {parsed.field or '-'}: {parsed.message}"
                await self._park(message, reason, "?")
                span.set_status(Status(StatusCode.ERROR, "parked"))
            return
        envelope, data = parsed
        event_type = envelope.type
        with (
            log_context(tenant_id=envelope.tenantid, event_id=envelope.id),
            self._span(headers, attempt, envelope.id, envelope.tenantid, event_type) as span,
        ):
            handler = self._handlers.get(event_type)
            if handler is None:
                reason = f"{NOT_IMPLEMENTED}: no handler for {event_type}"
                await self._park(message, reason, event_type)
                span.set_status(Status(StatusCode.ERROR, "parked"))
                return
            self._observe_age(message, event_type)
            outcome = await self._handle(message, envelope, data, handler, attempt, span)
            if outcome != "ack":
                span.set_status(Status(StatusCode.ERROR, outcome))
        self._metrics.handling_seconds.labels(self._metrics.service, self.name, event_type).observe(
            time.perf_counter() - started
        )

    def _span(
        self,
        headers: Mapping[str, Any],
        attempt: int,
        event_id: str | None,
        tenant_id: str | None,
        event_type: str | None,
    ) -> AbstractContextManager[trace.Span]:
        """The consumer span of one delivery, continuing the producer's trace."""
        attributes: dict[str, str | int] = {
            "messaging.system": "rabbitmq",
            "messaging.operation.name": "process",
            "messaging.destination.name": self.name,
            "qbsync.attempt": attempt,
        }
        for key, value in (
            ("messaging.message.id", event_id),
            ("cloudevents.event_type", event_type),
            ("qbsync.tenant_id", tenant_id),
        ):
            if value is not None:
                attributes[key] = value
        return _tracer.start_as_current_span(
            f"process {self.name}",
            context=extract_context(headers),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        )

    async def _handle(
        self,
        message: AbstractIncomingMessage,
        envelope: Envelope,
        data: BaseModel,
        handler: Handler,
        attempt: int,
        span: trace.Span,
    ) -> str:
        event_type = envelope.type
        delivery = Delivery(
            envelope, data, attempt, self.name, self._sessions, self._tables, self._crash_hook
        )
        try:
            # A first delivery skips the look-up (the final transaction's inbox insert still
            # catches publisher-side duplicates); a redelivery or retry may be done already,
            # and finding out before the handler runs saves its external calls.
            maybe_done = message.redelivered or attempt > 1
            if maybe_done and await self._already_processed(envelope.id):
                raise DuplicateEvent(envelope.id)
            self._crash_hook("before-handler")
            await handler(delivery)
            if not delivery.recorded:
                # A handler with nothing to write still marks the event done.
                async with delivery.transaction():
                    pass
        except DuplicateEvent:
            await self._settle(message, "duplicate", event_type)
            return "duplicate"
        except asyncio.CancelledError:
            # Shutdown past the grace period: hand the message back, never drop it.
            await self._settled(message.nack(requeue=True))
            self._count(event_type, "requeued")
            raise
        except Exception as exc:
            span.record_exception(exc)
            return await self._fail(message, envelope, attempt, exc)
        self._crash_hook("after-commit-before-ack")
        await self._settle(message, "ack", event_type)
        return "ack"

    async def _fail(
        self, message: AbstractIncomingMessage, envelope: Envelope, attempt: int, exc: Exception
    ) -> str:
        event_type = envelope.type
        if isinstance(exc, PermanentError) or not is_transient(exc):
            reason = exc.reason if isinstance(exc, PermanentError) else type(exc).__name__
            log.warning("event %s failed permanently (%s): %s", envelope.id, reason, exc)
            await self._park(message, f"permanent: {exc}", event_type)
            return "parked"
        if attempt >= self._max_attempts:
            log.error("event %s failed %d times, parking: %s", envelope.id, attempt, exc)
            await self._park(message, f"retries-exhausted after {attempt}: {exc!r}", event_type)
            return "parked"
        log.info("event %s failed (attempt %d), retrying: %r", envelope.id, attempt, exc)
        await self._retry(message, attempt + 1, event_type)
        return "retry"

    async def _already_processed(self, event_id: str) -> bool:
        inbox = self._tables.inbox
        async with self._sessions() as session:
            found = await session.execute(
                select(inbox.c.event_id).where(
                    inbox.c.consumer == self.name, inbox.c.event_id == event_id
                )
            )
            return found.first() is not None

    async def _retry(self, message: AbstractIncomingMessage, attempt: int, event_type: str) -> None:
        delay = self.spec.retry_delay_ms(attempt - 1)
        # Jitter shortens, never lengthens: a tier queue only expires at its head (RMQ-ttl).
        expiration = max(1, int(delay * random.uniform(0.8, 1.0)))
        headers = {**(message.headers or {}), ATTEMPT_HEADER: attempt}
        headers[ORIGINAL_ROUTING_KEY_HEADER] = _original_routing_key(message)
        if await self._republish(
            message, "", self.spec.retry_queue(attempt - 1), headers, expiration
        ):
            self._count(event_type, "retry")
            self._metrics.retries.labels(self._metrics.service, self.name, event_type).inc()

    async def _park(self, message: AbstractIncomingMessage, reason: str, event_type: str) -> None:
        headers = {
            **(message.headers or {}),
            PARK_REASON_HEADER: reason[:1000],
            ORIGINAL_ROUTING_KEY_HEADER: _original_routing_key(message),
            "x-qbsync-parked-at": datetime.now(UTC).isoformat(),
        }
        log.warning("parking message %s from %s: %s", message.message_id, self.name, reason)
        if await self._republish(message, PARKING_EXCHANGE, self.name, headers, None):
            self._count(event_type, "parked")
            self._metrics.parked.labels(
                self._metrics.service, self.name, reason.split(":", 1)[0]
            ).inc()

    async def _republish(
        self,
        message: AbstractIncomingMessage,
        exchange: str,
        routing_key: str,
        headers: dict[str, Any],
        expiration_ms: int | None,
    ) -> bool:
        """Copy first, ack second: a crash in between duplicates (the inbox absorbs it), never loses."""
        assert self._publisher is not None
        try:
            await self._publisher.publish(
                exchange,
                routing_key,
                message.body,
                message_id=message.message_id or "",
                headers=inject_headers(headers),
                content_type=message.content_type or "application/octet-stream",
                expiration_ms=expiration_ms,
            )
        except PublishFailed as exc:
            log.error("could not move message %s: %s; requeueing", message.message_id, exc)
            await self._settled(message.nack(requeue=True))
            return False
        await self._settled(message.ack())
        return True

    async def _settle(
        self, message: AbstractIncomingMessage, outcome: str, event_type: str
    ) -> None:
        await self._settled(message.ack())
        self._count(event_type, outcome)

    async def _settled(self, op: Awaitable[Any]) -> None:
        """Every ack and nack goes through here: it counts the deliveries we hold unsettled."""
        self._unsettled -= 1
        await _safe(op)

    def _count(self, event_type: str, outcome: str) -> None:
        self._metrics.events_consumed.labels(
            self._metrics.service, self.name, event_type, outcome
        ).inc()

    def _observe_age(self, message: AbstractIncomingMessage, event_type: str) -> None:
        if message.timestamp is not None:
            sent = message.timestamp
            if sent.tzinfo is None:
                sent = sent.replace(tzinfo=UTC)
            age = (datetime.now(UTC) - sent).total_seconds()
            self._metrics.message_age_seconds.labels(
                self._metrics.service, self.name, event_type
            ).observe(max(0.0, age))


def _attempt(message: AbstractIncomingMessage) -> int:
    """Which delivery attempt this is: 1, or what the retry tiers counted in the header."""
    return int(str((message.headers or {}).get(ATTEMPT_HEADER, 1)))


def _claimed_ids(message: AbstractIncomingMessage) -> tuple[str | None, str | None]:
    """(tenant id, event id) of a message that failed the contract, as far as it tells: the
    body's fields if it is a JSON object, else the `tenantid` header and the message id."""
    headers = message.headers or {}
    tenant = headers.get("tenantid")
    tenant_id = tenant.decode() if isinstance(tenant, bytes) else tenant
    event_id = message.message_id
    raw = None
    if len(message.body) <= MAX_EVENT_BYTES:  # a huge body is not worth parsing for its ids
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            raw = json.loads(message.body)
    if isinstance(raw, dict):
        if isinstance(raw.get("tenantid"), str):
            tenant_id = raw["tenantid"]
        if isinstance(raw.get("id"), str):
            event_id = raw["id"]
    return (tenant_id if isinstance(tenant_id, str) else None), event_id


def _span_context(message: AbstractIncomingMessage) -> trace.SpanContext:
    return trace.get_current_span(extract_context(message.headers or {})).get_span_context()


def _original_routing_key(message: AbstractIncomingMessage) -> str:
    headers = message.headers or {}
    return str(headers.get(ORIGINAL_ROUTING_KEY_HEADER) or message.routing_key or "")


async def _safe(op: Awaitable[Any]) -> None:
    """Ack/nack on a channel that died: the broker requeues it for us, so log and go on."""
    try:
        await op
    except Exception as exc:
        log.warning("could not settle a delivery (channel gone?): %s", exc)
