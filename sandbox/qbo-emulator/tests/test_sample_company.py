"""New companies: seeded like Intuit's sandbox companies, US or international, and Term dates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from qbo_emulator.accounting.transactions import date_driven_due

pytestmark = pytest.mark.integration


@pytest.fixture
def company(
    emulator_url: str, new_realm: Callable[..., str], emulator_token: str
) -> Iterator[Callable[..., httpx.Client]]:
    """company(**spec) -> a JSON client for a new realm created with that spec."""
    clients: list[httpx.Client] = []

    def make(**spec: Any) -> httpx.Client:
        realm_id = new_realm(**spec)
        headers = {"Authorization": f"Bearer {emulator_token}", "Accept": "application/json"}
        client = httpx.Client(base_url=f"{emulator_url}/v3/company/{realm_id}/", headers=headers)
        client.realm_id = realm_id  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def rows(client: httpx.Client, query: str) -> list[dict[str, Any]]:
    response = client.get("query", params={"query": query})
    assert response.status_code == 200, response.text
    body = response.json(parse_float=Decimal)["QueryResponse"]
    entity = next((k for k in body if k[0].isupper()), None)
    return list(body[entity]) if entity else []


def post(client: httpx.Client, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(entity, json=body)
    assert response.status_code == 200, response.text
    record: dict[str, Any] = next(iter(response.json(parse_float=Decimal).values()))
    return record


def test_seeded_us_company_has_the_sandbox_lists(company: Callable[..., httpx.Client]) -> None:
    c = company()
    accounts = {a["Name"]: a for a in rows(c, "select * from Account maxresults 1000")}
    undeposited = accounts["Undeposited Funds"]
    assert (undeposited["AccountType"], undeposited["AccountSubType"]) == (
        "Other Current Asset",
        "UndepositedFunds",
    )
    banks = [a for a in accounts.values() if a["AccountType"] == "Bank"]
    assert {"Checking", "Savings"} <= {b["Name"] for b in banks}
    assert accounts["Accounts Payable (A/P)"]["Classification"] == "Liability"
    terms = {t["Name"]: t for t in rows(c, "select * from Term")}
    assert {n: t["DueDays"] for n, t in terms.items()} == {
        "Due on receipt": 0,
        "Net 15": 15,
        "Net 30": 30,
        "Net 60": 60,
    }
    assert all(t["Type"] == "STANDARD" for t in terms.values())
    vendors = rows(c, "select * from Vendor")
    assert len(vendors) == 4
    assert all(v["CurrencyRef"]["value"] == "USD" and v["Balance"] == 0 for v in vendors)
    employees = {e["DisplayName"] for e in rows(c, "select * from Employee")}
    assert employees == {"Emily Platt", "John Johnson"}
    assert len(rows(c, "select * from Customer")) == 4
    assert {i["Name"] for i in rows(c, "select * from Item")} == {"Services", "Hours", "Design"}
    # Sandbox names are taken like any other: the shared DisplayName namespace includes them.
    taken = c.post("customer", json={"DisplayName": "Emily Platt"})
    assert taken.json()["Fault"]["Error"][0]["code"] == "6240"


def test_payment_without_deposit_account_goes_to_undeposited_funds(
    company: Callable[..., httpx.Client],
) -> None:
    c = company()
    [undeposited] = rows(c, "select * from Account where AccountSubType = 'UndepositedFunds'")
    customer = rows(c, "select * from Customer")[0]
    payment = post(c, "payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 12})
    assert payment["DepositToAccountRef"] == {
        "value": undeposited["Id"],
        "name": "Undeposited Funds",
    }
    assert payment["UnappliedAmt"] == 12
    checking = rows(c, "select * from Account where Name = 'Checking'")[0]
    direct = post(
        c,
        "payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 3,
            "DepositToAccountRef": {"value": checking["Id"]},
        },
    )
    assert direct["DepositToAccountRef"]["value"] == checking["Id"]


def test_empty_company_has_only_company_info_and_preferences(
    company: Callable[..., httpx.Client],
) -> None:
    c = company(seeded=False)
    assert rows(c, "select * from Account") == []
    assert rows(c, "select * from Customer") == []
    assert rows(c, "select * from CompanyInfo")[0]["CompanyName"].startswith("Co ")
    customer = post(c, "customer", {"DisplayName": "First"})
    payment = post(c, "payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 1})
    assert "DepositToAccountRef" not in payment  # no Undeposited Funds to default to


@pytest.mark.parametrize(
    ("country", "currency", "iso3", "offset"),
    [
        ("GB", "GBP", "GBR", "+00:00"),
        ("CA", "CAD", "CAN", "-05:00"),
        ("in", "INR", "IND", "+05:00"),
    ],
)
def test_international_company(
    company: Callable[..., httpx.Client], country: str, currency: str, iso3: str, offset: str
) -> None:
    c = company(country=country, multicurrency=True)
    info = c.get(f"companyinfo/{c.realm_id}").json()["CompanyInfo"]  # type: ignore[attr-defined]
    assert (info["Country"], info["CompanyAddr"]["Country"]) == (country.upper(), iso3)
    assert info["MetaData"]["CreateTime"].endswith(offset)
    prefs = c.get("preferences").json()["Preferences"]["CurrencyPrefs"]
    assert prefs == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": currency}}
    customers = rows(c, "select * from Customer")
    home = [x for x in customers if x["CurrencyRef"]["value"] == currency]
    foreign = [x for x in customers if x["CurrencyRef"]["value"] != currency]
    assert len(home) == 4
    assert [x["CurrencyRef"]["value"] for x in foreign] == ["EUR"]
    codes = {x["Code"] for x in rows(c, "select * from CompanyCurrency")}
    assert codes == {"EUR"}
    item = rows(c, "select * from Item where Name = 'Services'")[0]
    line = {
        "Amount": 10,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    invoice = post(
        c,
        "invoice",
        {
            "CustomerRef": {"value": home[0]["Id"]},
            "CurrencyRef": {"value": currency},
            "Line": [line],
        },
    )
    assert (invoice["CurrencyRef"]["value"], invoice["HomeTotalAmt"]) == (currency, 10)


def test_unknown_country_is_refused(emulator_url: str) -> None:
    response = httpx.post(
        f"{emulator_url}/_emulator/companies", json={"company_name": "Nowhere", "country": "ZZ"}
    )
    assert response.status_code == 422
    assert "country" in response.text


@pytest.mark.parametrize(
    ("txn_date", "day", "next_month_days", "due"),
    [
        ("2024-01-05", 15, 0, "2024-01-15"),  # before the day: this month
        ("2024-01-15", 15, 0, "2024-01-15"),  # on the day
        ("2024-01-16", 15, 0, "2024-02-15"),  # after it: next month
        ("2024-01-10", 15, 10, "2024-02-15"),  # within DueNextMonthDays of it: next month
        ("2024-01-04", 15, 10, "2024-01-15"),  # just outside that window
        ("2024-01-31", 31, 0, "2024-01-31"),
        ("2024-02-01", 31, 0, "2024-02-29"),  # short month: its last day
        ("2024-12-20", 5, 0, "2025-01-05"),  # over the year end
    ],
)
def test_date_driven_due_dates(txn_date: str, day: int, next_month_days: int, due: str) -> None:
    assert date_driven_due(date.fromisoformat(txn_date), day, next_month_days) == (
        date.fromisoformat(due)
    )


def test_terms_set_due_dates_over_http(company: Callable[..., httpx.Client]) -> None:
    c = company()
    monthly = post(c, "term", {"Name": "10th next", "DayOfMonthDue": 10, "DueNextMonthDays": 7})
    assert (monthly["Type"], monthly["DueNextMonthDays"]) == ("DATE_DRIVEN", 7)
    net30 = rows(c, "select * from Term where Name = 'Net 30'")[0]
    customer = rows(c, "select * from Customer")[0]
    item = rows(c, "select * from Item where Name = 'Services'")[0]
    line = {
        "Amount": 5,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }

    def due(term: dict[str, Any], txn_date: str) -> str:
        body = {
            "CustomerRef": {"value": customer["Id"]},
            "SalesTermRef": {"value": term["Id"]},
            "TxnDate": txn_date,
            "Line": [line],
        }
        return str(post(c, "invoice", body)["DueDate"])

    assert due(monthly, "2024-03-01") == "2024-03-10"
    assert due(monthly, "2024-03-05") == "2024-04-10"  # 5 days before the 10th: next month
    assert due(net30, "2024-03-05") == "2024-04-04"
