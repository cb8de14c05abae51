"""Tenant fairness: one tenant's flood must not queue every other tenant behind it.

A consumer queue is FIFO and shared by all tenants. When one tenant publishes thousands of events
and QBO throttles its company to 500 requests a minute, its events would fill every handler slot
waiting for its limiter while the other tenants' events wait behind them in the queue (PEERS.md:
the noisy neighbour; RELIABILITY §8 L2).

So each consumer lets a tenant have at most `cap` events in hand at once. A tenant's further
events are *held*: written to the service's `held` table in arrival order and acknowledged, which
takes a millisecond, so the queue keeps moving for everyone else. While a tenant has held events,
its new events are held behind them (its order is kept). A release loop puts held events back on
the consumer's queue, oldest first, as the tenant's events finish, marked so they are not held
again; the inbox still makes every event take effect once, whatever is released twice.

Accounting is per process: with N replicas a tenant may have N x cap events in hand, and a replica
that dies leaves its held rows to the others' release loops (they refresh from the table).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import Row, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbsync_common.messaging.publisher import Publisher
from qbsync_common.tables import PlumbingTables

RELEASED_HEADER = "x-qbsync-released"
# A released event normally comes back within milliseconds. One that another replica picked up
# never comes back here: its claim on the tenant's room lapses after this long.
RELEASE_CLAIM_S = 30.0
REFRESH_S = 2.0
TICK_S = 0.5


class TenantShare:
    """Who has how much of one consumer: pure bookkeeping, no I/O."""

    def __init__(self, cap: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        self._clock = clock
        self.in_flight: Counter[str] = Counter()
        self.holding: set[str] = set()
        self._released: dict[str, deque[float]] = {}
        self.wake = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.cap > 0

    def must_hold(self, tenant: str, *, exempt: bool) -> bool:
        """Hold this event? Released events and retries are exempt: they have waited already,
        and letting them through is what guarantees progress."""
        if not self.enabled or exempt:
            return False
        if tenant in self.holding:
            return True  # behind its own held events, to keep the tenant's order
        if self.in_flight[tenant] >= self.cap:
            self.holding.add(tenant)
            return True
        return False

    def started(self, tenant: str) -> None:
        self.in_flight[tenant] += 1

    def finished(self, tenant: str) -> None:
        self.in_flight[tenant] -= 1
        if self.in_flight[tenant] <= 0:
            del self.in_flight[tenant]
        if tenant in self.holding:
            self.wake.set()

    def released(self, tenant: str, n: int) -> None:
        self._released.setdefault(tenant, deque()).extend([self._clock()] * n)

    def unreleased(self, tenant: str, n: int) -> None:
        """A release failed: drop its claims (those of events that did arrive are gone already)."""
        claims = self._released.get(tenant)
        if not claims:
            return
        for _ in range(min(n, len(claims))):
            claims.pop()
        if not claims:
            del self._released[tenant]

    def came_back(self, tenant: str) -> None:
        """A released event arrived: it no longer claims room in advance."""
        claims = self._released.get(tenant)
        if claims:
            claims.popleft()
            if not claims:
                del self._released[tenant]

    def room(self, tenant: str) -> int:
        claims = self._released.get(tenant)
        if claims:
            horizon = self._clock() - RELEASE_CLAIM_S
            while claims and claims[0] < horizon:
                claims.popleft()
        pending = len(claims) if claims else 0
        return max(0, self.cap - self.in_flight[tenant] - pending)


class HeldEvents:
    """The `held` table of one consumer queue: hold an event, release a tenant's oldest."""

    def __init__(
        self,
        consumer: str,
        share: TenantShare,
        sessions: async_sessionmaker[AsyncSession],
        tables: PlumbingTables,
    ) -> None:
        self._consumer = consumer
        self._share = share
        self._sessions = sessions
        self._held = tables.held

    async def hold(self, items: Sequence[tuple[AbstractIncomingMessage, str, str]]) -> None:
        """Store (message, tenant, event id) triples in one statement; a flood is held in bursts."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(self._held)
                .values(
                    [
                        {
                            "consumer": self._consumer,
                            "tenant_id": tenant,
                            "event_id": event_id,
                            "body": message.body,
                            "headers": {k: _plain(v) for k, v in (message.headers or {}).items()},
                        }
                        for message, tenant, event_id in items
                    ]
                )
                .on_conflict_do_nothing()
            )

    async def refresh(self) -> int:
        """Adopt every tenant with held rows (ours from before a restart, a dead replica's);
        returns how many events this queue holds in all (the backlog gauge)."""
        held = self._held
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(held.c.tenant_id, func.count())
                    .where(held.c.consumer == self._consumer)
                    .group_by(held.c.tenant_id)
                )
            ).all()
        self._share.holding.update(str(tenant) for tenant, _ in rows)
        return sum(int(n) for _, n in rows)

    async def release(self, publisher: Publisher) -> int:
        """Put back on the queue as many of each holding tenant's oldest events as it has room
        for; forget tenants with nothing held any more. Returns how many were released."""
        total = 0
        held = self._held
        for tenant in sorted(self._share.holding):
            room = self._share.room(tenant)
            if room <= 0:
                continue
            async with self._sessions() as session, session.begin():
                rows = (
                    await session.execute(
                        select(held.c.seq, held.c.event_id, held.c.body, held.c.headers)
                        .where(held.c.consumer == self._consumer, held.c.tenant_id == tenant)
                        .order_by(held.c.seq)
                        .limit(room)
                        .with_for_update(skip_locked=True)
                    )
                ).all()
                if not rows:
                    # Nothing left (or another replica is releasing it): new events of this
                    # tenant flow directly again. A row inserted meanwhile is found by refresh.
                    self._share.holding.discard(tenant)
                    continue
                # Claimed before publishing: a released event can be back in our consumer
                # before this transaction commits, and its return must find its claim.
                self._share.released(tenant, len(rows))
                try:
                    await self._publish(publisher, rows)
                except BaseException:
                    self._share.unreleased(tenant, len(rows))
                    raise
                # Deleted only after every confirm: a crash in between releases twice, and
                # the inbox absorbs the second.
                await session.execute(delete(held).where(held.c.seq.in_([r.seq for r in rows])))
            total += len(rows)
        return total

    async def _publish(self, publisher: Publisher, rows: Sequence[Row[Any, Any, Any, Any]]) -> None:
        await asyncio.gather(
            *(
                publisher.publish(
                    "",
                    self._consumer,
                    row.body,
                    message_id=row.event_id,
                    headers={**row.headers, RELEASED_HEADER: 1},
                )
                for row in rows
            )
        )


def _plain(value: Any) -> Any:
    """AMQP header values as JSON can store them (bytes arrive for some header types)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
