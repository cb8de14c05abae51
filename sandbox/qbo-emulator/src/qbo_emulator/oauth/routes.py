"""Public Intuit OAuth endpoints: discovery, authorize + consent, token, revoke, userinfo, jwks."""

from __future__ import annotations

import asyncio
import binascii
import json
import secrets
import time
from base64 import b64decode
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from qbo_emulator.oauth.apps import App
from qbo_emulator.oauth.discovery import (
    AUTHORIZE_PATH,
    DISCOVERY_NAMES,
    JWKS_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    discovery_document,
)
from qbo_emulator.oauth.pages import ConsentRequest, consent_page, error_page
from qbo_emulator.oauth.scopes import needs_company, parse_scope
from qbo_emulator.oauth.tokens import InvalidGrant

if TYPE_CHECKING:
    from qbo_emulator.oauth import OAuthServer

_NO_STORE = {"cache-control": "no-cache, no-store", "pragma": "no-cache"}


def intuit_tid() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def _json(status: int, body: Mapping[str, Any] | None) -> Response:
    headers = {**_NO_STORE, "intuit_tid": intuit_tid()}
    if body is None:
        return Response(status_code=status, headers=headers)
    content = json.dumps(body).encode()
    return Response(content, status, headers, media_type="application/json;charset=UTF-8")


def _redirect(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(params), status_code=302)


