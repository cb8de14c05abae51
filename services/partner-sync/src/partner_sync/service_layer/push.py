"""Bringing one partner's QBO record up to date: update by key, else adopt by name, else create.

Runs inside the caller's transaction, which holds the partner's lock, so two events for one
partner never push at the same time. Every write carries a deterministic requestid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from partner_sync.adapters.call_trace import CallTrace
from partner_sync.adapters.qbo_directory import QboDirectory
from partner_sync.adapters.qbo_records import (
    PartnerRecord,
    differs,
    entity_for,
    needs_clearing,
    record_for_create,
    record_for_full_update,
    record_for_update,
)
from partner_sync.adapters.repository import PartnerRepository, PartnerRow
from partner_sync.domain.names import (
    MAX_DISPLAY_NAME,
    DisambiguationRule,
    PartnerKind,
    disambiguate,
)
from partner_sync.domain.request_ids import create_id, update_id
from qbo_client.errors import DuplicateNameError, ObjectNotFoundError, StaleObjectError
from qbsync_common.messaging.errors import TransientError

log = logging.getLogger(__name__)

# QBO Customers hold clients and projects: a Customer id is linked to at most one of them.
CUSTOMER_KINDS = ("client", "project")


def kinds_sharing(kind: str) -> tuple[str, ...]:
    return ("vendor",) if kind == "vendor" else CUSTOMER_KINDS


@dataclass
class Pushed:
    """What happened in QBO; `conflict` set means the name could not be placed (no write)."""

    action: str = "unchanged"  # created | adopted | updated | deactivated | unchanged
    record: PartnerRecord | None = None
    request_id: str | None = None
    key_generation: int = 0
    adopted: bool = False
    dropped_key: str | None = None
    conflict: str | None = None
    currency_mismatch: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """One partner as QBO should hold it."""

    tenant_id: str
    kind: str  # client | vendor | project
    partner_id: str
    version: int
    display_name: str
    fields: dict[str, Any]
    currency: str | None
    active: bool
    rule: DisambiguationRule
    parent_key: str | None = None  # projects: the client's QBO id
    parent_name: str | None = None
    # Fields upstream emptied since the snapshot we last held: QBO may still hold our old value,
    # so the update reads QBO's copy first (only then) to clear them with a full update.
    clears: frozenset[str] = frozenset()


class Pusher:
    def __init__(self, directory: QboDirectory, repository: PartnerRepository) -> None:
        self._qbo = directory
        self._repo = repository

    @property
    def directory(self) -> QboDirectory:
        return self._qbo

    async def push(
        self,
        session: AsyncSession,
        target: Target,
        stored: PartnerRow | None,
        *,
        force: bool,
        trace: CallTrace,
    ) -> Pushed:
        out = Pushed(key_generation=stored.key_generation if stored else 0)
        key = stored.sync_key if stored else None
        if key is not None and stored is not None:
            record = await self._update_by_key(target, stored, key, force=force, out=out)
            if record is not None:
                out.record = record
                return out
            # The record is gone from QBO: drop the key and match by name or create.
            out.dropped_key = key
            out.key_generation += 1
            if not target.active:
                return out  # nothing to deactivate any more; inactive partners are not created
        name = self._name_for(target, stored)
        await self._place(session, target, name, out)
        return out

    # -- known key -----------------------------------------------------------------------------

    async def _update_by_key(
        self, target: Target, stored: PartnerRow, key: str, *, force: bool, out: Pushed
    ) -> PartnerRecord | None:
        fields = self._with_name(target, self._name_for(target, stored))
        token = stored.sync_token
        current: PartnerRecord | None = None
        if token is None or force or target.clears:
            # Forced (operator resync, reconnect), no token, or a field to clear: read QBO's
            # copy first, and skip the write when it already matches.
            current = await self._qbo.get(target.tenant_id, target.kind, key)
            if current is None:
                return None
            if not differs(current, fields):
                out.action = "unchanged"
                return current
            token = current.SyncToken or "0"
        try:
            return await self._write_update(target, key, token, fields, out, current)
        except StaleObjectError:
            # Someone edited the record in QBO since our last write: re-read and overwrite.
            current = await self._qbo.get(target.tenant_id, target.kind, key)
            if current is None:
                return None
            return await self._write_update(
                target, key, current.SyncToken or "0", fields, out, current
            )
        except ObjectNotFoundError:
            # 610 also means "a referenced object is inactive"; only a failed read means gone.
            if await self._qbo.get(target.tenant_id, target.kind, key) is None:
                return None
            raise

    async def _write_update(
        self,
        target: Target,
        key: str,
        token: str,
        fields: dict[str, Any],
        out: Pushed,
        current: PartnerRecord | None = None,
    ) -> PartnerRecord:
        """A sparse update, or a full one from `current` when it holds a field to clear."""
        rid = update_id(
            target.tenant_id, target.kind, target.partner_id, target.version, key, token
        )
        if current is not None and needs_clearing(current, fields):
            record = record_for_full_update(current, fields)
            record.SyncToken = token
            out.request_id = rid
            updated = await self._qbo.update(target.tenant_id, record, rid, sparse=False)
        else:
            record = record_for_update(target.kind, key, token, fields)
            out.request_id = rid
            updated = await self._qbo.update(target.tenant_id, record, rid)
        out.action = "updated" if target.active else "deactivated"
        return updated

    # -- no key: adopt or create ---------------------------------------------------------------

    async def _place(self, session: AsyncSession, target: Target, name: str, out: Pushed) -> None:
        names = await self._qbo.names(target.tenant_id)
        entity = entity_for(target.kind).ENTITY
        tried: set[str] = set()
        for _ in range(3):
            tried.add(name.lower())
            hit = names.lookup(name)
            if hit is not None:
                if hit.entity == entity and self._same_parent(target, hit.parent_id):
                    if await self._adoptable(session, target, hit.qbo_id):
                        if await self._adopt(target, hit.qbo_id, name, out):
                            return
                        # The index was stale (record gone): fall through to create.
                    else:
                        out.conflict = (
                            f"QBO {entity} {hit.qbo_id} named {name!r} is already linked to "
                            "another upstream partner"
                        )
                        return
                else:
                    alternative = await self._alternative(session, target, name, hit.entity)
                    # The same name back means the other kind's record was renamed to free it.
                    repeated = alternative != name and alternative is not None
                    if alternative is None or (repeated and alternative.lower() in tried):
                        out.conflict = self._conflict_message(name, hit.entity)
                        return
                    name = alternative
                    continue
            created = await self._create(session, target, name, out)
            if created is not None:
                return
            if out.conflict is not None:
                return
            # QBO refused the name (6240) and the holder's details are now in the index: retry.
        out.conflict = out.conflict or f"no free QuickBooks name found for {target.display_name!r}"

    async def _create(
        self, session: AsyncSession, target: Target, name: str, out: Pushed
    ) -> PartnerRecord | None:
        rid = create_id(target.tenant_id, target.kind, target.partner_id, out.key_generation, name)
        record = record_for_create(target.kind, self._with_name(target, name), target.currency)
        try:
            created = await self._qbo.create(target.tenant_id, record, rid)
        except DuplicateNameError:
            # Somebody (a person in QBO, or another replica) holds the name; the lookup puts the
            # holder into the index, and the caller's loop adopts it or picks another name.
            found = await self._qbo.find_by_name(target.tenant_id, name)
            if not found:
                # Nobody we can see holds the name. The refusal may be a replay (QBO answers a
                # repeated requestid with its first answer) from when the name was still taken:
                # try once more under a requestid of its own before blaming an Employee.
                retry = await self._create_retry(target, name, out)
                if retry is not None:
                    return retry
                # An Employee (we do not index them) or a deleted name: nothing to adopt.
                alternative = await self._alternative(session, target, name, "Employee")
                if alternative is None:
                    out.conflict = self._conflict_message(name, "Employee")
                    return None
                # QBO replays a refusal for a repeated requestid: when the name is the same one
                # (freed by renaming our partner of the other kind), the retry needs its own id.
                retry_of = alternative if alternative != name else f"{name}|after-rename"
                rid = create_id(
                    target.tenant_id,
                    target.kind,
                    target.partner_id,
                    out.key_generation,
                    retry_of,
                )
                record = record_for_create(
                    target.kind, self._with_name(target, alternative), target.currency
                )
                created = await self._qbo.create(target.tenant_id, record, rid)
            else:
                return None
        out.record = created
        out.request_id = rid
        out.action = "created"
        return created

    async def _create_retry(self, target: Target, name: str, out: Pushed) -> PartnerRecord | None:
        rid = create_id(
            target.tenant_id,
            target.kind,
            target.partner_id,
            out.key_generation,
            f"{name}|after-refusal",
        )
        record = record_for_create(target.kind, self._with_name(target, name), target.currency)
        try:
            created = await self._qbo.create(target.tenant_id, record, rid)
        except DuplicateNameError:
            return None
        out.record = created
        out.request_id = rid
        out.action = "created"
        return created

    async def _adopt(self, target: Target, qbo_id: str, name: str, out: Pushed) -> bool:
        current = await self._qbo.get(target.tenant_id, target.kind, qbo_id)
        if current is None:
            return False
        out.adopted = True
        out.action = "adopted"
        have = current.CurrencyRef.value if current.CurrencyRef else None
        if target.currency and have and have != target.currency:
            out.currency_mismatch = have
        fields = self._with_name(target, name)
        if differs(current, fields):
            token = current.SyncToken or "0"
            out.record = await self._write_update(target, qbo_id, token, fields, out, current)
            out.action = "adopted"
        else:
            out.record = current
        return True

    async def _adoptable(self, session: AsyncSession, target: Target, qbo_id: str) -> bool:
        holder = await self._repo.holder_of_key(
            session, target.tenant_id, kinds_sharing(target.kind), qbo_id
        )
        return holder is None or (
            holder.kind == target.kind and holder.partner_id == target.partner_id
        )

    def _same_parent(self, target: Target, parent_id: str | None) -> bool:
        return parent_id == target.parent_key

    async def _alternative(
        self, session: AsyncSession, target: Target, name: str, holder_entity: str
    ) -> str | None:
        """Another name for a partner whose name is held by a record of another kind."""
        if target.kind == "project":
            # Projects are named after their client when the bare name is taken.
            base = f"{target.parent_name} - {name}" if target.parent_name else None
            return base[:MAX_DISPLAY_NAME].rstrip() if base else None
        kind: PartnerKind = "vendor" if target.kind == "vendor" else "client"
        renamed = disambiguate(name, kind, target.rule)
        if renamed != name:
            return renamed
        # Our own suffix is empty (e.g. the rule suffixes vendors only): free the name by giving
        # our linked partner of the other kind its suffix, then take the bare name.
        other: PartnerKind = "vendor" if kind == "client" else "client"
        holder_is_other = holder_entity == ("Vendor" if other == "vendor" else "Customer")
        if holder_is_other and await self._rename_other(session, target, name, other):
            return name
        return None

    async def _rename_other(
        self, session: AsyncSession, target: Target, name: str, other: PartnerKind
    ) -> bool:
        names = await self._qbo.names(target.tenant_id)
        hit = names.lookup(name)
        if hit is None:
            return False
        holder = await self._repo.holder_of_key(session, target.tenant_id, (other,), hit.qbo_id)
        renamed = disambiguate(name, other, target.rule)
        if holder is None or renamed == name:
            return False
        # Lock the other partner too, without waiting: two partners renaming each other at once
        # would deadlock, so one of them retries later instead.
        got = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"partner-sync|{target.tenant_id}|{other}|{holder.partner_id}"},
        )
        if not got.scalar():
            raise TransientError(f"{other} {holder.partner_id} is busy; renaming it later")
        current = await self._qbo.get(target.tenant_id, other, hit.qbo_id)
        if current is None:
            return False
        rid = update_id(
            target.tenant_id,
            other,
            holder.partner_id,
            holder.version,
            hit.qbo_id,
            current.SyncToken or "0",
        )
        record = record_for_update(
            other, hit.qbo_id, current.SyncToken or "0", {"DisplayName": renamed}
        )
        updated = await self._qbo.update(target.tenant_id, record, rid)
        await self._repo.save(
            session,
            PartnerRow(
                **{
                    **holder.__dict__,
                    "qbo_name": renamed,
                    "sync_token": updated.SyncToken,
                    "updated_at": None,
                }
            ),
        )
        log.info(
            "renamed %s %s to %r to free its name for %s %s",
            other,
            holder.partner_id,
            renamed,
            target.kind,
            target.partner_id,
        )
        return True

    def _conflict_message(self, name: str, holder_entity: str) -> str:
        return (
            f"the QuickBooks name {name!r} is held by a {holder_entity} that cannot be adopted, "
            "and the tenant's disambiguation rule gives no other name"
        )

    # -- names ---------------------------------------------------------------------------------

    def _name_for(self, target: Target, stored: PartnerRow | None) -> str:
        """Keep a disambiguated name once given, so each update does not hit 6240 again."""
        if stored is not None and stored.qbo_name:
            if stored.qbo_name == target.display_name:
                return stored.qbo_name
            if target.kind in ("client", "vendor"):
                kind: PartnerKind = "vendor" if target.kind == "vendor" else "client"
                if stored.qbo_name == disambiguate(target.display_name, kind, target.rule):
                    return stored.qbo_name
            if target.parent_name and stored.qbo_name == (
                f"{target.parent_name} - {target.display_name}"[:MAX_DISPLAY_NAME].rstrip()
            ):
                return stored.qbo_name
        return target.display_name

    def _with_name(self, target: Target, name: str) -> dict[str, Any]:
        return {**target.fields, "DisplayName": name}
