"""REST mechanics over HTTP: CDC, batch, requestid, content negotiation, headers and bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from emulator_http import Api, first_id

pytestmark = pytest.mark.integration


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def fault(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["Fault"]["Error"][0]
    return error


def test_cdc_returns_changes_and_deleted_stubs(api: Api) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    customer = ok(api("POST", "customer", json={"DisplayName": f"C {uuid.uuid4().hex[:6]}"}))
    item = ok(api("GET", "query", params={"query": "select * from Item where Name='Services'"}))
    line = {
        "Amount": 3,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["QueryResponse"]["Item"][0]["Id"]}},
    }
    cref = {"value": customer["Customer"]["Id"]}
    invoice = ok(api("POST", "invoice", json={"CustomerRef": cref, "Line": [line]}))["Invoice"]
    doomed = ok(api("POST", "invoice", json={"CustomerRef": cref, "Line": [line]}))["Invoice"]
    ok(
        api(
            "POST",
            "invoice",
            params={"operation": "delete"},
            json={"Id": doomed["Id"], "SyncToken": "0"},
        )
    )

    body = ok(
        api("GET", "cdc", params={"entities": "Customer,Invoice,TaxCode", "changedSince": since})
    )
    groups = body["CDCResponse"][0]["QueryResponse"]
    by_entity = {next(k for k in g if k[0].isupper()): g for g in groups}
    assert set(by_entity) == {"Customer", "Invoice"}
    invoices = by_entity["Invoice"]["Invoice"]
    assert invoices[0]["Id"] == invoice["Id"]
    assert "status" not in invoices[0]
    assert invoices[-1]["status"] == "Deleted"
    assert invoices[-1]["Id"] == doomed["Id"]
    assert "LastUpdatedTime" in invoices[-1]["MetaData"]

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    empty = ok(api("GET", "cdc", params={"entities": "Customer", "changedSince": later}))
    assert empty["CDCResponse"] == [{"QueryResponse": [{}]}]
    too_old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    assert (
        "older than fixed days"
        in fault(api("GET", "cdc", params={"entities": "Customer", "changedSince": too_old}))[
            "Detail"
        ]
    )


def test_batch_items_are_independent_and_invisible_to_each_other(api: Api) -> None:
    name = f"Batch {uuid.uuid4().hex[:6]}"
    items = [
        {"bId": "b1", "operation": "create", "Customer": {"DisplayName": name}},
        {"bId": "b2", "Query": f"select * from Customer where DisplayName = '{name}'"},
        {"bId": "b3", "operation": "update", "Customer": {"Id": "424242", "SyncToken": "0"}},
    ]
    body = ok(api("POST", "batch", json={"BatchItemRequest": items}))
    answers = {a["bId"]: a for a in body["BatchItemResponse"]}
    assert answers["b1"]["Customer"]["DisplayName"] == name
    assert answers["b2"]["QueryResponse"] == {}
    assert answers["b3"]["Fault"]["Error"][0]["code"] == "610"
    # After the batch the new customer is visible as usual.
    query = {"query": f"select * from Customer where DisplayName = '{name}'"}
    assert len(ok(api("GET", "query", params=query))["QueryResponse"]["Customer"]) == 1

    too_many = [{"bId": str(i), "Query": "select * from Term"} for i in range(31)]
    assert fault(api("POST", "batch", json={"BatchItemRequest": too_many}))["code"] == "6000"


def test_request_id_replays_even_a_different_body(api: Api) -> None:
    request_id = uuid.uuid4().hex
    first = api(
        "POST",
        "customer",
        params={"requestid": request_id},
        json={"DisplayName": "R1 " + request_id},
    )
    second = api(
        "POST",
        "customer",
        params={"requestid": request_id},
        json={"DisplayName": "R2 " + request_id},
    )
    assert second.content == first.content
    other = api(
        "POST",
        "customer",
        params={"requestid": request_id + "x"},
        json={"DisplayName": "R2 " + request_id},
    )
    assert ok(other)["Customer"]["Id"] != ok(first)["Customer"]["Id"]


def test_xml_is_the_default_and_format_json_wins(api: Api) -> None:
    xml = api("GET", "preferences", headers={"Accept": "*/*"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.text.count("<IntuitResponse") == 1
    assert "<MultiCurrencyEnabled>false</MultiCurrencyEnabled>" in xml.text
    forced = api("GET", "preferences", headers={"Accept": "*/*"}, params={"format": "json"})
    assert ok(forced)["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] is False


def test_headers_and_minorversion(api: Api, emulator_url: str) -> None:
    response = api("GET", "preferences", params={"minorversion": "3"})
    assert ok(response)["Preferences"]["Id"] == "1"
    assert response.headers["intuit_tid"]
    admin = httpx.get(f"{emulator_url}/_emulator/companies")
    assert admin.headers["intuit_tid"]


def test_bad_input_gets_faults_not_500(api: Api, emulator_url: str, emulator_token: str) -> None:
    json_headers = {"Content-Type": "application/json"}
    assert (
        fault(api("POST", "customer", content=b"{not json", headers=json_headers))["code"] == "2010"
    )
    # A body that is not UTF-8 is QBO's "Unsupported Operation", on entities and queries alike.
    non_utf8 = fault(api("POST", "customer", content=b"\xff\xfe", headers=json_headers))
    assert (non_utf8["code"], "MalformedByteSequenceException" in non_utf8["Detail"]) == (
        "500",
        True,
    )
    text_headers = {"Content-Type": "application/text"}
    assert (
        fault(api("POST", "query", content=b"select \xff", headers=text_headers))["code"] == "500"
    )
    deep = b"[" * 100_000 + b"]" * 100_000
    assert fault(api("POST", "customer", content=deep, headers=json_headers))["code"] == "2010"
    assert fault(api("POST", "customer", json=["a list"]))["code"] == "2010"
    assert fault(api("POST", "customer", json={"DisplayName": 5}))["code"] == "2010"
    assert (
        fault(api("POST", "customer", json={"DisplayName": "x", "Active": "maybe"}))["code"]
        == "2010"
    )
    bad_amount = {"CustomerRef": {"value": "1"}, "TotalAmt": "lots"}
    assert fault(api("POST", "payment", json=bad_amount))["code"] in ("2010", "2500")
    assert fault(api("GET", "widget/1"))["code"] == "500"
    for entity, body, element in _wrong_shapes(api):
        error = fault(api("POST", entity, json=body))
        assert (error["code"], error["element"]) == ("2010", element), (entity, body)
    huge = {"CustomerRef": {"value": "1"}, "TotalAmt": 1e100}
    assert fault(api("POST", "payment", json=huge))["code"] == "2010"
    # Values that passed unchecked used to be stored and break every later read or query.
    assert all(
        ok(api("GET", "query", params={"query": f"select * from {entity}"}))
        for entity in ("Term", "ExchangeRate", "Item", "Account")
    )
    assert fault(
        api("POST", "customer", content=b"x" * (5 * 1024 * 1024), headers=json_headers), 413
    )
    headers = {"Authorization": f"Bearer {emulator_token}", "Accept": "application/json"}
    unknown = httpx.get(f"{emulator_url}/v3/company/0000/customer/1", headers=headers)
    assert fault(unknown, 403)["code"] == "3100"
    missing = httpx.get(
        f"{emulator_url}/v3/company/0000/customer/1", headers={"Accept": "application/json"}
    )
    assert missing.status_code == 401
    assert missing.json()["fault"]["error"][0]["code"] == "3200"


def _wrong_shapes(api: Api) -> list[tuple[str, dict[str, Any], str]]:
    """(entity, body, faulted element): a detail block as a string, a list for an enum, ..."""
    customer = {"value": first_id(api, "Customer", "Active = true")}
    vendor = {"value": first_id(api, "Vendor", "Active = true")}
    item = {"value": first_id(api, "Item", "Name = 'Services'")}
    account = {"value": first_id(api, "Account", "AccountType = 'Expense'")}
    sales = {
        "Amount": 5,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": item},
    }
    return [
        (
            "invoice",
            {
                "CustomerRef": customer,
                "Line": [
                    sales,
                    {"Amount": 1, "DetailType": "DiscountLineDetail", "DiscountLineDetail": "x"},
                ],
            },
            "Line.DiscountLineDetail",
        ),
        (
            "bill",
            {
                "VendorRef": vendor,
                "Line": [
                    {
                        "Amount": 5,
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": "x",
                    }
                ],
            },
            "Line.AccountBasedExpenseLineDetail",
        ),
        (
            "invoice",
            {"CustomerRef": customer, "Line": [sales], "TxnTaxDetail": "x"},
            "TxnTaxDetail",
        ),
        (
            "billpayment",
            {
                "VendorRef": vendor,
                "PayType": "Check",
                "CheckPayment": "x",
                "TotalAmt": 1,
                "Line": [],
            },
            "CheckPayment",
        ),
        (
            "billpayment",
            {
                "VendorRef": vendor,
                "PayType": "CreditCard",
                "CreditCardPayment": ["x"],
                "TotalAmt": 1,
            },
            "CreditCardPayment",
        ),
        ("preferences", {"SyncToken": "0", "CurrencyPrefs": "on"}, "CurrencyPrefs"),
        ("item", {"Name": "Listy", "Type": ["Service"], "IncomeAccountRef": account}, "Type"),
        ("account", {"Name": "Listy", "AccountType": ["Bank"]}, "AccountType"),
        (
            "payment",
            {
                "CustomerRef": customer,
                "TotalAmt": 1,
                "Line": [{"Amount": 1, "LinkedTxn": [{"TxnId": "1", "TxnType": ["Invoice"]}]}],
            },
            "Line.LinkedTxn.TxnType",
        ),
        (
            "exchangerate",
            {"SourceCurrencyCode": "EUR", "AsOfDate": 20200101, "Rate": 1.1},
            "AsOfDate",
        ),
        ("term", {"Name": "Bad day", "DayOfMonthDue": "abc"}, "DayOfMonthDue"),
        ("term", {"Name": "Bad day", "DayOfMonthDue": 32}, "DayOfMonthDue"),
        ("customer", {"DisplayName": "x", "CurrencyRef": "USD"}, "CurrencyRef"),
        ("customer", {"DisplayName": "x", "Job": "yes"}, "Job"),
        ("invoice", {"CustomerRef": customer, "Line": [sales], "TxnDate": 20240101}, "TxnDate"),
        ("invoice", {"CustomerRef": customer, "Line": "one line"}, "Line"),
    ]
