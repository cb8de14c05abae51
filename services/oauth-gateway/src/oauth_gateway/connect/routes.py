"""Browser routes: connect, reconnect and disconnect pages, Intuit redirect, OAuth callback."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from oauth_gateway.connect.flow import ConnectFlow, Started, UnknownTenant
from oauth_gateway.connect.pages import connect_page, disconnect_page, outcome_page
from oauth_gateway.custody.errors import RevocationFailed
from oauth_gateway.tenants.model import ConnectRefused, TenantState, is_realm_id
from oauth_gateway.tenants.signing import STATE_TTL

BROWSER_COOKIE = "qbsync_oauth"
CALLBACK_PATH = "/oauth/callback"
# Pages carry single-use links, states and outcomes: never cache them anywhere.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def _refused(refused: ConnectRefused, status: int = 400) -> HTMLResponse:
    return _html(outcome_page("Cannot continue", refused.message, ok=False), status)


def connect_router(flow: ConnectFlow, *, secure_cookies: bool) -> APIRouter:
    router = APIRouter(tags=["connect"], include_in_schema=False)

    def _to_intuit(started: Started) -> Response:
        response = RedirectResponse(started.authorize_url, status_code=303, headers=NO_STORE)
        # Binds the callback to this browser: a state lifted from a URL is useless elsewhere.
        response.set_cookie(
            BROWSER_COOKIE,
            started.browser_nonce,
            max_age=int(STATE_TTL.total_seconds()),
            path=CALLBACK_PATH,
            httponly=True,
            secure=secure_cookies,
            samesite="lax",
        )
        return response

    @router.get("/connect/{token}", response_class=HTMLResponse)
    async def show_connect(token: str) -> Response:
        try:
            tenant = await flow.link_tenant(token, "connect")
        except ConnectRefused as refused:
            return _refused(refused, 404)
        reconnect = tenant.state is TenantState.NEEDS_REAUTHORIZATION
        return _html(connect_page(tenant.name, f"/connect/{token}", reconnect=reconnect))

    @router.post("/connect/{token}")
    async def start_connect(token: str) -> Response:
        try:
            return _to_intuit(await flow.start_from_link(token))
        except ConnectRefused as refused:
            return _refused(refused, 404)

    @router.get("/reconnect", response_class=HTMLResponse)
    async def show_reconnect(realmId: str = "") -> Response:
        if not is_realm_id(realmId):
            return _refused(ConnectRefused("unknown-company", "No QuickBooks company was named."))
        page = connect_page(
            "your QuickBooks company", "/reconnect", reconnect=True, hidden={"realmId": realmId}
        )
        return _html(page)

    @router.post("/reconnect")
    async def start_reconnect(realmId: str = Form("")) -> Response:
        try:
            return _to_intuit(await flow.start_reconnect(realmId))
        except ConnectRefused as refused:
            return _refused(refused, 404)

    @router.get(CALLBACK_PATH)
    async def oauth_callback(request: Request) -> Response:
        params = dict(request.query_params.items())
        finished = await flow.callback(params, request.cookies.get(BROWSER_COOKIE))
        response: Response
        if finished.redirect_to:
            # A redirect, not HTML: the code must not linger in a page's Referer (Intuit §7.1).
            response = RedirectResponse(finished.redirect_to, status_code=303, headers=NO_STORE)
        else:
            title = "Connected" if finished.ok else "Not connected"
            status = 200 if finished.ok else 400
            response = _html(outcome_page(title, finished.message, ok=finished.ok), status)
        response.delete_cookie(BROWSER_COOKIE, path=CALLBACK_PATH)
        return response

    @router.get("/disconnect/{token}", response_class=HTMLResponse)
    async def show_disconnect(token: str) -> Response:
        try:
            tenant = await flow.link_tenant(token, "disconnect")
        except ConnectRefused as refused:
            return _refused(refused, 404)
        return _html(disconnect_page(tenant.name, f"/disconnect/{token}"))

    @router.post("/disconnect/{token}")
    async def do_disconnect(token: str) -> Response:
        try:
            tenant = await flow.disconnect_from_link(token)
        except ConnectRefused as refused:
            return _refused(refused, 404)
        except UnknownTenant:
            return _refused(ConnectRefused("unknown-tenant", "This account no longer exists."), 404)
        except RevocationFailed:
            message = (
                "QuickBooks could not be reached to remove this app's access, so nothing was "
                "changed: your company is still connected. Try again in a few minutes; this link "
                "still works."
            )
            return _html(outcome_page("Not disconnected yet", message, ok=False), 503)
        return _html(
            outcome_page("Disconnected", f"{tenant.name} is disconnected from QuickBooks.", ok=True)
        )

    return router
