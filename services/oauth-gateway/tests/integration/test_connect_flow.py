"""The connect flow through the gateway's HTTP endpoints, and scenario S1 (callback attacks)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from custody_fakes import FakeIntuit, RecordedEvents
from custody_harness import replica
from edge_harness import SCHEMA, Gateway, dev_keyring, gateway
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration


@pytest.fixture
async def gw(gateway_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Gateway]:
    custody = replica(gateway_sessions, FakeIntuit(), RecordedEvents(), dev_keyring())
    gw = gateway(gateway_sessions, custody.vault)
    await gw.edge.keys.install([gw.operator_key], gw.edge.clock())
    yield gw
    await gw.cleanup()


def outcome(resp_location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(resp_location).query)


def realm() -> str:
    return str(uuid.uuid4().int)[:16]


async def test_connect_binds_realm_stores_tokens_emits_and_returns(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    state = await gw.start(tenant)
    company = realm()
    resp = await gw.callback(code=gw.intuit.approve(), state=state, realmId=company)
    assert resp.status_code == 303
    assert resp.headers["cache-control"] == "no-store"
    location = resp.headers["location"]
    assert location.startswith("https://app.test/qbo?")
    assert outcome(location) == {
        "x": ["1"],
        "qbsync_tenant_id": [tenant],
        "qbsync_outcome": ["connected"],
    }
    assert "code" not in location
    assert state not in location
    view = (await gw.client.get(f"/v1/tenants/{tenant}", headers=gw.auth)).json()
    assert (view["state"], view["realm_id"]) == ("connected", company)
    assert await gw.tokens(tenant) == 1
    assert await gw.events(tenant) == ["qbsync.tenant.connected.v1"]
    assert gw.intuit.exchanges == 1


async def test_s1_missing_and_forged_state_are_refused_without_exchange(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    await gw.start(tenant)
    missing = await gw.callback(code=gw.intuit.approve(), realmId=realm())
    forged = await gw.callback(code=gw.intuit.approve(), state="forged-state", realmId=realm())
    for resp in (missing, forged):
        assert resp.status_code == 400
        assert resp.headers["cache-control"] == "no-store"
    assert "Start again" in missing.text
    assert "expired or was already used" in forged.text
    assert gw.intuit.exchanges == 0
    assert await gw.tokens(tenant) == 0


async def test_s1_reused_state_and_replayed_code_do_nothing_more(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    state = await gw.start(tenant)
    code, company = gw.intuit.approve(), realm()
    assert (await gw.callback(code=code, state=state, realmId=company)).status_code == 303
    replay = await gw.callback(code=code, state=state, realmId=company)
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert gw.intuit.exchanges == 1
    # The same code with a fresh, valid state of another tenant: Intuit refuses the second exchange.
    other = await gw.new_tenant()
    other_state = await gw.start(other)
    resp = await gw.callback(code=code, state=other_state, realmId=realm())
    assert outcome(resp.headers["location"])["qbsync_outcome"] == ["exchange-failed"]
    assert await gw.tokens(other) == 0
    assert await gw.tokens(tenant) == 1


async def test_s1_expired_state_is_refused(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    state = await gw.start(tenant)
    await gw.execute(
        f"UPDATE {SCHEMA}.oauth_states SET expires_at = now() - interval '1 second' "
        "WHERE tenant_id = :t",
        t=tenant,
    )
    resp = await gw.callback(code=gw.intuit.approve(), state=state, realmId=realm())
    assert resp.status_code == 400
    assert gw.intuit.exchanges == 0
    assert await gw.tokens(tenant) == 0


async def test_s1_redirect_mismatch_refused_by_intuit_stores_nothing(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    state = await gw.start(tenant)
    gw.intuit.refuse_exchanges = True  # Intuit answers invalid_grant to a mismatched redirect_uri
    resp = await gw.callback(code=gw.intuit.approve(), state=state, realmId=realm())
    assert outcome(resp.headers["location"])["qbsync_outcome"] == ["exchange-failed"]
    assert await gw.tokens(tenant) == 0
    assert await gw.events(tenant) == []


async def test_s1_realm_bound_to_another_tenant_is_refused_before_exchange(gw: Gateway) -> None:
    first, second = await gw.new_tenant(), await gw.new_tenant(return_url=None)
    company = realm()
    state = await gw.start(first)
    await gw.callback(code=gw.intuit.approve(), state=state, realmId=company)
    state = await gw.start(second)
    resp = await gw.callback(code=gw.intuit.approve(), state=state, realmId=company)
    assert resp.status_code == 400
    assert "already connected to another account" in resp.text
    assert gw.intuit.exchanges == 1
    assert await gw.tokens(second) == 0


async def test_s1_callback_from_another_browser_is_refused(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    state = await gw.start(tenant)
    gw.client.cookies.clear()
    resp = await gw.callback(code=gw.intuit.approve(), state=state, realmId=realm())
    assert outcome(resp.headers["location"])["qbsync_outcome"] == ["browser-mismatch"]
    assert gw.intuit.exchanges == 0
    assert await gw.tokens(tenant) == 0


async def test_access_denied_returns_to_the_tenant_with_the_outcome(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    state = await gw.start(tenant)
    resp = await gw.callback(error="access_denied", state=state)
    assert outcome(resp.headers["location"])["qbsync_outcome"] == ["access-denied"]
    no_return = await gw.new_tenant(return_url=None)
    state = await gw.start(no_return)
    page = await gw.callback(error="invalid_scope", state=state)
    assert page.status_code == 400
    assert "could not connect" in page.text
    assert await gw.tokens(tenant) == 0
    assert await gw.tokens(no_return) == 0


async def test_connect_links_are_single_use(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    path = await gw.link(tenant)
    assert (await gw.client.post(path)).status_code == 303
    assert (await gw.client.post(path)).status_code == 404
    assert (await gw.client.get(path)).status_code == 404
    assert (await gw.client.get(path[:-3] + "AAA")).status_code == 404


async def test_disconnect_by_operator_and_by_tenant_link(gw: Gateway) -> None:
    by_operator, by_link = await gw.new_tenant(), await gw.new_tenant()
    for tenant in (by_operator, by_link):
        state = await gw.start(tenant)
        await gw.callback(code=gw.intuit.approve(), state=state, realmId=realm())
        assert await gw.tokens(tenant) == 1
    resp = await gw.client.post(f"/v1/tenants/{by_operator}/disconnect", headers=gw.auth)
    assert resp.status_code == 200
    assert resp.json()["state"] == "disconnected"
    path = await gw.link(by_link, "disconnect")
    page = await gw.client.get(path)
    assert "Disconnect" in page.text
    assert (await gw.client.post(path)).status_code == 200
    for tenant in (by_operator, by_link):
        assert await gw.tokens(tenant) == 0
        assert (await gw.events(tenant))[-1] == "qbsync.tenant.disconnected.v1"
    # Repeating is harmless: no second event.
    await gw.client.post(f"/v1/tenants/{by_operator}/disconnect", headers=gw.auth)
    assert (await gw.events(by_operator)).count("qbsync.tenant.disconnected.v1") == 1


async def test_reconnect_url_accepts_only_the_same_company(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    company = realm()
    state = await gw.start(tenant)
    await gw.callback(code=gw.intuit.approve(), state=state, realmId=company)
    # What custody does when Intuit refuses the refresh token.
    await gw.execute(
        f"UPDATE {SCHEMA}.tenants SET state='needs_reauthorization' WHERE tenant_id=:t", t=tenant
    )
    view = (await gw.client.get(f"/v1/tenants/{tenant}", headers=gw.auth)).json()
    reconnect = str(view["reconnect_url"]).removeprefix("http://gateway.test")
    page = await gw.client.get(reconnect)
    assert page.status_code == 200
    assert "Reconnect to QuickBooks" in page.text

    async def start_reconnect() -> str:
        resp = await gw.client.post("/reconnect", data={"realmId": company})
        assert resp.status_code == 303
        return parse_qs(urlsplit(resp.headers["location"]).query)["state"][0]

    wrong = await gw.callback(
        code=gw.intuit.approve(), state=await start_reconnect(), realmId=realm()
    )
    assert outcome(wrong.headers["location"])["qbsync_outcome"] == ["realm-mismatch"]
    right = await gw.callback(
        code=gw.intuit.approve(), state=await start_reconnect(), realmId=company
    )
    assert outcome(right.headers["location"])["qbsync_outcome"] == ["connected"]
    view = (await gw.client.get(f"/v1/tenants/{tenant}", headers=gw.auth)).json()
    assert view["state"] == "connected"
    assert view["reconnect_url"] is None
    assert await gw.tokens(tenant) == 1


async def test_connect_page_shows_the_tenant_name_escaped(gw: Gateway) -> None:
    tenant_id = f"t-{uuid.uuid4().hex[:12]}"
    name = "Zoë & <Partners> Ltd"
    resp = await gw.client.post(
        "/v1/tenants", json={"tenant_id": tenant_id, "name": name}, headers=gw.auth
    )
    assert resp.status_code == 201
    gw.tenants.append(tenant_id)
    page = await gw.client.get(await gw.link(tenant_id))
    assert page.status_code == 200
    assert "<em>Zoë &amp; &lt;Partners&gt; Ltd</em>" in page.text
    assert "<Partners>" not in page.text


class StepClock:
    """The gateway's clock seam: real time plus whatever the test has moved it on by."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
