"""Composition root: one FastAPI app with the accounting API, Intuit OAuth, webhooks and admin.

Wiring interface (for part B and the CLI)::

    app = create_app(EmulatorConfig(...))        # state lives on app.state.emulator (Emulator)
    emulator = app.state.emulator
    emulator.clock     # Clock shared by everything
    emulator.store     # accounting Store; store.names() -> [(realm_id, company_name)]
    emulator.oauth     # OAuthServer(clock, realms=store.names); .authenticate() guards /v3
    emulator.webhooks  # WebhookDispatcher(oauth, clock); .notify(realm, entity, id, op, at)
                       # is called on every create/update/delete/void; started/stopped in lifespan
    emulator.reset()   # what POST /_emulator/reset does (store, limits, stats, clock, oauth, hooks)

Routes: `/v3/company/{realmId}/...` (accounting.api), OAuth routes from `oauth.router()`,
admin under `/_emulator/` (`accounting.admin` + `oauth.admin_router()`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qbo_emulator.accounting.admin import admin_router
from qbo_emulator.accounting.api import AccountingApi, Allowed, AuthResult
from qbo_emulator.accounting.ledger import Ledger
from qbo_emulator.accounting.seed import create_realm
from qbo_emulator.accounting.store import Store
from qbo_emulator.clock import Clock
from qbo_emulator.config import EmulatorConfig
from qbo_emulator.oauth import OAuthServer
from qbo_emulator.webhooks import WebhookDispatcher
from qbo_emulator.webview import webview_router

_API_PREFIX = "/v3/company/"


@dataclass
class Emulator:
    config: EmulatorConfig
    clock: Clock
    store: Store
    ledger: Ledger
    api: AccountingApi
    oauth: OAuthServer
    webhooks: WebhookDispatcher | None

    def notify(
        self, realm_id: str, entity: str, entity_id: str, operation: str, at: datetime
    ) -> None:
        if self.webhooks is not None:
            self.webhooks.notify(realm_id, entity, entity_id, operation, at)

    def authenticate(self, authorization: str | None, realm_id: str) -> AuthResult:
        if self.config.static_tokens and authorization:
            token = authorization.partition(" ")[2].strip()
            if token in self.config.static_tokens:
                return Allowed()
        return self.oauth.authenticate(authorization, realm_id)

    def seed(self) -> None:
        for company in self.config.companies:
            self.store.add(
                create_realm(
                    self.clock,
                    company.realm_id,
                    company.company_name,
                    country=company.country,
                    multicurrency=company.multicurrency,
                    seeded=company.seeded,
                )
            )

    def reset(self) -> None:
        self.store.reset()
        self.api.reset()
        self.clock.reset()
        self.oauth.reset()
        if self.webhooks is not None:
            self.webhooks.reset()


class FrontDoor:
    """Sends /v3 calls straight to the accounting API and stamps `intuit_tid` on everything else.

    Skipping FastAPI's router for the API's hot path roughly halves per-request overhead.
    """

    def __init__(self, app: ASGIApp, api: AccountingApi) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(_API_PREFIX):
            realm_id, _, rest = path[len(_API_PREFIX) :].partition("/")
            if realm_id and rest:
                scope["path_params"] = {"realm_id": realm_id, "path": rest}
                response = await self.api.handle(Request(scope, receive))
                await response(scope, receive, send)
                return

        async def send_with_tid(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"intuit_tid" for k, _ in headers):
                    headers.append((b"intuit_tid", f"1-{uuid.uuid4().hex[:24]}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_tid)


def create_app(config: EmulatorConfig | None = None) -> FastAPI:
    config = config or EmulatorConfig()
    clock = Clock()
    store = Store()
    oauth = OAuthServer(clock, realms=store.names)
    webhooks = WebhookDispatcher(oauth, clock) if config.webhooks else None
    ledger = Ledger(clock)
    api = AccountingApi(store, clock, ledger, max_body_bytes=config.max_body_bytes)
    emulator = Emulator(config, clock, store, ledger, api, oauth, webhooks)
    ledger.notify = emulator.notify
    api.authenticate = emulator.authenticate
    emulator.seed()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if webhooks is not None:
            await webhooks.start()
        try:
            yield
        finally:
            if webhooks is not None:
                await webhooks.stop()

    app = FastAPI(title="QuickBooks Online emulator", lifespan=lifespan)
    app.state.emulator = emulator
    app.include_router(api.router())
    app.include_router(oauth.router())
    app.include_router(oauth.admin_router())

    def reset_others() -> None:
        oauth.reset()
        if webhooks is not None:
            webhooks.reset()

    app.include_router(admin_router(api, reset_others))
    app.include_router(webview_router(store))
    app.add_middleware(FrontDoor, api=api)
    return app
