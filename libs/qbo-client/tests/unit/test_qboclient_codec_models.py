"""Money stays Decimal end to end and unknown fields survive a round trip."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from qbo_client import codec
from qbo_client.models import Customer, Invoice, Item, Payment


def test_decimals_parse_and_serialize_exactly() -> None:
    raw = b'{"Amount": 0.30, "UnitPrice": 12.3456, "Qty": 3, "Tiny": 0.1}'
    parsed = codec.loads(raw)
    assert parsed["Amount"] == Decimal("0.30")
    assert isinstance(parsed["Tiny"], Decimal)
    assert parsed["Qty"] == 3
    total = Decimal("0.1") + Decimal("0.2")
    out = codec.dumps({"Total": total, "UnitPrice": parsed["UnitPrice"]})
    assert out == b'{"Total":0.3,"UnitPrice":12.3456}'
    # A float-parsing reader would see the same digits: the JSON is plain numbers.
    assert json.loads(out)["Total"] == 0.3


def test_encoder_refuses_floats_and_non_finite() -> None:
    with pytest.raises(TypeError):
        codec.dumps({"Amount": 0.1})
    with pytest.raises(ValueError, match="non-finite"):
        codec.dumps({"Amount": Decimal("NaN")})


def test_exponent_decimals_are_written_without_exponent() -> None:
    assert codec.dumps([Decimal("1E+2"), Decimal("-0.00010")]) == b"[100,-0.00010]"


def test_unknown_fields_round_trip_with_decimals() -> None:
    raw = (
        b'{"Id":"7","SyncToken":0,"DisplayName":"O\'Brien & Co","Balance":10.05,'
        b'"FutureField":{"Nested":[1.25,"x"]},"domain":"QBO","sparse":false,'
        b'"MetaData":{"CreateTime":"2015-07-23T10:58:12-07:00"}}'
    )
    customer = Customer.model_validate(codec.loads(raw))
    assert customer.SyncToken == "0"  # QBO tolerates ints; we normalise to its string form
    assert customer.Balance == Decimal("10.05")
    again = codec.loads(codec.dumps(customer.to_payload()))
    assert again["FutureField"] == {"Nested": [Decimal("1.25"), "x"]}
    assert again["domain"] == "QBO"
    assert again["sparse"] is False
    assert again["MetaData"]["CreateTime"] == "2015-07-23T10:58:12-07:00"


def test_invoice_line_money_is_decimal() -> None:
    payload = codec.loads(
        b'{"Line":[{"Amount":1.2345,"DetailType":"SalesItemLineDetail",'
        b'"SalesItemLineDetail":{"UnitPrice":0.1234,"Qty":10.0039,"ItemRef":{"value":"1"}}}],'
        b'"TotalAmt":1.23}'
    )
    inv = Invoice.model_validate(payload)
    assert inv.Line is not None
    detail = inv.Line[0].SalesItemLineDetail
    assert detail is not None
    assert detail.UnitPrice == Decimal("0.1234")
    assert detail.Qty == Decimal("10.0039")
    assert codec.dumps(inv.to_payload()).count(b"0.1234") == 1


def test_entity_traits() -> None:
    assert Customer.url_segment() == "customer"
    assert Payment.url_segment() == "payment"
    assert Item.KIND.value == "name_list"
    assert Invoice.KIND.value == "transaction"
    stub = Invoice.model_validate({"Id": "3", "status": "Deleted", "domain": "QBO"})
    assert stub.deleted
    assert not Invoice.model_validate({"Id": "3"}).deleted
