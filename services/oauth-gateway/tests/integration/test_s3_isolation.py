"""RELIABILITY §8 S3: tenant isolation through the served gateway against the emulator.

Design (README "Tenant isolation"): any qbsync service credential may read any tenant's token,
and an operator key serves every tenant of its upstream app. What the design forbids, and what
these tests check, is: ids that could never exist reaching a query (4xx, never 5xx), unknown
credentials (401, audited), and a QuickBooks company reaching a tenant it does not belong to
(refused, audited, and never exchanged at Intuit).
"""

from __future__ import annotations

import logging
import random
import string
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from live_gateway import LiveGateway, connect, issued_token, live_gateway
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration

FORGED_IDS = [
    "\x00",
    "t-1\x00",
    "t-\x00-x",
    "../tenants",
    "-leading-dash",
    ".hidden",
    "a" * 65,
    "t 1",
    "t;DROP TABLE tenants",
    "t'--",
    "tenant\u00e9",
    "\u202et-rtl",
    "t\r\nX-Forged: 1",
    "%00",
]


def fuzzed_ids(count: int) -> list[str]:
    """Random ids over an alphabet with control characters, quotes and non-ASCII (seeded)."""
    rng = random.Random(20261205)
    alphabet = string.printable + "\x00\x01\x7f\u00e9\u4e2d\ufeff"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(count)]


@pytest.fixture(scope="module")
async def gw(
    emulator_url: str, gateway_db: str, gateway_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator_url, gateway_db, gateway_sessions) as gateway:
        yield gateway


@pytest.fixture
async def tenants(gw: LiveGateway) -> AsyncIterator[list[str]]:
    created: list[str] = []
    yield created
    await gw.cleanup(created)


def audited(caplog: pytest.LogCaptureFixture, kind: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "audit", None) == kind]


def refusal(record: logging.LogRecord) -> tuple[str, str]:
    return str(getattr(record, "refusal", "")), str(getattr(record, "realm_id", ""))


async def test_forged_and_fuzzed_tenant_ids_get_4xx_never_5xx(gw: LiveGateway) -> None:
    service = {"Authorization": f"Bearer {gw.service_secret}"}
    answers: dict[tuple[str, str], int] = {}
    async with gw.client() as client:
        for tenant_id in FORGED_IDS + fuzzed_ids(40):
            segment = quote(tenant_id, safe="")
            calls = {
                "token": client.post(
                    f"/internal/v1/tenants/{segment}/access-token",
                    json={"failed_token_sha256": None},
                    headers=service,
                ),
                "internal settings": client.get(
                    f"/internal/v1/tenants/{segment}/settings", headers=service
                ),
                "tenant": client.get(f"/v1/tenants/{segment}", headers=gw.operator),
                "settings": client.get(f"/v1/tenants/{segment}/settings", headers=gw.operator),
                "link": client.post(
                    f"/v1/tenants/{segment}/links", json={"purpose": "connect"}, headers=gw.operator
                ),
                "disconnect": client.post(f"/v1/tenants/{segment}/disconnect", headers=gw.operator),
                "list": client.get("/v1/tenants", params={"after": tenant_id}, headers=gw.operator),
                "reconnect page": client.get("/reconnect", params={"realmId": tenant_id}),
                "reconnect": client.post("/reconnect", data={"realmId": tenant_id}),
            }
            for name, call in calls.items():
                answers[(name, tenant_id)] = (await call).status_code
    server_errors = {key: status for key, status in answers.items() if status >= 500}
    assert server_errors == {}
    # Every forged id is refused (none exists); the list may legitimately page from any id.
    refused = {key: s for key, s in answers.items() if key[0] != "list" and not 400 <= s < 500}
    assert refused == {}
    # The internal routes refuse malformed ids by pattern, as the operator API does.
    assert answers[("token", "t-1\x00")] == 422
    assert answers[("internal settings", "t-1\x00")] == 422