async def timed(
    gateway_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[Gateway, StepClock]]:
    clock = StepClock()
    custody = replica(gateway_sessions, FakeIntuit(), RecordedEvents(), dev_keyring())
    gw = gateway(gateway_sessions, custody.vault, clock)
    await gw.edge.keys.install([gw.operator_key], clock())
    yield gw, clock
    await gw.cleanup()


async def test_state_works_for_ten_minutes_and_not_after(
    timed: tuple[Gateway, StepClock],
) -> None:
    gw, clock = timed
    late_tenant, in_time_tenant = await gw.new_tenant(), await gw.new_tenant()
    late_state = await gw.start(late_tenant)
    in_time_state = await gw.start(in_time_tenant)

    clock.offset = timedelta(minutes=9, seconds=50)
    in_time = await gw.callback(code=gw.intuit.approve(), state=in_time_state, realmId=realm())
    assert in_time.status_code == 303
    assert outcome(in_time.headers["location"])["qbsync_outcome"] == ["connected"]

    clock.offset = timedelta(minutes=10, seconds=10)
    exchanges = gw.intuit.exchanges
    late = await gw.callback(code=gw.intuit.approve(), state=late_state, realmId=realm())
    assert late.status_code == 400
    assert "expired or was already used" in late.text
    assert gw.intuit.exchanges == exchanges  # an expired state never reaches Intuit
    assert await gw.tokens(late_tenant) == 0
