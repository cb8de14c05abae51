"""Event handlers: partner and project snapshots, sync commands, tenant reconnects and settings.

Each handler does all its work in the delivery's final transaction: inbox row, the partner's
advisory lock, the QBO calls, our state, history and the result event commit (or roll back)
together. A crash after a QBO write but before the commit is repaired by the redelivery: the
create's requestid is derived from committed state only, and the name lookup finds the record.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from partner_sync.adapters.call_trace import CallTrace, traced
from partner_sync.adapters.qbo_records import partner_fields
from partner_sync.adapters.repository import HistoryEntry, PartnerRepository, PartnerRow
from partner_sync.domain.decisions import (
    AlreadySynced,
    Fail,
    PartnerSettings,
    Skip,
    Snapshot,
    Stored,
    plan,
)
from partner_sync.domain.names import DisambiguationRule, clean_display_name
from partner_sync.service_layer.push import Pushed, Pusher, Target
from partner_sync.service_layer.results import Outcome, result_event
from qbo_client.errors import (
    AuthenticationError,
    DuplicateNameError,
    LimiterTimeout,
    QBOError,
    TenantNeedsReauthorization,
    UnknownTenant,
    ValidationError,
)
from qbsync_common.contract import events
from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.partner_snapshot import PartnerSnapshot
from qbsync_common.contract.registry import new_event
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.messaging.consumer import Delivery
from qbsync_common.outbox import Outbox
from qbsync_common.tenant_settings import TenantSettingsSource

log = logging.getLogger(__name__)

SOURCE = "partner-sync"
REAUTH = "needs-reauthorization"
RATE_LIMITED = "rate-limit"
# Sync reasons that must look at QBO even when this version was already synced.
FORCING_REASONS = frozenset({"operator-resync", "connection-recovered", "initial-sync"})


@dataclass(frozen=True)
class Trigger:
    tenant_id: str
    event_id: str | None
    event_type: str | None
    attempt: int = 1
    force: bool = False

    @classmethod
    def of(cls, delivery: Delivery, *, force: bool = False) -> Trigger:
        return cls(
            tenant_id=delivery.envelope.tenantid,
            event_id=delivery.envelope.id,
            event_type=delivery.envelope.type,
            attempt=delivery.attempt,
            force=force,
        )


def partner_settings(settings: TenantSettings) -> PartnerSettings:
    return PartnerSettings(
        sync_clients=settings.sync_clients,
        sync_vendors=settings.sync_vendors,
        contact_types=frozenset(settings.contact_types),
    )


def disambiguation_rule(settings: TenantSettings) -> DisambiguationRule:
    rule = settings.name_disambiguation
    return DisambiguationRule(client_suffix=rule.client_suffix, vendor_suffix=rule.vendor_suffix)


def new_operation_id() -> str:
    return f"op-{uuid.uuid4().hex[:24]}"


class PartnerHandlers:
    def __init__(
        self,
        *,
        repository: PartnerRepository,
        pusher: Pusher,
        settings: TenantSettingsSource,
        outbox: Outbox,
        max_attempts: int,
        crash_hook: Callable[[str], None] | None = None,
        command_exchange: str | None = None,
    ) -> None:
        """`command_exchange`: where commands to ourselves go; None = the contract's exchange
        (qbsync.events). Tests route them to a private exchange bound to their private queue."""
        self._command_exchange = command_exchange
        self._repo = repository
        self._pusher = pusher
        self._settings = settings
        self._outbox = outbox
        self._max_attempts = max_attempts
        self._crash_hook: Callable[[str], None] = crash_hook or (lambda point: None)

    # -- consumer entry points -----------------------------------------------------------------

    async def on_partner_upserted(self, delivery: Delivery) -> None:
        data = cast(events.PartnerUpserted, delivery.data)
        snapshot = PartnerSnapshot.model_validate(
            data.model_dump(include=set(PartnerSnapshot.model_fields))
        )
        async with delivery.transaction() as session:
            await self.sync_partner(
                session,
                Trigger.of(delivery),
                snapshot.kind,
                data.partner_id,
                snapshot,
                newest_wins=False,
            )

    async def on_partner_deactivated(self, delivery: Delivery) -> None:
        data = cast(events.PartnerDeactivated, delivery.data)
        async with delivery.transaction() as session:
            await self.sync_partner(
                session,
                Trigger.of(delivery),
                data.kind,
                data.partner_id,
                None,
                deactivate_version=data.version,
            )

    async def on_sync_requested(self, delivery: Delivery) -> None:
        data = cast(events.SyncPartner, delivery.data)
        trigger = Trigger.of(delivery, force=data.reason in FORCING_REASONS)
        async with delivery.transaction() as session:
            await self.sync_partner(session, trigger, data.kind, data.partner_id, data.partner)

    async def on_project_upserted(self, delivery: Delivery) -> None:
        data = cast(events.ProjectUpserted, delivery.data)
        async with delivery.transaction() as session:
            await self.sync_project(session, Trigger.of(delivery), data)

    async def on_tenant_reconnected(self, delivery: Delivery) -> None:
        """TenantConnected / TenantConnectionRecovered: re-drive what waited for it."""
        tenant = delivery.envelope.tenantid
        if delivery.envelope.type == events.TenantConnected.event_type:
            # Possibly another QBO company than before: its names are loaded afresh.
            self._pusher.directory.forget_tenant(tenant)
        async with delivery.transaction() as session:
            waiting = await self._repo.take_waiting(session, tenant)
            for kind, partner_id in waiting:
                await self.request_sync(session, tenant, kind, partner_id, "connection-recovered")
        if waiting:
            log.info("tenant %s reconnected: re-driving %d partners", tenant, len(waiting))
        if not self._pusher.directory.is_loaded(tenant):
            # Warm the name index now, so the tenant's first partners cost one create each.
            try:
                await self._pusher.directory.names(tenant)
            except Exception as exc:  # the index then loads on first use instead
                log.warning("could not load tenant %s's QBO names at connect: %s", tenant, exc)

    async def on_qbo_entities_changed(self, delivery: Delivery) -> None:
        """Intuit's webhook: keep the name index in step with customers/vendors changed in QBO
        (names created by hand included, so a partner of that name is adopted without a 6240)."""
        data = cast(events.QboEntitiesChanged, delivery.data)
        for change in data.entities:
            await self._pusher.directory.changed_in_qbo(
                delivery.envelope.tenantid,
                change.name,
                change.id,
                change.operation,
                change.last_updated,
            )
        async with delivery.transaction():
            pass  # only the inbox row: the index is process memory

    async def on_settings_changed(self, delivery: Delivery) -> None:
        data = cast(events.TenantSettingsChanged, delivery.data)
        self._settings.apply_change(delivery.envelope.tenantid, data.version, data.settings)
        async with delivery.transaction():
            pass  # only the inbox row: the cache is process memory

    async def request_sync(
        self, session: AsyncSession, tenant_id: str, kind: str, partner_id: str, reason: str
    ) -> None:
        """Queue a sync command to ourselves, in the caller's transaction (outbox)."""
        if kind == "project":
            row = await self._repo.get(session, tenant_id, kind, partner_id)
            if row is None or row.snapshot is None:
                return
            project = events.ProjectUpserted.model_validate(row.snapshot)
            await self._outbox.enqueue(
                session,
                new_event(project, tenant_id=tenant_id, source=SOURCE),
                exchange=self._command_exchange,
            )
            return
        command = events.SyncPartner(
            kind=cast(Any, kind),
            partner_id=partner_id,
            requested_by=SOURCE,
            reason=cast(Any, reason),
        )
        await self._outbox.enqueue(
            session,
            new_event(command, tenant_id=tenant_id, source=SOURCE),
            exchange=self._command_exchange,
        )

    async def request_sync_many(
        self,
        session: AsyncSession,
        tenant_id: str,
        keys: Sequence[tuple[str, str]],
        reason: str,
    ) -> None:
        """`request_sync` for several clients/vendors in one outbox statement."""
        projects = [pid for kind, pid in keys if kind == "project"]
        for project_id in projects:
            await self.request_sync(session, tenant_id, "project", project_id, reason)
        commands = [
            new_event(
                events.SyncPartner(
                    kind=cast(Any, kind),
                    partner_id=partner_id,
                    requested_by=SOURCE,
                    reason=cast(Any, reason),
                ),
                tenant_id=tenant_id,
                source=SOURCE,
            )
            for kind, partner_id in keys
            if kind != "project"
        ]
        await self._outbox.enqueue_many(session, commands, exchange=self._command_exchange)

    async def resume(
        self, session: AsyncSession, tenant_id: str, kind: str, partner_id: str
    ) -> bool:
        """Sync a deferred partner now, if nobody else is on it; False if it was busy/gone."""
        if not await self._repo.try_lock(session, tenant_id, kind, partner_id):
            return False
        row = await self._repo.get(session, tenant_id, kind, partner_id)
        if row is None or row.waiting != RATE_LIMITED or row.snapshot is None:
            return False
        trigger = Trigger(tenant_id=tenant_id, event_id=None, event_type="deferred")
        if kind == "project":
            project = events.ProjectUpserted.model_validate(row.snapshot)
            await self.sync_project(session, trigger, project)
        else:
            await self.sync_partner(session, trigger, kind, partner_id, None)
        return True

    # -- partners --------------------------------------------------------------------------------

    async def sync_partner(
        self,
        session: AsyncSession,
        trigger: Trigger,
        kind: str,
        partner_id: str,
        incoming: PartnerSnapshot | None,
        *,
        deactivate_version: int | None = None,
        newest_wins: bool = True,
    ) -> Outcome:
        tenant = trigger.tenant_id
        await self._repo.lock(session, tenant, kind, partner_id)
        stored = await self._repo.get(session, tenant, kind, partner_id)
        held = (
            PartnerSnapshot.model_validate(stored.snapshot) if stored and stored.snapshot else None
        )
        # An upsert is judged on its own version (an older one is skipped); a sync command uses
        # whichever snapshot is newest, its own or ours.
        snapshot = incoming if newest_wins is False else _newest(incoming, held)
        op = new_operation_id()
        if deactivate_version is not None:
            if held is None:
                # Never seen, so never in QBO: nothing to deactivate.
                return await self.finish(
                    session,
                    trigger,
                    kind,
                    partner_id,
                    deactivate_version,
                    stored,
                    op,
                    Outcome("skipped", "inactive", "the partner was never synced"),
                    action="skipped",
                )
            snapshot = held.model_copy(update={"active": False, "version": deactivate_version})
        if snapshot is None:
            return await self.finish(
                session,
                trigger,
                kind,
                partner_id,
                0,
                stored,
                op,
                Outcome("failed", "other", "partner-sync holds no snapshot of this partner yet"),
                action="failed",
            )
        settings = await self._settings.get(tenant)
        decision = plan(
            Snapshot(
                kind=snapshot.kind,
                partner_id=partner_id,
                version=snapshot.version,
                name=snapshot.display_name or snapshot.name,
                active=snapshot.active,
                currency=snapshot.currency,
                contact_type=snapshot.contact_type,
            ),
            _stored(stored),
            partner_settings(settings),
            force=trigger.force,
        )
        if isinstance(decision, Skip):
            keep = decision.reason == "older-version"
            return await self.finish(
                session,
                trigger,
                kind,
                partner_id,
                snapshot.version,
                stored,
                op,
                Outcome("skipped", decision.reason, decision.message),
                action="skipped",
                snapshot=None if keep else snapshot,
                keep_state=keep,
            )
        if isinstance(decision, Fail):
            return await self.finish(
                session,
                trigger,
                kind,
                partner_id,
                snapshot.version,
                stored,
                op,
                Outcome("failed", decision.reason, decision.message),
                action="failed",
                snapshot=snapshot,
            )
        if isinstance(decision, AlreadySynced):
            assert stored is not None
            return await self.finish(
                session,
                trigger,
                kind,
                partner_id,
                snapshot.version,
                stored,
                op,
                Outcome("synced", sync_key=decision.sync_key, sync_token=stored.sync_token),
                action="unchanged",
                snapshot=snapshot,
            )
        fields = partner_fields(snapshot, decision.display_name)
        target = Target(
            tenant_id=tenant,
            kind=kind,
            partner_id=partner_id,
            version=snapshot.version,
            display_name=decision.display_name,
            fields=fields,
            currency=snapshot.currency,
            active=snapshot.active,
            rule=disambiguation_rule(settings),
            clears=_emptied(fields, held, decision.display_name),
        )
        return await self._push_and_finish(session, trigger, target, stored, snapshot, op)

    # -- projects --------------------------------------------------------------------------------

    async def sync_project(
        self, session: AsyncSession, trigger: Trigger, project: events.ProjectUpserted
    ) -> Outcome:
        tenant = trigger.tenant_id
        kind, pid = "project", project.project_id
        await self._repo.lock(session, tenant, kind, pid)
        stored = await self._repo.get(session, tenant, kind, pid)
        op = new_operation_id()
        snapshot_doc = project.model_dump(mode="json")
        finish_args: dict[str, Any] = {"parent_id": project.client_id, "raw_snapshot": snapshot_doc}
        if stored is not None and project.version < stored.version:
            return await self.finish(
                session,
                trigger,
                kind,
                pid,
                project.version,
                stored,
                op,
                Outcome(
                    "skipped", "older-version", f"version {project.version} < {stored.version}"
                ),
                action="skipped",
                keep_state=True,
                **finish_args,
            )
        settings = await self._settings.get(tenant)
        if not settings.projects_as_sub_customers:
            return await self.finish(
                session,
                trigger,
                kind,
                pid,
                project.version,
                stored,
                op,
                Outcome("skipped", "sub-customers-disabled", "the tenant does not sync projects"),
                action="skipped",
                **finish_args,
            )
        synced = stored is not None and stored.sync_key is not None
        if not project.active and not synced:
            return await self.finish(
                session,
                trigger,
                kind,
                pid,
                project.version,
                stored,
                op,
                Outcome("skipped", "inactive", "inactive projects are not created in QuickBooks"),
                action="skipped",
                **finish_args,
            )
        client = await self._repo.get(session, tenant, "client", project.client_id)
        if client is None or client.sync_key is None:
            return await self.finish(
                session,
                trigger,
                kind,
                pid,
                project.version,
                stored,
                op,
                Outcome(
                    "failed",
                    "other",
                    f"client {project.client_id} is not synced to QuickBooks yet; the project "
                    "is retried when the client's next event or a resync arrives",
                ),
                action="failed",
                **finish_args,
            )
        name = clean_display_name(project.name)
        client_snapshot = (
            PartnerSnapshot.model_validate(client.snapshot) if client.snapshot else None
        )
        target = Target(
            tenant_id=tenant,
            kind=kind,
            partner_id=pid,
            version=project.version,
            display_name=name,
            fields={
                "DisplayName": name,
                "ParentRef": {"value": client.sync_key},
                "Job": True,
                "BillWithParent": True,
                "Active": project.active,
            },
            currency=client.currency or (client_snapshot.currency if client_snapshot else None),
            active=project.active,
            rule=disambiguation_rule(settings),
            parent_key=client.sync_key,
            parent_name=client.qbo_name,
        )
        return await self._push_and_finish(
            session, trigger, target, stored, None, op, **finish_args
        )

    # -- shared ----------------------------------------------------------------------------------

    async def _push_and_finish(
        self,
        session: AsyncSession,
        trigger: Trigger,
        target: Target,
        stored: PartnerRow | None,
        snapshot: PartnerSnapshot | None,
        op: str,
        **finish_args: Any,
    ) -> Outcome:
        args = (session, trigger, target.kind, target.partner_id, target.version, stored, op)
        with traced() as trace:
            try:
                pushed = await self._pusher.push(
                    session, target, stored, force=trigger.force, trace=trace
                )
            except LimiterTimeout:
                # The tenant's QBO budget is spent: park the partner in our table (acking the
                # event) so a busy tenant's backlog never blocks other tenants in the queue;
                # the deferred-work job syncs it when the budget allows. No result yet.
                return await self.finish(
                    *args,
                    Outcome("pending", RATE_LIMITED, "waiting for the tenant's QBO rate budget"),
                    action="deferred",
                    snapshot=snapshot,
                    waiting=RATE_LIMITED,
                    trace=trace,
                    emit=False,
                    **finish_args,
                )
            except (TenantNeedsReauthorization, AuthenticationError) as exc:
                return await self.finish(
                    *args,
                    Outcome("failed", REAUTH, f"the tenant must reconnect QuickBooks ({exc})"),
                    action="failed",
                    snapshot=snapshot,
                    waiting=REAUTH,
                    trace=trace,
                    **finish_args,
                )
            except UnknownTenant as exc:
                return await self.finish(
                    *args,
                    Outcome("failed", "tenant-not-connected", str(exc)),
                    action="failed",
                    snapshot=snapshot,
                    waiting="tenant-not-connected",
                    trace=trace,
                    **finish_args,
                )
            except ValidationError as exc:
                reason = "open-balance" if "balance" in str(exc).lower() else "qbo-validation"
                if isinstance(exc, DuplicateNameError):
                    reason = "name-conflict"
                return await self.finish(
                    *args,
                    Outcome("failed", reason, _qbo_message(exc)),
                    action="failed",
                    snapshot=snapshot,
                    trace=trace,
                    tid=exc.intuit_tid,
                    **finish_args,
                )
            except QBOError as exc:
                if exc.transient and trigger.attempt < self._max_attempts:
                    raise  # retried through the delay queues
                reason = "qbo-unavailable" if exc.transient else "other"
                log.warning("partner sync failed: %s", exc, exc_info=True)
                return await self.finish(
                    *args,
                    Outcome("failed", reason, _qbo_message(exc)),
                    action="failed",
                    snapshot=snapshot,
                    trace=trace,
                    tid=exc.intuit_tid,
                    **finish_args,
                )
        # The point a crash loses our record of a QBO write that did happen (RELIABILITY F-tests).
        self._crash_hook("after-qbo-call")
        return await self._finish_pushed(
            session, trigger, target, stored, snapshot, op, pushed, trace, **finish_args
        )

    async def _finish_pushed(
        self,
        session: AsyncSession,
        trigger: Trigger,
        target: Target,
        stored: PartnerRow | None,
        snapshot: PartnerSnapshot | None,
        op: str,
        pushed: Pushed,
        trace: CallTrace,
        **finish_args: Any,
    ) -> Outcome:
        args = (session, trigger, target.kind, target.partner_id, target.version, stored, op)
        if pushed.dropped_key is not None:
            await self._repo.add_history(
                session,
                HistoryEntry(
                    tenant_id=target.tenant_id,
                    kind=target.kind,
                    partner_id=target.partner_id,
                    operation_id=op,
                    action="key-dropped",
                    status="pending",
                    event_id=trigger.event_id,
                    event_type=trigger.event_type,
                    version=target.version,
                    qbo_id=pushed.dropped_key,
                    message="the QBO record of the sync key no longer exists",
                ),
            )
        record = pushed.record
        if record is None:
            if pushed.conflict is not None:
                return await self.finish(
                    *args,
                    Outcome("failed", "name-conflict", pushed.conflict),
                    action="failed",
                    snapshot=snapshot,
                    trace=trace,
                    clear_key=True,
                    generation=pushed.key_generation,
                    **finish_args,
                )
            return await self.finish(
                *args,
                Outcome(
                    "skipped",
                    "inactive",
                    "the QBO record is gone and the partner is inactive, so it is not re-created",
                ),
                action="skipped",
                snapshot=snapshot,
                trace=trace,
                clear_key=True,
                generation=pushed.key_generation,
                **finish_args,
            )
        currency = record.CurrencyRef.value if record.CurrencyRef else target.currency
        outcome = Outcome(
            "synced", sync_key=record.Id, sync_token=record.SyncToken, adopted=pushed.adopted
        )
        if pushed.currency_mismatch is not None:
            outcome = Outcome(
                "failed",
                "currency-change-refused",
                f"the adopted QBO record is in {pushed.currency_mismatch}; upstream says "
                f"{target.currency}, and QuickBooks cannot change a partner's currency",
                sync_key=record.Id,
                sync_token=record.SyncToken,
            )
        return await self.finish(
            *args,
            outcome,
            action=pushed.action,
            snapshot=snapshot,
            trace=trace,
            request_id=pushed.request_id,
            record_name=record.DisplayName,
            currency=currency,
            generation=pushed.key_generation,
            **finish_args,
        )

    async def finish(
        self,
        session: AsyncSession,
        trigger: Trigger,
        kind: str,
        partner_id: str,
        version: int,
        stored: PartnerRow | None,
        op: str,
        outcome: Outcome,
        **how: Any,
    ) -> Outcome:
        """Persist state and history and enqueue the result, all in the caller's transaction."""
        settled = self.settle(trigger, kind, partner_id, version, stored, op, outcome, **how)
        await self.write_settled(session, trigger.tenant_id, [settled])
        return outcome

    def settle(
        self,
        trigger: Trigger,
        kind: str,
        partner_id: str,
        version: int,
        stored: PartnerRow | None,
        op: str,
        outcome: Outcome,
        *,
        action: str,
        snapshot: PartnerSnapshot | None = None,
        raw_snapshot: dict[str, Any] | None = None,
        keep_state: bool = False,
        waiting: str | None = None,
        trace: CallTrace | None = None,
        tid: str | None = None,
        request_id: str | None = None,
        record_name: str | None = None,
        currency: str | None = None,
        clear_key: bool = False,
        generation: int | None = None,
        parent_id: str | None = None,
        emit: bool = True,
    ) -> Settled:
        """What `finish` writes, computed without I/O, so bulk work can write many at once."""
        tenant = trigger.tenant_id
        row: PartnerRow | None = None
        if not keep_state:
            base = stored or PartnerRow(
                tenant_id=tenant,
                kind=kind,
                partner_id=partner_id,
                version=version,
                status="pending",
            )
            doc = (
                raw_snapshot
                if raw_snapshot is not None
                else (snapshot.model_dump(mode="json") if snapshot is not None else base.snapshot)
            )
            synced = outcome.status == "synced" or outcome.sync_key is not None
            row = replace(
                base,
                version=max(version, base.version) if stored else version,
                snapshot=doc,
                status=outcome.status,
                reason=outcome.reason,
                message=outcome.message,
                waiting=waiting,
                parent_id=parent_id or base.parent_id,
                updated_at=None,
            )
            if clear_key:
                row = replace(row, sync_key=None, sync_token=None, synced_version=None)
            if synced:
                row = replace(
                    row,
                    sync_key=outcome.sync_key,
                    sync_token=outcome.sync_token,
                    synced_version=version,
                    qbo_name=record_name or row.qbo_name,
                    currency=currency or row.currency,
                )
            if generation is not None:
                row = replace(row, key_generation=generation)
        history = HistoryEntry(
            tenant_id=tenant,
            kind=kind,
            partner_id=partner_id,
            operation_id=op,
            action=action,
            status=outcome.status,
            event_id=trigger.event_id,
            event_type=trigger.event_type,
            version=version,
            reason=outcome.reason,
            message=outcome.message,
            # A refused write has no Pushed: the requestid it carried comes from the trace.
            request_id=request_id or (trace.last_request_id if trace else None),
            intuit_tid=tid or (trace.last_tid if trace else None),
            qbo_id=outcome.sync_key,
            sync_token=outcome.sync_token,
        )
        # A client that just got its QBO record unblocks projects that waited for it.
        unblocks = (
            kind == "client"
            and outcome.status == "synced"
            and (stored is None or not stored.sync_key)
        )
        result: Envelope | None = None
        if emit:
            parent = parent_id or (stored.parent_id if stored else None)
            data = result_event(kind, partner_id, version, outcome, op, parent_id=parent)
            result = new_event(data, tenant_id=tenant, source=SOURCE, subject=partner_id)
        return Settled(row=row, history=history, result=result, unblocks=unblocks)

    async def write_settled(
        self, session: AsyncSession, tenant_id: str, settled: Sequence[Settled]
    ) -> None:
        """State, history and results of one tenant's settled partners: one statement each."""
        await self._repo.save_many(session, [s.row for s in settled if s.row is not None])
        await self._repo.add_history_many(session, [s.history for s in settled])
        clients = [s.history.partner_id for s in settled if s.unblocks]
        for project_id in await self._repo.failed_projects_of_many(session, tenant_id, clients):
            await self.request_sync(session, tenant_id, "project", project_id, "dependency")
        await self._outbox.enqueue_many(
            session, [s.result for s in settled if s.result is not None]
        )


@dataclass(frozen=True)
class Settled:
    """One partner's outcome as rows to write: state (None = keep), history, result event."""

    row: PartnerRow | None
    history: HistoryEntry
    result: Envelope | None
    unblocks: bool


def _newest(a: PartnerSnapshot | None, b: PartnerSnapshot | None) -> PartnerSnapshot | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a.version >= b.version else b


def _emptied(
    fields: dict[str, Any], held: PartnerSnapshot | None, display_name: str
) -> frozenset[str]:
    """Fields empty now that held a value in the snapshot we had: QBO may still hold it."""
    if held is None:
        return frozenset()
    before = partner_fields(held, display_name)
    return frozenset(k for k, v in fields.items() if v is None and before.get(k) is not None)


def _stored(row: PartnerRow | None) -> Stored | None:
    if row is None:
        return None
    return Stored(
        version=row.version,
        sync_key=row.sync_key,
        currency=row.currency,
        synced_version=row.synced_version,
    )


def _qbo_message(exc: QBOError) -> str:
    return str(exc)[:2000]