async def test_nul_or_forged_realm_in_the_callback_is_refused_and_audited(
    gw: LiveGateway, tenants: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await gw.new_tenant(return_url=None)
    tenants.append(tenant)
    calls_before = await gw.emulator.token_calls()
    async with gw.client() as browser:
        link = await gw.link(tenant)
        pressed = await browser.post(link)
        assert pressed.status_code == 303
        location = pressed.headers["location"]
        state = location.split("state=", 1)[1].split("&", 1)[0]
        with caplog.at_level(logging.WARNING, logger="oauth_gateway"):
            resp = await browser.get(
                "/oauth/callback",
                params={"state": state, "code": "forged-code", "realmId": "1\x00; DROP"},
            )
    assert resp.status_code == 400
    assert "unusable company" in resp.text
    [record] = audited(caplog, "connect-refused")
    assert (refusal(record)) == ("invalid-company", "<malformed>")
    assert await gw.emulator.token_calls() == calls_before
    assert await gw.token_rows(tenant) == 0


async def test_unknown_credentials_are_refused_and_audited_without_the_secret(
    gw: LiveGateway, tenants: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    realm_id = await gw.emulator.company()
    tenant = await gw.new_tenant()
    tenants.append(tenant)
    await connect(gw, tenant, realm_id)
    calls_before = await gw.emulator.token_calls()
    forged_service, forged_operator = "forged-service-" + "s" * 30, "forged-operator-" + "o" * 30
    async with gw.client() as client:
        with caplog.at_level(logging.WARNING, logger="oauth_gateway"):
            token = await client.post(
                f"/internal/v1/tenants/{tenant}/access-token",
                json={},
                headers={"Authorization": f"Bearer {forged_service}"},
            )
            settings = await client.get(
                f"/internal/v1/tenants/{tenant}/settings",
                headers={"Authorization": f"Bearer {forged_service}"},
            )
            operator = await client.get(
                f"/v1/tenants/{tenant}", headers={"Authorization": f"Bearer {forged_operator}"}
            )
    assert (token.status_code, settings.status_code, operator.status_code) == (401, 401, 401)
    assert "access_token" not in token.text
    assert len(audited(caplog, "internal-api-denied")) == 2
    assert len(audited(caplog, "operator-api-denied")) == 1
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert forged_service not in logged
    assert forged_operator not in logged
    # The refusals cost Intuit nothing.
    assert await gw.emulator.token_calls() == calls_before


async def test_a_company_bound_to_one_tenant_never_reaches_another(
    gw: LiveGateway, tenants: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    realm_a, realm_b = await gw.emulator.company(), await gw.emulator.company()
    tenant_a, tenant_b = await gw.new_tenant(), await gw.new_tenant()
    tenants += [tenant_a, tenant_b]
    await connect(gw, tenant_a, realm_a)
    calls_after_a = await gw.emulator.token_calls()

    with caplog.at_level(logging.WARNING, logger="oauth_gateway"):
        # Tenant B's admin authorizes tenant A's company: refused before any code exchange.
        stolen = await connect(gw, tenant_b, realm_a)
        # Tenant A's admin reconnects and picks another company: refused, A keeps its own.
        switched = await connect(gw, tenant_a, realm_b)
    assert stolen.outcome["qbsync_outcome"] == ["realm-already-bound"]
    assert stolen.outcome["qbsync_tenant_id"] == [tenant_b]
    assert switched.outcome["qbsync_outcome"] == ["realm-mismatch"]
    refusals = {refusal(r) for r in audited(caplog, "connect-refused")}
    assert refusals == {("realm-already-bound", realm_a), ("realm-mismatch", realm_b)}

    view_b = await gw.tenant(tenant_b)
    assert (view_b["state"], view_b["realm_id"]) == ("not_connected", None)
    assert await gw.token_rows(tenant_b) == 0
    token_a = await issued_token(gw, tenant_a)
    assert token_a["realm_id"] == realm_a
    refused = await gw.access_token(tenant_b)
    assert (refused.status_code, refused.json()["code"]) == (409, "not_connected")

    # The emulator saw no exchange for the refused companies and holds one grant, for A's realm.
    assert await gw.emulator.token_calls() == calls_after_a
    grants = [g for g in await gw.emulator.grants() if g["realm_id"] in (realm_a, realm_b)]
    assert [(g["realm_id"], g["revoked"]) for g in grants] == [(realm_a, False)]
