"""Rate limiter whose per-realm state lives in PostgreSQL, shared by every process and replica."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from qbo_client.errors import LimiterTimeout
from qbo_client.limiter import Lease, Priority, RealmLimits, RealmUsage, decide

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# A waiter that stopped polling (its process died) stops blocking others after this long.
_WAITER_TTL_SECONDS = 5.0


class PostgresRateLimiter:
    """Sliding-window log per realm in PostgreSQL.

    Each attempt is one short transaction that locks only the realm's row, so waiting for
    one realm never blocks another, and the database clock is the single clock for all
    processes. Concurrency slots are leases with an expiry, so a crashed process frees its
    slots; a crashed waiter's queue entry expires the same way.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        limits: RealmLimits | None = None,
        *,
        schema: str = "qbo_limits",
        limits_for: Callable[[str], RealmLimits] | None = None,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        self._pool = pool
        self._schema = schema
        default = limits or RealmLimits()
        self._limits_for = limits_for or (lambda _realm: default)

    async def ensure_schema(self) -> None:
        """Create the tables if missing; safe to call from many processes at once."""
        s = self._schema
        async with self._pool.acquire() as conn, conn.transaction():
            # IF NOT EXISTS alone races between concurrent creators; serialize them.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"qbo_limits:{s}")
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.realms (
                        realm_id text PRIMARY KEY,
                        backoff_until timestamptz NOT NULL DEFAULT '-infinity')"""
            )
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.grants (
                        lease_id uuid PRIMARY KEY,
                        realm_id text NOT NULL,
                        granted_at timestamptz NOT NULL,
                        is_batch boolean NOT NULL,
                        lease_expires_at timestamptz NOT NULL,
                        released boolean NOT NULL DEFAULT false)"""
            )
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS grants_realm_time ON {s}.grants (realm_id, granted_at)"
            )
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.waiters (
                        waiter_id uuid PRIMARY KEY,
                        realm_id text NOT NULL,
                        priority integer NOT NULL,
                        enqueued_at timestamptz NOT NULL,
                        expires_at timestamptz NOT NULL)"""
            )
            await conn.execute(
                f"CREATE INDEX IF NOT EXISTS waiters_realm ON {s}.waiters (realm_id, priority)"
            )

    async def acquire(
        self,
        realm_id: str,
        *,
        priority: Priority = Priority.INTERACTIVE,
        batch: bool = False,
        max_wait: float | None = None,
    ) -> Lease:
        limits = self._limits_for(realm_id)
        me = uuid.uuid4()
        enqueued_at: Any = None
        deadline: float | None = None
        try:
            while True:
                granted, wait, now, enqueued_at = await self._attempt(
                    realm_id, me, int(priority), batch, limits, enqueued_at
                )
                if granted:
                    return Lease(realm_id, str(me), batch)
                if deadline is None and max_wait is not None:
                    deadline = now + max_wait
                if deadline is not None and now + wait > deadline:
                    raise LimiterTimeout(
                        f"realm budget exhausted for {wait:.1f}s", code="limiter"
                    ).with_retry_after(wait)
                await asyncio.sleep(min(wait, limits.max_sleep))
        except BaseException:
            if enqueued_at is not None:
                await self._leave_queue(me)
            raise

    async def _attempt(
        self,
        realm_id: str,
        me: uuid.UUID,
        priority: int,
        batch: bool,
        limits: RealmLimits,
        enqueued_at: Any,
    ) -> tuple[bool, float, float, Any]:
        """One locked look at the realm; grants or (re)queues. Three statements, because
        this runs for every QBO call and each round trip costs more than the SQL."""
        s = self._schema
        async with self._pool.acquire() as conn, conn.transaction():
            # The upsert locks the realm's row until commit: attempts for one realm are
            # serialized, attempts for other realms are not touched.
            head = await conn.fetchrow(
                f"""INSERT INTO {s}.realms AS r (realm_id) VALUES ($1)
                    ON CONFLICT (realm_id) DO UPDATE SET realm_id = r.realm_id
                    RETURNING extract(epoch FROM r.backoff_until)::float8 AS backoff,
                              clock_timestamp() AS now_ts""",
                realm_id,
            )
            # Both queries aggregate or upsert, so each always yields exactly one row.
            assert head is not None
            now_ts = head["now_ts"]
            now = now_ts.timestamp()
            state = await conn.fetchrow(
                f"""SELECT
                      coalesce(array_agg(extract(epoch FROM g.granted_at)::float8
                                         ORDER BY g.granted_at)
                               FILTER (WHERE g.granted_at > $2::timestamptz
                                             - make_interval(secs => $3)), '{{}}') AS times,
                      coalesce(array_agg(extract(epoch FROM g.granted_at)::float8
                                         ORDER BY g.granted_at)
                               FILTER (WHERE g.is_batch AND g.granted_at > $2::timestamptz
                                             - make_interval(secs => $3)), '{{}}') AS batches,
                      count(*) FILTER (WHERE NOT g.released
                                         AND g.lease_expires_at > $2::timestamptz) AS in_flight,
                      (SELECT count(*) FROM {s}.waiters w
                        WHERE w.realm_id = $1 AND w.waiter_id <> $4
                          AND w.expires_at > $2::timestamptz
                          AND (w.priority < $5
                               OR (w.priority = $5 AND w.enqueued_at < $6::timestamptz))
                      ) AS ahead
                    FROM {s}.grants g WHERE g.realm_id = $1""",
                realm_id,
                now_ts,
                limits.minute_window,
                me,
                priority,
                enqueued_at or now_ts,
            )
            assert state is not None
            usage = RealmUsage(
                grant_times=list(state["times"]),
                batch_times=list(state["batches"]),
                in_flight=int(state["in_flight"]),
                backoff_until=head["backoff"],
                ahead=int(state["ahead"]),
            )
            wait = decide(limits, usage, now, batch=batch)
            if wait == 0.0:
                await conn.execute(
                    f"""WITH granted AS (
                          INSERT INTO {s}.grants
                            (lease_id, realm_id, granted_at, is_batch, lease_expires_at)
                          VALUES ($1, $2, $3, $4, $3::timestamptz + make_interval(secs => $5))),
                        dequeued AS (DELETE FROM {s}.waiters WHERE waiter_id = $1),
                        purged AS (
                          DELETE FROM {s}.grants WHERE realm_id = $2
                            AND granted_at < $3::timestamptz - make_interval(secs => $6)
                            AND (released OR lease_expires_at < $3::timestamptz))
                        SELECT 1""",
                    me,
                    realm_id,
                    now_ts,
                    batch,
                    limits.lease_seconds,
                    limits.minute_window + 1.0,
                )
                return True, 0.0, now, enqueued_at
            enqueued_at = enqueued_at or now_ts
            await conn.execute(
                f"""WITH queued AS (
                      INSERT INTO {s}.waiters
                        (waiter_id, realm_id, priority, enqueued_at, expires_at)
                      VALUES ($1, $2, $3, $4, $5::timestamptz + make_interval(secs => $6))
                      ON CONFLICT (waiter_id) DO UPDATE SET expires_at = EXCLUDED.expires_at),
                    stale AS (
                      DELETE FROM {s}.waiters
                      WHERE realm_id = $2 AND waiter_id <> $1 AND expires_at < $5::timestamptz)
                    SELECT 1""",
                me,
                realm_id,
                priority,
                enqueued_at,
                now_ts,
                max(_WAITER_TTL_SECONDS, limits.max_sleep * 3),
            )
            return False, wait, now, enqueued_at

    async def _leave_queue(self, me: uuid.UUID) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(f"DELETE FROM {self._schema}.waiters WHERE waiter_id = $1", me)

    async def release(self, lease: Lease) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"UPDATE {self._schema}.grants SET released = true WHERE lease_id = $1",
                uuid.UUID(lease.lease_id),
            )

    async def backoff(self, realm_id: str, seconds: float) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"""INSERT INTO {self._schema}.realms (realm_id, backoff_until)
                    VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                    ON CONFLICT (realm_id) DO UPDATE
                    SET backoff_until = greatest({self._schema}.realms.backoff_until,
                                                 EXCLUDED.backoff_until)""",
                realm_id,
                seconds,
            )
