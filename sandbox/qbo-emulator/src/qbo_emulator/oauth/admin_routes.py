"""Admin API of the OAuth side (JSON under /_emulator/): apps, consent, grants, faults, webhooks.

- `POST /_emulator/apps` AppSpec -> 201 app (200 when it replaced one); ids generated when absent
- `GET /_emulator/apps` every app with its token-endpoint call counts; `GET .../{client_id}` one
- `PATCH /_emulator/apps/{client_id}` any AppSpec field except client_id
- `DELETE /_emulator/apps/{client_id}` 204, and its grants are revoked
- `PUT /_emulator/apps/{client_id}/auto-approve` `{"realm_id": "123"}` (or null): from then on
  GET /connect/oauth2 redirects with a code for that realm without showing the consent page
- `POST /_emulator/apps/{client_id}/disconnect` `{"realm_id": "123"}` -> `{"revoked": n}`: an
  admin of the company disconnects the app in QuickBooks; every grant of the pair is revoked
  (refresh answers invalid_grant, API calls 401) and the app is not told (404: unknown app)
- `GET /_emulator/apps/{client_id}/token-calls` counts by grant type ("authorization_code",
  "refresh_token", "revoke"), by status ("status_200", "status_400" ...) and "total"
- `POST /_emulator/grants` `{"client_id", "realm_id", "scope"?}` -> the token endpoint's 200 body
  plus realmId: a connected grant without the browser flow
- `GET /_emulator/grants?client_id=&realm_id=` grants with refresh token, expiries, revoked flag
- `POST /_emulator/oauth/token-faults` `{"mode": "status", "status": 503, "count": N}` or
  `{"mode": "hang", "seconds": S, "count": N}`, optional "client_id"; GET lists, DELETE clears
- `GET /_emulator/webhooks/deliveries?client_id=` every delivery with its attempts
- `PUT /_emulator/webhooks/config` any of flush_interval_seconds, retry_scale, timeout_seconds
- `POST /_emulator/webhooks/flush` send pending notifications now -> `{"deliveries": n}`
- `GET /_emulator/health` `{"status": "ok"}` (the Dockerfile's HEALTHCHECK)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from qbo_emulator.oauth.apps import App, WebhookFormat, new_client_id, new_client_secret
from qbo_emulator.oauth.faults import TokenFault
from qbo_emulator.oauth.tokens import Grant

if TYPE_CHECKING:
    from qbo_emulator.oauth import OAuthServer, WebhookAdmin

PREFIX = "/_emulator"


class AppSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str | None = Field(default=None, min_length=1, max_length=200)
    client_secret: str | None = Field(default=None, min_length=1, max_length=200)
    name: str = "Emulated app"
    redirect_uris: list[str] = Field(default_factory=list)
    webhook_url: str | None = None
    webhook_verifier_token: str | None = None
    webhook_format: WebhookFormat = "legacy"
    rotation_grace_hours: float = Field(default=0.0, ge=0)
    rotation_after_hours: float = Field(default=24.0, ge=0)
    auto_approve_realm: str | None = None


class AppPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_secret: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = None
    redirect_uris: list[str] | None = None
    webhook_url: str | None = None
    webhook_verifier_token: str | None = None
    webhook_format: WebhookFormat | None = None
    rotation_grace_hours: float | None = Field(default=None, ge=0)
    rotation_after_hours: float | None = Field(default=None, ge=0)
    auto_approve_realm: str | None = None


class AutoApprove(BaseModel):
    realm_id: str | None


class Disconnect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    realm_id: str = Field(min_length=1, max_length=100)


class GrantSpec(BaseModel):
    client_id: str
    realm_id: str | None
    scope: str = "com.intuit.quickbooks.accounting"


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["status", "hang"] = "status"
    count: int = Field(default=1, ge=1, le=1_000_000)
    status: int = Field(default=503, ge=400, le=599)
    seconds: float = Field(default=30.0, ge=0, le=3600)
    client_id: str | None = None


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flush_interval_seconds: float | None = Field(default=None, gt=0, le=3600)
    retry_scale: float | None = Field(default=None, gt=0, le=10)
    timeout_seconds: float | None = Field(default=None, gt=0, le=60)


def _grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id,
        "client_id": grant.client_id,
        "realm_id": grant.realm_id,
        "scope": grant.scope,
        "created_at": grant.created_at.isoformat(),
        "refresh_token": grant.refresh_token,
        "refresh_token_issued_at": grant.refresh_issued_at.isoformat(),
        "refresh_token_expires_at": grant.refresh_expires_at().isoformat(),
        "hard_expires_at": grant.hard_expires_at.isoformat(),
        "revoked": grant.revoked,
    }


def admin_router(server: OAuthServer) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["emulator-admin-oauth"])

    def app_json(app: App) -> dict[str, Any]:
        return {**app.to_json(), "token_calls": server.monitor.calls(app.client_id)}

    def require(client_id: str) -> App:
        app = server.apps.get(client_id)
        if app is None:
            raise HTTPException(404, f"no app with client_id {client_id}")
        return app

    def webhooks() -> WebhookAdmin:
        if server.webhooks is None:
            raise HTTPException(404, "webhooks are not enabled in this emulator")
        return server.webhooks

    @router.get("/health")
    async def health() -> dict[str, str]:
        # The container HEALTHCHECK polls this; answering proves the event loop is serving.
        return {"status": "ok"}

    @router.post("/apps", status_code=201)
    async def register(spec: AppSpec, response: Response) -> dict[str, Any]:
        fields = spec.model_dump()
        fields["client_id"] = spec.client_id or new_client_id()
        fields["client_secret"] = spec.client_secret or new_client_secret()
        app = App(**fields)
        if server.apps.register(app):
            response.status_code = 200
        return app_json(app)

    @router.get("/apps")
    async def list_apps() -> list[dict[str, Any]]:
        return [app_json(a) for a in server.apps.all()]

    @router.get("/apps/{client_id}")
    async def get_app(client_id: str) -> dict[str, Any]:
        return app_json(require(client_id))

    @router.patch("/apps/{client_id}")
    async def patch_app(client_id: str, patch: AppPatch) -> dict[str, Any]:
        app = require(client_id)
        for key, value in patch.model_dump(exclude_unset=True).items():
            setattr(app, key, value)
        return app_json(app)

    @router.delete("/apps/{client_id}", status_code=204)
    async def delete_app(client_id: str) -> None:
        require(client_id)
        server.tokens.revoke_client(client_id)
        server.apps.delete(client_id)

    @router.put("/apps/{client_id}/auto-approve")
    async def auto_approve(client_id: str, body: AutoApprove) -> dict[str, Any]:
        app = require(client_id)
        app.auto_approve_realm = body.realm_id
        return app_json(app)

    @router.post("/apps/{client_id}/disconnect")
    async def disconnect(client_id: str, body: Disconnect) -> dict[str, int]:
        # Intuit only sends the admin's browser to the app's disconnect landing page, no webhook:
        # the app learns of it when its next API call or refresh is refused.
        require(client_id)
        return {"revoked": server.tokens.disconnect(client_id, body.realm_id)}

    @router.get("/apps/{client_id}/token-calls")
    async def token_calls(client_id: str) -> dict[str, int]:
        require(client_id)
        return server.monitor.calls(client_id)

    @router.post("/grants", status_code=201)
    async def mint(spec: GrantSpec) -> dict[str, Any]:
        require(spec.client_id)
        body = server.tokens.mint(spec.client_id, spec.realm_id, spec.scope).body(True)
        return {**body, "realmId": spec.realm_id}

    @router.get("/grants")
    async def grants(
        client_id: str | None = Query(default=None), realm_id: str | None = Query(default=None)
    ) -> list[dict[str, Any]]:
        return [
            _grant_json(g)
            for g in server.tokens.grants()
            if (client_id is None or g.client_id == client_id)
            and (realm_id is None or g.realm_id == realm_id)
        ]

    @router.post("/oauth/token-faults", status_code=201)
    async def add_fault(spec: FaultSpec) -> dict[str, Any]:
        fault = TokenFault(spec.mode, spec.count, spec.status, spec.seconds, spec.client_id)
        server.monitor.add_fault(fault)
        return fault.to_json()

    @router.get("/oauth/token-faults")
    async def list_faults() -> list[dict[str, Any]]:
        return [f.to_json() for f in server.monitor.faults()]

    @router.delete("/oauth/token-faults", status_code=204)
    async def clear_faults() -> None:
        server.monitor.clear_faults()

    @router.get("/webhooks/deliveries")
    async def deliveries(client_id: str | None = Query(default=None)) -> list[dict[str, Any]]:
        return webhooks().deliveries(client_id)

    @router.put("/webhooks/config")
    async def configure(settings: WebhookSettings) -> dict[str, Any]:
        return webhooks().configure(settings.model_dump(exclude_none=True))

    @router.post("/webhooks/flush")
    async def flush() -> dict[str, int]:
        return {"deliveries": await webhooks().flush()}

    return router
