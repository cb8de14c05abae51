"""Bulk sync of a tenant's unsynced partners through QBO's batch endpoint (30 creates a call).

QBO allows 500 requests and 40 batches per minute per company: one-by-one creates of 10,000
partners take 20 minutes, batches of 30 about 8.5. Only plain creates are batched (no key, no
name known in QBO); everything else — adoptions, disambiguation, updates, items QBO refused — is
handed to the normal per-partner path as sync commands. Each chunk holds its partners' locks for
the duration of its batch call and commits their state with their results, like a handler.

The job is durable (table `backfill_jobs`): one replica holds it under a lease it renews, each
chunk's commit adds its counts and moves the job's cursor in the same transaction (fenced by the
lease), and when the holder stops (released) or dies (lease expired) any replica's runner claims
the job with SELECT ... FOR UPDATE SKIP LOCKED and resumes after the cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from partner_sync.adapters.backfill_jobs import BackfillJobs, Progress
from partner_sync.adapters.call_trace import traced
from partner_sync.adapters.qbo_directory import QboDirectory
from partner_sync.adapters.qbo_records import partner_fields, record_for_create
from partner_sync.adapters.repository import PartnerRepository, PartnerRow
from partner_sync.domain.decisions import Snapshot, Sync, plan
from partner_sync.domain.request_ids import request_id
from partner_sync.service_layer.handlers import (
    PartnerHandlers,
    Settled,
    Trigger,
    new_operation_id,
    partner_settings,
)
from partner_sync.service_layer.results import Outcome
from qbo_client.batch import BatchOp
from qbo_client.errors import LimiterTimeout, QBOError, TenantNeedsReauthorization
from qbsync_common.contract.partner_snapshot import PartnerSnapshot
from qbsync_common.tenant_settings import TenantSettingsSource

log = logging.getLogger(__name__)

CHUNK = 30  # QBO's maximum items per batch request
CHUNKS_IN_FLIGHT = 4  # well under QBO's 10 concurrent requests per company
# Chunks start at most this often. Their results go out through the outbox relay in commit order,
# so a burst of thousands would queue every other tenant's results behind them; QBO's limits
# (40 batches a minute, 0.7 a second) never let a backfill go faster than this on average, and
# a minute's allowance of even 4x those limits still leaves within its minute.
CHUNKS_PER_SECOND = 5.0
TRANSIENT_RETRIES = 5


class LeaseLost(Exception):
    """Another replica holds the tenant's backfill job now: this one stops, committing nothing."""


@dataclass
class BackfillReport:
    batched: int = 0
    handed_over: int = 0
    batch_calls: int = 0


@dataclass
class _Chunks:
    """One run's chunks (sorted, disjoint) and which of them committed, for the job's cursor."""

    parts: list[list[tuple[str, str]]]
    committed: set[int] = field(default_factory=set)
    prefix: int = 0  # chunks [0, prefix) all committed

    def cursor_with(self, index: int) -> tuple[str, str] | None:
        """The cursor once chunk `index` commits too: the last key of the gapless prefix."""
        done = self.committed | {index}
        end = self.prefix
        while end in done:
            end += 1
        return self.parts[end - 1][-1] if end > self.prefix else None

    def commit(self, index: int) -> None:
        self.committed.add(index)
        while self.prefix in self.committed:
            self.prefix += 1


