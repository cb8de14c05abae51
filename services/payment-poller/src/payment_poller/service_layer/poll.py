"""One tenant's poll: claim, ask QBO what changed, decide, and commit events with the cursor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from payment_poller.adapters import qbo
from payment_poller.adapters.repository import Claim, Repository
from payment_poller.domain.matching import decide, decide_credit
from payment_poller.domain.model import Doc, QboPayment, Reported, ReportKey
from payment_poller.service_layer.methods import PaymentMethodNames
from payment_poller.service_layer.publication import credit_event, event_id, to_event
from qbo_client import errors as qbo_errors
from qbo_client.session import TenantSession
from qbsync_common.contract import events
from qbsync_common.contract.bases import EventData
from qbsync_common.contract.registry import new_event
from qbsync_common.outbox import Outbox

log = logging.getLogger(__name__)
SOURCE = "payment-poller"


class ClaimLost(Exception):
    """Our lease lapsed and another replica owns the tenant now: our work must not commit."""


@dataclass(frozen=True)
class PollSettings:
    overlap: timedelta
    lease: timedelta
    retry_s: float
    max_concurrent: int


@dataclass
class Recovery:
    """A tracked document CDC reported deleted: its new key if QBO has it under its number."""

    doc: Doc
    found: tuple[str, Decimal] | None


# (realm id, poll interval in seconds) of a tenant, from its token and the gateway's settings.
TenantFacts = Callable[[str], Awaitable[tuple[str, int]]]


class Poller:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repo: Repository,
        outbox: Outbox,
        qbo_for: Callable[[str], TenantSession],
        settings: PollSettings,
        replica: str,
        crash: Callable[[str], None] = lambda point: None,
        tenant_facts: TenantFacts | None = None,
        methods: PaymentMethodNames | None = None,
    ) -> None:
        self.methods = methods or PaymentMethodNames()
        self.tenant_facts = tenant_facts
        self.sessions = sessions
        self.repo = repo
        self.outbox = outbox
        self.qbo_for = qbo_for
        self.settings = settings
        self.replica = replica
        self.crash = crash

    async def claim(self, limit: int) -> list[Claim]:
        """Claim up to `limit` due tenants for this replica."""
        if limit <= 0:
            return []
        async with self.sessions() as s, s.begin():
            return await self.repo.schedule.claim_due(s, self.replica, self.settings.lease, limit)

    async def run_due(self) -> int:
        """Claim due tenants and poll them all; returns how many were claimed."""
        claims = await self.claim(self.settings.max_concurrent)
        if claims:
            await asyncio.gather(*(self.poll(c) for c in claims))
        return len(claims)

    async def poll(self, claim: Claim) -> None:
        async with self.sessions() as s, s.begin():
            run_id = await self.repo.runs.start_run(s, claim, self.replica)
        started = datetime.now(UTC)
        since = (claim.cursor or started) - self.settings.overlap
        try:
            async with self._leased(claim):
                learned = await self._learn(claim)
                if learned is not None:
                    claim = replace(claim, realm_id=learned[0], interval_s=learned[1])
                session = self.qbo_for(claim.tenant_id)
                changes = await qbo.fetch_changes(session, since)
                changes.payments = await self.methods.resolve(
                    session, claim.tenant_id, changes.payments
                )
                if changes.mode == "query":
                    await self._find_deleted(session, claim, changes)
                recoveries = await self._recover(session, claim, changes)
                self.crash("poll-before-commit")
            seen, published = await self._commit(
                claim, changes, recoveries, run_id, since, started, learned is not None
            )
            log.info("polled %s: %d payments, %d events", claim.tenant_id, seen, published)
        except ClaimLost:
            await self._record(run_id, outcome="claim-lost", errors=1, error="claim lapsed")
        except qbo_errors.TenantNeedsReauthorization as exc:
            await self._give_up(claim, run_id, exc, state="needs_reauthorization")
        except qbo_errors.UnknownTenant as exc:
            await self._give_up(claim, run_id, exc, state="disconnected")
        except Exception as exc:
            log.warning("poll of %s failed: %r", claim.tenant_id, exc)
            await self._give_up(claim, run_id, exc, state=None)

    @asynccontextmanager
    async def _leased(self, claim: Claim) -> AsyncIterator[None]:
        """Renew the claim every lease/3 while QBO is asked, so a long catch-up keeps it.

        The renewals stop before the commit: its fence takes the schedule row's lock, and a
        renewal waiting on that lock would only find the claim released.
        """
        stop = asyncio.Event()
        beat = asyncio.create_task(self._keep_claim(claim, stop))
        try:
            yield
        finally:
            stop.set()
            await beat

    async def _keep_claim(self, claim: Claim, stop: asyncio.Event) -> None:
        every = self.settings.lease.total_seconds() / 3
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            try:
                async with self.sessions() as s, s.begin():
                    ours = await self.repo.schedule.extend_claim(s, claim, self.settings.lease)
            except Exception as exc:  # a database hiccup: the next beat may still make it
                log.warning("renewing the claim on %s failed: %r", claim.tenant_id, exc)
                continue
            if not ours:
                # Another replica owns the tenant now; the commit's fence will refuse our work.
                log.warning("claim on %s lost during its poll", claim.tenant_id)
                return

    async def _commit(
        self,
        claim: Claim,
        changes: qbo.Changes,
        recoveries: list[Recovery],
        run_id: int,
        since: datetime,
        started: datetime,
        learned: bool = False,
    ) -> tuple[int, int]:
        tenant = claim.tenant_id
        cursor = changes.time or started
        async with self.sessions() as s, s.begin():
            # First statement: fence on our claim token; it also locks the tenant's row.
            if not await self.repo.schedule.finish_claim(
                s, claim, cursor=cursor, error=None, retry_s=self.settings.retry_s
            ):
                raise ClaimLost(tenant)
            if learned and claim.realm_id is not None:
                await self.repo.schedule.learn_tenant(s, tenant, claim.realm_id, claim.interval_s)
            published = await self._apply_recoveries(s, tenant, recoveries)
            latest = _latest(changes.payments)
            await self._learn_partners(s, tenant, changes.partners)
            published += await self._publish(s, tenant, latest, changes.balances)
            await self.repo.runs.finish_run(
                s,
                run_id,
                outcome="ok",
                window_from=since,
                window_to=cursor,
                mode=changes.mode,
                payments_seen=len(latest),
                events_published=published,
            )
        return len(latest), published

    async def _learn_partners(
        self, s: AsyncSession, tenant: str, partners: dict[tuple[str, str], str]
    ) -> None:
        """Remember each tracked document's customer or vendor, for recovery by number."""
        docs = await self.repo.ledger.docs_by_qbo_id(s, tenant, partners)
        for key, doc in docs.items():
            if doc.partner_id != partners[key]:
                await self.repo.ledger.set_partner(
                    s, tenant, replace(doc, partner_id=partners[key])
                )

    async def _publish(
        self,
        s: AsyncSession,
        tenant: str,
        payments: list[QboPayment],
        balances: dict[tuple[str, str], Decimal],
    ) -> int:
        """Decide every payment against our documents and reports; enqueue what is new."""
        wanted = {
            (qbo.TARGET[link.target_type], link.target_id)
            for p in payments
            for link in p.links
            if link.target_type in qbo.TARGET
        } | set(balances)
        docs = await self.repo.ledger.docs_by_qbo_id(s, tenant, wanted)
        for doc_key, balance in balances.items():
            if doc_key in docs and docs[doc_key].balance != balance:
                docs[doc_key] = replace(docs[doc_key], balance=balance)
                await self.repo.ledger.set_balance(s, tenant, docs[doc_key])
        reports = await self.repo.ledger.reports_for(s, tenant, [(p.kind, p.id) for p in payments])
        by_payment: dict[tuple[str, str], dict[ReportKey, Reported]] = {}
        for report_key, report in reports.items():
            payment_key = (report_key.payment_kind, report_key.payment_id)
            by_payment.setdefault(payment_key, {})[report_key] = report
        # Reported documents a payment no longer touches still need their current balance.
        by_id = await self.repo.ledger.docs_by_document_id(
            s, tenant, [(k.doc_kind, k.document_id) for k in reports]
        )
        by_id |= {(d.kind, d.document_id): d for d in docs.values()}
        # An operator marked these paid in invoice-sync: from the mark on, their payments are
        # neither reported nor recorded as reported (what was published before stands), as if
        # we did not track them. Their balances above are still kept current.
        marked = await self.repo.ledger.marked_paid(s, tenant, by_id)
        if marked:
            docs = {k: d for k, d in docs.items() if (d.kind, d.document_id) not in marked}
            by_id = {k: d for k, d in by_id.items() if k not in marked}
        credits = await self.repo.ledger.credits_for(
            s, tenant, [p.id for p in payments if p.kind == "payment"]
        )
        published = 0
        for payment in payments:
            previous = by_payment.get((payment.kind, payment.id), {})
            for change in decide(payment, docs, previous, by_id):
                await self.repo.ledger.save_report(s, tenant, change.report, payment.version)
                published += await self._enqueue(s, tenant, change.dedupe_key, to_event(change))
            credit = decide_credit(payment, credits.get(payment.id))
            if credit is not None:
                await self.repo.ledger.save_credit(
                    s, tenant, payment.id, credit.amount, payment.version
                )
                published += await self._enqueue(s, tenant, credit.dedupe_key, credit_event(credit))
        return published

    async def _enqueue(self, s: AsyncSession, tenant: str, dedupe_key: str, data: EventData) -> int:
        """Enqueue the event unless this change was published before; 1 if enqueued."""
        eid = event_id(tenant, dedupe_key)
        if not await self.repo.ledger.claim_change(s, tenant, dedupe_key, eid, data.event_type):
            return 0
        await self.outbox.enqueue(s, new_event(data, tenant_id=tenant, source=SOURCE, event_id=eid))
        return 1

    async def _recover(
        self, session: TenantSession, claim: Claim, changes: qbo.Changes
    ) -> list[Recovery]:
        """XTRF's rule: a synced document gone from QBO is looked up by number before recreating."""
        if not changes.deleted_docs:
            return []
        async with self.sessions() as s:
            docs = await self.repo.ledger.docs_by_qbo_id(s, claim.tenant_id, changes.deleted_docs)
        out = []
        for doc in docs.values():
            found = None
            if doc.doc_number:
                found = await qbo.find_by_number(session, doc.kind, doc.doc_number, doc.partner_id)
            out.append(Recovery(doc, found))
        return out

    async def _apply_recoveries(
        self, s: AsyncSession, tenant: str, recoveries: list[Recovery]
    ) -> int:
        published = 0
        for r in recoveries:
            if r.found is not None:
                new_id, balance = r.found
                await self.repo.ledger.set_balance(
                    s, tenant, replace(r.doc, qbo_id=new_id, balance=balance)
                )
                # invoice-sync and upstream hold the dead key too: they learn the new one in the
                # same transaction that stores it here, so no poll can leave them behind.
                published += await self._enqueue(
                    s,
                    tenant,
                    f"rekey:{r.doc.kind}:{r.doc.document_id}:{r.doc.qbo_id}:{new_id}",
                    events.DocumentRekeyed(
                        document_kind=r.doc.kind,
                        document_id=r.doc.document_id,
                        old_sync_key=r.doc.qbo_id,
                        new_sync_key=new_id,
                        found_by="number",
                    ),
                )
                continue
            await self.repo.ledger.mark_missing(s, tenant, r.doc)
            key = f"recreate:{r.doc.kind}:{r.doc.document_id}:{r.doc.qbo_id}"
            eid = event_id(tenant, key)
            data = events.RecreateDocument(
                document_kind=r.doc.kind,
                document_id=r.doc.document_id,
                missing_sync_key=r.doc.qbo_id,
                reason="not-found-in-qbo",
            )
            if await self.repo.ledger.claim_change(s, tenant, key, eid, data.event_type):
                await self.outbox.enqueue(
                    s, new_event(data, tenant_id=tenant, source=SOURCE, event_id=eid)
                )
                published += 1
        return published

    async def _learn(self, claim: Claim) -> tuple[str, int] | None:
        """Realm and interval of a tenant first seen through a document or a webhook.

        Such a row has no realm and the default interval; its first poll asks the token provider
        and the gateway's settings, and the commit stores them.
        """
        if claim.realm_id is not None or self.tenant_facts is None:
            return None
        realm_id, interval_s = await self.tenant_facts(claim.tenant_id)
        return realm_id, max(1, interval_s)

    async def _find_deleted(
        self, session: TenantSession, claim: Claim, changes: qbo.Changes
    ) -> None:
        """Queries (tenant offline > 30 days) cannot see deletions: check what we track.

        Payments we reported as applied and documents we track, unless the queries returned
        them, are looked up by id in batches; the missing ones become deletions, so reversals
        and recovery by number run as they would after CDC.
        """
        async with self.sessions() as s:
            reported = await self.repo.ledger.active_payment_ids(s, claim.tenant_id)
            tracked = await self.repo.ledger.synced_doc_ids(s, claim.tenant_id)
        seen_payments = {(p.kind, p.id) for p in changes.payments}
        for kind in ("payment", "bill_payment"):
            ids = {i for k, i in reported if k == kind and (k, i) not in seen_payments}
            for gone in sorted(ids - await qbo.existing(session, kind, ids)):
                changes.payments.append(QboPayment(kind, gone, "deleted", "deleted"))
        for kind in ("invoice", "bill"):
            ids = {i for k, i in tracked if k == kind and (k, i) not in changes.balances}
            for gone in ids - await qbo.existing(session, kind, ids):
                changes.deleted_docs.add((kind, gone))

    async def _give_up(self, claim: Claim, run_id: int, exc: Exception, state: str | None) -> None:
        async with self.sessions() as s, s.begin():
            await self.repo.schedule.finish_claim(
                s, claim, cursor=None, error=repr(exc), retry_s=self.settings.retry_s, state=state
            )
        outcome = "needs-reauthorization" if state == "needs_reauthorization" else "error"
        await self._record(run_id, outcome=outcome, errors=1, error=repr(exc)[:2000])

    async def _record(self, run_id: int, **values: object) -> None:
        async with self.sessions() as s, s.begin():
            await self.repo.runs.finish_run(s, run_id, **values)


def _latest(payments: list[QboPayment]) -> list[QboPayment]:
    """One entry per payment; a deletion stub wins over the object it deleted."""
    out: dict[tuple[str, str], QboPayment] = {}
    for p in payments:
        current = out.get((p.kind, p.id))
        if current is None or p.state == "deleted" or current.state != "deleted":
            out[(p.kind, p.id)] = p
    return list(out.values())
