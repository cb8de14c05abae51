"""SIGKILL of every service once while 500 mixed events flow: no effect lost, none duplicated.

Four tenants are connected through the real OAuth flow and publish the mixed workload (4 x 125
events: clients, vendors, invoices, bills, payments recorded upstream) interleaved. While results
come back, each service is SIGKILLed once at a different point of progress and started again a
second later; meanwhile a QuickBooks user pays some invoices in the emulator, in particular just
before and while payment-poller is dead. Afterwards every QBO company must hold each record of its
tenant's workload exactly once, every user payment must come back as exactly one payment.received,
and nothing may have been parked.

Results are counted per event id: the outbox relay and the broker deliver at least once, so a
result whose publication was not confirmed before a kill may arrive twice with the same id
(upstream deduplicates by id, RELIABILITY §6). A payment event under a second id is a duplicate.
A sync result may legitimately come again under a new id (partner-sync answers invoice-sync's
sync-partner request for a partner it already synced with partner.synced), but it must name the
same QBO record: a second sync key would be a second record.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import aio_pika
import asyncpg
import httpx
import pytest
from pydantic import BaseModel

from invoice_sync.bootstrap import CONSUMER as INVOICE_CONSUMER
from partner_sync.bootstrap import CONSUMER as PARTNER_CONSUMER
from payment_poller.bootstrap import CONSUMER as POLLER_CONSUMER
from qbsync_common.contract import events
from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import new_event
from qbsync_common.db import asyncpg_dsn
from qbsync_dev.census import take_census
from qbsync_dev.demo.connect import set_up_tenant
from qbsync_dev.demo.describe import describe
from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.demo.player import configured_statuses, record_payment
from qbsync_dev.demo.publish import publish
from qbsync_dev.demo.results import ResultFeed
from qbsync_dev.supervisor import RunningStack
from qbsync_dev.workload import Mix, Tally, TenantLoad, build_load, interleave

SETTLE_TIMEOUT_S = 240.0
# Room for the stack's start, the OAuth connects and the census around the settle timeout.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(SETTLE_TIMEOUT_S + 120),
]

TENANTS = 4
RESTART_AFTER_S = 1.0
# After everything expected arrived, listen this long for late duplicates.
QUIET_S = 5.0
PROGRESS_EVERY_S = 15.0  # a line on stdout (-s) while waiting: where a slow run stands
# Published in slices, so the first kill lands while events are still being published.
PUBLISH_SLICE = 25
PUBLISH_PAUSE_S = 0.25
# (fraction of expected results done, service): each service dies once, at its own moment.
KILL_PLAN = [
    (0.15, "oauth-gateway"),
    (0.30, "partner-sync"),
    (0.45, "invoice-sync"),
    (0.60, "payment-poller"),
]
# Invoices (per-tenant index) a QuickBooks user pays as soon as their sync is reported: early
# ones are polled before payment-poller dies, late ones after it is back.
PAY_WHEN_SYNCED = {3, 13, 33}
CONSUMERS = (PARTNER_CONSUMER, INVOICE_CONSUMER, POLLER_CONSUMER)  # the gateway consumes none


@dataclass(frozen=True)
class Kill:
    service: str
    done_at_kill: int  # expected results reported done when the kill happened
    exit_code: int
    while_publishing: bool


@dataclass
class Run:
    """What the test saw: results per event id, invoices synced, payments a user made."""

    loads: list[TenantLoad]
    realms: dict[str, str]
    tally: Tally
    env: DemoEnvironment
    http: httpx.AsyncClient
    seen_ids: set[str] = field(default_factory=set)
    redelivered: Counter[str] = field(default_factory=Counter)  # event type → same-id repeats
    synced_invoices: dict[str, dict[str, str]] = field(default_factory=dict)  # tenant → id → QBO
    user_payments: dict[tuple[str, str], str] = field(default_factory=dict)  # → invoice id
    paid_invoices: set[tuple[str, str]] = field(default_factory=set)
    received_for: dict[tuple[str, str], str] = field(default_factory=dict)  # payment → invoice
    exported: set[tuple[str, str]] = field(default_factory=set)  # (tenant, QBO payment id)
    # (tenant, result key) → every QBO sync key reported for it (a second one: a second record)
    sync_keys: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    reannounced: Counter[str] = field(default_factory=Counter)  # event type → new-id repeats
    kills: list[Kill] = field(default_factory=list)
    publishing_done: asyncio.Event = field(default_factory=asyncio.Event)
    progressed: asyncio.Event = field(default_factory=asyncio.Event)  # a result arrived
    listening: bool = True  # False once the consumer stopped (settled or out of time)

    @property
    def done(self) -> int:
        return len(self.tally.done_at)

    @property
    def expected(self) -> int:
        return sum(len(load.expected) for load in self.loads)

    def payable(self, tenant_id: str) -> list[str]:
        """Invoices a user may pay: not paid upstream (the last Mix.payments are) nor by us."""
        load = next(load for load in self.loads if load.tenant_id == tenant_id)
        upstream_paid = {f"inv-{load.tag}-{i}" for i in _upstream_paid_indices(Mix())}
        return [
            invoice_id
            for invoice_id in self.synced_invoices.get(tenant_id, {})
            if invoice_id not in upstream_paid and (tenant_id, invoice_id) not in self.paid_invoices
        ]

    async def pay(self, tenant_id: str, invoice_id: str) -> None:
        """A QuickBooks user receives the invoice's full balance."""
        self.paid_invoices.add((tenant_id, invoice_id))
        qbo_invoice = self.synced_invoices[tenant_id][invoice_id]
        payment = await record_payment(self.http, self.env, self.realms[tenant_id], qbo_invoice)
        self.user_payments[(tenant_id, str(payment["Id"]))] = invoice_id

    async def pay_one_each(self) -> None:
        for load in self.loads:
            payable = self.payable(load.tenant_id)
            if payable:
                await self.pay(load.tenant_id, payable[0])

    async def take(self, envelope: Envelope, data: BaseModel) -> None:
        if envelope.id in self.seen_ids:
            self.redelivered[envelope.type] += 1
            return
        self.seen_ids.add(envelope.id)
        self.progressed.set()
        tenant_id = envelope.tenantid
        reported_before = sum(self.tally.reports.values())
        self.tally.take(tenant_id, envelope.type, data, time.monotonic())
        if sum(self.tally.reports.values()) > reported_before:
            self._note_sync_key(tenant_id, envelope.type, data)
        if isinstance(data, events.PaymentReceived):
            self.received_for[(tenant_id, data.qbo_payment_id)] = data.invoice_id
        if isinstance(data, events.PaymentExported):
            self.exported.add((tenant_id, data.sync_key))
        if isinstance(data, events.DocumentSynced) and data.document_kind == "invoice":
            self.synced_invoices.setdefault(tenant_id, {})[data.document_id] = data.sync_key
            index = int(data.document_id.rsplit("-", 1)[1])
            if index in PAY_WHEN_SYNCED and (tenant_id, data.document_id) not in self.paid_invoices:
                await self.pay(tenant_id, data.document_id)

    def _note_sync_key(self, tenant_id: str, event_type: str, data: BaseModel) -> None:
        key = (tenant_id, describe(event_type, data).key or "")
        if self.tally.reports[key] > 1:
            self.reannounced[event_type] += 1
        sync_key = getattr(data, "sync_key", None)
        if sync_key is not None:
            self.sync_keys.setdefault(key, set()).add(str(sync_key))

    def settled(self) -> bool:
        return self.tally.complete() and all(
            self.tally.received[key] > 0 for key in self.user_payments
        )

    def unsettled(self) -> str:
        missing = self.tally.missing()
        unreceived = [k for k in self.user_payments if self.tally.received[k] == 0]
        return f"{len(missing)} results missing {missing[:10]}; payments not received: {unreceived}"