class Backfill:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        repository: PartnerRepository,
        jobs: BackfillJobs,
        directory: QboDirectory,
        handlers: PartnerHandlers,
        settings: TenantSettingsSource,
    ) -> None:
        self._sessions = sessions
        self._repo = repository
        self._jobs = jobs
        self._qbo = directory
        self._handlers = handlers
        self._settings = settings

    async def run(self, tenant_id: str, owner: str) -> BackfillReport:
        """Work through the tenant's job from its cursor, as `owner` (who must hold its lease).

        A resumed job skips what committed before: synced partners by their status, handed-over
        ones by the cursor (past the cursor they are handed over again, which is harmless: the
        sync command finds them in QBO)."""
        report = BackfillReport()
        async with self._sessions() as session:
            job = await self._jobs.get(session, tenant_id)
            cursor = job.cursor if job is not None else None
            keys = [
                k
                for status in ("pending", "failed", "skipped")
                for k in await self._repo.keys_of(session, tenant_id, status=status)
                if k[0] in ("client", "vendor") and (cursor is None or k > cursor)
            ]
        keys.sort()
        chunks = _Chunks([keys[start : start + CHUNK] for start in range(0, len(keys), CHUNK)])
        # Chunks are disjoint sets of partners, so several can be in flight: one at a time, our
        # own database work between batch calls kept the run well above what QBO's limits allow.
        # The realm's limiter still paces the batch calls themselves.
        gate = asyncio.Semaphore(CHUNKS_IN_FLIGHT)
        loop = asyncio.get_running_loop()
        begin = loop.time()

        async def chunk(index: int) -> None:
            await asyncio.sleep(max(0.0, begin + index / CHUNKS_PER_SECOND - loop.time()))
            async with gate:
                await self._chunk(tenant_id, owner, chunks, index, report)

        try:
            async with asyncio.TaskGroup() as group:
                for index in range(len(chunks.parts)):
                    group.create_task(chunk(index))
        except ExceptionGroup as failed:
            # Report the first cause (the operator API shows it), not the group wrapper.
            raise failed.exceptions[0] from failed
        return report

    async def _chunk(
        self, tenant_id: str, owner: str, chunks: _Chunks, index: int, report: BackfillReport
    ) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                done = await self._chunk_once(tenant_id, owner, chunks, index)
            except LimiterTimeout:
                # At the limits a batch waits up to a minute for its window, longer than one
                # call may wait: the rollback frees the partners' locks meanwhile, and the chunk
                # queues again at once (a pause here would leave the opening window unused).
                attempt -= 1
                continue
            except TenantNeedsReauthorization:
                raise
            except QBOError as exc:
                if not exc.transient or attempt == TRANSIENT_RETRIES:
                    raise
                # The same chunk again: same requestid, so QBO replays what it already did.
                await asyncio.sleep(getattr(exc, "retry_after", None) or 2.0 * attempt)
                continue
            chunks.commit(index)
            report.batched += done.batched
            report.handed_over += done.handed_over
            report.batch_calls += done.batch_calls
            return

    async def _chunk_once(
        self, tenant_id: str, owner: str, chunks: _Chunks, index: int
    ) -> Progress:
        keys = chunks.parts[index]
        settings = await self._settings.get(tenant_id)
        names = await self._qbo.names(tenant_id)
        async with self._sessions.begin() as session:
            # One statement each for the chunk's locks and rows: per-partner round trips kept
            # the run bound by our CPU and the database instead of QBO's limits.
            await self._repo.lock_many(session, tenant_id, keys)  # sorted: no crosswise waits
            rows = await self._repo.get_many(session, tenant_id, keys)
            creates: list[tuple[PartnerRow, PartnerSnapshot, str]] = []
            handover: list[PartnerRow] = []
            chosen: set[str] = set()
            for key in keys:
                row = rows.get(key)
                if row is None or row.snapshot is None:
                    continue
                snapshot = PartnerSnapshot.model_validate(row.snapshot)
                decision = plan(
                    Snapshot(
                        kind=snapshot.kind,
                        partner_id=row.partner_id,
                        version=snapshot.version,
                        name=snapshot.display_name or snapshot.name,
                        active=snapshot.active,
                        currency=snapshot.currency,
                        contact_type=snapshot.contact_type,
                    ),
                    None,
                    partner_settings(settings),
                )
                plain = (
                    isinstance(decision, Sync)
                    and row.sync_key is None
                    and names.lookup(decision.display_name) is None
                    and decision.display_name.lower() not in chosen
                )
                if plain and isinstance(decision, Sync):
                    chosen.add(decision.display_name.lower())
                    creates.append((row, snapshot, decision.display_name))
                else:
                    handover.append(row)
            settled: list[Settled] = []
            if creates:
                settled = await self._create_batch(tenant_id, creates, handover)
            await self._handlers.write_settled(session, tenant_id, settled)
            await self._handlers.request_sync_many(
                session, tenant_id, [(r.kind, r.partner_id) for r in handover], "initial-sync"
            )
            done = Progress(
                batched=len(settled),
                handed_over=len(handover),
                batch_calls=1 if creates else 0,
                cursor=chunks.cursor_with(index),
            )
            if not await self._jobs.progress(session, tenant_id, owner, done):
                # Rolls the chunk back: the replica now holding the job redoes it (the batch's
                # records are then found by name and adopted, never created twice).
                raise LeaseLost(f"the backfill of tenant {tenant_id} is held by another replica")
            return done

    async def _create_batch(
        self,
        tenant_id: str,
        creates: list[tuple[PartnerRow, PartnerSnapshot, str]],
        handover: list[PartnerRow],
    ) -> list[Settled]:
        ops = [
            BatchOp.create(
                record_for_create(row.kind, partner_fields(snap, name), snap.currency),
                bid=str(i),
            )
            for i, (row, snap, name) in enumerate(creates)
        ]
        # Derived from the chunk's content only: a retried chunk is replayed by QBO.
        parts = [f"{r.kind}:{r.partner_id}:{r.key_generation}:{n}" for r, _, n in creates]
        rid = request_id(tenant_id, "batch", "backfill", "create", *parts)
        with traced() as trace:
            results = await self._qbo.session(tenant_id, background=True).batch(ops, request_id=rid)
        trigger = Trigger(tenant_id=tenant_id, event_id=None, event_type="backfill")
        settled: list[Settled] = []
        for (row, snap, _name), result in zip(creates, results, strict=True):
            record = result.entity
            if result.error is not None or record is None:
                handover.append(row)  # e.g. 6240 from a name QBO knows and we did not
                continue
            await self._qbo.remember(tenant_id, record)  # type: ignore[arg-type]
            settled.append(
                self._handlers.settle(
                    trigger,
                    row.kind,
                    row.partner_id,
                    snap.version,
                    row,
                    new_operation_id(),
                    Outcome("synced", sync_key=record.Id, sync_token=record.SyncToken),
                    action="created",
                    snapshot=snap,
                    trace=trace,
                    request_id=rid,
                    record_name=getattr(record, "DisplayName", None),
                    currency=snap.currency,
                )
            )
        return settled


