"""Backfills: a backlog of one tenant's documents created through QBO's batch endpoint (30 per
call) instead of one call each, with every rule of the one-by-one path kept per document.

Per window of up to 30 documents that need a create, one transaction holds their advisory locks
(taken in a fixed order, so two backfills never deadlock) and receives their outcomes, exactly
what `process_document` would write. Rules, skips and waits come from `documents.prepare`; the
intents ("creating", operation id, the batch's requestid) are committed before QBO is called.
Look-ups (uncertain creates, bills, 6140 answers) are batched too. An item QBO refused fails
alone with its reason; an item whose answer is unknown (transient item error, stale item or term
id) is run again, before the window commits, through the one-by-one path, which looks first (its
transient error rolls the window back; the redelivery finds the window's documents by look-up).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.identity import batch_request_id, request_id
from invoice_sync.service_layer import documents
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.creation import (
    Created,
    CreateFailed,
    choose_existing,
    number_taken,
    refusal,
)
from invoice_sync.service_layer.documents import Pending
from invoice_sync.service_layer.named_refs import forget_names
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.ports import Books
from invoice_sync.service_layer.snapshots import document_of
from qbo_client import (
    DuplicateDocNumberError,
    ObjectNotFoundError,
    QBOError,
    TenantNeedsReauthorization,
    UnknownTenant,
    ValidationError,
)

# QBO's recommended maximum of items per batch request (QBO.md §2.6).
BATCH_SIZE = 30
# Documents a window may lock while filling its batch (most are skipped, waiting or refused):
# bounds the locks and rows one transaction holds.
WINDOW_LOCKS = 3 * BATCH_SIZE

Due = Callable[[AsyncSession, str, str, RowMapping | None], Awaitable[bool]]
"""Whether a backlogged document is still due, asked with its lock held; it may write in the
session (e.g. drop the document's waiting entry), which commits with the document's outcome."""


async def sync_backlog(
    ctx: Context, tenant_id: str, entries: Sequence[tuple[str, str]], due: Due
) -> int:
    """Sync (kind, document id) entries of one tenant; returns how many were due.

    A transient error of a whole batch call propagates like the single path's: the window's
    outcomes roll back, its intents stay, and the redelivery resolves them as uncertain.
    """
    queue = sorted(set(entries))
    taken = 0
    while queue:
        async with ctx.sessions() as session, session.begin():
            window: list[Pending] = []
            locked = 0
            while queue and len(window) < BATCH_SIZE and locked < WINDOW_LOCKS:
                kind, doc_id = queue.pop(0)
                locked += 1
                await repo.advisory_lock(session, tenant_id, "doc", kind, doc_id)
                row = await repo.get_document(session, tenant_id, kind, doc_id)
                if not await due(session, kind, doc_id, row) or row is None:
                    continue
                taken += 1
                origin = Origin(None, row["event_type"], dict(row["snapshot"]))
                doc = document_of(origin.event_type, origin.data)
                pending = await documents.prepare(ctx, session, tenant_id, doc, origin)
                if pending is not None:
                    window.append(pending)
            # A lone document costs one call on the single path, a batch would not save any.
            alone = window if len(window) < 2 else await _create(ctx, session, tenant_id, window)
            # Still in the window's transaction (its locks are re-entrant): what `due` wrote
            # (a dropped waiting entry) must commit with the outcome, or roll back with it.
            for pending in alone:
                await documents.process_document(
                    ctx, session, tenant_id, pending.doc, pending.origin
                )
    return taken


async def _create(
    ctx: Context, session: AsyncSession, tenant_id: str, window: list[Pending]
) -> list[Pending]:
    """Create the window's documents; returns those whose outcome is still unknown."""
    books = ctx.books.for_tenant(tenant_id)
    looking = [p for p in window if p.look_first]
    try:
        looked = await _look_up(books, looking)
    except (TenantNeedsReauthorization, UnknownTenant) as exc:
        await _connection_lost(ctx, session, tenant_id, window, exc)
        return []
    alone: list[Pending] = []
    to_create: list[Pending] = []
    for pending in window:
        found = looked.found.get(pending.operation)
        if not pending.look_first:
            to_create.append(pending)
        elif pending.operation in looked.unknown:
            alone.append(pending)
        elif found is not None:
            rid = pending.prior_request_id or request_id(pending.operation, "create")
            await documents.record_created(ctx, session, tenant_id, pending, found, rid)
        else:
            to_create.append(pending)
    if to_create:
        alone += await _create_batch(ctx, session, tenant_id, books, to_create)
    return alone


async def _connection_lost(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    pendings: Sequence[Pending],
    exc: TenantNeedsReauthorization | UnknownTenant,
) -> None:
    """Nothing of these reached QBO: each fails for want of a connection, as alone it would."""
    for pending in pendings:
        await documents.connection_lost(
            ctx, session, tenant_id, pending.doc, pending.origin, exc, pending.generation
        )


class _Looked:
    """Per operation id: what the look-up found, or that its answer is unknown."""

    def __init__(self) -> None:
        self.found: dict[str, Created] = {}
        self.unknown: set[str] = set()


async def _look_up(books: Books, pendings: list[Pending]) -> _Looked:
    """Our earlier write (marker) or the partner's document of that number, for each pending."""
    looked = _Looked()
    if not pendings:
        return looked
    answers = await books.documents_by_numbers(
        [(p.doc.kind, (p.doc.number or "").strip()) for p in pendings]
    )
    for pending, answer in zip(pendings, answers, strict=True):
        if answer.error is not None:
            looked.unknown.add(pending.operation)
            continue
        found = choose_existing(answer.found, pending.partner_key, pending.operation)
        if found is not None:
            looked.found[pending.operation] = found
    return looked


async def _create_batch(
    ctx: Context, session: AsyncSession, tenant_id: str, books: Books, pendings: list[Pending]
) -> list[Pending]:
    rid = books.batch_request_id(batch_request_id([p.operation for p in pendings], "create"))
    await documents.save_intents(ctx, tenant_id, [(p, rid) for p in pendings])
    try:
        answers = await books.create_documents(
            [(p.doc.kind, p.body) for p in pendings], request_id=rid
        )
    except (TenantNeedsReauthorization, UnknownTenant) as exc:
        await _connection_lost(ctx, session, tenant_id, pendings, exc)
        return []
    except QBOError as exc:
        if exc.transient:
            raise
        # QBO refused the batch as a whole, naming no item: each document goes alone.
        return list(pendings)
    alone: list[Pending] = []
    duplicates: list[tuple[Pending, DuplicateDocNumberError]] = []
    stale = False
    for pending, answer in zip(pendings, answers, strict=True):
        error = answer.error
        if answer.document is not None and error is None:
            created = Created(answer.document, adopted=False)
            await documents.record_created(ctx, session, tenant_id, pending, created, rid)
        elif isinstance(error, DuplicateDocNumberError):
            duplicates.append((pending, error))
        elif isinstance(error, ValidationError | ObjectNotFoundError):
            decided = refusal(pending.doc, error)
            if isinstance(decided, CreateFailed):
                await documents.record_refused(ctx, session, tenant_id, pending, decided, rid)
            else:
                # A cached item or term id is stale: nothing was created for this item.
                stale = True
                alone.append(pending)
        else:
            # No answer, or a transient one: it may exist in QBO; the single path looks first.
            alone.append(pending)
    if stale:
        await forget_names(ctx, tenant_id)
    if duplicates:
        try:
            looked = await _look_up(books, [p for p, _ in duplicates])
        except (TenantNeedsReauthorization, UnknownTenant):
            # Lost between the two calls: these were refused (6140), so nothing of theirs is in
            # QBO; alone they are looked up again (or fail for the connection).
            return alone + [p for p, _ in duplicates]
        for pending, error in duplicates:
            found = looked.found.get(pending.operation)
            if pending.operation in looked.unknown:
                alone.append(pending)
            elif found is not None:
                await documents.record_created(ctx, session, tenant_id, pending, found, rid)
            else:
                refused = number_taken(pending.doc, error)
                await documents.record_refused(ctx, session, tenant_id, pending, refused, rid)
    return alone