def _upstream_paid_indices(mix: Mix) -> range:
    return range(mix.invoices - min(mix.payments, mix.invoices), mix.invoices)


def _realm() -> str:
    return str(9130350000000000 + uuid.uuid4().int % 10**9)


async def _connect_tenants(
    env: DemoEnvironment, http: httpx.AsyncClient
) -> tuple[list[TenantLoad], dict[str, str]]:
    """Tenants connected through the real OAuth flow, their workloads and QBO companies."""
    run = uuid.uuid4().hex[:6]
    loads, realms = [], {}
    for n in range(TENANTS):
        tenant_id, realm = f"e2e-k{n}-{run}", _realm()
        await set_up_tenant(env, tenant_id, f"Tenant {tenant_id}", realm, f"Company {tenant_id}")
        client_status, vendor_status = await configured_statuses(http, env, tenant_id)
        loads.append(build_load(tenant_id, f"k{n}{run}", Mix(), client_status, vendor_status))
        realms[tenant_id] = realm
    return loads, realms


async def _publish_all(run: Run) -> None:
    envelopes = [
        new_event(event, tenant_id=tenant_id, source="qbsync-e2e-sigkill")
        for tenant_id, event in interleave(run.loads)
    ]
    try:
        for start in range(0, len(envelopes), PUBLISH_SLICE):
            await publish(run.env.broker_url, envelopes[start : start + PUBLISH_SLICE])
            await asyncio.sleep(PUBLISH_PAUSE_S)
    finally:
        run.publishing_done.set()


