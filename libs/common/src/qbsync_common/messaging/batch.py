"""Batched handling: many first deliveries of state-only events committed in one transaction.

A handler that only writes this service's own tables (no QBO call, nothing slow) pays mostly for
its transaction: a session, BEGIN, the inbox insert, its own statements, COMMIT, per event. Wrapped
in `Batched`, it is handed every such delivery that arrived within a few milliseconds and writes
them all in one transaction whose inbox insert is a single multi-row statement. That is what lets
the plumbing keep pace with the broker (issue 2's benchmark).

The contract stays per event: a batch whose transaction fails is not retried as a batch, every
delivery in it goes through the ordinary one-event path (its own transaction, retries, parking),
so one bad event never holds back or parks its neighbours. Redeliveries and retries always take
that path too: they may already be done, and they are rare.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage
from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from qbsync_common.contract.envelope import Envelope
from qbsync_common.tables import PlumbingTables


@dataclass(frozen=True)
class Event:
    """One validated event of a batch. `attempt` is 1 in a real batch; on the one-by-one path
    (redeliveries, retries, a failed batch's events) it counts as for any delivery."""

    envelope: Envelope
    data: BaseModel
    attempt: int = 1


BatchFn = Callable[[Sequence[Event], AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """Marks a handler as batchable: `fn(events, session)` writes every event's effects (state and
    outbox rows) into `session`, the batch's one transaction, and must not commit it."""

    fn: BatchFn


@dataclass(frozen=True, eq=False)
class Pending:
    """A first delivery waiting for its batch."""

    message: AbstractIncomingMessage
    event: Event
    handler: Batched
    received: float


@functools.cache
def inbox_claim(inbox: Table) -> ReturningInsert[tuple[str]]:
    """The inbox insert of both paths, built once per table (constructing it per event cost
    more than running it); it returns the event ids that were new."""
    return insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)


async def claim_inbox(
    session: AsyncSession, tables: PlumbingTables, consumer: str, events: Sequence[Event]
) -> set[str]:
    """Insert the batch's inbox rows in one round trip; returns the ids that were new (the others
    were already processed, or are duplicates inside the batch, and must not run again)."""
    inserted = await session.execute(
        inbox_claim(tables.inbox),
        [
            {"consumer": consumer, "event_id": e.envelope.id, "event_type": e.envelope.type}
            for e in events
        ],
    )
    return {str(row[0]) for row in inserted}
