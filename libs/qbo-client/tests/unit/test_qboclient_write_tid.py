"""The intuit_tid of a successful write travels on the returned object and never back to QBO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import CollectorRegistry

from qbo_client import (
    AccessToken,
    BatchOp,
    Customer,
    Invoice,
    QBOClient,
    StaticTokenProvider,
    codec,
)

FAR = datetime.now(UTC) + timedelta(days=1)


def client_for(handler: httpx.MockTransport) -> QBOClient:
    tokens = StaticTokenProvider({"t1": AccessToken("AT1", "111", "https://qbo.test", FAR)})
    return QBOClient(tokens, transport=handler, registry=CollectorRegistry())


def answering(entity: str, tid: str | None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        body = codec.loads(request.content) if request.content else {}
        headers = {"Content-Type": "application/json"}
        if tid is not None:
            headers["intuit_tid"] = tid
        if request.method == "GET":
            body = {"Id": "5", "SyncToken": "0", "DisplayName": "Acme"}
        answer = {entity: {**body, "Id": "5", "SyncToken": "1"}, "time": "x"}
        return httpx.Response(200, content=codec.dumps(answer), headers=headers)

    return httpx.MockTransport(handler)


async def test_created_object_carries_the_intuit_tid_of_its_write() -> None:
    async with client_for(answering("Invoice", "tid-create-1")) as client:
        created = await client.for_tenant("t1").create(
            Invoice.model_validate({"CustomerRef": {"value": "1"}, "Line": []}),
            request_id="rid-1",
        )
    assert created.Id == "5"
    assert created.intuit_tid == "tid-create-1"
    # A private attribute: sending the object again never puts the tid into a QBO body.
    assert "intuit_tid" not in created.to_payload()
    assert "_intuit_tid" not in created.to_payload()


async def test_update_carries_its_own_tid_and_reads_carry_none() -> None:
    async with client_for(answering("Customer", "tid-upd-2")) as client:
        session = client.for_tenant("t1")
        read = await session.get(Customer, "5")
        updated = await session.update(read, request_id="rid-2", sparse=True)
    assert read.intuit_tid is None
    assert updated.intuit_tid == "tid-upd-2"


async def test_write_answered_without_the_header_has_no_tid() -> None:
    async with client_for(answering("Customer", None)) as client:
        created = await client.for_tenant("t1").create(
            Customer(DisplayName="Acme"), request_id="rid-3"
        )
    assert created.intuit_tid is None


async def test_batch_written_objects_carry_the_tid_of_their_batch_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        items = codec.loads(request.content)["BatchItemRequest"]
        answers = [
            {"bId": i["bId"], "Customer": {**i["Customer"], "Id": str(n), "SyncToken": "0"}}
            for n, i in enumerate(items)
        ]
        return httpx.Response(
            200,
            content=codec.dumps({"BatchItemResponse": answers, "time": "x"}),
            headers={"Content-Type": "application/json", "intuit_tid": "tid-batch-9"},
        )

    async with client_for(httpx.MockTransport(handler)) as client:
        results = await client.for_tenant("t1").batch(
            [BatchOp.create(Customer(DisplayName=f"c{n}")) for n in range(2)], request_id="rid-b"
        )
    assert [r.entity.intuit_tid for r in results if r.entity is not None] == ["tid-batch-9"] * 2
    assert "_intuit_tid" not in results[0].entity.to_payload()  # type: ignore[union-attr]
