"""The connect flow in headless Chromium: the gateway's pages and the emulator's consent page."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from live_gateway import LiveGateway, live_gateway
from playwright.async_api import Browser, Page, Route, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # a real browser: about 2 s per test
    pytest.mark.skipif(
        not os.path.exists("/usr/bin/chromium"),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RETURN_URL = "https://app.test/qbo?x=1"


@pytest.fixture(scope="module")
async def gw(
    emulator_url: str, gateway_db: str, gateway_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[LiveGateway]:
    async with live_gateway(emulator_url, gateway_db, gateway_sessions) as gateway:
        await gateway.emulator.auto_approve(None)  # people click on the consent page here
        yield gateway


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()

    async def tenant_app(route: Route) -> None:
        # The tenant's own application (no such host here): answer its return URL ourselves.
        await route.fulfill(status=200, content_type="text/html", body="<h1>Back in the app</h1>")

    await context.route("https://app.test/**", tenant_app)
    yield await context.new_page()
    await context.close()


@pytest.fixture
async def tenants(gw: LiveGateway) -> AsyncIterator[list[str]]:
    created: list[str] = []
    yield created
    await gw.cleanup(created)


async def open_consent(gw: LiveGateway, page: Page, tenant: str) -> None:
    """Open the connect link, press the gateway's button, arrive at Intuit's consent page."""
    await page.goto(await gw.link(tenant))
    button = page.get_by_role("button", name="Connect to QuickBooks")
    await button.click()
    await page.wait_for_url(f"{gw.emulator.public_url}/connect/oauth2?**")
    assert await page.locator("h1").inner_text() == "Connect qbsync test to QuickBooks"


async def connect_in_browser(gw: LiveGateway, page: Page, tenant: str, realm_id: str) -> None:
    """Pick the company on the consent page, press Connect, wait for the tenant's app."""
    await open_consent(gw, page, tenant)
    await page.select_option("#realm_id", realm_id)
    await page.get_by_role("button", name="Connect", exact=True).click()
    await page.wait_for_url("https://app.test/**")


async def test_admin_picks_the_company_and_lands_back_in_the_app(
    gw: LiveGateway, page: Page, tenants: list[str]
) -> None:
    realm_id = await gw.emulator.company()
    tenant = await gw.new_tenant(RETURN_URL)
    tenants.append(tenant)
    await connect_in_browser(gw, page, tenant, realm_id)

    outcome = parse_qs(urlsplit(page.url).query)
    assert outcome == {"x": ["1"], "qbsync_tenant_id": [tenant], "qbsync_outcome": ["connected"]}
    assert await page.locator("h1").inner_text() == "Back in the app"
    view = await gw.tenant(tenant)
    assert (view["state"], view["realm_id"]) == ("connected", realm_id)
    token = await gw.access_token(tenant)
    assert token.status_code == 200
    assert (await gw.emulator.qbo_status(realm_id, token.json()["access_token"]))[0] == 200


async def test_tenant_admin_disconnects_from_a_link(
    gw: LiveGateway, page: Page, tenants: list[str]
) -> None:
    realm_id = await gw.emulator.company()
    tenant = await gw.new_tenant(RETURN_URL)
    tenants.append(tenant)
    await connect_in_browser(gw, page, tenant, realm_id)
    access_token = (await gw.access_token(tenant)).json()["access_token"]

    await page.goto(await gw.link(tenant, "disconnect"))
    await page.get_by_role("button", name="Disconnect").click()
    await page.wait_for_load_state()

    assert await page.locator("h1").inner_text() == "\u2713 Disconnected"
    assert (await gw.tenant(tenant))["state"] == "disconnected"
    assert (await gw.emulator.qbo_status(realm_id, access_token))[0] == 401
    assert (await gw.events(tenant))[-1] == "qbsync.tenant.disconnected.v1"


async def test_reconnect_accepts_only_the_company_that_was_connected(
    gw: LiveGateway, page: Page, tenants: list[str]
) -> None:
    realm_id, other_realm = await gw.emulator.company(), await gw.emulator.company()
    tenant = await gw.new_tenant(RETURN_URL)
    tenants.append(tenant)
    await connect_in_browser(gw, page, tenant, realm_id)
    access_token = (await gw.access_token(tenant)).json()["access_token"]
    # The grant dies at Intuit; a service's 401 report makes the gateway find out.
    (grant,) = [g for g in await gw.emulator.grants() if g["realm_id"] == realm_id]
    await gw.emulator.revoke(grant["refresh_token"])
    assert (await gw.access_token(tenant, failed_token=access_token)).status_code == 409
    reconnect_url = (await gw.tenant(tenant))["reconnect_url"]

    async def reconnect_choosing(company: str) -> dict[str, list[str]]:
        await page.goto(reconnect_url)
        await page.get_by_role("button", name="Reconnect to QuickBooks").click()
        await page.wait_for_url(f"{gw.emulator.public_url}/connect/oauth2?**")
        await page.select_option("#realm_id", company)
        await page.get_by_role("button", name="Connect", exact=True).click()
        await page.wait_for_url("https://app.test/**")
        return parse_qs(urlsplit(page.url).query)

    assert (await reconnect_choosing(other_realm))["qbsync_outcome"] == ["realm-mismatch"]
    assert (await gw.tenant(tenant))["state"] == "needs_reauthorization"
    assert (await reconnect_choosing(realm_id))["qbsync_outcome"] == ["connected"]
    view = await gw.tenant(tenant)
    assert (view["state"], view["realm_id"]) == ("connected", realm_id)
    renewed = (await gw.access_token(tenant)).json()["access_token"]
    assert (await gw.emulator.qbo_status(realm_id, renewed))[0] == 200


async def test_cancel_on_the_consent_page_shows_access_denied(
    gw: LiveGateway, page: Page, tenants: list[str]
) -> None:
    tenant = await gw.new_tenant(return_url=None)
    tenants.append(tenant)
    await open_consent(gw, page, tenant)
    await page.get_by_role("button", name="Cancel").click()
    await page.wait_for_url(f"{gw.url}/oauth/callback?**")

    assert "error=access_denied" in page.url
    assert await page.locator("h1").inner_text() == "⚠ Not connected"
    assert "Connecting was cancelled" in await page.locator("#message").inner_text()
    assert (await gw.tenant(tenant))["state"] == "not_connected"
    assert await gw.token_rows(tenant) == 0


async def test_cancel_with_a_return_url_lands_back_with_access_denied(
    gw: LiveGateway, page: Page, tenants: list[str]
) -> None:
    tenant = await gw.new_tenant(RETURN_URL)
    tenants.append(tenant)
    await open_consent(gw, page, tenant)
    await page.get_by_role("button", name="Cancel").click()
    await page.wait_for_url("https://app.test/**")

    assert parse_qs(urlsplit(page.url).query)["qbsync_outcome"] == ["access-denied"]
    assert await gw.events(tenant) == []
