"""Event handlers: learn documents, tenant connection states, settings and webhook triggers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from payment_poller.adapters.repository import Repository
from payment_poller.domain.model import Doc
from qbsync_common.contract import events
from qbsync_common.messaging.batch import Batched, Event
from qbsync_common.messaging.consumer import Delivery, Handler
from qbsync_common.tenant_settings import TenantSettingsSource

log = logging.getLogger(__name__)

# Webhook entities that can change a payment's effect on our documents.
PAYMENT_ENTITIES = frozenset({"Payment", "BillPayment", "Invoice", "Bill", "CreditMemo"})


@dataclass
class Handlers:
    repo: Repository
    tenant_settings: TenantSettingsSource
    default_interval_s: int
    debounce: timedelta
    wake: asyncio.Event
    unknown_tenant_webhooks: Counter

    def mapping(self) -> dict[str, Handler | Batched]:
        return {
            events.DocumentSynced.event_type: Batched(self.documents_synced),
            events.DocumentMarkedPaid.event_type: Batched(self.documents_marked_paid),
            events.TenantConnected.event_type: self.tenant_connected,
            events.TenantConnectionRecovered.event_type: self.tenant_recovered,
            events.TenantReauthorizationRequired.event_type: self.tenant_needs_reauthorization,
            events.TenantDisconnected.event_type: self.tenant_disconnected,
            events.TenantSettingsChanged.event_type: self.settings_changed,
            events.QboEntitiesChanged.event_type: self.entities_changed,
        }

    async def documents_synced(self, batch: Sequence[Event], s: AsyncSession) -> None:
        """Learn synced documents: state only, so a burst shares one transaction (Batched)."""
        for event in batch:
            data = event.data
            assert isinstance(data, events.DocumentSynced)
            tenant = event.envelope.tenantid
            doc = Doc(
                data.document_kind,
                data.document_id,
                data.sync_key,
                data.doc_number,
                data.total,
                data.balance,
                data.currency,
            )
            # A tenant first seen through a document is watched from that document's sync on;
            # its realm and settings are fetched by its first poll (Poller._learn), as this
            # handler must not wait on the gateway inside its batch transaction.
            await self.repo.schedule.ensure_tenant(
                s, tenant, interval_s=self.default_interval_s, cursor=event.envelope.time
            )
            if await self.repo.ledger.upsert_document(s, tenant, doc, data.version):
                # The tenant's cursor may be past a payment made on this document before its
                # event reached us; the dedupe table makes re-reading that window harmless.
                await self.repo.schedule.rewind_cursor(s, tenant, event.envelope.time)

    async def documents_marked_paid(self, batch: Sequence[Event], s: AsyncSession) -> None:
        """Learn invoice-sync's operator marks: payments on those documents are not reported
        from now on (see Poller._publish). State only, like documents_synced."""
        for event in batch:
            data = event.data
            assert isinstance(data, events.DocumentMarkedPaid)
            await self.repo.ledger.mark_paid(
                s,
                event.envelope.tenantid,
                data.document_kind,
                data.document_id,
                sync_key=data.sync_key,
                marked_at=data.marked_at,
                operation_id=data.operation_id,
            )

    async def tenant_connected(self, delivery: Delivery) -> None:
        data = delivery.data
        assert isinstance(data, events.TenantConnected)
        await self._connected(delivery, data.realm_id, data.connected_at, "connected")

    async def tenant_recovered(self, delivery: Delivery) -> None:
        data = delivery.data
        assert isinstance(data, events.TenantConnectionRecovered)
        # The cursor stayed where the tenant stopped: the next poll catches up from there.
        await self._connected(delivery, None, data.recovered_at, "catch-up")

    async def _connected(
        self, delivery: Delivery, realm_id: str | None, at: datetime, trigger: str
    ) -> None:
        tenant = delivery.envelope.tenantid
        # Asked before the transaction: an unreachable gateway means a retry, not a held lock.
        interval = (await self.tenant_settings.get(tenant)).payment_poll_interval_seconds
        async with delivery.transaction() as s:
            await self.repo.schedule.ensure_tenant(s, tenant, interval_s=interval, cursor=at)
            await self.repo.schedule.set_state(
                s, tenant, "connected", realm_id=realm_id, poll_now=trigger
            )
        self.wake.set()

    async def tenant_needs_reauthorization(self, delivery: Delivery) -> None:
        async with delivery.transaction() as s:
            await self.repo.schedule.set_state(
                s, delivery.envelope.tenantid, "needs_reauthorization"
            )

    async def tenant_disconnected(self, delivery: Delivery) -> None:
        async with delivery.transaction() as s:
            await self.repo.schedule.set_state(s, delivery.envelope.tenantid, "disconnected")

    async def settings_changed(self, delivery: Delivery) -> None:
        data = delivery.data
        assert isinstance(data, events.TenantSettingsChanged)
        raw = data.settings.get("payment_poll_interval_seconds", self.default_interval_s)
        interval = int(raw) if isinstance(raw, int | str) else self.default_interval_s
        tenant = delivery.envelope.tenantid
        self.tenant_settings.apply_change(tenant, data.version, data.settings)
        async with delivery.transaction() as s:
            await self.repo.schedule.ensure_tenant(s, tenant, interval_s=interval, cursor=None)
            await self.repo.schedule.apply_settings(s, tenant, data.version, max(1, interval))

    async def entities_changed(self, delivery: Delivery) -> None:
        data = delivery.data
        assert isinstance(data, events.QboEntitiesChanged)
        if not any(e.name in PAYMENT_ENTITIES for e in data.entities):
            return
        tenant = delivery.envelope.tenantid
        at = datetime.now(UTC) + self.debounce
        async with delivery.transaction() as s:
            await self.repo.schedule.request_poll(s, tenant, at, "webhook")
            if not await self.repo.schedule.knows(s, tenant):
                # The gateway only forwards webhooks of connected realms, so the tenant is
                # connected and we missed its connection event: watch it from this change on
                # (its first poll fetches its settings, see Poller._learn).
                since = min(e.last_updated for e in data.entities)
                await self.repo.schedule.ensure_tenant(
                    s,
                    tenant,
                    interval_s=self.default_interval_s,
                    cursor=since,
                    realm_id=None,
                    next_poll_at=at,
                    trigger="webhook",
                )
                log.warning(
                    "webhook for tenant %s (realm %s) the poller did not know: now scheduled",
                    tenant,
                    data.realm_id,
                )
                self.unknown_tenant_webhooks.inc()
        self.wake.set()
