"""The query language: the parser on its own, and evaluation through the HTTP API."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from emulator_http import Api

from qbo_emulator.accounting import properties
from qbo_emulator.accounting.catalogue import SPECS
from qbo_emulator.accounting.faults import ApiFault
from qbo_emulator.accounting.query import parse


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


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("SELECT * FROM Customer WHERE NoSuchField = 'x'", "NoSuchField"),
        ("select * from customer where Active = true and nosuchfield in ('a', 'b')", "nosuchfield"),
        ("SELECT * FROM Vendor WHERE Nickname LIKE 'A%'", "Nickname"),
        ("SELECT count(*) FROM Invoice WHERE TotalAmt > 1 ORDERBY Amount DESC", "Amount"),
        ("SELECT * FROM Invoice ORDER BY TxnDate, Colour", "Colour"),
        ("SELECT * FROM Invoice WHERE MetaData.Modified > '2024-01-01'", "MetaData.Modified"),
        ("SELECT * FROM Invoice WHERE Meta.LastUpdatedTime > '2024-01-01'", "Meta"),
        # Properties belong to an entity: Sku is an Item's, DisplayName a person's.
        ("SELECT *, Sku FROM Customer", "Sku"),
        ("SELECT * FROM Item WHERE DisplayName = 'x'", "DisplayName"),
        ("SELECT * FROM Invoice WHERE VendorRef = '1'", "VendorRef"),
    ],
)
def test_parser_refuses_properties_the_entity_lacks(text: str, named: str) -> None:
    with pytest.raises(ApiFault) as refused:
        parse(text)
    fault = refused.value
    assert (fault.status, fault.code, fault.message) == (400, "4001", "Invalid query")
    entity = text.split()[text.lower().split().index("from") + 1]
    assert fault.detail == (
        f"QueryValidationError: Property {named} not found for Entity: {parse_entity(entity)}"
    )


def parse_entity(written: str) -> str:
    return parse(f"select * from {written}").entity


@pytest.mark.parametrize(
    "text",
    [
        # What python-quickbooks, node-quickbooks, the singer tap and libs/qbo-client send.
        "SELECT *, Sku FROM Item",
        "SELECT * FROM Customer WHERE Active = True AND DisplayName = 'O\\'Brien'",
        "select * from customer where displayname = 'x' and active = true "
        "startposition 1 maxresults 50",
        "SELECT * FROM Invoice WHERE Metadata.LastUpdatedTime >= '2024-01-01T00:00:00Z' "
        "ORDER BY Metadata.LastUpdatedTime ASC STARTPOSITION 1 MAXRESULTS 1000",
        "SELECT * FROM Account WHERE Active IN (true, false) ORDERBY MetaData.CreateTime",
        "SELECT * FROM Invoice WHERE CustomerRef = '1' AND DocNumber = '1001' AND TxnDate > "
        "'2024-01-01' AND TotalAmt >= 10 AND Balance > 0 ORDERBY DueDate DESC, Id",
        "SELECT * FROM Payment WHERE CustomerRef IN ('1', '2') AND TxnDate = '2024-01-01'",
        "SELECT * FROM BillPayment WHERE VendorRef = '1' AND PayType = 'Check'",
        "SELECT * FROM Bill WHERE VendorRef = '1' AND DueDate < '2024-02-01'",
        "SELECT * FROM CreditMemo WHERE RemainingCredit > 0",
        "SELECT * FROM Item WHERE Name LIKE 'Serv%' AND Type = 'Service' AND Sku = 'S-1'",
        "SELECT * FROM Term WHERE Name = 'Net 30' AND DueDays = 30",
        "SELECT * FROM Customer WHERE ParentRef = '1' AND Job = true AND PrimaryEmailAddr = 'a'",
        "SELECT * FROM Employee WHERE GivenName = 'Greg' AND FamilyName LIKE 'S%'",
        "SELECT * FROM exchangerate WHERE sourcecurrencycode IN ('EUR', 'INR') "
        "AND asofdate = '2015-07-07'",
        "SELECT * FROM CompanyCurrency WHERE Code = 'EUR'",
        "SELECT * FROM CompanyInfo",
        "SELECT * FROM Preferences WHERE MetaData.LastUpdatedTime > '2024-01-01'",
    ],
)
def test_parser_accepts_properties_clients_use(text: str) -> None:
    assert parse(text).entity


@pytest.mark.integration
def test_unknown_property_is_refused_over_http_and_in_batch(api: Api) -> None:
    text = "SELECT * FROM Customer WHERE NoSuchField = 'x'"
    answers = [
        api("GET", "query", params={"query": text}),
        api("POST", "query", content=text, headers={"Content-Type": "application/text"}),
        api("GET", "query", params={"query": "select * from Customer orderby NoSuchField"}),
    ]
    for response in answers:
        assert response.status_code == 400, response.text
        fault = response.json()["Fault"]
        assert fault["type"] == "ValidationFault"
        error = fault["Error"][0]
        assert (error["code"], error["Message"]) == ("4001", "Invalid query")
        assert error["Detail"].startswith("QueryValidationError: Property NoSuchField not found")
    batch = {
        "BatchItemRequest": [
            {"bId": "bad", "Query": text},
            {"bId": "good", "Query": "select count(*) from Customer where DisplayName = 'x'"},
        ]
    }
    items = api("POST", "batch", json=batch).json()["BatchItemResponse"]
    by_id = {item["bId"]: item for item in items}
    assert by_id["bad"]["Fault"]["Error"][0]["code"] == "4001"
    assert by_id["good"]["QueryResponse"] == {"totalCount": 0}


@pytest.mark.integration
def test_every_property_the_emulator_serializes_is_queryable(api: Api, emulator_url: str) -> None:
    """The known-property sets cover whatever the emulator stores, so no stored field is refused."""
    tag = uuid.uuid4().hex[:6]

    def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = api("POST", path, json=body)
        assert response.status_code == 200, response.text
        record: dict[str, Any] = next(iter(response.json().values()))
        return record

    def first(entity: str, where: str) -> str:
        response = api("GET", "query", params={"query": f"select * from {entity} where {where}"})
        return str(response.json()["QueryResponse"][entity][0]["Id"])

    parent = made("customer", {"DisplayName": f"P {tag}", "CompanyName": "Co", "Notes": "n"})
    child = {
        "DisplayName": f"C {tag}",
        "GivenName": "G",
        "FamilyName": "F",
        "PrimaryEmailAddr": {"Address": "c@example.com"},
        "BillAddr": {"Line1": "1 Road", "City": "Town"},
        "ParentRef": {"value": parent["Id"]},
        "Job": True,
        "BillWithParent": True,
    }
    customer = made("customer", child)
    vendor = made("vendor", {"DisplayName": f"V {tag}", "AcctNum": "A1"})
    made("employee", {"GivenName": "E", "FamilyName": tag})
    term = made("term", {"Name": f"T {tag}", "DayOfMonthDue": 10, "DueNextMonthDays": 5})
    item = first("Item", "Name = 'Services'")
    bank = first("Account", "AccountType = 'Bank'")
    expense = first("Account", "Name = 'Utilities'")
    made(
        "account",
        {
            "Name": f"Sub {tag}",
            "AccountType": "Bank",
            "SubAccount": True,
            "ParentRef": {"value": bank},
        },
    )
    line = {
        "Amount": "100",
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": "1", "UnitPrice": "100"},
    }
    cref = {"value": customer["Id"]}
    invoice = made(
        "invoice",
        {
            "CustomerRef": cref,
            "Line": [line],
            "SalesTermRef": {"value": term["Id"]},
            "PrivateNote": "p",
            "CustomerMemo": {"value": "m"},
        },
    )
    memo = made("creditmemo", {"CustomerRef": cref, "Line": [line]})
    links = [
        {"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
        {"Amount": 100, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
    ]
    made("payment", {"CustomerRef": cref, "TotalAmt": 10, "Line": links, "PaymentRefNum": "9"})
    expense_line = {
        "Amount": "80.50",
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense}},
    }
    bill = made("bill", {"VendorRef": {"value": vendor["Id"]}, "Line": [expense_line]})
    made(
        "billpayment",
        {
            "VendorRef": {"value": vendor["Id"]},
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": bank}},
            "TotalAmt": 30,
            "Line": [{"Amount": 30, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        },
    )
    spare = made("invoice", {"CustomerRef": cref, "Line": [line]})
    void = {"Id": spare["Id"], "SyncToken": spare["SyncToken"]}
    assert api("POST", "invoice", params={"operation": "void"}, json=void).status_code == 200
    realm = api.realm_id  # type: ignore[attr-defined]
    checked = 0
    for entity in SPECS:
        url = f"{emulator_url}/_emulator/companies/{realm}/records/{entity}"
        rows = httpx.get(url).json()["records"]
        stored = sorted({key for row in rows for key in row})
        if not stored:
            continue
        missing = [key for key in stored if properties.unknown(entity, (key.lower(),))]
        assert (entity, missing) == (entity, [])
        text = f"select count(*) from {entity} orderby {', '.join(stored)}"
        response = api("GET", "query", params={"query": text})
        assert response.status_code == 200, (entity, response.text)
        checked += 1
    assert checked >= 12
