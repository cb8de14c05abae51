"""Internal settings API for qbsync services: GET /internal/v1/tenants/{tenant_id}/settings."""

# No `from __future__ import annotations`: FastAPI must resolve the closure-local dependency.

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.tenants.model import TENANT_ID_PATTERN
from oauth_gateway.tenants.repository import TenantRepository
from qbsync_common.contract.tenant_settings import TenantSettings

log = logging.getLogger(__name__)

# Refused with 422 before any lookup, as on the operator API (a NUL would otherwise be a 500).
TenantId = Annotated[str, Path(pattern=TENANT_ID_PATTERN, description="qbsync tenant id")]


class InternalSettingsView(BaseModel):
    tenant_id: str
    version: int = Field(ge=0, description="Settings version; 0 = defaults, never changed")
    settings: TenantSettings


def settings_router(
    sessions: async_sessionmaker[AsyncSession],
    repository: TenantRepository,
    credentials: ServiceCredentials,
) -> APIRouter:
    """The router; same service-credential auth as the internal token API."""

    def authenticated_service(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        service = credentials.identify(secret) if scheme.lower() == "bearer" and secret else None
        if service is None:
            log.warning(
                "internal API: rejected credential",
                extra={"audit": "internal-api-denied", "path": request.url.path},
            )
            raise HTTPException(
                401,
                detail={"code": "unauthorized", "message": "unknown service credential"},
                headers={"WWW-Authenticate": "Bearer"},
            )
        return service

    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.get(
        "/tenants/{tenant_id}/settings",
        response_model=InternalSettingsView,
        responses={
            401: {"description": "Unknown service credential"},
            404: {},
            422: {"description": "Malformed tenant id"},
        },
        summary="A tenant's sync settings for qbsync services (defaults until first changed)",
    )
    async def tenant_settings(
        tenant_id: TenantId, _service: Annotated[str, Depends(authenticated_service)]
    ) -> InternalSettingsView:
        async with sessions() as session:
            if await repository.get(session, tenant_id) is None:
                raise HTTPException(
                    404, detail={"code": "unknown_tenant", "message": f"unknown tenant {tenant_id}"}
                )
            stored = await repository.settings(session, tenant_id)
        if stored is None:
            return InternalSettingsView(tenant_id=tenant_id, version=0, settings=TenantSettings())
        version, values = stored
        return InternalSettingsView(
            tenant_id=tenant_id, version=version, settings=TenantSettings.model_validate(values)
        )

    return router