class BackfillRunner:
    """Starts, claims and runs backfill jobs in this replica; a runtime job claims orphans."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        jobs: BackfillJobs,
        backfill: Backfill,
        lease_s: float = 60.0,
        poll_s: float = 5.0,
        owner: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._jobs = jobs
        self._backfill = backfill
        self._lease_s = lease_s
        self._poll_s = poll_s
        # Unique per runner, not per host: a restarted service is a new holder.
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self, tenant_id: str) -> bool:
        """A new job for the tenant, run here at once; False if one is running (anywhere)."""
        async with self._sessions.begin() as session:
            if not await self._jobs.start(session, tenant_id, self.owner, self._lease_s):
                return False
        self._launch(tenant_id)
        return True

    async def status(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's last job as the table has it, whichever replica runs or ran it."""
        async with self._sessions() as session:
            job = await self._jobs.get(session, tenant_id)
        if job is None:
            return {"state": "none"}
        return {
            "state": job.state,
            "batched": job.batched,
            "handed_over": job.handed_over,
            "batch_calls": job.batch_calls,
            "error": job.error,
            "takeovers": job.takeovers,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Runtime job: claim jobs whose holder stopped or died, until `stop`; then give ours
        back so another replica resumes them without waiting for the lease to expire."""
        try:
            while not stop.is_set():
                try:
                    while (tenant_id := await self._claim()) is not None:
                        self._launch(tenant_id)
                except Exception:  # a database blip must not end the job; the next poll retries
                    log.exception("claiming backfill jobs failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_s)
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        tasks = dict(self._tasks)
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for tenant_id in tasks:
            try:
                async with self._sessions.begin() as session:
                    await self._jobs.release(session, tenant_id, self.owner)
            except Exception:  # the lease then expires and the job is claimed after it
                log.warning("could not release the backfill of %s", tenant_id, exc_info=True)

    async def _claim(self) -> str | None:
        async with self._sessions.begin() as session:
            tenant_id = await self._jobs.claim(session, self.owner, self._lease_s)
        if tenant_id is not None:
            log.info("resuming the backfill of tenant %s (claimed by %s)", tenant_id, self.owner)
        return tenant_id

    def _launch(self, tenant_id: str) -> None:
        running = self._tasks.get(tenant_id)
        if running is not None and not running.done():
            return  # our own run whose lease lapsed and that we re-claimed: it goes on
        task = asyncio.create_task(self._work(tenant_id), name=f"backfill {tenant_id}")
        self._tasks[tenant_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tasks.get(tenant_id) is done:
                del self._tasks[tenant_id]

        task.add_done_callback(forget)

    async def _work(self, tenant_id: str) -> None:
        current = asyncio.current_task()
        assert current is not None
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(tenant_id, current, lost))
        try:
            report = await self._backfill.run(tenant_id, self.owner)
        except LeaseLost:
            log.warning("backfill of %s: another replica holds the job now", tenant_id)
            return
        except asyncio.CancelledError:
            if lost.is_set():
                log.warning("backfill of %s: lease lost, stopped here", tenant_id)
                return
            raise
        except Exception as exc:
            log.exception("backfill of tenant %s failed", tenant_id)
            await self._finish(tenant_id, "failed", str(exc) or type(exc).__name__)
            return
        finally:
            keeper.cancel()
        log.info(
            "backfill of %s done here: %d batched, %d handed over, %d batch calls",
            tenant_id,
            report.batched,
            report.handed_over,
            report.batch_calls,
        )
        await self._finish(tenant_id, "done", None)

    async def _finish(self, tenant_id: str, state: str, error: str | None) -> None:
        async with self._sessions.begin() as session:
            await self._jobs.finish(session, tenant_id, self.owner, state, error)

    async def _keep_lease(
        self, tenant_id: str, work: asyncio.Task[None], lost: asyncio.Event
    ) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                async with self._sessions.begin() as session:
                    held = await self._jobs.renew(session, tenant_id, self.owner, self._lease_s)
            except Exception:  # progress() fences our commits if the lease lapses meanwhile
                log.warning("could not renew the backfill lease of %s", tenant_id, exc_info=True)
                continue
            if not held:
                lost.set()
                work.cancel()
                return
