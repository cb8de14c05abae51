"""Operator API routes (/v1): tenants, connect links, disconnect, settings; API-key protected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.connect.flow import ConnectFlow, UnknownTenant
from oauth_gateway.custody.errors import RevocationFailed
from oauth_gateway.operators.auth import OperatorKeys, require_operator
from oauth_gateway.operators.schemas import (
    TENANT_ID_PATTERN,
    ErrorView,
    LinkCreate,
    LinkView,
    SettingsView,
    TenantCreate,
    TenantPage,
    TenantView,
    holds_nul,
)
from oauth_gateway.settings_schema import TenantSettings, settings_json_schema
from oauth_gateway.tenants.events import TenantEventSink
from oauth_gateway.tenants.model import Tenant, TenantState
from oauth_gateway.tenants.repository import DuplicateTenant, TenantRepository

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorView}}
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"model": ErrorView}}
# Ids that could never have been created are refused (422) before they reach a query: a NUL
# byte, for one, makes PostgreSQL fail the statement, which would otherwise surface as a 500.
TenantId = Annotated[
    str, Path(pattern=TENANT_ID_PATTERN, description="Upstream's id of the tenant")
]


def operator_router(
    *,
    sessions: async_sessionmaker[AsyncSession],
    repository: TenantRepository,
    flow: ConnectFlow,
    events: TenantEventSink,
    keys: OperatorKeys,
    public_base_url: str,
    clock: Callable[[], datetime],
) -> APIRouter:
    base = public_base_url.rstrip("/")
    router = APIRouter(prefix="/v1", tags=["operators"])
    guarded = APIRouter(dependencies=[Depends(require_operator(keys))], responses=UNAUTHORIZED)

    def view(tenant: Tenant) -> TenantView:
        reconnect = None
        if tenant.state is TenantState.NEEDS_REAUTHORIZATION and tenant.realm_id:
            reconnect = f"{base}/reconnect?{urlencode({'realmId': tenant.realm_id})}"
        return TenantView(
            tenant_id=tenant.tenant_id,
            name=tenant.name,
            state=tenant.state,
            realm_id=tenant.realm_id,
            return_url=tenant.return_url,
            created_at=tenant.created_at,
            updated_at=tenant.updated_at,
            reconnect_url=reconnect,
        )

    async def existing(session: AsyncSession, tenant_id: str) -> Tenant:
        tenant = await repository.get(session, tenant_id)
        if tenant is None:
            raise HTTPException(404, f"no tenant {tenant_id!r}")
        return tenant

    @router.get("/settings-schema", summary="The JSON Schema tenant settings are validated against")
    async def settings_schema() -> dict[str, Any]:
        return settings_json_schema()

    @guarded.post(
        "/tenants",
        status_code=201,
        response_model=TenantView,
        responses={409: {"model": ErrorView}},
        summary="Create a tenant (not connected yet)",
    )
    async def create_tenant(body: TenantCreate) -> TenantView:
        return_url = str(body.return_url) if body.return_url else None
        try:
            async with sessions.begin() as session:
                tenant = await repository.add(
                    session, body.tenant_id, body.name, return_url, clock()
                )
        except DuplicateTenant:
            raise HTTPException(409, f"tenant {body.tenant_id!r} exists") from None
        return view(tenant)

    @guarded.get("/tenants", response_model=TenantPage, summary="List tenants by id")
    async def list_tenants(
        state: TenantState | None = None,
        after: Annotated[str | None, Query(max_length=64, pattern=TENANT_ID_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> TenantPage:
        async with sessions() as session:
            tenants = await repository.page(session, state=state, after=after, limit=limit)
        next_after = tenants[-1].tenant_id if len(tenants) == limit else None
        return TenantPage(items=[view(t) for t in tenants], next_after=next_after)

    @guarded.get(
        "/tenants/{tenant_id}",
        response_model=TenantView,
        responses=NOT_FOUND,
        summary="A tenant and its connection state",
    )
    async def get_tenant(tenant_id: TenantId) -> TenantView:
        async with sessions() as session:
            return view(await existing(session, tenant_id))

    @guarded.post(
        "/tenants/{tenant_id}/links",
        status_code=201,
        response_model=LinkView,
        responses=NOT_FOUND,
        summary="Create a single-use connect (or reconnect) or disconnect link",
    )
    async def create_link(tenant_id: TenantId, body: LinkCreate, response: Response) -> LinkView:
        response.headers["Cache-Control"] = "no-store"
        try:
            url, expires_at = await flow.create_link(
                tenant_id, body.purpose, timedelta(seconds=body.ttl_seconds)
            )
        except UnknownTenant:
            raise HTTPException(404, f"no tenant {tenant_id!r}") from None
        return LinkView(url=url, expires_at=expires_at)

    @guarded.post(
        "/tenants/{tenant_id}/disconnect",
        response_model=TenantView,
        responses={
            **NOT_FOUND,
            503: {
                "model": ErrorView,
                "description": "Intuit did not confirm the revocation; nothing changed, retry",
            },
        },
        summary="Revoke at Intuit, delete tokens, emit TenantDisconnected",
    )
    async def disconnect(tenant_id: TenantId) -> TenantView:
        try:
            return view(await flow.disconnect(tenant_id))
        except UnknownTenant:
            raise HTTPException(404, f"no tenant {tenant_id!r}") from None
        except RevocationFailed:
            raise HTTPException(
                503,
                f"QuickBooks did not confirm revoking tenant {tenant_id!r}'s access; the tenant "
                "is still connected and its tokens are kept. Retry the disconnect later.",
                headers={"Retry-After": "30"},
            ) from None

    @guarded.get(
        "/tenants/{tenant_id}/settings",
        response_model=SettingsView,
        responses=NOT_FOUND,
        summary="A tenant's sync settings (defaults until first changed)",
    )
    async def get_settings(tenant_id: TenantId) -> SettingsView:
        async with sessions() as session:
            await existing(session, tenant_id)
            stored = await repository.settings(session, tenant_id)
        if stored is None:
            return SettingsView(tenant_id=tenant_id, version=0, settings=TenantSettings())
        version, values = stored
        return SettingsView(
            tenant_id=tenant_id, version=version, settings=TenantSettings.model_validate(values)
        )

    @guarded.put(
        "/tenants/{tenant_id}/settings",
        response_model=SettingsView,
        responses=NOT_FOUND,
        summary="Replace a tenant's sync settings; emits TenantSettingsChanged",
    )
    async def put_settings(tenant_id: TenantId, body: TenantSettings) -> SettingsView:
        values = body.model_dump(mode="json")
        if holds_nul(values):
            # The settings contract allows any text; the JSONB column cannot store NUL (a 500).
            raise HTTPException(422, "settings text must not contain NUL characters")
        async with sessions.begin() as session:
            await existing(session, tenant_id)
            version = await repository.save_settings(session, tenant_id, values, clock())
            await events.settings_changed(session, tenant_id, values, version)
        return SettingsView(tenant_id=tenant_id, version=version, settings=body)

    router.include_router(guarded)
    return router