def _client_credentials(request: Request, form: Mapping[str, Any]) -> tuple[str, str] | None:
    """client_secret_basic first, then client_secret_post, as the discovery document advertises."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        return (client_id, secret) if sep else None
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if isinstance(form_id, str) and isinstance(form_secret, str):
        return form_id, form_secret
    return None


async def _form(request: Request) -> Mapping[str, Any] | None:
    """The form body, or None when it cannot be parsed (Starlette raises a 400 of its own shape)."""
    try:
        return await request.form()
    except HTTPException:
        return None


async def _read_token_param(request: Request) -> str | None:
    """Revoke takes JSON (intuit-oauth py/js) or a form body (node-quickbooks)."""
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        token = body.get("token") if isinstance(body, dict) else None
        return token if isinstance(token, str) and token else None
    form = await _form(request)
    token = form.get("token") if form is not None else None
    return token if isinstance(token, str) and token else None


def public_router(server: OAuthServer) -> APIRouter:
    router = APIRouter(tags=["intuit-oauth"])

    async def discovery(request: Request) -> Response:
        return _json(200, discovery_document(str(request.base_url)))

    for name in DISCOVERY_NAMES:
        for path in (f"/.well-known/{name}", f"/.well-known/{name}/"):
            router.add_api_route(path, discovery, methods=["GET"], include_in_schema=False)
            # Clients configured with a prefixed URL (a path-based proxy, Intuit's own host layout).
            router.add_api_route(
                "/{prefix:path}" + path, discovery, methods=["GET"], include_in_schema=False
            )

    def check_client(params: Mapping[str, Any]) -> tuple[App | None, str | None]:
        """The app, or a message for an error page: never redirect to an unchecked redirect_uri."""
        client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
        app = server.apps.get(client_id) if isinstance(client_id, str) else None
        if app is None:
            return None, "Invalid client_id: no app is registered with this client_id."
        if not isinstance(redirect_uri, str) or redirect_uri not in app.redirect_uris:
            return None, "The redirect_uri does not match any redirect URI registered for this app."
        return app, None

    def approve(
        app: App, redirect_uri: str, realm_id: str | None, scope: str, state: str
    ) -> Response:
        code = server.tokens.issue_code(app.client_id, redirect_uri, realm_id, scope)
        params = {"code": code}
        if state:
            params["state"] = state
        if realm_id is not None:
            params["realmId"] = realm_id
        return _redirect(redirect_uri, params)

    def refuse(redirect_uri: str, error: str, state: str) -> Response:
        params = {"error": error}
        if state:
            params["state"] = state
        return _redirect(redirect_uri, params)

    @router.get(AUTHORIZE_PATH, response_class=HTMLResponse)
    async def authorize(request: Request) -> Response:
        params = request.query_params
        app, problem = check_client(params)
        if app is None:
            return HTMLResponse(error_page(problem or ""), 400, headers=_NO_STORE)
        redirect_uri = params["redirect_uri"]
        state = params.get("state", "")
        if params.get("response_type") != "code":
            return refuse(redirect_uri, "unsupported_response_type", state)
        scopes = parse_scope(params.get("scope"))
        if scopes is None:
            return refuse(redirect_uri, "invalid_scope", state)
        scope = " ".join(scopes)
        company = needs_company(scopes)
        if app.auto_approve_realm is not None:
            realm = app.auto_approve_realm if company else None
            return approve(app, redirect_uri, realm, scope, state)
        consent = ConsentRequest(app.client_id, redirect_uri, scope, state, app.name)
        html = consent_page(consent, server.realms(), company)
        return HTMLResponse(html, headers=_NO_STORE)

    @router.post(AUTHORIZE_PATH, response_class=HTMLResponse)
    async def consent(request: Request) -> Response:
        form = await _form(request) or {}
        app, problem = check_client(form)
        if app is None:
            return HTMLResponse(error_page(problem or ""), 400, headers=_NO_STORE)
        redirect_uri = str(form["redirect_uri"])
        state = str(form.get("state") or "")
        scopes = parse_scope(str(form.get("scope") or ""))
        if scopes is None:
            return refuse(redirect_uri, "invalid_scope", state)
        if form.get("decision") != "connect":
            return refuse(redirect_uri, "access_denied", state)
        realm: str | None = None
        if needs_company(scopes):
            realm = str(form.get("realm_id") or "")
            if realm not in {r for r, _ in server.realms()}:
                return HTMLResponse(error_page("Choose a company to connect."), 400)
        return approve(app, redirect_uri, realm, " ".join(scopes), state)

    @router.post(TOKEN_PATH)
    async def token(request: Request) -> Response:
        form = await _form(request)
        if form is None:
            return _json(400, {"error": "invalid_request"})
        credentials = _client_credentials(request, form)
        claimed = credentials[0] if credentials else None
        grant_type = str(form.get("grant_type") or "")
        fault = server.monitor.take_fault(claimed)
        if fault is not None and fault.mode == "status":
            if claimed:
                server.monitor.record(claimed, grant_type or "unknown", fault.status)
            return _json(fault.status, {"error": "server_error"})
        if fault is not None:
            await asyncio.sleep(fault.seconds)
        app = server.apps.authenticate(*credentials) if credentials else None
        if app is None:
            if claimed:
                server.monitor.record(claimed, grant_type or "unknown", 401)
            return _json(401, {"error": "invalid_client"})
        status, body = _grant(server, app, grant_type, form, request.headers)
        server.monitor.record(app.client_id, grant_type or "unknown", status)
        return _json(status, body)

    @router.post(REVOKE_PATH)
    async def revoke(request: Request) -> Response:
        token_value = await _read_token_param(request)
        credentials = _client_credentials(request, {})
        app = server.apps.authenticate(*credentials) if credentials else None
        if app is None:
            return _json(401, {"error": "invalid_client"})
        server.monitor.record(app.client_id, "revoke", 200 if token_value else 400)
        if token_value is None:
            return _json(400, {"error": "invalid_request"})
        # RFC 7009 §2.2: an unknown token is not an error, the caller's goal (it is dead) holds.
        server.tokens.revoke(app.client_id, token_value)
        return _json(200, None)

    @router.get(USERINFO_PATH)
    async def userinfo(request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        grant = server.tokens.access(value.strip()) if scheme.lower() == "bearer" else "unknown"
        if isinstance(grant, str):
            return _json(401, {"error": "invalid_token"})
        return _json(200, _profile(grant.grant_id))

    @router.get(JWKS_PATH)
    async def jwks() -> Response:
        # No id_token is issued (QBO.md §1.6 allows omitting it), so there is no key to publish.
        return _json(200, {"keys": []})

    return router


def _grant(
    server: OAuthServer,
    app: App,
    grant_type: str,
    form: Mapping[str, Any],
    headers: Mapping[str, str],
) -> tuple[int, dict[str, Any]]:
    include_hard = headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
    try:
        if grant_type == "authorization_code":
            code, redirect_uri = form.get("code"), form.get("redirect_uri")
            if not isinstance(code, str) or not code:
                return 400, {"error": "invalid_request"}
            uri = redirect_uri if isinstance(redirect_uri, str) else None
            return 200, server.tokens.exchange_code(app, code, uri).body(include_hard)
        if grant_type == "refresh_token":
            refresh_token = form.get("refresh_token")
            if not isinstance(refresh_token, str) or not refresh_token:
                return 400, {"error": "invalid_request"}
            return 200, server.tokens.refresh(app, refresh_token).body(include_hard)
    except InvalidGrant as exc:
        return 400, exc.body()
    return 400, {"error": "unsupported_grant_type"}


def _profile(grant_id: str) -> dict[str, Any]:
    # Stable per connection so a client that matches on `sub` (QBO.md §7.1) sees the same user.
    return {
        "sub": f"{grant_id[:8]}-0000-4000-8000-{grant_id[:12].ljust(12, '0')}",
        "givenName": "Emulated",
        "familyName": "User",
        "email": "user@example.com",
        "emailVerified": True,
        "phoneNumber": "+1 5555550100",
        "phoneNumberVerified": False,
    }
