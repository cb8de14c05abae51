"""Putting one document into QBO: rules, dependencies, preflight, then exactly one QBO document."""

from __future__ import annotations

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.amounts import plan_amounts
from invoice_sync.domain.document import Document
from invoice_sync.domain.identity import operation_id, request_id
from invoice_sync.domain.naming import item_name
from invoice_sync.domain.payloads import QBO_ENTITY, References, document_payload
from invoice_sync.domain.policy import SyncPolicy
from invoice_sync.domain.skip_rules import skip_reason
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import SOURCE, Context
from invoice_sync.service_layer.creation import CreateFailed, StaleNames, create_once
from invoice_sync.service_layer.named_refs import InactiveInQbo, ensure_named, forget_names
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.payments import export_waiting_payments
from invoice_sync.service_layer.ports import Books
from invoice_sync.service_layer.synced import record_synced
from invoice_sync.service_layer.tenant_policy import policy_of
from qbo_client import TenantNeedsReauthorization, UnknownTenant
from qbsync_common.contract.events import SyncPartner
from qbsync_common.messaging.errors import TransientError

DONE = frozenset({"synced", "needs_review"})


async def process_document(
    ctx: Context, session: AsyncSession, tenant_id: str, doc: Document, origin: Origin
) -> None:
    """Decide and act for one snapshot; every outcome is written into `session` (the caller's
    final transaction), which holds the document's lock until it commits."""
    await repo.advisory_lock(session, tenant_id, "doc", doc.kind, doc.document_id)
    row = await repo.get_document(session, tenant_id, doc.kind, doc.document_id)
    policy = policy_of(await ctx.settings.get(tenant_id))
    done = row is not None and row["status"] in DONE
    if row is not None and not done and doc.version < row["version"]:
        await outcomes.skipped(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "older-version",
            f"Version {doc.version} is older than version {row['version']} already handled.",
            keep_row=True,
        )
        return
    skip = skip_reason(doc, policy, already_synced=done)
    if skip is not None:
        await outcomes.skipped(
            ctx, session, tenant_id, doc, origin, skip.reason, skip.message, keep_row=done
        )
        return
    generation = int(row["generation"]) if row is not None else 0
    operation = operation_id(tenant_id, doc.kind, doc.document_id, generation)
    partner_key = await repo.partner_key(session, tenant_id, doc.partner_kind, doc.partner_id)
    if partner_key is None:
        await _wait_for_partner(ctx, session, tenant_id, doc, origin, generation)
        return
    ok, billable = await _referenced_keys(
        ctx, session, tenant_id, doc, origin, policy, operation, generation
    )
    if not ok:
        return
    try:
        await _create(
            ctx, session, tenant_id, doc, origin, row, policy, partner_key, billable, generation
        )
    except TenantNeedsReauthorization as exc:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "needs-reauthorization",
            f"The tenant must reconnect QuickBooks ({exc.message}).",
            operation=operation,
            generation=generation,
        )
    except UnknownTenant:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "tenant-not-connected",
            "The tenant has no QuickBooks connection.",
            operation=operation,
            generation=generation,
        )


async def _create(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    row: RowMapping | None,
    policy: SyncPolicy,
    partner_key: str,
    billable: str | None,
    generation: int,
) -> None:
    operation = operation_id(tenant_id, doc.kind, doc.document_id, generation)
    books = ctx.books.for_tenant(tenant_id)
    profile = await ctx.profiles.get(tenant_id, books, policy)
    if not profile.ready:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "company-not-ready",
            " ".join(profile.problems),
            operation=operation,
            generation=generation,
        )
        return
    plan = plan_amounts(
        doc.lines,
        doc.net_total,
        currency=doc.currency,
        exchange_rate=doc.exchange_rate,
        company=profile.currency,
    )
    try:
        items = {
            name: await ensure_named(
                ctx,
                tenant_id,
                books,
                "Item",
                name,
                lambda n=name: books.create_item(  # type: ignore[misc]
                    n,
                    income_account_id=profile.income_account_id,
                    expense_account_id=profile.expense_account_id,
                    request_id=request_id(f"{tenant_id}/Item/{n}", "create"),
                ),
            )
            for name in {item_name(line.name, policy) for line in plan.lines}
        }
        term_id = await _term(ctx, tenant_id, books, doc)
    except InactiveInQbo as exc:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "company-not-ready",
            str(exc),
            operation=operation,
            generation=generation,
        )
        return
    refs = References(
        partner_key, items, term_id, billable if policy.bill_lines_billable_to_client else None
    )
    body = document_payload(
        doc, plan, refs, policy, operation=operation, multicurrency=profile.currency.multicurrency
    )
    rid = request_id(operation, "create")
    uncertain = row is not None and row["status"] == "creating" and row["operation_id"] == operation
    # The intent is committed before QBO is called: after a crash the row says which operation
    # may have reached QBO, and with which requestid (RELIABILITY §2.3 pitfall 6).
    async with ctx.sessions() as intent, intent.begin():
        await repo.save_document(
            intent,
            outcomes.row_of(
                tenant_id,
                doc,
                origin,
                status="creating",
                reason_code=None,
                message=None,
                generation=generation,
                operation_id=operation,
                request_id=rid,
                expected_total=plan.total,
                currency=plan.currency,
            ),
        )
    try:
        created = await create_once(
            books,
            doc,
            body,
            partner_key,
            operation,
            rid,
            look_first=uncertain or doc.kind == "bill",
        )
    except StaleNames as exc:
        await forget_names(ctx, tenant_id)
        raise TransientError(
            f"QBO refused a cached reference ({exc}); looking it up again"
        ) from exc
    except CreateFailed as exc:
        if exc.forget_refs:
            await forget_names(ctx, tenant_id)
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            exc.reason,
            exc.message,
            operation=operation,
            generation=generation + 1,
            intuit_tid=exc.intuit_tid,
        )
        return
    await record_synced(
        ctx,
        session,
        tenant_id,
        doc,
        origin,
        created,
        plan.total,
        operation=operation,
        request_id=rid,
        generation=generation,
        currency=plan.currency,
    )
    if doc.kind != "credit_memo":
        await export_waiting_payments(ctx, session, tenant_id, doc.kind, doc.document_id)


async def _term(ctx: Context, tenant_id: str, books: Books, doc: Document) -> str | None:
    terms = doc.terms
    if terms is None or doc.kind == "credit_memo":
        return None
    return await ensure_named(
        ctx,
        tenant_id,
        books,
        "Term",
        terms.name,
        lambda: books.create_term(
            terms.name,
            terms.due_days,
            request_id=request_id(f"{tenant_id}/Term/{terms.name}", "create"),
        ),
    )


async def _wait_for_partner(
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


async def _referenced_keys(
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
