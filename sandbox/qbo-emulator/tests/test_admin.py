"""The admin API under /_emulator/: user payments, every record of a realm, one record."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from emulator_http import Api, first_id, ok

pytestmark = pytest.mark.integration


def new_bill(api: Api, amount: str) -> dict[str, Any]:
    vendor = ok(api("POST", "vendor", json={"DisplayName": f"V {uuid.uuid4().hex[:6]}"}))
    line = {
        "Amount": amount,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {
            "AccountRef": {"value": first_id(api, "Account", "Name = 'Utilities'")}
        },
    }
    body = {"VendorRef": {"value": vendor["Vendor"]["Id"]}, "Line": [line]}
    bill: dict[str, Any] = ok(api("POST", "bill", json=body))["Bill"]
    return bill


def test_user_pays_a_bill(api: Api, emulator_url: str) -> None:
    admin = f"{emulator_url}/_emulator/companies/{api.realm_id}"  # type: ignore[attr-defined]
    bill = new_bill(api, "90")
    part = httpx.post(f"{admin}/payments", json={"bill_id": bill["Id"], "amount": "40"})
    assert part.status_code == 201, part.text
    payment = part.json(parse_float=Decimal)["BillPayment"]
    checking = first_id(api, "Account", "AccountType = 'Bank'")
    assert (payment["PayType"], payment["TotalAmt"]) == ("Check", 40)
    assert payment["CheckPayment"]["BankAccountRef"]["value"] == checking
    after = ok(api("GET", f"bill/{bill['Id']}"))["Bill"]
    assert after["Balance"] == 50
    assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "BillPaymentCheck"}]

    savings = first_id(api, "Account", "Name = 'Savings'")
    rest = httpx.post(f"{admin}/payments", json={"bill_id": bill["Id"], "bank_account_id": savings})
    assert rest.status_code == 201, rest.text
    assert rest.json()["BillPayment"]["TotalAmt"] == 50  # the open balance by default
    assert rest.json()["BillPayment"]["CheckPayment"]["BankAccountRef"]["name"] == "Savings"
    assert ok(api("GET", f"bill/{bill['Id']}"))["Bill"]["Balance"] == 0

    # Paying more than is open is QBO's business fault, passed on as it is.
    over = httpx.post(f"{admin}/payments", json={"bill_id": bill["Id"], "amount": "1"})
    assert (over.status_code, over.json()["Fault"]["Error"][0]["code"]) == (400, "6000")
    unknown = httpx.post(f"{admin}/payments", json={"bill_id": "999999"})
    assert unknown.json()["Fault"]["Error"][0]["code"] == "610"
    both = httpx.post(f"{admin}/payments", json={"bill_id": bill["Id"], "invoice_id": "1"})
    assert both.status_code == 422
    assert httpx.post(f"{admin}/payments", json={}).status_code == 422
    assert httpx.post(f"{admin}/payments", json={"bill_id": "1", "amount": "-5"}).status_code == 422


def test_records_include_inactive_and_deleted(api: Api, emulator_url: str) -> None:
    admin = f"{emulator_url}/_emulator/companies/{api.realm_id}"  # type: ignore[attr-defined]
    kept = new_bill(api, "10")
    doomed = new_bill(api, "20")
    ref = {"Id": doomed["Id"], "SyncToken": doomed["SyncToken"]}
    ok(api("POST", "bill", params={"operation": "delete"}, json=ref))
    vendor_id = doomed["VendorRef"]["value"]
    ok(
        api(
            "POST",
            "vendor",
            json={"Id": vendor_id, "SyncToken": "0", "sparse": True, "Active": False},
        )
    )

    listing = httpx.get(f"{admin}/records/bill").json()
    assert listing["entity"] == "Bill"
    by_id = {r["Id"]: r for r in listing["records"]}
    assert by_id[kept["Id"]]["TotalAmt"] == 10
    stub = by_id[doomed["Id"]]
    assert stub["status"] == "Deleted"
    assert set(stub) == {"Id", "status", "domain", "MetaData"}
    assert "LastUpdatedTime" in stub["MetaData"]
    vendors = httpx.get(f"{admin}/records/Vendor").json()["records"]
    assert any(v["Id"] == vendor_id and v["Active"] is False for v in vendors)

    one = httpx.get(f"{admin}/records/bill/{kept['Id']}").json()
    assert (one["deleted"], one["record"]["Id"]) == (False, kept["Id"])
    gone = httpx.get(f"{admin}/records/Bill/{doomed['Id']}").json()
    assert (gone["deleted"], gone["record"]["status"]) == (True, "Deleted")
    inactive = httpx.get(f"{admin}/records/vendor/{vendor_id}").json()
    assert (inactive["deleted"], inactive["record"]["Active"]) == (False, False)

    assert httpx.get(f"{admin}/records/bill/999999").status_code == 404
    assert httpx.get(f"{admin}/records/gadget/1").status_code == 404
    assert httpx.get(f"{admin}/records/gadget").status_code == 404
    no_realm = f"{emulator_url}/_emulator/companies/0/records/bill"
    assert httpx.get(no_realm).status_code == 404
    assert httpx.get(f"{no_realm}/1").status_code == 404