async def _chaos(run: Run, stack: RunningStack) -> None:
    """Each service dies once, when its share of the results has arrived, and is started again
    RESTART_AFTER_S later. The kills do not wait for each other's restarts: a slow restart must
    not push the next kill past the work it is meant to interrupt."""
    await asyncio.gather(*(_kill_once(run, stack, f, service) for f, service in KILL_PLAN))


async def _kill_once(run: Run, stack: RunningStack, fraction: float, service: str) -> None:
    """Around payment-poller's death a QuickBooks user pays invoices: one just before, one while
    it is dead (the webhook reaches the gateway; the poll must happen after the restart)."""
    while run.done < fraction * run.expected and run.listening:
        run.progressed.clear()
        await run.progressed.wait()
    if not run.listening:
        return  # the test fails on the missing kill and says what was missing
    if service == "payment-poller":
        await run.pay_one_each()
    done_at_kill, publishing = run.done, not run.publishing_done.is_set()
    exit_code = await stack.kill(service)
    run.kills.append(Kill(service, done_at_kill, exit_code, publishing))
    if service == "payment-poller":
        await run.pay_one_each()
    await asyncio.sleep(RESTART_AFTER_S)
    await stack.restart(service)


async def _consume(run: Run, feed: ResultFeed, until: float) -> None:
    """Feed results into the run until it is settled (or time is up), then listen QUIET_S more
    for late duplicates."""
    next_progress = time.monotonic() + PROGRESS_EVERY_S
    try:
        while not run.settled() and time.monotonic() < until:
            result = await feed.next(min(1.0, until - time.monotonic()))
            if result is not None:
                await run.take(*result)
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                kills = len(run.kills)
                print(f"sigkill: {run.done}/{run.expected} done, {kills} kills; {run.unsettled()}")
    finally:
        run.listening = False
        run.progressed.set()
    quiet_until = time.monotonic() + QUIET_S
    while (left := quiet_until - time.monotonic()) > 0:
        result = await feed.next(left)
        if result is not None:
            await run.take(*result)


async def _queue_depths(broker_url: str) -> dict[str, int]:
    """Messages in every queue of the sync services: work, retry tiers and parking lots."""
    names = [
        name
        for c in CONSUMERS
        for name in (c.queue, *(f"{c.queue}.retry.{d}" for d in c.retry_delays_ms), c.parking_queue)
    ]
    connection = await aio_pika.connect(broker_url)
    async with connection:
        counts = {}
        for name in names:
            # One channel per queue: a passive declare of a missing queue closes its channel.
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                continue  # a tier this stack's settings do not use
            counts[name] = queue.declaration_result.message_count or 0
            await channel.close()
        return counts


async def _diagnosis(database_url: str, run: Run) -> str:
    """For a run that did not settle: invoice-sync's state of each missing document, and the
    outbox rows no relay has published yet (what a failure report needs to find the bug)."""
    missing = [
        (tenant, *key.split(" ", 2)[1:])
        for tenant, wanted in run.tally.expected.items()
        for key in wanted
        if (tenant, key) not in run.tally.done_at and key.startswith("document ")
    ]
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        lines = []
        for tenant, kind, document_id in missing[:10]:
            row = await connection.fetchrow(
                "SELECT status, reason_code, message, partner_kind, partner_id, generation"
                " FROM invoice_sync.documents"
                " WHERE tenant_id = $1 AND document_kind = $2 AND document_id = $3",
                tenant, kind, document_id,
            )  # fmt: skip
            waiting = await connection.fetch(
                "SELECT partner_kind, partner_id FROM invoice_sync.waiting_documents"
                " WHERE tenant_id = $1 AND document_kind = $2 AND document_id = $3",
                tenant, kind, document_id,
            )  # fmt: skip
            key = await connection.fetchval(
                "SELECT sync_key FROM invoice_sync.partner_keys"
                " WHERE tenant_id = $1 AND kind = $2 AND partner_id = $3",
                tenant, row["partner_kind"] if row else "", row["partner_id"] if row else "",
            )  # fmt: skip
            lines.append(
                f"{tenant} {kind} {document_id}: {dict(row) if row else 'no row'}, "
                f"waiting {[dict(w) for w in waiting]}, partner key known: {key}"
            )
        for schema in ("partner_sync", "invoice_sync", "payment_poller", "oauth_gateway"):
            pending = await connection.fetchval(f"SELECT count(*) FROM {schema}.outbox")
            lines.append(f"{schema}.outbox: {pending} unpublished")
        return "\n".join(lines)
    finally:
        await connection.close()


