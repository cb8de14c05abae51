"""Consumer handlers: translate a delivery, delegate, and commit in the delivery's transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from invoice_sync.domain.document import from_credit_memo, from_invoice
from invoice_sync.service_layer import partners
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.documents import process_document
from invoice_sync.service_layer.payments import record_payment
from invoice_sync.service_layer.reconnect import retry_after_reconnect
from invoice_sync.service_layer.recreate import forget_vanished
from invoice_sync.service_layer.rekey import store_new_key
from invoice_sync.service_layer.snapshots import document_of, origin_of
from qbsync_common.contract import events
from qbsync_common.messaging.consumer import Delivery, Handler


def handlers(ctx: Context, *, concurrency: int = 8) -> dict[str, Handler]:
    """Event type → handler. `concurrency` bounds documents in flight per process: each holds a
    database connection for its lock while QBO answers, and the pool must not run dry."""
    slots = asyncio.Semaphore(concurrency)

    def bounded(fn: Callable[[Delivery], Awaitable[None]]) -> Handler:
        async def run(delivery: Delivery) -> None:
            async with slots:
                await fn(delivery)

        return run

    async def on_invoice(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.InvoiceStatusChanged)
        async with delivery.transaction() as session:
            await process_document(
                ctx,
                session,
                delivery.envelope.tenantid,
                from_invoice(event),
                origin_of(delivery.envelope.id, event),
            )

    async def on_credit_memo(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.CreditMemoIssued)
        async with delivery.transaction() as session:
            await process_document(
                ctx,
                session,
                delivery.envelope.tenantid,
                from_credit_memo(event),
                origin_of(delivery.envelope.id, event),
            )

    async def on_payment(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.PaymentRecordedUpstream)
        async with delivery.transaction() as session:
            await record_payment(ctx, session, delivery.envelope.tenantid, event)

    async def on_partner_synced(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.PartnerSynced)
        tenant = delivery.envelope.tenantid
        await partners.learn_key(
            ctx, tenant, event.kind, event.partner_id, event.sync_key, event.version
        )
        await partners.resume_waiting(ctx, tenant, event.kind, event.partner_id)
        async with delivery.transaction():
            pass  # the inbox row: the answer is handled once

    async def on_partner_not_synced(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.PartnerSyncFailed | events.PartnerSkipped)
        tenant = delivery.envelope.tenantid
        message = f"The {event.kind} {event.partner_id} could not be synced: {event.message}"
        reason = partners.waiting_failure_reason(event)
        await partners.fail_waiting(ctx, tenant, event.kind, event.partner_id, message, reason)
        async with delivery.transaction():
            pass

    async def on_project_synced(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.ProjectSynced)
        await partners.learn_key(
            ctx,
            delivery.envelope.tenantid,
            "project",
            event.project_id,
            event.sync_key,
            event.version,
        )
        async with delivery.transaction():
            pass

    async def on_recreate(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.RecreateDocument)
        tenant = delivery.envelope.tenantid
        origin = await forget_vanished(ctx, tenant, event)
        async with delivery.transaction() as session:
            if origin is not None:
                doc = document_of(origin.event_type, origin.data)
                await process_document(ctx, session, tenant, doc, origin)

    async def on_rekeyed(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.DocumentRekeyed)
        async with delivery.transaction() as session:
            await store_new_key(session, delivery.envelope.tenantid, event, delivery.envelope.id)

    async def on_connected(delivery: Delivery) -> None:
        assert isinstance(delivery.data, events.TenantConnected | events.TenantConnectionRecovered)
        await retry_after_reconnect(ctx, delivery.envelope.tenantid)
        async with delivery.transaction():
            pass

    async def on_settings_changed(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.TenantSettingsChanged)
        ctx.settings.apply_change(delivery.envelope.tenantid, event.version, event.settings)
        async with delivery.transaction():
            pass

    async def on_entities_changed(delivery: Delivery) -> None:
        event = delivery.data
        assert isinstance(event, events.QboEntitiesChanged)
        # Preflight again before the next write when the company's set-up may have changed.
        if any(e.name in ("Preferences", "Account", "CompanyInfo") for e in event.entities):
            ctx.profiles.invalidate(delivery.envelope.tenantid)
        async with delivery.transaction():
            pass

    return {
        events.InvoiceStatusChanged.event_type: bounded(on_invoice),
        events.CreditMemoIssued.event_type: bounded(on_credit_memo),
        events.PaymentRecordedUpstream.event_type: bounded(on_payment),
        events.PartnerSynced.event_type: bounded(on_partner_synced),
        events.PartnerSyncFailed.event_type: on_partner_not_synced,
        events.PartnerSkipped.event_type: on_partner_not_synced,
        events.ProjectSynced.event_type: on_project_synced,
        events.RecreateDocument.event_type: bounded(on_recreate),
        events.DocumentRekeyed.event_type: on_rekeyed,
        events.TenantConnected.event_type: bounded(on_connected),
        events.TenantConnectionRecovered.event_type: bounded(on_connected),
        events.TenantSettingsChanged.event_type: on_settings_changed,
        events.QboEntitiesChanged.event_type: on_entities_changed,
    }
