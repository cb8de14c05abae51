"""Putting one document into QBO: rules, dependencies, preflight, then exactly one QBO document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.amounts import plan_amounts
from invoice_sync.domain.document import Document
from invoice_sync.domain.identity import operation_id, request_id
from invoice_sync.domain.payloads import References, document_payload
from invoice_sync.domain.skip_rules import skip_reason
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.creation import Created, CreateFailed, StaleNames, create_once
from invoice_sync.service_layer.dependencies import referenced_keys, wait_for_partner
from invoice_sync.service_layer.named_refs import InactiveInQbo, forget_names, items_and_term
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.payments import export_waiting_payments
from invoice_sync.service_layer.synced import record_synced
from invoice_sync.service_layer.tenant_policy import policy_of
from qbo_client import TenantNeedsReauthorization, UnknownTenant
from qbsync_common.messaging.errors import TransientError

DONE = frozenset({"synced", "needs_review"})


@dataclass(frozen=True)
class Pending:
    """A document that passed every rule and only needs its QBO create: the body is final."""

    doc: Document
    origin: Origin
    generation: int
    operation: str
    partner_key: str
    body: dict[str, Any]
    expected_total: Decimal
    currency: str
    # An earlier attempt of this very operation committed its intent and never finished.
    uncertain: bool
    # The requestid that attempt recorded (a batch's, or the single create's).
    prior_request_id: str | None = None

    @property
    def look_first(self) -> bool:
        """Uncertain creates, and bills (QBO does not always keep their numbers unique)."""
        return self.uncertain or self.doc.kind == "bill"


async def process_document(
    ctx: Context, session: AsyncSession, tenant_id: str, doc: Document, origin: Origin
) -> None:
    """Decide and act for one snapshot; every outcome is written into `session` (the caller's
    final transaction), which holds the document's lock until it commits."""
    await repo.advisory_lock(session, tenant_id, "doc", doc.kind, doc.document_id)
    pending = await prepare(ctx, session, tenant_id, doc, origin)
    if pending is None:
        return
    rid = request_id(pending.operation, "create")
    await save_intents(ctx, tenant_id, [(pending, rid)])
    books = ctx.books.for_tenant(tenant_id)
    try:
        created = await create_once(
            books,
            doc,
            pending.body,
            pending.partner_key,
            pending.operation,
            rid,
            look_first=pending.look_first,
        )
    except (TenantNeedsReauthorization, UnknownTenant) as exc:
        await connection_lost(ctx, session, tenant_id, pending.doc, origin, exc, pending.generation)
        return
    except StaleNames as exc:
        await forget_names(ctx, tenant_id)
        raise TransientError(
            f"QBO refused a cached reference ({exc}); looking it up again"
        ) from exc
    except CreateFailed as exc:
        await record_refused(ctx, session, tenant_id, pending, exc, rid)
        return
    await record_created(ctx, session, tenant_id, pending, created, rid)


