"""partner-sync's use of QuickBooks: Customer/Vendor reads and writes plus a warm name index.

QBO calls are the scarce resource (500/min per company). Each tenant's DisplayNames are loaded
once per process (inactive records included, customers and vendors) when the tenant connects or
on first use, then kept fresh from our own writes and from Intuit's change notifications, so a
brand-new partner costs a single create call instead of a query plus a create. The index may
still miss a name (a notification not yet arrived): the create is then refused with 6240
(duplicate name) and `find_by_name` settles it, so a stale index costs calls, never a wrong record.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from partner_sync.adapters.qbo_records import PartnerRecord, entity_for
from qbo_client import QBOClient, TenantSession
from qbo_client.errors import ObjectNotFoundError, QBOError
from qbo_client.limiter import Priority
from qbo_client.models import Customer, Vendor
from qbo_client.query import Query

log = logging.getLogger(__name__)
ENTITIES: dict[str, type[PartnerRecord]] = {"Customer": Customer, "Vendor": Vendor}


@dataclass(frozen=True)
class NameEntry:
    entity: str  # "Customer" or "Vendor"
    qbo_id: str
    active: bool
    parent_id: str | None = None
    updated: datetime | None = None  # QBO's LastUpdatedTime of the version we know


def name_key(display_name: str) -> str:
    # QBO compares DisplayNames without regard to case.
    return display_name.strip().lower()


class TenantNames:
    """One tenant's DisplayName → record index."""

    def __init__(self) -> None:
        self.by_name: dict[str, NameEntry] = {}
        self.name_of: dict[tuple[str, str], str] = {}

    def remember(self, record: PartnerRecord) -> None:
        if record.Id is None or record.DisplayName is None:
            return
        entity = record.ENTITY
        old = self.name_of.get((entity, record.Id))
        if old is not None and self.by_name.get(old, NameEntry("", "", True)).qbo_id == record.Id:
            self.by_name.pop(old, None)
        key = name_key(record.DisplayName)
        parent = (
            record.ParentRef.value if isinstance(record, Customer) and record.ParentRef else None
        )
        updated = record.MetaData.LastUpdatedTime if record.MetaData else None
        self.by_name[key] = NameEntry(
            entity, record.Id, record.Active is not False, parent, updated
        )
        self.name_of[(entity, record.Id)] = key

    def entry(self, entity: str, qbo_id: str) -> NameEntry | None:
        key = self.name_of.get((entity, qbo_id))
        hit = self.by_name.get(key) if key is not None else None
        return hit if hit is not None and hit.qbo_id == qbo_id else None

    def lookup(self, display_name: str) -> NameEntry | None:
        return self.by_name.get(name_key(display_name))

    def drop(self, entity: str, qbo_id: str) -> None:
        """Forget a record someone else changed: its name may be different now. A lookup then
        misses, and a create settles it through QBO's duplicate-name refusal."""
        key = self.name_of.pop((entity, qbo_id), None)
        if key is not None and self.by_name.get(key, NameEntry("", "", True)).qbo_id == qbo_id:
            self.by_name.pop(key, None)


