"""The whole connect flow through the served gateway against the real Intuit + QBO emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from live_gateway import LiveGateway, connect, follow_to_return_url, issued_token, live_gateway
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration

CONNECTED = "qbsync.tenant.connected.v1"
DISCONNECTED = "qbsync.tenant.disconnected.v1"
REAUTH = "qbsync.tenant.reauthorization_required.v1"
RECOVERED = "qbsync.tenant.connection_recovered.v1"


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


async def test_connect_use_and_disconnect_against_the_emulator(
    gw: LiveGateway, tenants: list[str]
) -> None:
    realm_id = await gw.emulator.company()
    tenant = await gw.new_tenant()
    tenants.append(tenant)

    landing = await connect(gw, tenant, realm_id)
    assert landing.url.startswith("https://app.test/qbo?")
    assert "code=" not in landing.url
    assert landing.outcome == {
        "x": ["1"],
        "qbsync_tenant_id": [tenant],
        "qbsync_outcome": ["connected"],
    }
    view = await gw.tenant(tenant)
    assert (view["state"], view["realm_id"]) == ("connected", realm_id)
    assert await gw.token_rows(tenant) == 1
    assert await gw.events(tenant) == [CONNECTED]
    assert (await gw.emulator.token_calls()).get("authorization_code") == 1

    token = await issued_token(gw, tenant)
    assert (token["realm_id"], token["api_base_url"]) == (realm_id, gw.emulator.url)
    assert (await gw.emulator.qbo_status(realm_id, token["access_token"]))[0] == 200
    refresh_tokens = {g["refresh_token"] for g in await gw.emulator.grants()}
    assert token["access_token"] not in refresh_tokens

    async with gw.client() as client:
        resp = await client.post(f"/v1/tenants/{tenant}/disconnect", headers=gw.operator)
    assert resp.status_code == 200
    assert resp.json()["state"] == "disconnected"
    # Revoked at Intuit: the token QBO accepted a moment ago now gets 401 with fault code 3200.
    status, body = await gw.emulator.qbo_status(realm_id, token["access_token"])
    assert status == 401
    assert "3200" in body
    assert all(g["revoked"] for g in await gw.emulator.grants())
    assert await gw.token_rows(tenant) == 0
    assert await gw.events(tenant) == [CONNECTED, DISCONNECTED]
    refused = await gw.access_token(tenant)
    assert refused.status_code == 409
    assert refused.json()["code"] == "disconnected"


async def test_reconnect_after_intuit_refuses_the_grant(
    gw: LiveGateway, tenants: list[str]
) -> None:
    realm_id = await gw.emulator.company()
    tenant = await gw.new_tenant()
    tenants.append(tenant)
    await connect(gw, tenant, realm_id)
    token = await issued_token(gw, tenant)

    # The company's admin disconnects the app on Intuit's side: every token of the grant dies.
    (grant,) = [g for g in await gw.emulator.grants() if g["realm_id"] == realm_id]
    await gw.emulator.revoke(grant["refresh_token"])
    assert (await gw.emulator.qbo_status(realm_id, token["access_token"]))[0] == 401
    # A service reports the 401: the gateway refreshes, Intuit says invalid_grant.
    refused = await gw.access_token(tenant, failed_token=token["access_token"])
    assert refused.status_code == 409
    assert refused.json()["code"] == "needs_reauthorization"
    assert await gw.events(tenant) == [CONNECTED, REAUTH]
    refreshes = (await gw.emulator.token_calls()).get("refresh_token", 0)
    assert (await gw.access_token(tenant, failed_token=token["access_token"])).status_code == 409
    assert (await gw.emulator.token_calls()).get("refresh_token", 0) == refreshes

    view = await gw.tenant(tenant)
    assert view["state"] == "needs_reauthorization"
    reconnect_url = str(view["reconnect_url"])
    assert reconnect_url == f"{gw.url}/reconnect?realmId={realm_id}"
    async with gw.client() as browser:
        page = await browser.get(reconnect_url)
        assert page.status_code == 200
        assert "Reconnect to QuickBooks" in page.text
        pressed = await browser.post("/reconnect", data={"realmId": realm_id})
        assert pressed.status_code == 303
        landing = await follow_to_return_url(browser, pressed)
    assert landing.outcome["qbsync_outcome"] == ["connected"]

    view = await gw.tenant(tenant)
    assert (view["state"], view["reconnect_url"]) == ("connected", None)
    assert await gw.events(tenant) == [CONNECTED, REAUTH, RECOVERED, CONNECTED]
    renewed = await issued_token(gw, tenant)
    assert renewed["access_token"] != token["access_token"]
    assert (await gw.emulator.qbo_status(realm_id, renewed["access_token"]))[0] == 200


async def test_disconnect_keeps_everything_until_intuit_confirms_the_revocation(
    gw: LiveGateway, tenants: list[str]
) -> None:
    realm_id = await gw.emulator.company()
    tenant = await gw.new_tenant()
    tenants.append(tenant)
    await connect(gw, tenant, realm_id)
    token = await issued_token(gw, tenant)
    link = await gw.link(tenant, "disconnect")

    # Intuit refuses our client credentials (a secret rotated in Intuit's portal, say).
    await gw.emulator.admin("PATCH", f"/apps/{gw.emulator.client_id}", {"client_secret": "other"})
    try:
        async with gw.client() as client:
            by_operator = await client.post(f"/v1/tenants/{tenant}/disconnect", headers=gw.operator)
            page = await client.get(link)
            by_tenant = await client.post(link)
    finally:
        await gw.emulator.admin(
            "PATCH",
            f"/apps/{gw.emulator.client_id}",
            {"client_secret": gw.emulator.client_secret},
        )
    assert by_operator.status_code == 503
    assert by_operator.headers["retry-after"] == "30"
    assert "still connected" in by_operator.json()["detail"]
    assert page.status_code == 200
    assert by_tenant.status_code == 503
    assert "still connected" in by_tenant.text
    assert "this link still works" in by_tenant.text

    # Nothing was lost: the grant is live at Intuit and still ours, and no event went out.
    assert (await gw.tenant(tenant))["state"] == "connected"
    assert await gw.token_rows(tenant) == 1
    assert await gw.events(tenant) == [CONNECTED]
    assert (await gw.emulator.qbo_status(realm_id, token["access_token"]))[0] == 200

    # Intuit answers again: the admin presses the same link once more and it works.
    async with gw.client() as client:
        retried = await client.post(link)
    assert retried.status_code == 200
    assert "is disconnected from QuickBooks" in retried.text
    assert (await gw.tenant(tenant))["state"] == "disconnected"
    assert await gw.token_rows(tenant) == 0
    assert await gw.events(tenant) == [CONNECTED, DISCONNECTED]
    assert (await gw.emulator.qbo_status(realm_id, token["access_token"]))[0] == 401
    assert all(g["revoked"] for g in await gw.emulator.grants() if g["realm_id"] == realm_id)
    async with gw.client() as client:
        assert (await client.post(link)).status_code == 404  # now the link is used up
