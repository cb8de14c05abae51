"""TenantSession against a scripted QBO (httpx.MockTransport): wire shapes and reactions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from qbo_client import (
    AccessToken,
    BatchOp,
    Bill,
    CreditMemo,
    Customer,
    ExchangeRate,
    InMemoryRateLimiter,
    Invoice,
    Payment,
    Priority,
    QBOClient,
    Query,
    RealmLimits,
    StaticTokenProvider,
    codec,
    errors,
)
from qbo_client.cdc import CLOCK_OVERLAP

Handler = Callable[[httpx.Request], httpx.Response]
FAR = datetime.now(UTC) + timedelta(days=1)


def token(value: str, realm: str = "111") -> AccessToken:
    return AccessToken(value, realm, "https://qbo.test", FAR)


def client_for(
    handler: Handler,
    *,
    tokens: StaticTokenProvider | None = None,
    registry: CollectorRegistry | None = None,
    tracer_provider: TracerProvider | None = None,
    limiter: InMemoryRateLimiter | None = None,
) -> QBOClient:
    return QBOClient(
        tokens or StaticTokenProvider({"t1": token("AT1"), "t2": token("AT2", "222")}),
        transport=httpx.MockTransport(handler),
        registry=registry or CollectorRegistry(),
        tracer_provider=tracer_provider,
        limiter=limiter,
    )


def ok(body: dict[str, Any], tid: str = "tid-ok") -> httpx.Response:
    return httpx.Response(200, json=body, headers={"intuit_tid": tid})


def params(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


async def test_create_wire_shape_and_decimal_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = codec.loads(request.content)
        answer = codec.dumps({"Invoice": {**body, "Id": "5", "SyncToken": "0"}, "time": "x"})
        return httpx.Response(200, content=answer, headers={"Content-Type": "application/json"})

    async with client_for(handler) as client:
        inv = Invoice.model_validate(
            {
                "CustomerRef": {"value": "1"},
                "Line": [
                    {
                        "Amount": Decimal("0.3"),
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {"UnitPrice": Decimal("0.1234"), "Qty": 2},
                    }
                ],
            }
        )
        created = await client.for_tenant("t1").create(inv, request_id="rid-1")
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/v3/company/111/invoice"
    assert params(request) == {"requestid": "rid-1", "minorversion": "75"}
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == "Bearer AT1"
    assert b'"UnitPrice":0.1234' in request.content
    assert b'"Amount":0.3' in request.content
    assert created.Id == "5"
    assert created.Line is not None
    assert created.Line[0].Amount == Decimal("0.3")


async def test_401_refreshes_once_then_gives_up() -> None:
    tokens = StaticTokenProvider({"t1": token("OLD")}, refreshed={"t1": token("NEW")})
    auths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        auths.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer OLD":
            return httpx.Response(401, json={"fault": {"error": [{"code": "3200"}]}})
        return ok({"Customer": {"Id": "1", "DisplayName": "A"}})

    async with client_for(handler, tokens=tokens) as client:
        customer = await client.for_tenant("t1").get(Customer, "1")
    assert customer.DisplayName == "A"
    assert auths == ["Bearer OLD", "Bearer NEW"]
    assert len(tokens.refresh_calls) == 1

    def always_401(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"fault": {"error": [{"code": "3200"}]}})

    async with client_for(always_401) as client:
        with pytest.raises(errors.AuthenticationError):
            await client.for_tenant("t1").get(Customer, "1")


async def test_429_xml_backs_off_the_realm_only() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if "/111/" in request.url.path:
            body = (
                b'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3">'
                b'<Fault type="SERVICE"><Error code="3001"><Message>ThrottleExceeded</Message>'
                b"</Error></Fault></IntuitResponse>"
            )
            return httpx.Response(429, content=body, headers={"Content-Type": "application/xml"})
        return ok({"Customer": {"Id": "1"}})

    registry = CollectorRegistry()
    async with client_for(handler, registry=registry) as client:
        with pytest.raises(errors.ThrottledError):
            await client.for_tenant("t1").get(Customer, "1")
        with pytest.raises(errors.LimiterTimeout):
            await client.for_tenant("t1", max_wait=1.0).get(Customer, "1")
        assert (await client.for_tenant("t2").get(Customer, "1")).Id == "1"
    assert len(calls) == 2  # the second realm-111 call never reached QBO
    assert registry.get_sample_value("qbo_client_throttled_total") == 1.0


@pytest.mark.parametrize(
    ("exc", "write", "uncertain"),
    [
        (httpx.ReadTimeout("slow"), True, True),
        (httpx.ConnectError("refused"), True, False),
        (httpx.ReadTimeout("slow"), False, False),
    ],
)
async def test_transport_errors_are_transient_and_flag_uncertain_writes(
    exc: Exception, write: bool, uncertain: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    async with client_for(handler) as client:
        session = client.for_tenant("t1")
        call = (
            session.create(Customer(DisplayName="X"), request_id="r")
            if write
            else session.get(Customer, "1")
        )
        with pytest.raises(errors.TransportError) as info:
            await call
    assert info.value.transient
    assert info.value.uncertain is uncertain


async def test_iterate_pages_until_a_short_page() -> None:
    rows = [{"Id": str(i)} for i in range(1, 2501)]
    sqls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sql = request.content.decode()
        sqls.append(sql)
        assert request.headers["Content-Type"] == "application/text"
        start = int(sql.split("STARTPOSITION ")[1].split()[0])
        size = int(sql.split("MAXRESULTS ")[1])
        page = rows[start - 1 : start - 1 + size]
        return ok({"QueryResponse": {"Customer": page} if page else {}})

    async with client_for(handler) as client:
        got = [c.Id async for c in client.for_tenant("t1").iterate(Query(Customer))]
    assert got == [str(i) for i in range(1, 2501)]
    assert sqls == [
        f"SELECT * FROM Customer ORDERBY Id ASC STARTPOSITION {start} MAXRESULTS 1000"
        for start in (1, 1001, 2001)
    ]


async def test_iterate_keeps_the_callers_order_and_breaks_ties_by_id() -> None:
    sqls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sqls.append(request.content.decode())
        return ok({"QueryResponse": {}})

    q = Query(Invoice).where("TotalAmt", ">", Decimal("5")).order_by("TxnDate", descending=True)
    async with client_for(handler) as client:
        assert [i async for i in client.for_tenant("t1").iterate(q.page(3, 50))] == []
    assert sqls == [
        "SELECT * FROM Invoice WHERE TotalAmt > 5 ORDERBY TxnDate DESC, Id ASC"
        " STARTPOSITION 3 MAXRESULTS 50"
    ]


async def test_count_and_empty_query_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "COUNT(*)" in request.content.decode():
            return ok({"QueryResponse": {"totalCount": 42}})
        return ok({"QueryResponse": {}})

    async with client_for(handler) as client:
        session = client.for_tenant("t1")
        assert await session.count(Query(Customer)) == 42
        assert await session.query(Query(Customer)) == []


async def test_cdc_splits_over_the_cap_and_falls_back_to_queries() -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    cdc_calls: list[str] = []
    queries: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cdc"):
            entities = params(request)["entities"]
            cdc_calls.append(entities)
            blocks = []
            if "Customer" in entities:  # Customer alone has 1000+ changes: truncated
                blocks.append({"Customer": [{"Id": str(i)} for i in range(1000)]})
            if "Invoice" in entities:
                blocks.append({"Invoice": [{"Id": "i1"}, {"Id": "i2", "status": "Deleted"}]})
            return ok({"CDCResponse": [{"QueryResponse": blocks}], "time": since.isoformat()})
        sql = request.content.decode()
        queries.append(sql)
        return ok({"QueryResponse": {"Customer": [{"Id": "q1"}, {"Id": "q2"}]}})

    async with client_for(handler) as client:
        result = await client.for_tenant("t1").cdc([Customer, Invoice], since)
    assert cdc_calls == ["Customer,Invoice", "Customer", "Invoice"]
    assert [c.Id for c in result.changed["Customer"]] == ["q1", "q2"]
    assert [c.Id for c in result.changed["Invoice"]] == ["i1"]
    assert [c.Id for c in result.deleted["Invoice"]] == ["i2"]
    assert result.queried == {"Customer"}
    assert "MetaData.LastUpdatedTime >= " in queries[0]
    assert "Active IN (true, false)" in queries[0]


async def test_cdc_older_than_30_days_uses_queries_only() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path.rsplit("/", 1)[1])
        return ok({"QueryResponse": {}})

    async with client_for(handler) as client:
        since = datetime.now(UTC) - timedelta(days=45)
        result = await client.for_tenant("t1").cdc([Customer, Invoice], since)
    # One COUNT for the checkpoint, then one (empty) page per entity.
    assert paths == ["query", "query", "query"]
    assert result.queried == {"Customer", "Invoice"}


async def test_cdc_by_queries_checkpoints_with_server_time_before_the_first_page() -> None:
    before = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
    sqls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sql = request.content.decode()
        sqls.append(sql)
        if "COUNT(*)" in sql:
            count_time = "2026-01-10T04:00:00.734-08:00"  # the checkpoint drops the .734
            return ok({"QueryResponse": {"totalCount": 1}, "time": count_time})
        # Pages answer later, with later server times; none of those may become the checkpoint.
        later = (before + timedelta(minutes=len(sqls))).isoformat()
        rows = [{"Id": "1"}] if "Customer" in sql else []
        return ok({"QueryResponse": {"Customer": rows} if rows else {}, "time": later})

    async with client_for(handler) as client:
        since = datetime.now(UTC) - timedelta(days=45)
        result = await client.for_tenant("t1").cdc([Customer, Invoice], since)
    assert sqls[0] == "SELECT COUNT(*) FROM Customer"
    assert all("LastUpdatedTime >=" in sql for sql in sqls[1:])
    assert result.time == before
    assert [c.Id for c in result.changed["Customer"]] == ["1"]


async def test_cdc_checkpoint_falls_back_to_our_clock_minus_the_overlap() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cdc"):
            return ok({"CDCResponse": [{"QueryResponse": [{}]}]})  # no "time"
        return ok({"QueryResponse": {}, "time": "not a time"})

    async with client_for(handler) as client:
        session = client.for_tenant("t1")
        start = datetime.now(UTC)
        old = await session.cdc([Customer], start - timedelta(days=45))
        recent = await session.cdc([Customer], start - timedelta(days=1))
        end = datetime.now(UTC)
    for result in (old, recent):
        assert result.time is not None
        # Cut to the whole second, like QBO's LastUpdatedTime stamps.
        assert result.time.microsecond == 0
        lowest = (start - CLOCK_OVERLAP).replace(microsecond=0)
        assert lowest <= result.time <= end - CLOCK_OVERLAP
    assert old.queried == {"Customer"} and recent.queried == set()


async def test_cdc_mixing_queries_and_cdc_keeps_the_earliest_checkpoint() -> None:
    count_time = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
    cdc_time = count_time + timedelta(seconds=2)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cdc"):
            assert params(request)["entities"] == "Customer"
            return ok({"CDCResponse": [{"QueryResponse": [{}]}], "time": cdc_time.isoformat()})
        if "COUNT(*)" in request.content.decode():
            return ok({"QueryResponse": {"totalCount": 0}, "time": count_time.isoformat()})
        return ok({"QueryResponse": {}, "time": (cdc_time + timedelta(hours=1)).isoformat()})

    async with client_for(handler) as client:
        since = datetime.now(UTC) - timedelta(days=1)
        result = await client.for_tenant("t1").cdc([ExchangeRate, Customer], since)
    assert result.time == count_time
    assert result.queried == {"ExchangeRate"}


async def test_batch_chunks_with_derived_request_ids() -> None:
    bodies: list[dict[str, Any]] = []
    rids: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        rids.append(params(request)["requestid"])
        answers = [
            {"bId": item["bId"], "Customer": {"Id": item["bId"], **item["Customer"]}}
            for item in body["BatchItemRequest"]
        ]
        return ok({"BatchItemResponse": list(reversed(answers))})

    async with client_for(handler) as client:
        ops = [BatchOp.create(Customer(DisplayName=f"c{i}")) for i in range(61)]
        results = await client.for_tenant("t1").batch(ops, request_id="batch-1")
    assert [len(b["BatchItemRequest"]) for b in bodies] == [30, 30, 1]
    assert len(set(rids)) == 3
    assert all(len(r) <= 36 for r in rids)
    assert [r.entity.Id for r in results if r.entity] == [str(i) for i in range(61)]


async def test_write_guards_and_void_shapes() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"Payment": {"Id": "9", "SyncToken": "1"}, "Invoice": {"Id": "8"}})

    async with client_for(handler) as client:
        session = client.for_tenant("t1")
        with pytest.raises(TypeError, match="deactivate"):
            await session.delete(Customer(Id="1", SyncToken="0"), request_id="r")
        with pytest.raises(TypeError, match="not a name-list"):
            await session.deactivate(Invoice(Id="1", SyncToken="0"), request_id="r")
        with pytest.raises(ValueError, match="Id and SyncToken"):
            await session.update(Customer(DisplayName="x"), request_id="r")
        with pytest.raises(ValueError, match="request_id"):
            await session.create(Customer(DisplayName="x"), request_id="x" * 51)
        await session.void(Payment(Id="9", SyncToken="0"), request_id="v1")
        await session.void(Invoice(Id="8", SyncToken="0"), request_id="v2")
    assert params(seen[0]) == {
        "operation": "update",
        "include": "void",
        "requestid": "v1",
        "minorversion": "75",
    }
    assert json.loads(seen[0].content) == {"Id": "9", "SyncToken": "0", "sparse": True}
    assert params(seen[1])["operation"] == "void"


async def test_duplicate_name_carries_the_name_and_tid() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        fault = {"Fault": {"Error": [{"Message": "Duplicate", "code": "6240"}], "type": "V"}}
        return httpx.Response(400, json=fault, headers={"intuit_tid": "tid-dup"})

    async with client_for(handler) as client:
        with pytest.raises(errors.DuplicateNameError) as info:
            await client.for_tenant("t1").create(Customer(DisplayName="O'Hara"), request_id="r")
    assert info.value.name == "O'Hara"
    assert info.value.intuit_tid == "tid-dup"


async def test_spans_and_metrics_without_tokens() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = CollectorRegistry()
    tokens = StaticTokenProvider({"t1": token("OLD")}, refreshed={"t1": token("NEW")})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer OLD":
            return httpx.Response(401, content=b"", headers={"intuit_tid": "tid-401"})
        return ok({"Customer": {"Id": "1"}}, tid="tid-200")

    async with client_for(
        handler, tokens=tokens, registry=registry, tracer_provider=provider
    ) as client:
        await client.for_tenant("t1").get(Customer, "1")
    spans = exporter.get_finished_spans()
    assert [s.attributes["qbo.attempt"] for s in spans if s.attributes] == [1, 2]
    last = spans[-1].attributes or {}
    assert last["qbo.intuit_tid"] == "tid-200"
    assert last["qbo.realm_id"] == "111"
    assert last["qbo.method"] == "get"
    assert last["qbo.entity"] == "Customer"
    assert last["http.response.status_code"] == 200
    flat = json.dumps([dict(s.attributes or {}) for s in spans])
    assert "OLD" not in flat
    assert "NEW" not in flat
    labels = {"method": "get", "entity": "Customer", "outcome": "200"}
    assert registry.get_sample_value("qbo_client_calls_total", labels) == 1.0
    assert registry.get_sample_value("qbo_client_token_refreshes_total") == 1.0


async def test_minorversion_is_configurable_on_every_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/query"):
            return ok({"QueryResponse": {}})
        return ok({"Customer": {"Id": "1", "SyncToken": "0", "DisplayName": "A"}})

    tokens = StaticTokenProvider({"t1": token("AT1")})
    async with QBOClient(
        tokens,
        minorversion=65,
        transport=httpx.MockTransport(handler),
        registry=CollectorRegistry(),
    ) as client:
        session = client.for_tenant("t1")
        await session.get(Customer, "1")
        await session.create(Customer(DisplayName="A"), request_id="mv-1")
        await session.query(Query(Customer))
    assert [params(r)["minorversion"] for r in seen] == ["65", "65", "65"]
    assert params(seen[1]) == {"requestid": "mv-1", "minorversion": "65"}


async def test_latency_and_throttle_wait_are_recorded_per_call() -> None:
    registry = CollectorRegistry()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/query"):
            return ok({"QueryResponse": {}})
        return ok({"Customer": {"Id": "1"}})

    async with client_for(handler, registry=registry) as client:
        await client.for_tenant("t1").get(Customer, "1")
        await client.for_tenant("t1").get(Customer, "2")
        await client.for_tenant("t1", priority=Priority.BACKGROUND).query(Query(Customer))

    def sample(name: str, labels: dict[str, str]) -> float | None:
        return registry.get_sample_value(name, labels)

    get_labels = {"method": "get", "entity": "Customer"}
    query_labels = {"method": "query", "entity": "Customer"}
    assert sample("qbo_client_call_duration_seconds_count", get_labels) == 2.0
    assert sample("qbo_client_call_duration_seconds_count", query_labels) == 1.0
    assert (sample("qbo_client_call_duration_seconds_sum", get_labels) or -1.0) >= 0.0
    interactive = {"priority": "interactive"}
    background = {"priority": "background"}
    assert sample("qbo_client_throttle_wait_seconds_count", interactive) == 2.0
    assert sample("qbo_client_throttle_wait_seconds_count", background) == 1.0
    assert (sample("qbo_client_throttle_wait_seconds_sum", background) or -1.0) >= 0.0


async def test_a_call_turned_away_by_the_budget_is_counted_as_limiter_timeout() -> None:
    registry = CollectorRegistry()
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return ok({"Customer": {"Id": "1"}})

    limiter = InMemoryRateLimiter()
    async with client_for(handler, registry=registry, limiter=limiter) as client:
        await limiter.backoff("111", 60.0)
        with pytest.raises(errors.LimiterTimeout) as refused:
            await client.for_tenant("t1", max_wait=1.0).get(Customer, "1")
    assert refused.value.transient
    assert sent == []
    labels = {"method": "get", "entity": "Customer"}
    assert (
        registry.get_sample_value(
            "qbo_client_calls_total", {**labels, "outcome": "limiter_timeout"}
        )
        == 1.0
    )
    # Nothing was sent, so no latency was observed for it.
    assert registry.get_sample_value("qbo_client_call_duration_seconds_count", labels) is None


async def test_batch_chunks_count_against_the_batch_budget() -> None:
    registry = CollectorRegistry()
    chunk_sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch"):
            items = json.loads(request.content)["BatchItemRequest"]
            chunk_sizes.append(len(items))
            answers = [
                {"bId": item["bId"], "Customer": {"Id": item["bId"], **item["Customer"]}}
                for item in items
            ]
            return ok({"BatchItemResponse": answers})
        return ok({"Customer": {"Id": "7"}})

    limiter = InMemoryRateLimiter(RealmLimits(batch_per_minute=1))
    ops = [BatchOp.create(Customer(DisplayName=f"c{i}")) for i in range(31)]
    async with client_for(handler, registry=registry, limiter=limiter) as client:
        session = client.for_tenant("t1", max_wait=1.0)
        with pytest.raises(errors.LimiterTimeout):
            await session.batch(ops, request_id="budget-1")
        # Plain calls have their own budget, which the batch did not exhaust.
        assert (await session.get(Customer, "7")).Id == "7"
        # Another realm's batch budget is untouched.
        done = await client.for_tenant("t2", max_wait=1.0).batch(ops[:2], request_id="budget-2")
    assert [r.ok for r in done] == [True, True]
    assert chunk_sizes == [30, 2]  # the second chunk of t1 was never sent
    labels = {"method": "batch", "entity": "Batch"}
    assert (
        registry.get_sample_value(
            "qbo_client_calls_total", {**labels, "outcome": "limiter_timeout"}
        )
        == 1.0
    )
    assert registry.get_sample_value("qbo_client_calls_total", {**labels, "outcome": "200"}) == 2.0


async def test_fault_inside_a_200_is_raised_and_unvoidable_entities_are_refused() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        fault = {"Fault": {"Error": [{"Message": "Stale", "code": "5010"}], "type": "V"}}
        return ok(fault, tid="tid-200-fault")

    async with client_for(handler) as client:
        session = client.for_tenant("t1")
        with pytest.raises(errors.StaleObjectError) as stale:
            await session.update(Customer(Id="1", SyncToken="0"), request_id="r", sparse=True)
        with pytest.raises(TypeError, match="cannot be voided"):
            await session.void(Bill(Id="1", SyncToken="0"), request_id="v")
        with pytest.raises(TypeError, match="cannot be voided"):
            await session.void(CreditMemo(Id="1", SyncToken="0"), request_id="v")
    assert stale.value.status == 200
    assert stale.value.intuit_tid == "tid-200-fault"
    assert len(sent) == 1  # the refused voids never reached QBO
