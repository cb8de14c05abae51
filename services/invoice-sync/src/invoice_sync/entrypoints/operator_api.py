"""Operator HTTP API of invoice-sync: list documents and payments, and fix problem syncs."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from invoice_sync.adapters import repository as repo
from invoice_sync.service_layer import operator_actions as actions
from invoice_sync.service_layer.context import Context
from qbo_client import QBOError
from qbsync_common.contract.values import DocumentKind
from qbsync_common.operator_auth import OperatorKeys, require_operator

Status = Literal[
    "waiting_partner",
    "creating",
    "synced",
    "needs_review",
    "failed",
    "skipped",
    "cleared",
    "pending",
]


# One request's backfill runs inside the HTTP call: bounded so it answers in reasonable time.
MAX_RESYNC = 1000


class SetKey(BaseModel):
    sync_key: str = Field(min_length=1, max_length=200, description="Id of the QBO document")


class DocumentRef(BaseModel):
    kind: DocumentKind
    document_id: str = Field(min_length=1, max_length=200)


class ResyncMany(BaseModel):
    documents: list[DocumentRef] = Field(
        min_length=1, max_length=MAX_RESYNC, description="Documents to sync again, in one backfill"
    )


def operator_router(ctx: Context, keys: OperatorKeys) -> APIRouter:
    router = APIRouter(
        prefix="/v1/tenants/{tenant_id}",
        tags=["operators"],
        dependencies=[Depends(require_operator(keys))],
    )

    @router.get("/documents", summary="List documents with their sync status and reason")
    async def list_documents(
        tenant_id: str,
        status: Status | None = None,
        kind: DocumentKind | None = None,
        reason: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            rows = await repo.list_documents(
                session,
                tenant_id,
                status=status,
                kind=kind,
                reason=reason,
                limit=limit,
                offset=offset,
            )
        return [_plain(dict(r)) for r in rows]

    @router.get("/documents/{kind}/{document_id}", summary="One document and its history")
    async def get_document(tenant_id: str, kind: DocumentKind, document_id: str) -> dict[str, Any]:
        return await _run(actions.document(ctx, tenant_id, kind, document_id))

    @router.post(
        "/documents/resync",
        summary="Sync many documents again now, through QBO batch requests (30 per call)",
    )
    async def resync_many(tenant_id: str, body: ResyncMany) -> list[dict[str, Any]]:
        wanted = [(d.kind, d.document_id) for d in body.documents]
        return await _run_many(actions.resync_many(ctx, tenant_id, wanted))

    @router.post("/documents/{kind}/{document_id}/resync", summary="Sync again now")
    async def resync(tenant_id: str, kind: DocumentKind, document_id: str) -> dict[str, Any]:
        return await _run(actions.resync(ctx, tenant_id, kind, document_id))

    @router.post("/documents/{kind}/{document_id}/clear-key", summary="Forget the QBO key")
    async def clear_key(tenant_id: str, kind: DocumentKind, document_id: str) -> dict[str, Any]:
        return await _run(actions.clear_key(ctx, tenant_id, kind, document_id))

    @router.post(
        "/documents/{kind}/{document_id}/delete-in-qbo",
        summary="Delete the document in QuickBooks and clear its key",
    )
    async def delete_in_qbo(tenant_id: str, kind: DocumentKind, document_id: str) -> dict[str, Any]:
        return await _run(actions.clear_key(ctx, tenant_id, kind, document_id, delete_in_qbo=True))

    @router.put("/documents/{kind}/{document_id}/key", summary="Set the QBO key by hand")
    async def set_key(
        tenant_id: str, kind: DocumentKind, document_id: str, body: SetKey
    ) -> dict[str, Any]:
        return await _run(actions.set_key(ctx, tenant_id, kind, document_id, body.sync_key))

    @router.post(
        "/documents/invoice/{document_id}/mark-paid",
        summary="Mark an invoice paid without syncing a payment",
    )
    async def mark_paid(tenant_id: str, document_id: str) -> dict[str, Any]:
        return await _run(actions.mark_paid(ctx, tenant_id, document_id))

    @router.post(
        "/documents/{kind}/{document_id}/remove",
        summary="Clear from the queue without syncing (skipped: removed-by-operator)",
    )
    async def remove(tenant_id: str, kind: DocumentKind, document_id: str) -> dict[str, Any]:
        return await _run(actions.remove(ctx, tenant_id, kind, document_id))

    @router.get("/payments", summary="List upstream payments and their export status")
    async def list_payments(
        tenant_id: str,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            rows = await repo.list_payments(
                session, tenant_id, status=status, limit=limit, offset=offset
            )
        return [_plain(dict(r)) for r in rows]

    @router.post("/payments/{payment_id}/unsync", summary="Delete the payment in QuickBooks")
    async def unsync_payment(tenant_id: str, payment_id: str) -> dict[str, Any]:
        return await _run(actions.unsync_payment(ctx, tenant_id, payment_id))

    return router


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """Amounts as exact decimal strings (FastAPI would turn a Decimal into a float)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            out[key] = format(value, "f")
        elif isinstance(value, list):
            out[key] = [_plain(v) if isinstance(v, Mapping) else v for v in value]
        else:
            out[key] = value
    return out


async def _run(action: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    try:
        return _plain(await action)
    except actions.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except actions.ActionRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    except QBOError as exc:
        # QuickBooks refused or is unavailable: say so, with Intuit's transaction id for support.
        status = 503 if exc.transient else 502
        raise HTTPException(status, f"QuickBooks: {exc.detail or exc.message}") from exc


async def _run_many(action: Awaitable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return [_plain(r) for r in await action]
    except QBOError as exc:
        # What was done before QuickBooks failed stays done; asking again finishes the rest.
        status = 503 if exc.transient else 502
        raise HTTPException(status, f"QuickBooks: {exc.detail or exc.message}") from exc
