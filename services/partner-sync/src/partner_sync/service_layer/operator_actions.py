"""What operators can do per tenant: inspect, resync, link/unlink, and automatch into a review queue.

Resyncs go through our own queue as SyncPartner commands (outbox), so they get the same lock,
retries and results as any event; links are verified against QBO before they are stored.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from partner_sync.adapters.qbo_directory import QboDirectory
from partner_sync.adapters.qbo_records import PartnerRecord
from partner_sync.adapters.repository import HistoryEntry, PartnerRepository, PartnerRow
from partner_sync.domain.automatch import Match, Party, propose
from partner_sync.service_layer.backfill import BackfillRunner
from partner_sync.service_layer.handlers import PartnerHandlers
from partner_sync.service_layer.push import kinds_sharing
from qbsync_common.contract.partner_snapshot import PartnerSnapshot
from qbsync_common.tenant_settings import TenantSettingsSource


class NotFound(Exception):
    """The partner, proposal or QBO record does not exist."""


class Conflict(Exception):
    """The QBO record is linked to another partner already."""


def _operation() -> str:
    return f"op-{uuid.uuid4().hex[:24]}"


def _party_of_record(record: PartnerRecord) -> Party:
    address = record.BillAddr
    return Party(
        ref=record.Id or "",
        name=record.DisplayName or "",
        email=record.PrimaryEmailAddr.Address if record.PrimaryEmailAddr else None,
        tax_id=getattr(record, "TaxIdentifier", None)
        or getattr(record, "PrimaryTaxIdentifier", None)
        or getattr(record, "ResaleNum", None),
        postal_code=address.PostalCode if address else None,
        line1=address.Line1 if address else None,
    )


def _party_of_snapshot(snapshot: PartnerSnapshot) -> Party:
    address = snapshot.billing_address
    return Party(
        ref=snapshot.partner_id,
        name=snapshot.display_name or snapshot.name,
        email=snapshot.email,
        tax_id=snapshot.tax_id,
        postal_code=address.postal_code if address else None,
        line1=address.line1 if address else None,
    )


class OperatorActions:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        repository: PartnerRepository,
        directory: QboDirectory,
        handlers: PartnerHandlers,
        settings: TenantSettingsSource,
        backfills: BackfillRunner,
    ) -> None:
        self._sessions = sessions
        self._repo = repository
        self._qbo = directory
        self._handlers = handlers
        self._settings = settings
        self._backfills = backfills

    # -- reading ---------------------------------------------------------------------------------

    async def list_partners(
        self,
        tenant_id: str,
        *,
        status: str | None,
        kind: str | None,
        limit: int,
        offset: int,
    ) -> list[PartnerRow]:
        async with self._sessions() as session:
            return await self._repo.page(
                session, tenant_id, status=status, kind=kind, limit=limit, offset=offset
            )

    async def partner(
        self, tenant_id: str, kind: str, partner_id: str
    ) -> tuple[PartnerRow, list[HistoryEntry]]:
        async with self._sessions() as session:
            row = await self._repo.get(session, tenant_id, kind, partner_id)
            if row is None:
                raise NotFound(f"no {kind} {partner_id}")
            return row, await self._repo.history(session, tenant_id, kind, partner_id)

    async def unlinked_records(self, tenant_id: str, kind: str) -> list[PartnerRecord]:
        """QBO customers (top level) or vendors that no upstream partner is linked to."""
        records = await self._qbo.all_records(tenant_id, kind)
        async with self._sessions() as session:
            linked = await self._repo.linked_keys(session, tenant_id, kinds_sharing(kind))
        return [r for r in records if r.Id not in linked and getattr(r, "ParentRef", None) is None]

    # -- resync ----------------------------------------------------------------------------------

    async def resync(self, tenant_id: str, kind: str, partner_id: str) -> None:
        async with self._sessions.begin() as session:
            if await self._repo.get(session, tenant_id, kind, partner_id) is None:
                raise NotFound(f"no {kind} {partner_id}")
            await self._handlers.request_sync(
                session, tenant_id, kind, partner_id, "operator-resync"
            )

    async def resync_all(
        self, tenant_id: str, *, status: str | None = None, reason: str = "operator-resync"
    ) -> int:
        async with self._sessions.begin() as session:
            keys = await self._repo.keys_of(session, tenant_id, status=status)
            for kind, partner_id in keys:
                await self._handlers.request_sync(session, tenant_id, kind, partner_id, reason)
        return len(keys)

    async def initial_sync(self, tenant_id: str) -> int:
        """Every partner of the tenant that is not synced yet (bulk sync after connecting)."""
        count = 0
        for status in ("pending", "failed", "skipped"):
            count += await self.resync_all(tenant_id, status=status, reason="initial-sync")
        return count

    async def start_backfill(self, tenant_id: str) -> bool:
        """Bulk sync through QBO's batch endpoint, in the background; False if one is running.

        Durable: the job and its progress are a row that any replica resumes if this one stops."""
        return await self._backfills.start(tenant_id)

    async def backfill_status(self, tenant_id: str) -> dict[str, Any]:
        return await self._backfills.status(tenant_id)

    # -- keys and links --------------------------------------------------------------------------

    async def clear_key(self, tenant_id: str, kind: str, partner_id: str) -> PartnerRow:
        async with self._sessions.begin() as session:
            await self._repo.lock(session, tenant_id, kind, partner_id)
            row = await self._repo.get(session, tenant_id, kind, partner_id)
            if row is None:
                raise NotFound(f"no {kind} {partner_id}")
            cleared = replace(
                row,
                sync_key=None,
                sync_token=None,
                synced_version=None,
                qbo_name=None,
                key_generation=row.key_generation + 1,
                status="pending",
                reason=None,
                message="sync key cleared by an operator",
                updated_at=None,
            )
            await self._repo.save(session, cleared)
            await self._history(session, row, "unlinked", row.sync_key, None)
            return cleared

    async def set_key(self, tenant_id: str, kind: str, partner_id: str, qbo_id: str) -> PartnerRow:
        """Link to an existing QBO record after checking it exists and is not linked elsewhere;
        a resync then brings the record up to date with upstream."""
        record = await self._qbo.get(tenant_id, kind, qbo_id)
        if record is None:
            raise NotFound(f"QBO has no {kind} record {qbo_id}")
        async with self._sessions.begin() as session:
            await self._repo.lock(session, tenant_id, kind, partner_id)
            row = await self._repo.get(session, tenant_id, kind, partner_id)
            if row is None:
                raise NotFound(f"no {kind} {partner_id}")
            holder = await self._repo.holder_of_key(session, tenant_id, kinds_sharing(kind), qbo_id)
            if holder is not None and (holder.kind, holder.partner_id) != (kind, partner_id):
                raise Conflict(
                    f"QBO record {qbo_id} is linked to {holder.kind} {holder.partner_id}"
                )
            linked = replace(
                row,
                sync_key=qbo_id,
                sync_token=record.SyncToken,
                synced_version=None,
                qbo_name=record.DisplayName,
                currency=record.CurrencyRef.value if record.CurrencyRef else row.currency,
                status="pending",
                reason=None,
                message="linked by an operator; resync queued",
                updated_at=None,
            )
            await self._repo.save(session, linked)
            await self._history(session, row, "linked", qbo_id, record.SyncToken)
            if row.snapshot is not None:
                await self._handlers.request_sync(
                    session, tenant_id, kind, partner_id, "operator-resync"
                )
            return linked

    async def _history(
        self,
        session: AsyncSession,
        row: PartnerRow,
        action: str,
        qbo_id: str | None,
        sync_token: str | None,
    ) -> None:
        await self._repo.add_history(
            session,
            HistoryEntry(
                tenant_id=row.tenant_id,
                kind=row.kind,
                partner_id=row.partner_id,
                operation_id=_operation(),
                action=action,
                status="pending",
                version=row.version,
                qbo_id=qbo_id,
                sync_token=sync_token,
                message=f"operator {action}",
            ),
        )

    # -- automatch -------------------------------------------------------------------------------

    async def automatch(self, tenant_id: str, kind: str) -> dict[str, Any]:
        """Propose links for unlinked partners into the review queue; when the tenant allows it
        (`automatch_auto_apply`), apply the ones at or above its threshold without review."""
        records = await self.unlinked_records(tenant_id, kind)
        async with self._sessions() as session:
            rows = await self._repo.page(session, tenant_id, kind=kind, limit=100_000)
        upstream = [
            _party_of_snapshot(PartnerSnapshot.model_validate(r.snapshot))
            for r in rows
            if r.sync_key is None and r.snapshot is not None
        ]
        matches = propose(upstream, [_party_of_record(r) for r in records])
        settings = await self._settings.get(tenant_id)
        threshold = settings.automatch_threshold
        applied: list[Match] = []
        proposals = self._repo.t.proposals
        async with self._sessions.begin() as session:
            for m in matches:
                await session.execute(
                    insert(proposals)
                    .values(
                        tenant_id=tenant_id,
                        kind=kind,
                        partner_id=m.partner,
                        qbo_id=m.qbo_id,
                        qbo_name=m.qbo_name,
                        score=m.score,
                        evidence=m.evidence,
                        state="proposed",
                    )
                    .on_conflict_do_update(
                        constraint="uq_proposal",
                        set_={"score": m.score, "evidence": m.evidence},
                        where=proposals.c.state == "proposed",
                    )
                )
        for m in matches:
            if settings.automatch_auto_apply and m.score >= threshold:
                try:
                    await self.set_key(tenant_id, kind, m.partner, m.qbo_id)
                except (Conflict, NotFound):
                    continue
                await self._decide(tenant_id, kind, m.partner, m.qbo_id, "auto-applied")
                applied.append(m)
        return {
            "proposed": len(matches),
            "auto_applied": len(applied),
            "threshold": threshold,
            "auto_apply": settings.automatch_auto_apply,
        }

    async def proposals(self, tenant_id: str, state: str | None) -> list[dict[str, Any]]:
        p = self._repo.t.proposals
        stmt = select(p).where(p.c.tenant_id == tenant_id)
        if state is not None:
            stmt = stmt.where(p.c.state == state)
        async with self._sessions() as session:
            rows = (await session.execute(stmt.order_by(p.c.score.desc()))).mappings().all()
        return [dict(r) for r in rows]

    async def decide(self, tenant_id: str, proposal_id: int, accept: bool) -> dict[str, Any]:
        p = self._repo.t.proposals
        async with self._sessions() as session:
            row = (
                (
                    await session.execute(
                        select(p).where(p.c.tenant_id == tenant_id, p.c.id == proposal_id)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no proposal {proposal_id}")
        if accept:
            await self.set_key(tenant_id, row["kind"], row["partner_id"], row["qbo_id"])
        state = "accepted" if accept else "rejected"
        await self._decide(tenant_id, row["kind"], row["partner_id"], row["qbo_id"], state)
        return {**dict(row), "state": state}

    async def _decide(
        self, tenant_id: str, kind: str, partner_id: str, qbo_id: str, state: str
    ) -> None:
        p = self._repo.t.proposals
        async with self._sessions.begin() as session:
            await session.execute(
                update(p)
                .where(
                    p.c.tenant_id == tenant_id,
                    p.c.kind == kind,
                    p.c.partner_id == partner_id,
                    p.c.qbo_id == qbo_id,
                )
                .values(state=state, decided_at=func.now())
            )
