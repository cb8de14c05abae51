"""Internal token API: per-service credentials, status codes, qbo-client's provider against it."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from custody_fakes import FakeIntuit, RecordedEvents
from custody_harness import NewTenant, Replica, age_tokens, connect, replica
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.api import token_router
from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.custody.keyring import KeyRing, generate_key
from qbo_client.errors import QBOError, TenantNeedsReauthorization, UnknownTenant
from qbo_client.tokens import GatewayTokenProvider

pytestmark = pytest.mark.integration

PARTNER_SYNC_SECRET = "ps-" + "x" * 40
CREDENTIALS = ServiceCredentials({"partner-sync": PARTNER_SYNC_SECRET, "invoice-sync": "i" * 40})


@pytest.fixture
def gateway(gateway_sessions: async_sessionmaker[AsyncSession]) -> tuple[Replica, FakeIntuit]:
    intuit = FakeIntuit()
    keyring = KeyRing({"k1": base64.b64decode(generate_key())}, "k1")
    return replica(gateway_sessions, intuit, RecordedEvents(), keyring), intuit


@pytest.fixture
async def http(gateway: tuple[Replica, FakeIntuit]) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(token_router(gateway[0].vault, CREDENTIALS))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def url(tenant: str) -> str:
    return f"/internal/v1/tenants/{tenant}/access-token"


async def test_provider_gets_tokens_and_refreshes_after_a_401(
    gateway: tuple[Replica, FakeIntuit],
    http: httpx.AsyncClient,
    gateway_sessions: async_sessionmaker[AsyncSession],
    new_tenant: NewTenant,
) -> None:
    gw, intuit = gateway
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant, realm_id="123145")
    provider = GatewayTokenProvider("http://gateway", PARTNER_SYNC_SECRET, http=http)
    token = await provider.get_token(tenant)
    assert token.access_token == grant.access_token
    assert token.realm_id == "123145"
    assert token.api_base_url == "http://qbo.test"
    renewed = await provider.get_token(tenant, failed_token=token.access_token)
    assert renewed.access_token != grant.access_token
    assert intuit.refresh_calls == 1


async def test_answer_never_contains_the_refresh_token_and_is_not_cached(
    gateway: tuple[Replica, FakeIntuit],
    http: httpx.AsyncClient,
    gateway_sessions: async_sessionmaker[AsyncSession],
    new_tenant: NewTenant,
) -> None:
    gw, intuit = gateway
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant)
    resp = await http.post(
        url(tenant), json={}, headers={"Authorization": f"Bearer {PARTNER_SYNC_SECRET}"}
    )
    assert resp.status_code == 200
    assert set(resp.json()) == {"access_token", "realm_id", "api_base_url", "expires_at"}
    assert grant.refresh_token not in resp.text
    assert resp.headers["cache-control"] == "no-store"


async def test_status_codes_for_unknown_unconnected_and_reauth_tenants(
    gateway: tuple[Replica, FakeIntuit],
    http: httpx.AsyncClient,
    gateway_sessions: async_sessionmaker[AsyncSession],
    new_tenant: NewTenant,
) -> None:
    gw, intuit = gateway
    auth = {"Authorization": f"Bearer {PARTNER_SYNC_SECRET}"}
    missing = await http.post(url("t-nope"), json={}, headers=auth)
    assert missing.status_code == 404
    idle = await new_tenant(state="not_connected")
    resp = await http.post(url(idle), json={}, headers=auth)
    assert (resp.status_code, resp.json()["code"]) == (409, "not_connected")
    lost = await new_tenant()
    await connect(gateway_sessions, gw.vault, lost, intuit.grant())
    intuit.valid_refresh.clear()
    await age_tokens(gateway_sessions, lost, access_left=timedelta(seconds=-1))
    resp = await http.post(url(lost), json={}, headers=auth)
    assert (resp.status_code, resp.json()) == (
        409,
        {"code": "needs_reauthorization", "message": f"tenant {lost} is needs_reauthorization"},
    )
    provider = GatewayTokenProvider("http://gateway", PARTNER_SYNC_SECRET, http=http)
    with pytest.raises(TenantNeedsReauthorization):
        await provider.get_token(lost)
    with pytest.raises(UnknownTenant):
        await provider.get_token("t-nope")
    bad = await http.post(url(lost), json={"failed_token_sha256": "zz"}, headers=auth)
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-secret-of-some-length", f"Basic {PARTNER_SYNC_SECRET}", "Bearer "],
)
async def test_unknown_credentials_get_401_and_are_audited(
    gateway: tuple[Replica, FakeIntuit],
    http: httpx.AsyncClient,
    gateway_sessions: async_sessionmaker[AsyncSession],
    new_tenant: NewTenant,
    caplog: pytest.LogCaptureFixture,
    header: str | None,
) -> None:
    gw, intuit = gateway
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant)
    headers = {"Authorization": header} if header else {}
    with caplog.at_level(logging.WARNING, logger="oauth_gateway.custody.api"):
        resp = await http.post(url(tenant), json={}, headers=headers)
    assert resp.status_code == 401
    assert grant.access_token not in resp.text
    audits = [r for r in caplog.records if getattr(r, "audit", None) == "internal-api-denied"]
    assert len(audits) == 1
    assert audits[0].__dict__["path"] == url(tenant)
    assert "wrong-secret" not in caplog.text
    provider = GatewayTokenProvider("http://gateway", "not-a-real-credential", http=http)
    with pytest.raises(QBOError) as info:
        await provider.get_token(tenant)
    assert info.value.status == 401
    assert json.dumps(resp.json())  # the body is JSON, not an HTML error page
