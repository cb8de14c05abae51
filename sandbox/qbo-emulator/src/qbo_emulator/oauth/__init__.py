"""The emulated Intuit OAuth 2.0 server: apps, consent, tokens and bearer checks for the API.

Wiring (done by `qbo_emulator.app.create_app`)::

    oauth = OAuthServer(clock, realms=lambda: [(realm_id, company_name), ...])
    app.include_router(oauth.router())  # discovery, /connect/oauth2, token, revoke, userinfo
    app.include_router(oauth.admin_router())  # /_emulator/apps, grants, oauth/..., webhooks/...
    outcome = oauth.authenticate(request.headers.get("authorization"), realm_id)  # every /v3 call

See `qbo_emulator.oauth.discovery` for how to point the unmodified intuit-oauth library at it and
`qbo_emulator.oauth.admin_routes` for the admin API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter

from qbo_emulator.clock import Clock
from qbo_emulator.oauth.apps import App, AppRegistry
from qbo_emulator.oauth.faults import TokenEndpointMonitor
from qbo_emulator.oauth.tokens import TokenService

__all__ = ["App", "AuthOutcome", "OAuthServer", "WebhookAdmin"]

_AUTH_FAILED = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
_AUTHZ_FAILED = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"


@dataclass(frozen=True)
class AuthOutcome:
    """Result of checking a bearer token for a realm; the API turns a failure into a fault body."""

    ok: bool
    status: int = 200
    code: str = ""
    message: str = ""
    detail: str = ""


_OK = AuthOutcome(ok=True)


def _unauthenticated(detail: str) -> AuthOutcome:
    return AuthOutcome(False, 401, "3200", _AUTH_FAILED, detail)


class WebhookAdmin(Protocol):
    """What the admin API needs from the webhook dispatcher (it attaches itself to the server)."""

    def deliveries(self, client_id: str | None) -> list[dict[str, Any]]: ...
    def configure(self, settings: dict[str, Any]) -> dict[str, Any]: ...
    async def flush(self) -> int: ...


class OAuthServer:
    """Holds all OAuth state in memory; `reset` empties it (apps included)."""

    def __init__(self, clock: Clock, realms: Callable[[], list[tuple[str, str]]]) -> None:
        self.clock = clock
        self.realms = realms
        self.apps = AppRegistry()
        self.tokens = TokenService(clock)
        self.monitor = TokenEndpointMonitor()
        self.webhooks: WebhookAdmin | None = None

    def router(self) -> APIRouter:
        from qbo_emulator.oauth.routes import (
            public_router,  # routes import this module for the type
        )

        return public_router(self)

    def admin_router(self) -> APIRouter:
        from qbo_emulator.oauth.admin_routes import admin_router

        return admin_router(self)

    def authenticate(self, authorization: str | None, realm_id: str) -> AuthOutcome:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _unauthenticated("Malformed bearer token: too short or too long")
        grant = self.tokens.access(token)
        if grant == "expired":
            return _unauthenticated(f"Token expired: {token[:20]}...")
        if grant == "revoked":
            return _unauthenticated("Token revoked")
        if isinstance(grant, str):
            return _unauthenticated("Token invalid: not issued by this server")
        if grant.realm_id != realm_id:
            detail = f"The access token is not authorized for company {realm_id}"
            return AuthOutcome(False, 403, "3100", _AUTHZ_FAILED, detail)
        return _OK

    def connected_apps(self, realm_id: str) -> list[App]:
        """Apps with webhooks configured and a live grant on the realm (QBO.md §6.1)."""
        candidates = [a for a in self.apps.all() if a.webhooks_enabled()]
        if not candidates:
            return []
        connected = {g.client_id for g in self.tokens.live_grants_for_realm(realm_id)}
        return [a for a in candidates if a.client_id in connected]

    def export_state(self) -> dict[str, Any]:
        """Apps and grants as picklable data, so a demo survives a restart (CLI --state-file)."""
        return {"apps": self.apps.all(), "tokens": self.tokens.export_state()}

    def import_state(self, state: dict[str, Any]) -> None:
        self.reset()
        for app in state.get("apps", []):
            self.apps.register(app)
        if "tokens" in state:
            self.tokens.import_state(state["tokens"])

    def reset(self) -> None:
        self.apps.clear()
        self.tokens.clear()
        self.monitor.clear()
