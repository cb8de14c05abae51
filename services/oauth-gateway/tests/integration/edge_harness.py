"""A gateway app with part A's routes over the real test database (connect, operators, webhooks)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.config import DEV_TOKEN_KEYS, Settings
from oauth_gateway.custody.intuit import InvalidGrant
from oauth_gateway.custody.keyring import KeyRing
from oauth_gateway.custody.model import TokenGrant
from oauth_gateway.custody.refresher import utc_now
from oauth_gateway.edge import Edge, build_edge
from oauth_gateway.tenants.outbox_events import OutboxTenantEventSink
from oauth_gateway.tenants.tables import tenant_tables
from qbsync_common.outbox import Outbox
from qbsync_common.tables import plumbing_tables

SCHEMA = "oauth_gateway"
BASE = "http://gateway.test"
VERIFIER = "test-verifier-token"


@dataclass
class FakeAuthorize:
    """Intuit's authorize page and code exchange: codes are single-use, like Intuit's."""

    codes: dict[str, TokenGrant] = field(default_factory=dict)
    exchanges: int = 0
    refuse_exchanges: bool = False
    revoked: list[str] = field(default_factory=list)

    async def authorize_url(self, state: str) -> str:
        query = urlencode({"client_id": "app", "response_type": "code", "state": state})
        return f"https://intuit.test/connect/oauth2?{query}"

    def approve(self) -> str:
        """The user approved at Intuit: a code for one exchange."""
        code = f"code-{secrets.token_urlsafe(12)}"
        self.codes[code] = TokenGrant(
            f"AT-{secrets.token_urlsafe(16)}", f"RT-{secrets.token_urlsafe(16)}", 3600, 8_640_000
        )
        return code

    async def exchange_code(self, code: str) -> TokenGrant:
        self.exchanges += 1
        grant = self.codes.pop(code, None)
        if grant is None or self.refuse_exchanges:
            raise InvalidGrant("authorization_code: HTTP 400 invalid_grant")
        return grant

    async def revoke(self, token: str) -> None:
        self.revoked.append(token)


@dataclass
class Gateway:
    client: httpx.AsyncClient
    intuit: FakeAuthorize
    edge: Edge
    sessions: async_sessionmaker[AsyncSession]
    operator_key: str
    tenants: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator_key}"}

    async def new_tenant(self, return_url: str | None = "https://app.test/qbo?x=1") -> str:
        tenant_id = f"t-{uuid.uuid4().hex[:12]}"
        body: dict[str, Any] = {"tenant_id": tenant_id, "name": f"Acme {tenant_id}"}
        if return_url:
            body["return_url"] = return_url
        resp = await self.client.post("/v1/tenants", json=body, headers=self.auth)
        assert resp.status_code == 201, resp.text
        self.tenants.append(tenant_id)
        return tenant_id

    async def link(self, tenant_id: str, purpose: str = "connect") -> str:
        resp = await self.client.post(
            f"/v1/tenants/{tenant_id}/links", json={"purpose": purpose}, headers=self.auth
        )
        assert resp.status_code == 201, resp.text
        assert resp.headers["cache-control"] == "no-store"
        return str(resp.json()["url"]).removeprefix(BASE)

    async def start(self, tenant_id: str) -> str:
        """Open a connect link and press the button; returns the `state` sent to Intuit."""
        path = await self.link(tenant_id)
        page = await self.client.get(path)
        assert page.status_code == 200
        assert "Connect to QuickBooks" in page.text
        resp = await self.client.post(path)
        assert resp.status_code == 303, resp.text
        return parse_qs(urlsplit(resp.headers["location"]).query)["state"][0]

    async def callback(self, **params: str) -> httpx.Response:
        return await self.client.get("/oauth/callback", params=params)

    async def sql(self, query: str, **params: Any) -> Any:
        async with self.sessions() as session:
            return (await session.execute(text(query), params)).scalar()

    async def execute(self, statement: str, **params: Any) -> None:
        async with self.sessions.begin() as session:
            await session.execute(text(statement), params)

    async def tokens(self, tenant_id: str) -> int:
        return int(
            await self.sql(f"SELECT count(*) FROM {SCHEMA}.tokens WHERE tenant_id=:t", t=tenant_id)
        )

    async def events(self, tenant_id: str) -> list[str]:
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    f"SELECT routing_key FROM {SCHEMA}.outbox "
                    "WHERE headers->>'tenantid' = :t ORDER BY seq"
                ),
                {"t": tenant_id},
            )
            return [str(r[0]) for r in rows]

    async def cleanup(self) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                text(f"DELETE FROM {SCHEMA}.outbox WHERE headers->>'tenantid' = ANY(:ids)"),
                {"ids": self.tenants},
            )
            await session.execute(
                text(f"DELETE FROM {SCHEMA}.tenants WHERE tenant_id = ANY(:ids)"),
                {"ids": self.tenants},
            )
        await self.client.aclose()


def gateway(
    sessions: async_sessionmaker[AsyncSession],
    vault: Any,
    clock: Callable[[], datetime] = utc_now,
) -> Gateway:
    operator_key = secrets.token_urlsafe(24)
    settings = Settings(
        public_base_url=BASE,
        operator_api_keys=SecretStr(operator_key),
        connect_signing_key=SecretStr(secrets.token_urlsafe(32)),
        webhook_verifier_token=SecretStr(VERIFIER),
    )
    metadata = MetaData(schema=SCHEMA)
    intuit = FakeAuthorize()
    edge = build_edge(
        settings,
        tables=tenant_tables(metadata),
        sessions=sessions,
        events=OutboxTenantEventSink(Outbox(plumbing_tables(metadata))),
        oauth=intuit,
        vault=vault,
        clock=clock,
    )
    app = FastAPI()
    edge.mount(app)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
    return Gateway(client, intuit, edge, sessions, operator_key)


def dev_keyring() -> KeyRing:
    return KeyRing.from_json(DEV_TOKEN_KEYS)
