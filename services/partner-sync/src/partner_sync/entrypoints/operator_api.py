"""Operator HTTP API of partner-sync (/v1/tenants/{tenant_id}/...), OpenAPI-documented."""

# No `from __future__ import annotations`: FastAPI resolves the annotations at runtime.

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from partner_sync.adapters.repository import HistoryEntry, PartnerRow
from partner_sync.service_layer.operator_actions import Conflict, NotFound, OperatorActions
from qbsync_common.operator_auth import OperatorKeys, require_operator

Kind = Literal["client", "vendor", "project"]
PartnerKindParam = Literal["client", "vendor"]
Status = Literal["pending", "synced", "failed", "skipped"]


class PartnerView(BaseModel):
    kind: str
    partner_id: str
    status: str = Field(description="pending (not synced yet), synced, failed or skipped")
    reason: str | None = None
    message: str | None = None
    version: int
    synced_version: int | None = None
    sync_key: str | None = Field(None, description="QBO Customer/Vendor id")
    sync_token: str | None = None
    qbo_name: str | None = Field(None, description="DisplayName in QBO (may be disambiguated)")
    currency: str | None = None
    waiting: str | None = Field(None, description="What the partner waits for, e.g. a reconnect")
    updated_at: datetime | None = None

    @classmethod
    def of(cls, row: PartnerRow) -> "PartnerView":
        return cls(
            kind=row.kind,
            partner_id=row.partner_id,
            status=row.status,
            reason=row.reason,
            message=row.message,
            version=row.version,
            synced_version=row.synced_version,
            sync_key=row.sync_key,
            sync_token=row.sync_token,
            qbo_name=row.qbo_name,
            currency=row.currency,
            waiting=row.waiting,
            updated_at=row.updated_at,
        )


class HistoryView(BaseModel):
    at: datetime | None
    action: str
    status: str
    reason: str | None
    message: str | None
    version: int | None
    event_id: str | None = Field(description="The upstream (or command) event handled")
    event_type: str | None
    operation_id: str = Field(description="Our id of this sync attempt")
    request_id: str | None = Field(description="QBO requestid of the write")
    intuit_tid: str | None = Field(description="Intuit's transaction id of the last QBO call")
    qbo_id: str | None
    sync_token: str | None

    @classmethod
    def of(cls, e: HistoryEntry) -> "HistoryView":
        return cls(
            at=e.at,
            action=e.action,
            status=e.status,
            reason=e.reason,
            message=e.message,
            version=e.version,
            event_id=e.event_id,
            event_type=e.event_type,
            operation_id=e.operation_id,
            request_id=e.request_id,
            intuit_tid=e.intuit_tid,
            qbo_id=e.qbo_id,
            sync_token=e.sync_token,
        )


class PartnerDetail(BaseModel):
    partner: PartnerView
    history: list[HistoryView]


class LinkBody(BaseModel):
    qbo_id: str = Field(min_length=1, max_length=32, description="QBO Customer/Vendor id")


class QboRecordView(BaseModel):
    qbo_id: str
    display_name: str | None
    active: bool | None
    currency: str | None


class Count(BaseModel):
    queued: int


ProposalState = Literal["proposed", "accepted", "rejected", "auto-applied"]


class AutomatchSummary(BaseModel):
    proposed: int = Field(description="Proposals written to (or refreshed in) the review queue")
    auto_applied: int = Field(
        description="Proposals at or above the threshold linked at once (only with auto_apply)"
    )
    threshold: float = Field(description="The tenant's automatch_threshold")
    auto_apply: bool = Field(
        description="The tenant's automatch_auto_apply: false = every proposal awaits review"
    )


class ProposalView(BaseModel):
    id: int
    tenant_id: str
    kind: str
    partner_id: str = Field(description="The upstream partner")
    qbo_id: str = Field(description="The QBO Customer/Vendor proposed as its match")
    qbo_name: str
    score: float = Field(description="Confidence 0..1: name similarity plus the evidence")
    evidence: dict[str, float] = Field(
        description="What contributed to the score: name, email, email_domain, tax_id, address"
    )
    state: ProposalState
    created_at: datetime | None = None
    decided_at: datetime | None = None


class BackfillStatus(BaseModel):
    state: Literal["none", "running", "done", "failed"]
    batched: int | None = Field(None, description="Partners created through batch calls")
    handed_over: int | None = Field(
        None, description="Partners sent the normal per-partner way (adoptions, refusals)"
    )
    batch_calls: int | None = Field(None, description="QBO batch requests made")
    error: str | None = None
    takeovers: int | None = Field(
        None, description="Times a replica resumed the job after its holder stopped or died"
    )
    started_at: datetime | None = None
    finished_at: datetime | None = None


