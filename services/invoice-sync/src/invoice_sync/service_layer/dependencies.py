"""What a document needs before it can go to QBO: its partner's key (or a wait for it), and for a
bill the keys of the client or project it names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.document import Document
from invoice_sync.domain.payloads import QBO_ENTITY
from invoice_sync.domain.policy import SyncPolicy
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import SOURCE, Context
from invoice_sync.service_layer.outcomes import Origin
from qbsync_common.contract.events import SyncPartner


async def wait_for_partner(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    generation: int,
) -> None:
    """Park the document (it does not hold a worker) and ask partner-sync for the partner."""
    await repo.save_document(
        session,
        outcomes.row_of(
            tenant_id,
            doc,
            origin,
            status="waiting_partner",
            reason_code="partner-not-synced",
            message=f"Waiting for {doc.partner_kind} {doc.partner_id} to be synced.",
            generation=generation,
        ),
    )
    await repo.add_waiting(
        session, tenant_id, doc.partner_kind, doc.partner_id, doc.kind, doc.document_id
    )
    await repo.add_history(
        session,
        tenant_id=tenant_id,
        document_kind=doc.kind,
        document_id=doc.document_id,
        event_id=origin.event_id,
        outcome="waiting_partner",
        message=f"asked partner-sync for {doc.partner_kind} {doc.partner_id}",
    )
    command = SyncPartner(
        kind=doc.partner_kind,
        partner_id=doc.partner_id,
        requested_by=SOURCE,
        reason="first-invoice",
        correlation_id=f"{QBO_ENTITY[doc.kind]}:{doc.document_id}",
        partner=doc.partner,
    )
    await outcomes.emit(ctx, session, tenant_id, command, doc.partner_id)


async def referenced_keys(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    policy: SyncPolicy,
    operation: str,
    generation: int,
) -> tuple[bool, str | None]:
    """A bill's client/project key (its billable customer); (False, None) when the bill failed."""
    if doc.kind != "bill":
        return True, None
    billable: str | None = None
    if doc.client_id is not None:
        billable = await repo.partner_key(session, tenant_id, "client", doc.client_id)
        if billable is None:
            await outcomes.failed(
                ctx,
                session,
                tenant_id,
                doc,
                origin,
                "client-not-synced",
                f"Client {doc.client_id} referenced by this vendor invoice has no QuickBooks key.",
                operation=operation,
                generation=generation,
            )
            return False, None
    # Projects only have keys when the tenant syncs them as sub-customers.
    if doc.project_id is not None and policy.projects_as_sub_customers:
        project = await repo.partner_key(session, tenant_id, "project", doc.project_id)
        if project is None:
            await outcomes.failed(
                ctx,
                session,
                tenant_id,
                doc,
                origin,
                "project-not-synced",
                f"Project {doc.project_id} referenced by this vendor invoice has "
                "no QuickBooks key.",
                operation=operation,
                generation=generation,
            )
            return False, None
        billable = project
    return True, billable
