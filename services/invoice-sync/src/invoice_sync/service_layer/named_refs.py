"""Items and terms exist in QBO once per name, even when many workers need them at the same time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.amounts import AmountPlan
from invoice_sync.domain.document import Document
from invoice_sync.domain.identity import name_request_id
from invoice_sync.domain.naming import item_name
from invoice_sync.domain.policy import SyncPolicy
from invoice_sync.domain.preflight import CompanyProfile
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.ports import Books, NamedEntity
from qbo_client import DuplicateNameError


class InactiveInQbo(Exception):
    """The name exists in QBO but is inactive: a person must decide (reactivate or rename)."""


async def ensure_named(
    ctx: Context,
    tenant_id: str,
    books: Books,
    entity: NamedEntity,
    name: str,
    create: Callable[[], Awaitable[str]],
) -> str:
    cache_key = (tenant_id, entity, name)
    if cache_key in ctx.known_names:
        return ctx.known_names[cache_key]
    async with ctx.sessions() as session:
        known = await repo.named_ref(session, tenant_id, entity, name)
    if known is not None:
        ctx.known_names[cache_key] = known
        return known
    # The advisory lock makes the check-then-create atomic across workers and replicas; it is held
    # over one QBO query and at most one create, which is rare (once per name per tenant).
    async with ctx.sessions() as session, session.begin():
        await repo.advisory_lock(session, tenant_id, entity, name)
        known = await repo.named_ref(session, tenant_id, entity, name)
        if known is not None:
            return known
        qbo_id = await _find_or_create(books, entity, name, create)
        await repo.save_named_ref(session, tenant_id, entity, name, qbo_id)
    ctx.known_names[cache_key] = qbo_id
    return qbo_id


async def items_and_term(
    ctx: Context,
    tenant_id: str,
    books: Books,
    doc: Document,
    plan: AmountPlan,
    policy: SyncPolicy,
    profile: CompanyProfile,
) -> tuple[dict[str, str], str | None]:
    """QBO ids of the items the lines use (by the tenant's naming rule) and of the payment terms."""

    def item_maker(name: str) -> Callable[[], Awaitable[str]]:
        async def create() -> str:
            return await books.create_item(
                name,
                income_account_id=profile.income_account_id,
                expense_account_id=profile.expense_account_id,
                request_id=name_request_id(tenant_id, "Item", name),
            )

        return create

    names = sorted({item_name(line.name, policy) for line in plan.lines})
    items = {n: await ensure_named(ctx, tenant_id, books, "Item", n, item_maker(n)) for n in names}
    terms = doc.terms
    if terms is None or doc.kind == "credit_memo":
        return items, None

    async def create_term() -> str:
        return await books.create_term(
            terms.name, terms.due_days, request_id=name_request_id(tenant_id, "Term", terms.name)
        )

    return items, await ensure_named(ctx, tenant_id, books, "Term", terms.name, create_term)


async def forget_names(ctx: Context, tenant_id: str) -> None:
    """Our item and term ids may be stale (deleted or merged in QBO): look them up again."""
    ctx.forget_names(tenant_id)
    async with ctx.sessions() as session, session.begin():
        await repo.forget_named_refs(session, tenant_id)


async def _find_or_create(
    books: Books, entity: NamedEntity, name: str, create: Callable[[], Awaitable[str]]
) -> str:
    found = await books.find_named(entity, name)
    if found is None:
        try:
            return await create()
        except DuplicateNameError:
            # Made outside qbsync between our query and our create: use that one.
            found = await books.find_named(entity, name)
            if found is None:
                raise
    if not found.active:
        raise InactiveInQbo(
            f"The {entity.lower()} {name!r} is inactive in QuickBooks; make it active again "
            "so documents can use it."
        )
    return found.id
