"""Accounting rules over HTTP: documents, payments, voids, currencies, names and exact money."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from emulator_http import Api, fault_code, first_id, ok

pytestmark = pytest.mark.integration


def new_customer(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"DisplayName": f"Cust {uuid.uuid4().hex[:8]}", **fields}
    customer: dict[str, Any] = ok(api("POST", "customer", json=body))["Customer"]
    return customer


def sales_line(item_id: str, amount: str, qty: str = "1") -> dict[str, Any]:
    return {
        "Amount": amount,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": amount},
    }


def test_money_is_exact_and_lines_get_a_subtotal(api: Api) -> None:
    customer = new_customer(api)
    item = first_id(api, "Item", "Name = 'Services'")
    line = (
        '{"Amount":%s,"DetailType":"SalesItemLineDetail",'
        '"SalesItemLineDetail":{"ItemRef":{"value":"ITEM"}}}'
    ).replace("ITEM", item)
    raw = (
        f'{{"CustomerRef":{{"value":"{customer["Id"]}"}},"PrivateNote":"keep me",'
        f'"Line":[{line.replace("%s", "0.1")},{line.replace("%s", "0.2")}]}}'
    )
    # Sent as raw text so the amounts are JSON numbers 0.1 and 0.2, which floats would sum badly.
    response = api(
        "POST",
        "invoice",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert '"TotalAmt":0.3,' in response.text
    invoice = ok(response)["Invoice"]
    assert invoice["PrivateNote"] == "keep me"
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert invoice["Line"][-1]["Amount"] == Decimal("0.3")
    assert invoice["DocNumber"]
    assert ok(api("GET", f"customer/{customer['Id']}"))["Customer"]["Balance"] == Decimal("0.3")


def test_amount_must_equal_qty_times_price(api: Api) -> None:
    customer = new_customer(api)
    item = first_id(api, "Item", "Name = 'Services'")
    bad = sales_line(item, "10", qty="3")
    response = api(
        "POST", "invoice", json={"CustomerRef": {"value": customer["Id"]}, "Line": [bad]}
    )
    assert fault_code(response) == "6000"


def test_duplicate_doc_number_unless_allowed(api: Api) -> None:
    customer = new_customer(api)
    item = first_id(api, "Item", "Name = 'Services'")
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "DocNumber": "A-1",
        "Line": [sales_line(item, "5")],
    }
    ok(api("POST", "invoice", json=body))
    assert fault_code(api("POST", "invoice", json=body)) == "6140"
    allowed = api("POST", "invoice", params={"include": "allowduplicatedocnum"}, json=body)
    assert ok(allowed)["Invoice"]["DocNumber"] == "A-1"


def test_void_invoice_zeroes_it_and_keeps_it_readable(api: Api) -> None:
    customer = new_customer(api)
    item = first_id(api, "Item", "Name = 'Services'")
    body = {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(item, "25")]}
    invoice = ok(api("POST", "invoice", json=body))["Invoice"]
    ref = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    voided = ok(api("POST", "invoice", params={"operation": "void"}, json=ref))["Invoice"]
    assert (voided["TotalAmt"], voided["Balance"]) == (0, 0)
    assert voided["PrivateNote"].startswith("Voided")
    assert voided["SyncToken"] == "1"
    assert ok(api("GET", f"customer/{customer['Id']}"))["Customer"]["Balance"] == 0


def test_bill_and_bill_payment(api: Api) -> None:
    vendor = ok(api("POST", "vendor", json={"DisplayName": f"V {uuid.uuid4().hex[:6]}"}))["Vendor"]
    expense = first_id(api, "Account", "Name = 'Utilities'")
    bank = first_id(api, "Account", "AccountType = 'Bank'")
    line = {
        "Amount": "80.50",
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense}},
    }
    bill = ok(api("POST", "bill", json={"VendorRef": {"value": vendor["Id"]}, "Line": [line]}))[
        "Bill"
    ]
    assert bill["Balance"] == Decimal("80.5")
    assert "DocNumber" not in bill  # bills get no automatic number
    payment = {
        "VendorRef": {"value": vendor["Id"]},
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": {"value": bank}},
        "TotalAmt": 30,
        "Line": [{"Amount": 30, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
    }
    paid = ok(api("POST", "billpayment", json=payment))["BillPayment"]
    after = ok(api("GET", f"bill/{bill['Id']}"))["Bill"]
    assert after["Balance"] == Decimal("50.5")
    assert after["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "BillPaymentCheck"}]
    assert ok(api("GET", f"vendor/{vendor['Id']}"))["Vendor"]["Balance"] == Decimal("50.5")
    # A bill with payments must be unlinked before it can be deleted.
    ref = {"Id": bill["Id"], "SyncToken": after["SyncToken"]}
    assert fault_code(api("POST", "bill", params={"operation": "delete"}, json=ref)) == "6000"


def test_payment_void_and_credit_memo(api: Api) -> None:
    customer = new_customer(api)
    item = first_id(api, "Item", "Name = 'Services'")
    cref = {"value": customer["Id"]}
    invoice = ok(
        api("POST", "invoice", json={"CustomerRef": cref, "Line": [sales_line(item, "100")]})
    )
    memo = ok(
        api("POST", "creditmemo", json={"CustomerRef": cref, "Line": [sales_line(item, "30")]})
    )
    assert memo["CreditMemo"]["RemainingCredit"] == 30
    links = [
        {"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Invoice"]["Id"], "TxnType": "Invoice"}]},
        {"Amount": 30, "LinkedTxn": [{"TxnId": memo["CreditMemo"]["Id"], "TxnType": "CreditMemo"}]},
    ]
    payment = ok(api("POST", "payment", json={"CustomerRef": cref, "TotalAmt": 75, "Line": links}))
    assert payment["Payment"]["UnappliedAmt"] == 5
    assert ok(api("GET", f"invoice/{invoice['Invoice']['Id']}"))["Invoice"]["Balance"] == 0
    ref = {"Id": payment["Payment"]["Id"], "SyncToken": "0", "sparse": True}
    voided = api("POST", "payment", params={"operation": "update", "include": "void"}, json=ref)
    assert ok(voided)["Payment"]["TotalAmt"] == 0
    reopened = ok(api("GET", f"invoice/{invoice['Invoice']['Id']}"))["Invoice"]
    assert reopened["Balance"] == 100
    assert reopened["LinkedTxn"] == []


def test_overpaying_an_invoice_is_refused(api: Api) -> None:
    customer = new_customer(api)
    item = first_id(api, "Item", "Name = 'Services'")
    cref = {"value": customer["Id"]}
    invoice = ok(
        api("POST", "invoice", json={"CustomerRef": cref, "Line": [sales_line(item, "10")]})
    )
    link = [
        {"Amount": 11, "LinkedTxn": [{"TxnId": invoice["Invoice"]["Id"], "TxnType": "Invoice"}]}
    ]
    response = api("POST", "payment", json={"CustomerRef": cref, "TotalAmt": 11, "Line": link})
    assert fault_code(response) == "6000"


def test_sparse_and_full_update(api: Api) -> None:
    customer = new_customer(api, CompanyName="Acme", Notes="n1")
    sparse = {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "n2"}
    updated = ok(api("POST", "customer", json=sparse))["Customer"]
    assert (updated["CompanyName"], updated["Notes"], updated["SyncToken"]) == ("Acme", "n2", "1")
    full = {"Id": customer["Id"], "SyncToken": 1, "DisplayName": customer["DisplayName"]}
    replaced = ok(api("POST", "customer", params={"operation": "update"}, json=full))["Customer"]
    assert "CompanyName" not in replaced
    assert replaced["SyncToken"] == "2"
    stale = {**sparse, "SyncToken": "1"}
    assert fault_code(api("POST", "customer", json=stale)) == "5010"


def test_sub_customers_and_name_rules(api: Api) -> None:
    parent = new_customer(api)
    job = ok(
        api(
            "POST",
            "customer",
            json={"DisplayName": "Kitchen job", "Job": True, "ParentRef": {"value": parent["Id"]}},
        )
    )["Customer"]
    assert job["FullyQualifiedName"] == f"{parent['DisplayName']}:Kitchen job"
    assert (job["Level"], job["Job"]) == (1, True)
    assert fault_code(api("POST", "customer", json={"DisplayName": "x", "Job": True})) == "2020"
    assert fault_code(api("POST", "customer", json={"Notes": "no name"})) == "2020"
    assert fault_code(api("POST", "customer", json={"DisplayName": "a:b"})) == "6000"
    employee = ok(api("POST", "employee", json={"GivenName": "Ada", "FamilyName": job["Id"]}))
    name = employee["Employee"]["DisplayName"]
    # Employees share the DisplayName namespace with customers and vendors.
    assert fault_code(api("POST", "vendor", json={"DisplayName": name.upper()})) == "6240"
    delete = {"Id": parent["Id"], "SyncToken": "0"}
    assert fault_code(api("POST", "customer", params={"operation": "delete"}, json=delete)) == "500"


def test_multicurrency_rules(
    emulator_url: str, new_realm: Callable[..., str], emulator_token: str
) -> None:
    realm_id = new_realm(multicurrency=True)
    headers = {"Authorization": f"Bearer {emulator_token}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{emulator_url}/v3/company/{realm_id}/", headers=headers) as c:
        prefs = ok(c.get("preferences"))["Preferences"]
        assert prefs["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
        customer = ok(
            c.post("customer", json={"DisplayName": "Euro GmbH", "CurrencyRef": {"value": "EUR"}})
        )
        cust = customer["Customer"]
        change = {
            "Id": cust["Id"],
            "SyncToken": "0",
            "sparse": True,
            "CurrencyRef": {"value": "GBP"},
        }
        assert fault_code(c.post("customer", json=change)) == "6000"
        rate = {"SourceCurrencyCode": "EUR", "AsOfDate": "2020-01-01", "Rate": "1.0850"}
        assert ok(c.post("exchangerate", json=rate))["ExchangeRate"]["Rate"] == Decimal("1.085")
        fetched = ok(
            c.get("exchangerate", params={"sourcecurrencycode": "EUR", "asofdate": "2020-02-01"})
        )
        assert fetched["ExchangeRate"]["Rate"] == Decimal("1.085")
        item = ok(c.get("query", params={"query": "select * from Item where Name = 'Services'"}))
        item_id = item["QueryResponse"]["Item"][0]["Id"]
        line = sales_line(item_id, "200")
        no_currency = {"CustomerRef": {"value": cust["Id"]}, "Line": [line]}
        assert fault_code(c.post("invoice", json=no_currency)) == "2020"
        # Even a home-currency customer's documents need CurrencyRef once multicurrency is on.
        home = ok(c.post("customer", json={"DisplayName": "Home Inc"}))["Customer"]
        assert home["CurrencyRef"]["value"] == "USD"
        home_invoice = {"CustomerRef": {"value": home["Id"]}, "Line": [line]}
        missing = c.post("invoice", json=home_invoice).json()["Fault"]["Error"][0]
        assert (missing["code"], missing["element"]) == ("2020", "CurrencyRef")
        vendor = ok(c.post("vendor", json={"DisplayName": "Home Supplies"}))["Vendor"]
        expense = c.get("query", params={"query": "select * from Account where Name = 'Utilities'"})
        bill_line = {
            "Amount": 10,
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {
                "AccountRef": {"value": expense.json()["QueryResponse"]["Account"][0]["Id"]}
            },
        }
        bill = {"VendorRef": {"value": vendor["Id"]}, "Line": [bill_line]}
        assert fault_code(c.post("bill", json=bill)) == "2020"
        usd_bill = ok(c.post("bill", json={**bill, "CurrencyRef": {"value": "USD"}}))["Bill"]
        assert (usd_bill["ExchangeRate"], usd_bill["HomeTotalAmt"]) == (1, 10)
        payment = {
            "CustomerRef": {"value": home["Id"]},
            "TotalAmt": 5,
            "Line": [],
        }
        assert fault_code(c.post("payment", json=payment)) == "2020"
        assert ok(c.post("payment", json={**payment, "CurrencyRef": {"value": "USD"}}))
        invoice = ok(
            c.post(
                "invoice",
                json={**no_currency, "CurrencyRef": {"value": "EUR"}, "ExchangeRate": "1.1"},
            )
        )["Invoice"]
        assert invoice["HomeTotalAmt"] == Decimal("220")
        assert invoice["HomeBalance"] == Decimal("220")
        currencies = ok(c.get("query", params={"query": "select * from CompanyCurrency"}))
        codes = {row["Code"] for row in currencies["QueryResponse"]["CompanyCurrency"]}
        assert "EUR" in codes
        off = {"SyncToken": prefs["SyncToken"], "CurrencyPrefs": {"MultiCurrencyEnabled": False}}
        assert fault_code(c.post("preferences", json=off)) == "6000"


def test_single_currency_company_refuses_foreign_names(api: Api) -> None:
    response = api(
        "POST", "customer", json={"DisplayName": "Yen KK", "CurrencyRef": {"value": "JPY"}}
    )
    assert fault_code(response) == "6000"
    info = ok(api("GET", f"companyinfo/{api.realm_id}"))["CompanyInfo"]  # type: ignore[attr-defined]
    assert info["CompanyName"].startswith("Co ")
    change = {"SyncToken": info["SyncToken"], "sparse": True, "LegalName": "Legal Co"}
    updated = ok(api("POST", "companyinfo", json=change))["CompanyInfo"]
    assert (updated["LegalName"], updated["CompanyName"]) == ("Legal Co", info["CompanyName"])
    assert updated["SyncToken"] == "1"
