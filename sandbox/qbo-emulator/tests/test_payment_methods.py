"""PaymentMethod: the name list a Payment's PaymentMethodRef points at (Cash, Check, Visa…)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from emulator_http import Api, fault_code, ok

pytestmark = pytest.mark.integration


def methods(api: Api, where: str = "") -> dict[str, dict[str, Any]]:
    query = f"select * from PaymentMethod {where}".strip()
    body = ok(api("GET", "query", params={"query": query}))["QueryResponse"]
    return {m["Name"]: m for m in body.get("PaymentMethod", [])}


def test_the_sample_company_has_the_sandbox_methods(api: Api) -> None:
    seeded = methods(api)
    assert {name: m["Type"] for name, m in seeded.items()} == {
        "Cash": "NON_CREDIT_CARD",
        "Check": "NON_CREDIT_CARD",
        "Visa": "CREDIT_CARD",
        "MasterCard": "CREDIT_CARD",
        "American Express": "CREDIT_CARD",
        "Discover": "CREDIT_CARD",
        "Diners Club": "CREDIT_CARD",
    }
    assert all(m["Active"] is True and m["SyncToken"] == "0" for m in seeded.values())
    assert all("CreateTime" in m["MetaData"] for m in seeded.values())


def test_create_read_update_and_deactivate(api: Api) -> None:
    created = ok(api("POST", "paymentmethod", json={"Name": "Zelle"}))["PaymentMethod"]
    assert (created["Type"], created["Active"], created["SyncToken"]) == (
        "NON_CREDIT_CARD",
        True,
        "0",
    )
    read = ok(api("GET", f"paymentmethod/{created['Id']}"))["PaymentMethod"]
    assert read["Name"] == "Zelle"

    sparse = {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Type": "CREDIT_CARD"}
    updated = ok(api("POST", "paymentmethod", json=sparse))["PaymentMethod"]
    assert (updated["Name"], updated["Type"], updated["SyncToken"]) == ("Zelle", "CREDIT_CARD", "1")
    assert fault_code(api("POST", "paymentmethod", json=sparse)) == "5010"

    off = {"Id": created["Id"], "SyncToken": "1", "sparse": True, "Active": False}
    assert ok(api("POST", "paymentmethod", json=off))["PaymentMethod"]["Active"] is False
    assert "Zelle" not in methods(api)
    assert methods(api, "where Active IN (true, false)")["Zelle"]["Active"] is False
    assert ok(api("GET", f"paymentmethod/{created['Id']}"))["PaymentMethod"]["Active"] is False


def test_bad_methods_are_refused(api: Api) -> None:
    assert fault_code(api("POST", "paymentmethod", json={"Type": "CREDIT_CARD"})) == "2020"
    assert fault_code(api("POST", "paymentmethod", json={"Name": "cash"})) == "6240"
    wrong = {"Name": "Barter", "Type": "DEBIT"}
    assert fault_code(api("POST", "paymentmethod", json=wrong)) == "2170"
    assert fault_code(api("POST", "paymentmethod", json={"Name": "x" * 32})) == "6000"
    assert fault_code(api("POST", "paymentmethod", json={"Name": 7})) == "2010"


def test_query_by_id_in_with_inactive_ones(api: Api) -> None:
    seeded = methods(api)
    cash, visa = seeded["Cash"]["Id"], seeded["Visa"]["Id"]
    off = {"Id": visa, "SyncToken": "0", "sparse": True, "Active": False}
    ok(api("POST", "paymentmethod", json=off))
    # The exact query the payment-poller sends to name a payment's method.
    query = (
        f"SELECT * FROM PaymentMethod WHERE Id IN ('{cash}', '{visa}') AND Active IN (true, false)"
    )
    rows = ok(api("GET", "query", params={"query": query}))["QueryResponse"]["PaymentMethod"]
    assert {(r["Id"], r["Name"]) for r in rows} == {(cash, "Cash"), (visa, "Visa")}
    assert set(methods(api, f"where Id IN ('{cash}', '{visa}')")) == {"Cash"}
    assert (
        fault_code(
            api("GET", "query", params={"query": "select * from PaymentMethod where Foo = 1"})
        )
        == "4001"
    )


def test_a_payment_keeps_a_valid_method_by_id(api: Api) -> None:
    seeded = methods(api)
    customer = ok(api("POST", "customer", json={"DisplayName": "Method Payer"}))["Customer"]
    query = "select * from Item where Name = 'Services'"
    item = ok(api("GET", "query", params={"query": query}))["QueryResponse"]["Item"][0]["Id"]
    cref = {"value": customer["Id"]}
    line = {
        "Amount": "50",
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": "1", "UnitPrice": "50"},
    }
    invoice = ok(api("POST", "invoice", json={"CustomerRef": cref, "Line": [line]}))
    link = {"TxnId": invoice["Invoice"]["Id"], "TxnType": "Invoice"}

    def pay(method: Any) -> Any:
        body = {"CustomerRef": cref, "TotalAmt": 10, "PaymentMethodRef": method}
        return api("POST", "payment", json={**body, "Line": [{"Amount": 10, "LinkedTxn": [link]}]})

    check = seeded["Check"]["Id"]
    payment = ok(pay({"value": check, "name": "whatever"}))["Payment"]
    # Like QBO, the ref comes back with its id only.
    assert payment["PaymentMethodRef"] == {"value": check}
    assert ok(api("GET", f"payment/{payment['Id']}"))["Payment"]["PaymentMethodRef"] == {
        "value": check
    }
    assert fault_code(pay({"value": "999999"})) == "2500"
    assert fault_code(pay("Check")) == "2010"

    off = {"Id": check, "SyncToken": "0", "sparse": True, "Active": False}
    ok(api("POST", "paymentmethod", json=off))
    assert fault_code(pay({"value": check})) == "610"
    # A payment saved before the method was deactivated can still be edited.
    memo = {"Id": payment["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "late"}
    edited = ok(api("POST", "payment", json=memo))["Payment"]
    assert (edited["PrivateNote"], edited["PaymentMethodRef"]) == ("late", {"value": check})
    cash = {**memo, "SyncToken": "1", "PaymentMethodRef": {"value": seeded["Cash"]["Id"]}}
    switched = ok(api("POST", "payment", json=cash))["Payment"]
    assert switched["PaymentMethodRef"] == {"value": seeded["Cash"]["Id"]}
    assert ok(api("GET", f"invoice/{invoice['Invoice']['Id']}"))["Invoice"]["Balance"] == Decimal(
        40
    )
