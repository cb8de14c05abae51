"""Operator API: poll runs (job statistics), per-tenant poll status, and polling a tenant now."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from payment_poller.adapters.repository import Repository
from qbsync_common.operator_auth import OperatorKeys, require_operator


class PollRun(BaseModel):
    id: int
    tenant_id: str
    trigger: str
    replica: str
    started_at: datetime
    finished_at: datetime | None
    window_from: datetime | None
    window_to: datetime | None
    mode: str | None
    payments_seen: int
    events_published: int
    errors: int
    outcome: str
    error: str | None


class TenantPollStatus(BaseModel):
    tenant_id: str
    realm_id: str | None
    state: str
    interval_s: int
    next_poll_at: datetime
    cursor: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    claimed_by: str | None


def operator_router(
    sessions: async_sessionmaker[AsyncSession],
    repo: Repository,
    keys: OperatorKeys,
    wake: asyncio.Event,
) -> APIRouter:
    router = APIRouter(
        prefix="/v1/poller", tags=["payment poller"], dependencies=[Depends(require_operator(keys))]
    )
    runs, schedule = repo.t.runs, repo.t.schedule

    @router.get("/runs", response_model=list[PollRun])
    async def list_runs(
        tenant_id: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        """Job statistics: the latest poll runs, newest first, optionally of one tenant."""
        q = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        if tenant_id is not None:
            q = q.where(runs.c.tenant_id == tenant_id)
        async with sessions() as s:
            return [dict(r._mapping) for r in await s.execute(q)]

    @router.get("/tenants", response_model=list[TenantPollStatus])
    async def list_tenants(
        state: str | None = None, limit: Annotated[int, Query(ge=1, le=10000)] = 1000
    ) -> list[dict[str, Any]]:
        """Every tenant's poll status, including its last successful poll."""
        q = select(schedule).order_by(schedule.c.tenant_id).limit(limit)
        if state is not None:
            q = q.where(schedule.c.state == state)
        async with sessions() as s:
            return [dict(r._mapping) for r in await s.execute(q)]

    @router.get("/tenants/{tenant_id}", response_model=TenantPollStatus)
    async def tenant_status(tenant_id: str) -> dict[str, Any]:
        async with sessions() as s:
            row = (
                await s.execute(select(schedule).where(schedule.c.tenant_id == tenant_id))
            ).first()
        if row is None:
            raise HTTPException(404, f"tenant {tenant_id} is not known to the poller")
        return dict(row._mapping)

    @router.post("/tenants/{tenant_id}/poll", status_code=202)
    async def poll_now(tenant_id: str) -> dict[str, str]:
        """Poll the tenant as soon as a replica is free (trigger "operator")."""
        async with sessions() as s, s.begin():
            await repo.schedule.request_poll(s, tenant_id, datetime.now(UTC), "operator")
        wake.set()
        return {"tenant_id": tenant_id, "status": "requested"}

    return router
