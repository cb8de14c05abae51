"""Batch chunking and per-item results; CDC parsing and the look-back rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbo_client import errors
from qbo_client.batch import (
    BatchOp,
    assign_bids,
    chunk_request_id,
    chunks,
    parse_response,
    request_body,
)
from qbo_client.cdc import parse_cdc, within_lookback
from qbo_client.models import Customer, Invoice, Vendor
from qbo_client.query import Query


def test_chunks_of_thirty_with_position_bids() -> None:
    ops = [BatchOp.create(Customer(DisplayName=f"c{i}")) for i in range(65)]
    items = assign_bids(ops)
    parts = chunks(items)
    assert [len(p) for p in parts] == [30, 30, 5]
    assert [bid for bid, _ in parts[2]] == ["60", "61", "62", "63", "64"]


def test_bids_must_be_unique_and_short() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        assign_bids([BatchOp.create(Customer(), bid="a"), BatchOp.create(Customer(), bid="a")])
    with pytest.raises(ValueError, match="longer"):
        assign_bids([BatchOp.create(Customer(), bid="x" * 11)])


def test_chunk_request_ids_are_deterministic_distinct_and_short() -> None:
    a0, a1 = chunk_request_id("rid", 0), chunk_request_id("rid", 1)
    assert a0 == chunk_request_id("rid", 0)
    assert a0 != a1
    assert len(chunk_request_id("r" * 50, 3)) == 36


def test_request_body_shapes() -> None:
    items = assign_bids(
        [
            BatchOp.create(Vendor(DisplayName="V")),
            BatchOp.update(Customer(Id="1", SyncToken="2", Notes="n"), sparse=True),
            BatchOp.delete(Invoice(Id="9", SyncToken="0", DocNumber="ignored")),
            BatchOp.select(Query(Customer).where("DisplayName", "=", "O'B")),
        ]
    )
    body = request_body(items)["BatchItemRequest"]
    assert body[0] == {"bId": "0", "operation": "create", "Vendor": {"DisplayName": "V"}}
    assert body[1]["Customer"] == {"Id": "1", "SyncToken": "2", "Notes": "n", "sparse": True}
    assert body[2] == {"bId": "2", "operation": "delete", "Invoice": {"Id": "9", "SyncToken": "0"}}
    assert body[3] == {"bId": "3", "Query": "SELECT * FROM Customer WHERE DisplayName = 'O\\'B'"}


def test_parse_response_per_item_in_request_order() -> None:
    items = assign_bids(
        [
            BatchOp.create(Customer(DisplayName="Dup")),
            BatchOp.create(Customer(DisplayName="New")),
            BatchOp.select(Query(Customer)),
            BatchOp.update(Customer(Id="5", SyncToken="0")),
        ]
    )
    payload = {
        "BatchItemResponse": [
            {"bId": "2", "QueryResponse": {"Customer": [{"Id": "1"}, {"Id": "2"}]}},
            {"bId": "1", "Customer": {"Id": "77", "DisplayName": "New", "SyncToken": "0"}},
            {
                "bId": "0",
                "Fault": {
                    "type": "ValidationFault",
                    "Error": [{"Message": "Duplicate Name Exists Error", "code": "6240"}],
                },
            },
        ]
    }
    results = parse_response(payload, items, intuit_tid="tid")
    assert [r.bid for r in results] == ["0", "1", "2", "3"]
    dup = results[0].error
    assert isinstance(dup, errors.DuplicateNameError)
    assert dup.name == "Dup"
    assert dup.intuit_tid == "tid"
    assert results[1].ok
    assert isinstance(results[1].entity, Customer)
    assert results[1].entity.Id == "77"
    assert results[2].rows is not None
    assert [r.Id for r in results[2].rows] == ["1", "2"]
    assert isinstance(results[3].error, errors.ServiceError)  # no answer for that bId


def test_parse_cdc_separates_deleted_stubs_and_ignores_counters() -> None:
    payload = {
        "CDCResponse": [
            {
                "QueryResponse": [
                    {"Customer": [{"Id": "63"}, {"Id": "99"}], "startPosition": 1, "maxResults": 2},
                    {
                        "Invoice": [
                            {"Id": "34", "TotalAmt": 10.5},
                            {"domain": "QBO", "status": "Deleted", "Id": "979"},
                        ],
                        "maxResults": 2,
                        "totalCount": 2,
                    },
                ]
            }
        ],
        "time": "2015-12-23T10:00:01-07:00",
    }
    result = parse_cdc(payload, [Customer, Invoice])
    assert [c.Id for c in result.changed["Customer"]] == ["63", "99"]
    assert [i.Id for i in result.changed["Invoice"]] == ["34"]
    assert [i.Id for i in result.deleted["Invoice"]] == ["979"]
    assert result.count() == 4
    assert result.time == datetime.fromisoformat("2015-12-23T10:00:01-07:00")


def test_parse_cdc_nothing_changed() -> None:
    result = parse_cdc({"CDCResponse": [{"QueryResponse": [{}]}], "time": "x"}, [Customer])
    assert result.count() == 0
    assert result.time is None


def test_lookback_rule() -> None:
    now = datetime(2026, 1, 31, tzinfo=UTC)
    assert within_lookback(now - timedelta(days=29), now)
    assert not within_lookback(now - timedelta(days=30), now)
    assert not within_lookback(now - timedelta(days=29, hours=23, minutes=30), now)