class QboDirectory:
    def __init__(self, client: QBOClient, *, interactive_max_wait: float | None = None) -> None:
        """`interactive_max_wait`: how long event handling waits for the realm's QBO budget
        before giving up (LimiterTimeout) and deferring the partner; None = the client's."""
        self._client = client
        self._interactive_max_wait = interactive_max_wait
        self._names: dict[str, TenantNames] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self.index_loads = 0

    def session(self, tenant_id: str, *, background: bool = False) -> TenantSession:
        if background:
            return self._client.for_tenant(tenant_id, priority=Priority.BACKGROUND)
        return self._client.for_tenant(
            tenant_id, priority=Priority.INTERACTIVE, max_wait=self._interactive_max_wait
        )

    async def names(self, tenant_id: str) -> TenantNames:
        """The tenant's index, loaded on first use (once, even with concurrent callers)."""
        index = self._names.get(tenant_id)
        if index is not None:
            return index
        lock = self._loading.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            index = self._names.get(tenant_id)
            if index is None:
                index = TenantNames()
                session = self.session(tenant_id, background=True)
                async for customer in session.iterate(Query(Customer).with_inactive()):
                    index.remember(customer)
                async for vendor in session.iterate(Query(Vendor).with_inactive()):
                    index.remember(vendor)
                self._names[tenant_id] = index
                self.index_loads += 1
        return index

    def forget_tenant(self, tenant_id: str) -> None:
        """Reload from QBO on next use (e.g. after the tenant reconnected another company)."""
        self._names.pop(tenant_id, None)

    def is_loaded(self, tenant_id: str) -> bool:
        return tenant_id in self._names

    async def changed_in_qbo(
        self, tenant_id: str, entity: str, qbo_id: str, operation: str, last_updated: datetime
    ) -> None:
        """Apply one change Intuit notified: a created or updated record is read (one call) and
        indexed under its current name, unless it is the version our own write already put there;
        a deleted or merged one is forgotten. No index loaded: the next load reads QBO afresh."""
        index = self._names.get(tenant_id)
        if index is None or entity not in ENTITIES:
            return
        if operation not in ("Create", "Update"):
            index.drop(entity, qbo_id)
            return
        known = index.entry(entity, qbo_id)
        if known is not None and known.updated is not None and known.updated >= last_updated:
            return
        try:
            record = await self.session(tenant_id, background=True).get(ENTITIES[entity], qbo_id)
        except ObjectNotFoundError:
            index.drop(entity, qbo_id)
            return
        except QBOError as exc:
            # Forgetting the entry is always safe: a miss costs a 6240 and a lookup later.
            log.warning("could not read %s %s for the name index: %s", entity, qbo_id, exc)
            index.drop(entity, qbo_id)
            return
        index.remember(record)

    async def remember(self, tenant_id: str, record: PartnerRecord) -> None:
        index = self._names.get(tenant_id)
        if index is not None:
            index.remember(record)

    async def get(self, tenant_id: str, kind: str, qbo_id: str) -> PartnerRecord | None:
        """The record, or None when QBO says it does not exist (610)."""
        try:
            return await self.session(tenant_id).get(entity_for(kind), qbo_id)
        except ObjectNotFoundError:
            return None

    async def find_by_name(self, tenant_id: str, display_name: str) -> list[PartnerRecord]:
        """Customers and vendors with this DisplayName, inactive ones included (2 queries)."""
        session = self.session(tenant_id)
        customers = await session.query(
            Query(Customer).where("DisplayName", "=", display_name).with_inactive()
        )
        vendors = await session.query(
            Query(Vendor).where("DisplayName", "=", display_name).with_inactive()
        )
        found: list[PartnerRecord] = [*customers, *vendors]
        index = self._names.get(tenant_id)
        if index is not None:
            for record in found:
                index.remember(record)
        return found

    async def create(self, tenant_id: str, record: PartnerRecord, request_id: str) -> PartnerRecord:
        created = await self.session(tenant_id).create(record, request_id=request_id)
        await self.remember(tenant_id, created)
        return created

    async def update(
        self, tenant_id: str, record: PartnerRecord, request_id: str, *, sparse: bool = True
    ) -> PartnerRecord:
        updated = await self.session(tenant_id).update(record, request_id=request_id, sparse=sparse)
        await self.remember(tenant_id, updated)
        return updated

    async def all_records(self, tenant_id: str, kind: str) -> list[PartnerRecord]:
        """Every record of the kind's entity, inactive included (operator listings, automatch)."""
        session = self.session(tenant_id, background=True)
        rows: list[Any] = [
            r async for r in session.iterate(Query(entity_for(kind)).with_inactive())
        ]
        return rows
