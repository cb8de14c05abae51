"""The query language: the parser on its own, and evaluation through the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from qbo_emulator.accounting.faults import ApiFault
from qbo_emulator.accounting.query import parse

Api = Callable[..., httpx.Response]


@pytest.mark.parametrize(
    ("text", "entity", "order", "start", "maximum"),
    [
        ("SELECT * FROM Customer", "Customer", [], 1, 100),
        (
            "select * from cUstomer orderby DisplayName desc",
            "Customer",
            [(("displayname",), True)],
            1,
            100,
        ),
        (
            "SELECT *, Sku FROM Item ORDER BY Id STARTPOSITION 11 MAXRESULTS 10",
            "Item",
            [(("id",), False)],
            11,
            10,
        ),
        (
            "select * from invoice order by Metadata.LastUpdatedTime asc maxresults 1000",
            "Invoice",
            [(("metadata", "lastupdatedtime"), False)],
            1,
            1000,
        ),
    ],
)
def test_parser_accepts_qbo_forms(
    text: str, entity: str, order: list[Any], start: int, maximum: int
) -> None:
    query = parse(text)
    assert (query.entity, query.order, query.start, query.max_results) == (
        entity,
        order,
        start,
        maximum,
    )


def test_parser_values_and_escapes() -> None:
    query = parse(
        "SELECT COUNT(*) FROM Customer WHERE DisplayName = 'O\\'Brien' AND Active IN (true, false) "
        "AND Balance >= 10.50 AND CompanyName LIKE 'Ac%'"
    )
    assert query.count
    assert [(c.path, c.op, c.values) for c in query.conditions] == [
        (("displayname",), "=", ["O'Brien"]),
        (("active",), "IN", [True, False]),
        (("balance",), ">=", [Decimal("10.50")]),
        (("companyname",), "LIKE", ["Ac%"]),
    ]


def test_parser_less_than_forms() -> None:
    query = parse(
        "select * from Invoice where TotalAmt < 100 and Balance<=50.5 "
        "and MetaData.LastUpdatedTime <= '2024-01-01T00:00:00-08:00' and DocNumber < '1005'"
    )
    assert [(c.path, c.op, c.values) for c in query.conditions] == [
        (("totalamt",), "<", [Decimal("100")]),
        (("balance",), "<=", [Decimal("50.5")]),
        (("metadata", "lastupdatedtime"), "<=", ["2024-01-01T00:00:00-08:00"]),
        (("docnumber",), "<", ["1005"]),
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "4000"),
        ("SELECT * FROM Customer WHERE R", "4000"),
        ("SELECT * FROM Customer WHERE DisplayName = 'x' OR Id = '1'", "4000"),
        ("SELECT * FROM Gadget", "4000"),
        ("SELECT * FROM Customer MAXRESULTS 1001", "4001"),
        # QBO has no "not equal": its operators are = < > <= >= IN LIKE.
        ("SELECT * FROM Customer WHERE DisplayName != 'x'", "4000"),
        ("SELECT * FROM Customer WHERE DisplayName <> 'x'", "4000"),
        ("SELECT * FROM Customer WHERE DisplayName == 'x'", "4000"),
        ("SELECT * FROM Customer WHERE DisplayName =< 'x'", "4000"),
    ],
)
def test_parser_rejects_like_qbo(text: str, code: str) -> None:
    with pytest.raises(ApiFault) as rejected:
        parse(text)
    assert rejected.value.code == code
    assert rejected.value.status == 400


@pytest.mark.integration
def test_query_evaluation_over_http(api: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    ids = []
    for n, name in enumerate(["Alpha", "beta", "Gamma"], start=1):
        body = {"DisplayName": f"{tag} {name}", "CompanyName": f"Co {n}", "Notes": str(n)}
        response = api("POST", "customer", json=body)
        ids.append(response.json()["Customer"]["Id"])

    def run(text: str, method: str = "GET") -> dict[str, Any]:
        if method == "GET":
            response = api(method, "query", params={"query": text})
        else:
            response = api(
                method, "query", content=text, headers={"Content-Type": "application/text"}
            )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["QueryResponse"]
        return result

    where = f"DisplayName LIKE '{tag}%'"
    page = run(f"select * from Customer where {where} orderby DisplayName DESC", "POST")
    assert [c["DisplayName"] for c in page["Customer"]] == [
        f"{tag} Gamma",
        f"{tag} beta",
        f"{tag} Alpha",
    ]
    assert (page["startPosition"], page["maxResults"]) == (1, 3)
    second = run(f"SELECT * FROM Customer WHERE {where} ORDER BY Id STARTPOSITION 2 MAXRESULTS 1")
    assert [c["Id"] for c in second["Customer"]] == [ids[1]]
    assert run(f"select count(*) from customer where {where}") == {"totalCount": 3}
    assert run(f"select * from Customer where Id in ('{ids[0]}', '{ids[2]}')")["maxResults"] == 2
    assert (
        run(f"select * from Customer where DisplayName = '{tag.upper()} ALPHA'")["Customer"][0][
            "Id"
        ]
        == ids[0]
    )
    assert run(f"select * from Customer where {where} and Id = '0'") == {}
    since = "MetaData.LastUpdatedTime > '2000-01-01T00:00:00Z'"
    recent = run(f"select * from Customer where {where} and {since}")
    assert recent["maxResults"] == 3
    bad = api("GET", "query", params={"query": "select * from Customer where"})
    assert bad.json()["Fault"]["Error"][0]["code"] == "4000"


@pytest.mark.integration
def test_less_than_and_at_most_over_http(api: Api) -> None:
    tag = uuid.uuid4().hex[:6]
    customer = api("POST", "customer", json={"DisplayName": f"Lt {tag}"}).json()["Customer"]
    items = api("GET", "query", params={"query": "select * from Item where Name = 'Services'"})
    item_id = items.json()["QueryResponse"]["Item"][0]["Id"]
    ids = {}
    for amount in ("9.99", "10", "10.01", "250"):
        line = {
            "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item_id}},
        }
        body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
        ids[amount] = api("POST", "invoice", json=body).json()["Invoice"]["Id"]
    mine = f"CustomerRef = '{customer['Id']}'"

    def amounts(where: str) -> list[Decimal]:
        text = f"select * from Invoice where {mine} and {where} orderby TotalAmt"
        response = api("GET", "query", params={"query": text})
        assert response.status_code == 200, response.text
        rows = response.json(parse_float=Decimal)["QueryResponse"].get("Invoice", [])
        return [Decimal(r["TotalAmt"]) for r in rows]

    assert amounts("TotalAmt < 10") == [Decimal("9.99")]
    assert amounts("TotalAmt <= 10") == [Decimal("9.99"), Decimal("10")]
    assert amounts("TotalAmt<10.01") == [Decimal("9.99"), Decimal("10")]
    assert amounts("TotalAmt <= 10.01") == [Decimal("9.99"), Decimal("10"), Decimal("10.01")]
    assert amounts("TotalAmt < 9.99") == []
    assert amounts("TotalAmt <= 1000") == [
        Decimal("9.99"),
        Decimal("10"),
        Decimal("10.01"),
        Decimal("250"),
    ]
    # Ids are compared as numbers, not as text ("10" < "9" as strings).
    first, last = ids["9.99"], ids["250"]
    assert amounts(f"Id <= '{first}'") == [Decimal("9.99")]
    assert len(amounts(f"Id < '{last}'")) == 3
    count = api(
        "GET",
        "query",
        params={"query": f"select count(*) from Invoice where {mine} and Balance <= 10"},
    )
    assert count.json()["QueryResponse"] == {"totalCount": 2}


@pytest.mark.integration
def test_each_operator_over_http(api: Api) -> None:
    """Every operator QBO documents, and the two it lacks, through GET and POST."""
    tag = uuid.uuid4().hex[:6]
    names = {n: f"{tag} {n}" for n in ("a", "b", "c")}
    for name in names.values():
        assert api("POST", "customer", json={"DisplayName": name}).status_code == 200
    mine = f"DisplayName LIKE '{tag}%'"

    def found(where: str, method: str = "GET") -> list[str]:
        text = f"select * from Customer where {mine} and {where} orderby DisplayName"
        if method == "GET":
            response = api("GET", "query", params={"query": text})
        else:
            headers = {"Content-Type": "application/text"}
            response = api("POST", "query", content=text, headers=headers)
        assert response.status_code == 200, response.text
        rows = response.json()["QueryResponse"].get("Customer", [])
        return [r["DisplayName"].split()[1] for r in rows]

    b = names["b"]
    for method in ("GET", "POST"):
        assert found(f"DisplayName = '{b}'", method) == ["b"]
        assert found(f"DisplayName < '{b}'", method) == ["a"]
        assert found(f"DisplayName > '{b}'", method) == ["c"]
        assert found(f"DisplayName <= '{b}'", method) == ["a", "b"]
        assert found(f"DisplayName >= '{b}'", method) == ["b", "c"]
        assert found(f"DisplayName IN ('{b}', '{names['c']}')", method) == ["b", "c"]
        assert found("DisplayName LIKE '%b'", method) == ["b"]

    for op in ("!=", "<>"):
        text = f"select * from Customer where {mine} and DisplayName {op} '{b}'"
        response = api("GET", "query", params={"query": text})
        assert response.status_code == 400
        error = response.json()["Fault"]["Error"][0]
        assert (error["code"], error["Message"]) == ("4000", "Error parsing query")
        assert error["Detail"].startswith("QueryParserError: ")