def operator_router(actions: OperatorActions, keys: OperatorKeys) -> APIRouter:
    router = APIRouter(
        prefix="/v1/tenants/{tenant_id}",
        tags=["partners"],
        dependencies=[Depends(require_operator(keys))],
        responses={401: {"description": "A valid operator API key is required"}},
    )

    @router.get("/partners", response_model=list[PartnerView], summary="Partners and their status")
    async def list_partners(
        tenant_id: str,
        status: Status | None = Query(None, description="Only partners with this status"),
        kind: Kind | None = None,
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> list[PartnerView]:
        rows = await actions.list_partners(
            tenant_id, status=status, kind=kind, limit=limit, offset=offset
        )
        return [PartnerView.of(r) for r in rows]

    @router.get(
        "/partners/{kind}/{partner_id}",
        response_model=PartnerDetail,
        summary="One partner with its sync history (newest first)",
    )
    async def partner(tenant_id: str, kind: Kind, partner_id: str) -> PartnerDetail:
        try:
            row, history = await actions.partner(tenant_id, kind, partner_id)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return PartnerDetail(
            partner=PartnerView.of(row), history=[HistoryView.of(e) for e in history]
        )

    @router.post(
        "/partners/{kind}/{partner_id}/resync",
        status_code=202,
        response_model=Count,
        summary="Sync one partner again (checks QBO even if nothing changed upstream)",
    )
    async def resync(tenant_id: str, kind: Kind, partner_id: str) -> Count:
        try:
            await actions.resync(tenant_id, kind, partner_id)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return Count(queued=1)

    @router.post(
        "/resync",
        status_code=202,
        response_model=Count,
        summary="Sync every partner of the tenant again (optionally only those with a status)",
    )
    async def resync_all(tenant_id: str, status: Status | None = None) -> Count:
        return Count(queued=await actions.resync_all(tenant_id, status=status))

    @router.post(
        "/initial-sync",
        status_code=202,
        response_model=Count,
        summary="Bulk sync of every partner not synced yet (e.g. a newly connected tenant)",
    )
    async def initial_sync(tenant_id: str) -> Count:
        return Count(queued=await actions.initial_sync(tenant_id))

    @router.post(
        "/backfill",
        status_code=202,
        summary="Bulk sync of unsynced partners through QBO's batch endpoint (background)",
        response_model=BackfillStatus,
        response_model_exclude_none=True,
        responses={409: {"description": "A backfill of this tenant is running"}},
    )
    async def backfill(tenant_id: str) -> BackfillStatus:
        if not await actions.start_backfill(tenant_id):
            raise HTTPException(409, "a backfill of this tenant is running")
        return BackfillStatus.model_validate(await actions.backfill_status(tenant_id))

    @router.get(
        "/backfill",
        response_model=BackfillStatus,
        response_model_exclude_none=True,
        summary="State and progress of the tenant's last backfill (whichever replica runs it)",
    )
    async def backfill_status(tenant_id: str) -> BackfillStatus:
        return BackfillStatus.model_validate(await actions.backfill_status(tenant_id))

    @router.delete(
        "/partners/{kind}/{partner_id}/sync-key",
        response_model=PartnerView,
        summary="Clear (unlink) the sync key; the next sync matches by name or creates",
    )
    async def clear_key(tenant_id: str, kind: Kind, partner_id: str) -> PartnerView:
        try:
            return PartnerView.of(await actions.clear_key(tenant_id, kind, partner_id))
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None

    @router.put(
        "/partners/{kind}/{partner_id}/sync-key",
        response_model=PartnerView,
        responses={404: {}, 409: {"description": "The QBO record is linked to another partner"}},
        summary="Set the sync key (link to an existing QBO record, verified against QBO)",
    )
    async def set_key(tenant_id: str, kind: Kind, partner_id: str, body: LinkBody) -> PartnerView:
        try:
            return PartnerView.of(await actions.set_key(tenant_id, kind, partner_id, body.qbo_id))
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except Conflict as exc:
            raise HTTPException(409, str(exc)) from None

    # Link and unlink are the same operations under the names operators use in the UI.
    router.add_api_route(
        "/partners/{kind}/{partner_id}/link",
        set_key,
        methods=["PUT"],
        response_model=PartnerView,
        summary="Link an upstream partner to an existing QBO record (verified)",
    )
    router.add_api_route(
        "/partners/{kind}/{partner_id}/link",
        clear_key,
        methods=["DELETE"],
        response_model=PartnerView,
        summary="Unlink an upstream partner from its QBO record",
    )

    @router.get(
        "/qbo/{kind}/unlinked",
        response_model=list[QboRecordView],
        summary="QBO customers (client) or vendors no upstream partner is linked to",
    )
    async def unlinked(tenant_id: str, kind: PartnerKindParam) -> list[QboRecordView]:
        records = await actions.unlinked_records(tenant_id, kind)
        return [
            QboRecordView(
                qbo_id=r.Id or "",
                display_name=r.DisplayName,
                active=r.Active,
                currency=r.CurrencyRef.value if r.CurrencyRef else None,
            )
            for r in records
        ]

    @router.post(
        "/automatch/{kind}",
        response_model=AutomatchSummary,
        summary="Propose links for unlinked partners into the review queue; auto-apply at or "
        "above the tenant's automatch_threshold",
    )
    async def automatch(tenant_id: str, kind: PartnerKindParam) -> AutomatchSummary:
        return AutomatchSummary.model_validate(await actions.automatch(tenant_id, kind))

    @router.get(
        "/automatch/proposals",
        response_model=list[ProposalView],
        summary="The review queue (highest score first)",
    )
    async def proposals(tenant_id: str, state: ProposalState | None = None) -> list[ProposalView]:
        return [ProposalView.model_validate(p) for p in await actions.proposals(tenant_id, state)]

    @router.post(
        "/automatch/proposals/{proposal_id}/{decision}",
        response_model=ProposalView,
        responses={404: {}, 409: {"description": "The QBO record is linked to another partner"}},
        summary="Accept (links the partner, verified) or reject a proposal",
    )
    async def decide(
        tenant_id: str, proposal_id: int, decision: Literal["accept", "reject"]
    ) -> ProposalView:
        try:
            return ProposalView.model_validate(
                await actions.decide(tenant_id, proposal_id, decision == "accept")
            )
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except Conflict as exc:
            raise HTTPException(409, str(exc)) from None

    return router
