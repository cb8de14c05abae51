"""The read-only web view, rendered in headless Chromium: what people see of a company."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = "<script>window.pwned = 1</script><b>Bold & Co</b>"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt install chromium)",
)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    yield await context.new_page()
    await context.close()


def _create(
    api: Callable[..., httpx.Response], entity: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = api("POST", entity.lower(), json=body)
    answer.raise_for_status()
    return dict(answer.json()[entity])


def _rows(texts: list[str]) -> list[str]:
    return [" ".join(t.split()) for t in texts]


async def test_company_page_shows_customers_invoices_balances_and_payments(
    emulator_url: str, api: Callable[..., httpx.Response], page: Page
) -> None:
    realm_id = api.realm_id  # type: ignore[attr-defined]
    tag = uuid.uuid4().hex[:6]
    customer = _create(api, "Customer", {"DisplayName": f"Acme {tag}"})
    vendor = _create(api, "Vendor", {"DisplayName": f"Lingua {tag}"})
    items = api("GET", "query", params={"query": "select * from Item where Name = 'Services'"})
    item_id = items.json()["QueryResponse"]["Item"][0]["Id"]
    invoice = _create(
        api,
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "DocNumber": f"INV-{tag}",
            "Line": [
                {
                    "Amount": 300,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": item_id}},
                }
            ],
        },
    )
    async with httpx.AsyncClient() as client:
        paid = await client.post(
            f"{emulator_url}/_emulator/companies/{realm_id}/payments",
            json={"invoice_id": invoice["Id"], "amount": "120.00"},
        )
    paid.raise_for_status()

    response = await page.goto(f"{emulator_url}/_emulator/view/{realm_id}")
    assert response is not None and response.status == 200
    customers = _rows(await page.locator("#customers tbody tr").all_inner_texts())
    assert any(f"Acme {tag}" in row for row in customers)
    vendors = _rows(await page.locator("#vendors tbody tr").all_inner_texts())
    assert any(f"Lingua {tag}" in row for row in vendors)
    (inv_row,) = [
        r
        for r in _rows(await page.locator("#invoices tbody tr").all_inner_texts())
        if f"INV-{tag}" in r
    ]
    # 300 invoiced, 120 received in QuickBooks: 180 still owed.
    assert f"Acme {tag}" in inv_row and "300.00" in inv_row and "180.00" in inv_row
    assert "partially paid" in inv_row
    payments = _rows(await page.locator("#payments tbody tr").all_inner_texts())
    assert any("120.00" in row and f"Invoice INV-{tag}" in row for row in payments)
    assert vendor["Id"] not in {r.split(" ")[0] for r in customers}


async def test_values_are_escaped_not_interpreted(
    emulator_url: str, api: Callable[..., httpx.Response], page: Page
) -> None:
    realm_id = api.realm_id  # type: ignore[attr-defined]
    _create(api, "Customer", {"DisplayName": HOSTILE})
    await page.goto(f"{emulator_url}/_emulator/view/{realm_id}")
    assert await page.evaluate("window.pwned === undefined")
    assert await page.locator("script").count() == 0
    assert await page.locator("#customers b").count() == 0
    assert await page.locator("#customers td", has_text=HOSTILE).count() == 1


async def test_companies_page_links_to_each_company(
    emulator_url: str, new_realm: Callable[..., str], page: Page
) -> None:
    name = f"View Co {uuid.uuid4().hex[:6]}"
    realm_id = new_realm(company_name=name)
    await page.goto(f"{emulator_url}/_emulator/view/")
    await page.locator(f"#companies a[href='/_emulator/view/{realm_id}']").click()
    await page.wait_for_url(f"**/_emulator/view/{realm_id}")
    assert await page.locator("h1").inner_text() == name
    assert await page.locator("#invoices td.empty").inner_text() == "none"


async def test_unknown_company_is_404(emulator_url: str) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{emulator_url}/_emulator/view/no-such-realm")
    assert answer.status_code == 404
