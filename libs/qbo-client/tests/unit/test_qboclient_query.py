"""The query builder escapes values and refuses anything that could change the query."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from qbo_client.models import Customer, Invoice
from qbo_client.query import Query, quote


def test_quotes_are_escaped_with_backslash() -> None:
    sql = Query(Customer).where("DisplayName", "=", "Adam's Candy Shop").to_sql()
    assert sql == "SELECT * FROM Customer WHERE DisplayName = 'Adam\\'s Candy Shop'"


@pytest.mark.parametrize(
    "evil",
    [
        "x' OR Id > '0",
        "x\\' OR Id > '0",
        "x\\",
        "'; DROP",
        "a' MAXRESULTS 1000 '",
    ],
)
def test_values_cannot_break_out_of_the_literal(evil: str) -> None:
    literal = quote(evil)
    # Walk the literal the way an escape-aware tokenizer does: it must end exactly at the end.
    assert literal[0] == "'"
    i, decoded = 1, []
    while literal[i] != "'":
        if literal[i] == "\\":
            i += 1
        decoded.append(literal[i])
        i += 1
    assert i == len(literal) - 1
    assert "".join(decoded) == evil


@pytest.mark.parametrize("prop", ["Id; DROP", "Name'", "a b", "1abc", "", "Meta..Data"])
def test_property_names_are_validated(prop: str) -> None:
    with pytest.raises(ValueError, match="invalid property"):
        Query(Customer).where(prop, "=", "x")


def test_operators_are_whitelisted() -> None:
    with pytest.raises(ValueError, match="operator"):
        Query(Customer).where("Id", "OR", "1")  # type: ignore[arg-type]


def test_in_lists_numbers_dates_and_bools() -> None:
    sql = (
        Query(Invoice)
        .where("Id", "in", ["1", "2"])
        .where("TotalAmt", ">", Decimal("300.50"))
        .where("TxnDate", ">=", date(2024, 1, 31))
        .where("MetaData.LastUpdatedTime", ">=", datetime(2024, 1, 1, 8, 0, tzinfo=UTC))
        .order_by("MetaData.LastUpdatedTime", descending=True)
        .page(1001, 1000)
        .to_sql()
    )
    assert sql == (
        "SELECT * FROM Invoice WHERE Id IN ('1', '2') AND TotalAmt > 300.50 "
        "AND TxnDate >= '2024-01-31' AND MetaData.LastUpdatedTime >= '2024-01-01T08:00:00+00:00' "
        "ORDERBY MetaData.LastUpdatedTime DESC STARTPOSITION 1001 MAXRESULTS 1000"
    )


def test_naive_timestamps_and_bad_pages_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Query(Customer).where("MetaData.LastUpdatedTime", ">", datetime(2024, 1, 1)).to_sql()
    with pytest.raises(ValueError, match="MAXRESULTS"):
        Query(Customer).page(1, 1001)
    with pytest.raises(ValueError, match="1-based"):
        Query(Customer).page(0, 10)
    with pytest.raises(ValueError, match="collection"):
        Query(Customer).where("Id", "IN", "1")


def test_inactive_name_lists_and_count() -> None:
    q = Query(Customer).where("DisplayName", "LIKE", "Acme%").with_inactive()
    assert q.to_sql() == (
        "SELECT * FROM Customer WHERE DisplayName LIKE 'Acme%' AND Active IN (true, false)"
    )
    assert q.count_sql() == (
        "SELECT COUNT(*) FROM Customer WHERE DisplayName LIKE 'Acme%' AND Active IN (true, false)"
    )
    # Transactions have no Active flag, so with_inactive adds nothing there.
    assert Query(Invoice).with_inactive().to_sql() == "SELECT * FROM Invoice"
    assert quote(True) == "true"


def test_stable_order_adds_id_as_the_last_sort_key() -> None:
    assert Query(Customer).stable_order().to_sql() == "SELECT * FROM Customer ORDERBY Id ASC"
    by_time = Query(Invoice).order_by("MetaData.LastUpdatedTime", descending=True)
    assert by_time.stable_order().to_sql() == (
        "SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime DESC, Id ASC"
    )


def test_stable_order_keeps_an_order_that_already_has_id() -> None:
    by_id = Query(Customer).order_by("DisplayName").order_by("id", descending=True)
    assert by_id.stable_order() == by_id
    assert by_id.stable_order().page(1, 5).to_sql() == (
        "SELECT * FROM Customer ORDERBY DisplayName ASC, id DESC STARTPOSITION 1 MAXRESULTS 5"
    )
