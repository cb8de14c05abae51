"""Outbox relay: publishes committed outbox rows with confirms, then deletes them.

Local commits wake the relay at once (Outbox.on_commit); rows written by other replicas are found
by polling every `poll_interval_s`. One relay per service schema is active at a time (a PostgreSQL session advisory lock elects it; a
dead leader's connection drops and frees the lock). A single reader keeps the outbox's commit order
per aggregate without leases; the cost is that relay throughput does not scale with replicas, which
batch publishing makes irrelevant at our volumes.

A row the broker refused is retried later (`next_attempt_at`), and the rows after it of the same
aggregate wait for it: the relay keeps the first refused row of each aggregate (rows with
`attempts > 0`) and skips the later ones until it is through. The aggregate is the row's
`x-qbsync-aggregate` header (tenant and CloudEvents subject, set by Outbox), else its tenant. Rows are
pipelined within a batch, so rows of the aggregate that were already in the batch of the refusal go
out; later batches hold back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from qbsync_common.messaging.publisher import PublishFailed
from qbsync_common.outbox import AGGREGATE_HEADER
from qbsync_common.telemetry import extract_context
from qbsync_common.waiting import wait_for_event

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("qbsync.outbox")

PublishFn = Callable[..., Awaitable[None]]
# Backoff for rows the broker refused (unroutable, nacked): they stay pending and are retried.
MAX_BACKOFF_S = 60.0
BATCH_WINDOW_S = 0.01
# The backlog gauges are scraped every 15 s or so: a count every few seconds is plenty, and keeps
# the relay's loop (which turns every few milliseconds under load) free of a table scan per batch.
BACKLOG_INTERVAL_S = 5.0

BacklogFn = Callable[[tuple[int, float] | None], None]
# A row's aggregate (see the module's docstring); rows of older versions carry the tenant only.
_AGGREGATE = f"coalesce(headers->>'{AGGREGATE_HEADER}', headers->>'tenantid', '')"


class OutboxRelay:
    def __init__(
        self,
        dsn: str,
        schema: str,
        *,
        batch_size: int = 200,
        poll_interval_s: float = 0.25,
        on_published: Callable[[int], None] | None = None,
        on_failed: Callable[[int], None] | None = None,
        crash_hook: Callable[[str], None] | None = None,
        on_backlog: BacklogFn | None = None,
        backlog_interval_s: float = BACKLOG_INTERVAL_S,
        application_name: str = "qbsync-outbox-relay",
    ) -> None:
        self._application_name = application_name
        self._dsn = dsn
        self._schema = schema
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._on_published = on_published or (lambda n: None)
        self._on_failed = on_failed or (lambda n: None)
        self._crash_hook = crash_hook or (lambda point: None)
        # (pending rows, oldest age) while leading; None when this process stops knowing.
        self._on_backlog = on_backlog or (lambda backlog: None)
        self._backlog_interval_s = backlog_interval_s
        self._lock_key = zlib.crc32(f"qbsync-outbox-relay:{schema}".encode())
        self.is_leader = False
        # aggregate -> seq of its first refused row, while there is one (the leader's view).
        self._held: dict[str, int] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self, publish: Callable[[], PublishFn | None], stop: asyncio.Event) -> None:
        """Relay until `stop` is set; `publish()` returns the current broker publish function or None."""
        while not stop.is_set():
            try:
                await self._lead(publish, stop)
            except Exception as exc:
                # Whatever broke (database restarted, connection killed), the rows are still
                # there: start over with a new connection and a new election.
                log.warning("outbox relay restarting after: %r", exc)
            if self.is_leader:
                # Another replica may lead now and report the backlog; a stale copy here would
                # be counted twice by the dashboard's sum over pods.
                self._on_backlog(None)
            self.is_leader = False
            await wait_for_event(stop, 1.0)

    async def _lead(self, publish: Callable[[], PublishFn | None], stop: asyncio.Event) -> None:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(
            self._dsn, server_settings={"application_name": self._application_name}
        )
        try:
            while not stop.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                    break
                await wait_for_event(stop, 1.0)
            else:
                return
            self.is_leader = True
            # The previous leader's refusals are in the table; from now on we track our own.
            await self._load_held(conn)
            counted_at = -self._backlog_interval_s
            while not stop.is_set():
                self._wake.clear()
                fn = publish()
                relayed = await self._relay_batch(conn, fn) if fn is not None else 0
                now = asyncio.get_running_loop().time()
                if now - counted_at >= self._backlog_interval_s:
                    # Also while the broker is away: that is when the backlog grows.
                    self._on_backlog(await self.backlog(conn))
                    counted_at = now
                if relayed < self._batch_size and await wait_for_event(
                    self._wake, self._poll_interval_s
                ):
                    # Commits come in bursts: a moment's pause turns many tiny batches into one.
                    await asyncio.sleep(BATCH_WINDOW_S)
        finally:
            await _close(conn)

    async def _relay_batch(self, conn: asyncpg.Connection[Any], publish: PublishFn) -> int:
        if self._held:
            held = list(self._held.items())
            rows = await conn.fetch(
                f"""SELECT seq, event_id, exchange, routing_key, body, headers, attempts,
                           {_AGGREGATE} AS aggregate
                    FROM "{self._schema}".outbox o
                    WHERE next_attempt_at <= now()
                      AND NOT EXISTS (
                          SELECT 1 FROM unnest($2::text[], $3::bigint[]) AS h(aggregate, seq)
                          WHERE h.aggregate = {_AGGREGATE} AND h.seq < o.seq)
                    ORDER BY seq LIMIT $1""",
                self._batch_size,
                [a for a, _ in held],
                [q for _, q in held],
            )
        else:
            # Nothing refused (the usual case): no per-row check at all.
            rows = await conn.fetch(
                f"""SELECT seq, event_id, exchange, routing_key, body, headers, attempts,
                           {_AGGREGATE} AS aggregate
                    FROM "{self._schema}".outbox
                    WHERE next_attempt_at <= now() ORDER BY seq LIMIT $1""",
                self._batch_size,
            )
        if not rows:
            return 0
        results = await asyncio.gather(
            *(self._send(publish, row) for row in rows), return_exceptions=True
        )
        done = [row["seq"] for row, res in zip(rows, results, strict=True) if res is None]
        self._crash_hook("relay-after-confirm")
        if done:
            await conn.execute(
                f'DELETE FROM "{self._schema}".outbox WHERE seq = ANY($1::bigint[])', done
            )
            self._on_published(len(done))
        failed = [(row, res) for row, res in zip(rows, results, strict=True) if res is not None]
        for row, res in failed:
            if not isinstance(res, PublishFailed | Exception):
                raise res  # BaseException (cancellation) propagates
            delay = min(MAX_BACKOFF_S, 0.5 * 2 ** row["attempts"])
            log.error(
                "outbox row %s (%s) not published, retry in %.1fs: %s",
                row["event_id"],
                row["routing_key"],
                delay,
                res,
            )
            await conn.execute(
                f"""UPDATE "{self._schema}".outbox
                    SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
                    WHERE seq = $1""",
                row["seq"],
                str(res)[:1000],
                datetime.now(UTC) + timedelta(seconds=delay),
            )
        if failed:
            self._on_failed(len(failed))
            for row, _ in failed:
                aggregate = row["aggregate"]
                self._held[aggregate] = min(self._held.get(aggregate, row["seq"]), row["seq"])
        if any(
            self._held.get(row["aggregate"]) == row["seq"] for row in rows if row["seq"] in done
        ):
            # A refused row got through: its aggregate may have another refused row, or none.
            await self._load_held(conn)
        return len(rows)

    async def _load_held(self, conn: asyncpg.Connection[Any]) -> None:
        rows = await conn.fetch(
            f"""SELECT {_AGGREGATE} AS aggregate, min(seq) AS seq FROM "{self._schema}".outbox
                WHERE attempts > 0 GROUP BY 1"""
        )
        self._held = {row["aggregate"]: row["seq"] for row in rows}

    async def _send(self, publish: PublishFn, row: asyncpg.Record) -> None:
        headers = _headers(row["headers"])
        headers.pop(AGGREGATE_HEADER, None)  # the relay's ordering key, nobody else's business
        # The span continues the trace of the transaction that wrote the row.
        with _tracer.start_as_current_span(
            f"send {row['exchange']}",
            context=extract_context(headers),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.name": "send",
                "messaging.destination.name": row["exchange"],
                "messaging.message.id": row["event_id"],
                "cloudevents.event_type": row["routing_key"],
            },
        ):
            await publish(
                row["exchange"],
                row["routing_key"],
                row["body"],
                message_id=row["event_id"],
                headers=headers,
            )

    async def backlog(self, conn: asyncpg.Connection[Any]) -> tuple[int, float]:
        """(pending rows, age in seconds of the oldest) for the backlog metrics."""
        row = await conn.fetchrow(
            f"""SELECT count(*) AS n,
                       coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age
                FROM "{self._schema}".outbox"""
        )
        assert row is not None
        return int(row["n"]), float(row["age"])


def _headers(raw: Any) -> dict[str, Any]:
    # asyncpg returns jsonb as text unless a codec is set; accept both.
    if isinstance(raw, str):
        loaded: dict[str, Any] = json.loads(raw)
        return loaded
    return dict(raw)


async def _close(conn: asyncpg.Connection[Any]) -> None:
    """Close politely if the connection still works, else just drop it."""
    if conn.is_closed():
        return
    try:
        await conn.close(timeout=2)
    except Exception:
        conn.terminate()