async def test_sigkill_of_each_service_loses_and_duplicates_nothing(
    running_stack: RunningStack,
) -> None:
    env = DemoEnvironment.of(running_stack.spec)
    async with httpx.AsyncClient(timeout=15) as http:
        loads, realms = await _connect_tenants(env, http)
        run = Run(loads, realms, Tally.of(loads), env, http)
        assert run.expected == TENANTS * Mix().events == 500

        started = time.monotonic()
        async with ResultFeed(env.broker_url) as feed:
            publisher = asyncio.create_task(_publish_all(run))
            chaos = asyncio.create_task(_chaos(run, running_stack))
            consumer = asyncio.create_task(_consume(run, feed, started + SETTLE_TIMEOUT_S))
            # The first to fail (a kill, a restart, a publication) ends the test with its error.
            await asyncio.gather(publisher, chaos, consumer)
            assert not feed.invalid, feed.invalid
        elapsed = time.monotonic() - started
        summary = (
            f"after {elapsed:.0f}s: kills {run.kills}; redelivered (same id) "
            f"{dict(run.redelivered)}; reported again (new id) {dict(run.reannounced)}; "
            f"{len(run.user_payments)} payments made in QuickBooks"
        )
        depths = await _queue_depths(env.broker_url)
        summary += f"; queued: { {q: n for q, n in depths.items() if n} }"
        print(summary)

        # Every service died once, by SIGKILL, while work was in flight.
        assert sorted(k.service for k in run.kills) == sorted(s for _, s in KILL_PLAN), summary
        assert all(k.exit_code == -9 for k in run.kills), summary
        assert all(k.done_at_kill < run.expected for k in run.kills), summary

        if not run.settled():
            diagnosis = await _diagnosis(running_stack.spec.database_url, run)
            pytest.fail(f"{run.unsettled()}\n{summary}\n{diagnosis}")
        for load in loads:
            assert not run.tally.failures(load.tenant_id), run.tally.failures(load.tenant_id)
            census = await take_census(http, env.emulator_url, realms[load.tenant_id], load)
            assert census.exact, f"{load.tenant_id}: {census.describe()}\n{summary}"

    # A result reported again under a new id names the same QBO record...
    split = {key: keys for key, keys in run.sync_keys.items() if len(keys) > 1}
    assert not split, f"results naming more than one QBO record: {split}\n{summary}"
    # ...and a payment exported from upstream is reported once (the census counted its QBO
    # Payment once); a second payment.exported would tell upstream of a second payment.
    exported_again = {
        key: n for key, n in run.tally.reports.items() if n > 1 and "payment-exported" in key[1]
    }
    assert not exported_again, f"payment.exported under several ids: {exported_again}\n{summary}"
    # Several user payments, around payment-poller's death; each came back once, for its invoice.
    assert len(run.user_payments) >= 2 * TENANTS, run.user_payments
    assert dict(run.tally.received) == dict.fromkeys(run.user_payments, 1), summary
    assert run.received_for == run.user_payments
    # Payments qbsync exported itself carry its marker: payment-poller never reports them back.
    assert len(run.exported) == TENANTS * Mix().payments, summary
    assert not run.exported & set(run.tally.received), summary

    assert all(c.parking_queue in depths for c in CONSUMERS), depths
    parked = {q: n for q, n in depths.items() if q.endswith(".parking") and n}
    assert not parked, summary
    for _, service in KILL_PLAN:
        assert running_stack.process(service).returncode is None, f"{service} died again"