async def prepare(
    ctx: Context, session: AsyncSession, tenant_id: str, doc: Document, origin: Origin
) -> Pending | None:
    """Every rule before the create, with the document's lock held by `session`: a skip, a wait
    for the partner or a refusal is recorded there (None); otherwise the create to make."""
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
        return None
    skip = skip_reason(doc, policy, already_synced=done)
    if skip is not None:
        await outcomes.skipped(
            ctx, session, tenant_id, doc, origin, skip.reason, skip.message, keep_row=done
        )
        if row is not None and row["status"] == "synced":
            # The row stays synced (the QBO document is untouched) but carries the skip, so the
            # operators' list filtered by reason finds documents whose later changes were
            # ignored. A needs_review row keeps its total-variance reason: that one needs acting on.
            await repo.update_document(
                session,
                tenant_id,
                doc.kind,
                doc.document_id,
                reason_code=skip.reason,
                message=skip.message,
            )
        return None
    generation = int(row["generation"]) if row is not None else 0
    operation = operation_id(tenant_id, doc.kind, doc.document_id, generation)
    partner_key = await repo.partner_key(session, tenant_id, doc.partner_kind, doc.partner_id)
    if partner_key is None:
        await wait_for_partner(ctx, session, tenant_id, doc, origin, generation)
        return None
    ok, billable = await referenced_keys(
        ctx, session, tenant_id, doc, origin, policy, operation, generation
    )
    if not ok:
        return None
    books = ctx.books.for_tenant(tenant_id)
    try:
        profile = await ctx.profiles.get(tenant_id, books, policy)
        problems = profile.problems_for(doc.kind)
        if problems:
            await outcomes.failed(
                ctx,
                session,
                tenant_id,
                doc,
                origin,
                "company-not-ready",
                " ".join(problems),
                operation=operation,
                generation=generation,
            )
            return None
        plan = plan_amounts(
            doc.lines,
            doc.net_total,
            currency=doc.currency,
            exchange_rate=doc.exchange_rate,
            company=profile.currency,
        )
        items, term_id = await items_and_term(ctx, tenant_id, books, doc, plan, policy, profile)
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
        return None
    except (TenantNeedsReauthorization, UnknownTenant) as exc:
        await connection_lost(ctx, session, tenant_id, doc, origin, exc, generation)
        return None
    refs = References(
        partner_key, items, term_id, billable if policy.bill_lines_billable_to_client else None
    )
    body = document_payload(
        doc, plan, refs, policy, operation=operation, multicurrency=profile.currency.multicurrency
    )
    uncertain = row is not None and row["status"] == "creating" and row["operation_id"] == operation
    return Pending(
        doc,
        origin,
        generation,
        operation,
        partner_key,
        body,
        plan.total,
        plan.currency,
        uncertain,
        row["request_id"] if uncertain and row is not None else None,
    )


async def save_intents(
    ctx: Context, tenant_id: str, intents: Sequence[tuple[Pending, str]]
) -> None:
    """Committed before QBO is called: after a crash each row says which operation may have
    reached QBO, and with which requestid (RELIABILITY §2.3 pitfall 6)."""
    async with ctx.sessions() as intent, intent.begin():
        for pending, rid in intents:
            await repo.save_document(
                intent,
                outcomes.row_of(
                    tenant_id,
                    pending.doc,
                    pending.origin,
                    status="creating",
                    reason_code=None,
                    message=None,
                    generation=pending.generation,
                    operation_id=pending.operation,
                    request_id=rid,
                    expected_total=pending.expected_total,
                    currency=pending.currency,
                ),
            )


async def record_created(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    pending: Pending,
    created: Created,
    rid: str,
) -> None:
    """The document is in QBO: synced (or needs review), and the payments that waited for it."""
    doc = pending.doc
    await record_synced(
        ctx,
        session,
        tenant_id,
        doc,
        pending.origin,
        created,
        pending.expected_total,
        operation=pending.operation,
        request_id=rid,
        generation=pending.generation,
        currency=pending.currency,
    )
    if doc.kind != "credit_memo":
        await export_waiting_payments(ctx, session, tenant_id, doc.kind, doc.document_id)


async def record_refused(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    pending: Pending,
    exc: CreateFailed,
    rid: str,
) -> None:
    """QBO refused for good: failed, and the generation bumped so a later attempt gets a fresh
    requestid instead of QBO's replay of the refusal."""
    if exc.forget_refs:
        await forget_names(ctx, tenant_id)
    await outcomes.failed(
        ctx,
        session,
        tenant_id,
        pending.doc,
        pending.origin,
        exc.reason,
        exc.message,
        operation=pending.operation,
        generation=pending.generation + 1,
        request_id=rid,
        intuit_tid=exc.intuit_tid,
    )


async def connection_lost(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    exc: TenantNeedsReauthorization | UnknownTenant,
    generation: int,
) -> None:
    """Failed for want of a connection: the tenant's reconnect tries it again."""
    operation = operation_id(tenant_id, doc.kind, doc.document_id, generation)
    if isinstance(exc, TenantNeedsReauthorization):
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
        return
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
