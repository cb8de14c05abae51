"""Internal token API for qbsync services: POST /internal/v1/tenants/{tenant_id}/access-token."""

# No `from __future__ import annotations`: FastAPI must resolve the closure-local dependency.

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.custody.errors import NotConnected, TokenUnavailable, UnknownTenant
from oauth_gateway.custody.keyring import DecryptionError
from oauth_gateway.custody.vault import TokenVault
from oauth_gateway.tenants.model import TENANT_ID_PATTERN
from qbsync_common.logs import log_context

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
# Refused with 422 before any lookup, as on the operator API (a NUL would otherwise be a 500).
TenantId = Annotated[str, Path(pattern=TENANT_ID_PATTERN, description="qbsync tenant id")]


class AccessTokenRequest(BaseModel):
    failed_token_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="SHA-256 hex of an access token QBO just rejected with 401; forces a refresh "
        "if it is still the current token",
    )


class AccessTokenResponse(BaseModel):
    access_token: str = Field(description="Bearer token for the QBO Accounting API")
    realm_id: str = Field(description="QBO company id of the tenant")
    api_base_url: str = Field(description="Base URL of the Accounting API (without /v3)")
    expires_at: datetime = Field(description="When the access token expires (UTC)")


class ErrorBody(BaseModel):
    code: str
    message: str


def token_router(vault: TokenVault, credentials: ServiceCredentials) -> APIRouter:
    """The router; the gateway mounts it on the internal (not publicly exposed) app."""

    def authenticated_service(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        service = credentials.identify(secret) if scheme.lower() == "bearer" and secret else None
        if service is None:
            # Audit trail for rejected callers; the presented secret itself is never logged.
            log.warning(
                "internal API: rejected credential",
                extra={
                    "audit": "internal-api-denied",
                    "client": request.client.host if request.client else "",
                    "path": request.url.path,
                },
            )
            raise HTTPException(
                401,
                detail={"code": "unauthorized", "message": "unknown service credential"},
                headers={"WWW-Authenticate": "Bearer"},
            )
        return service

    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.post(
        "/tenants/{tenant_id}/access-token",
        response_model=AccessTokenResponse,
        responses={
            401: {"description": "Unknown service credential"},
            422: {"description": "Malformed tenant id or body"},
            404: {"model": ErrorBody, "description": "Unknown tenant"},
            409: {"model": ErrorBody, "description": "Not connected or needs reauthorization"},
            500: {"model": ErrorBody, "description": "Stored tokens cannot be decrypted"},
            503: {"model": ErrorBody, "description": "Intuit unavailable; retry later"},
        },
    )
    async def access_token(
        tenant_id: TenantId,
        body: AccessTokenRequest,
        service: Annotated[str, Depends(authenticated_service)],
    ) -> JSONResponse:
        failed = body.failed_token_sha256.lower() if body.failed_token_sha256 else None
        try:
            issued = await vault.access_token(tenant_id, failed_token_sha256=failed)
        except UnknownTenant:
            return _error(404, "unknown_tenant", f"unknown tenant {tenant_id}")
        except NotConnected as exc:
            return _error(409, exc.state, str(exc))
        except TokenUnavailable as exc:
            return _error(503, "unavailable", str(exc), retry_after="5")
        except DecryptionError as exc:
            # A key removed too early or a tampered row: an operator must look, callers cannot fix it.
            with log_context(tenant_id=tenant_id):
                log.error("stored tokens cannot be decrypted: %s", exc)
            return _error(500, "token_unreadable", "stored tokens cannot be decrypted")
        with log_context(tenant_id=tenant_id):
            log.debug("token issued", extra={"service": service})
        payload = AccessTokenResponse(
            access_token=issued.access_token,
            realm_id=issued.realm_id,
            api_base_url=issued.api_base_url,
            expires_at=issued.expires_at,
        )
        return JSONResponse(payload.model_dump(mode="json"), headers=NO_STORE)

    return router


def _error(status: int, code: str, message: str, retry_after: str | None = None) -> JSONResponse:
    headers = dict(NO_STORE)
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
