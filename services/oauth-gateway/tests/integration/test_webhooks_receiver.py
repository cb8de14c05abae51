"""Scenario B4: Intuit webhooks — signatures, replays, several realms, big bodies, latency."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from custody_fakes import FakeIntuit, RecordedEvents
from custody_harness import replica
from edge_harness import SCHEMA, VERIFIER, Gateway, dev_keyring, gateway
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.webhooks.routes import MAX_BODY
from oauth_gateway.webhooks.signature import sign

pytestmark = pytest.mark.integration


@pytest.fixture
async def gw(gateway_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Gateway]:
    custody = replica(gateway_sessions, FakeIntuit(), RecordedEvents(), dev_keyring())
    gw = gateway(gateway_sessions, custody.vault)
    await gw.edge.keys.install([gw.operator_key], gw.edge.clock())
    yield gw
    await gw.cleanup()


async def connected(gw: Gateway) -> tuple[str, str]:
    tenant, company = await gw.new_tenant(), str(uuid.uuid4().int)[:15]
    state = await gw.start(tenant)
    await gw.callback(code=gw.intuit.approve(), state=state, realmId=company)
    return tenant, company


def legacy(*realms: str, entities: int = 1) -> bytes:
    notes = [
        {
            "realmId": r,
            "dataChangeEvent": {
                "entities": [
                    {
                        "name": "Payment",
                        "id": str(i),
                        "operation": "Create",
                        "lastUpdated": "2026-03-20T12:01:44.000Z",
                    }
                    for i in range(entities)
                ]
            },
        }
        for r in realms
    ]
    return json.dumps({"eventNotifications": notes}).encode()


async def post(gw: Gateway, body: bytes, signature: str | None) -> Any:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["intuit-signature"] = signature
    return await gw.client.post("/webhooks/intuit", content=body, headers=headers)


async def deliveries(gw: Gateway, body: bytes) -> int:
    key = hashlib.sha256(body).hexdigest()
    return int(
        await gw.sql(f"SELECT count(*) FROM {SCHEMA}.webhook_deliveries WHERE dedupe_key=:k", k=key)
    )


async def test_bad_signatures_get_401_and_publish_nothing(gw: Gateway) -> None:
    tenant, company = await connected(gw)
    body = legacy(company)
    before = await gw.events(tenant)
    for signature in (None, "", sign("wrong-token", body), sign(VERIFIER, body + b" "), "%%%"):
        resp = await post(gw, body, signature)
        assert resp.status_code == 401
    # Not even JSON: rejected on the signature alone, before anything parses it.
    assert (await post(gw, b"\x00not json", "AAAA")).status_code == 401
    assert await gw.events(tenant) == before
    assert await deliveries(gw, body) == 0


async def test_multi_realm_payload_publishes_one_event_per_known_realm(gw: Gateway) -> None:
    (t1, r1), (t2, r2) = await connected(gw), await connected(gw)
    body = legacy(r1, "unknown-realm-" + uuid.uuid4().hex[:6], r2, entities=3)
    resp = await post(gw, body, sign(VERIFIER, body))
    assert resp.status_code == 200
    for tenant in (t1, t2):
        assert (await gw.events(tenant)).count("qbsync.qbo.entities_changed.v1") == 1
    # Replays (Intuit retries) change nothing.
    for _ in range(3):
        assert (await post(gw, body, sign(VERIFIER, body))).status_code == 200
    for tenant in (t1, t2):
        assert (await gw.events(tenant)).count("qbsync.qbo.entities_changed.v1") == 1
    assert await deliveries(gw, body) == 1


async def test_cloudevents_delivery_is_accepted(gw: Gateway) -> None:
    tenant, company = await connected(gw)
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "type": "qbo.invoice.voided.v1",
                "time": "2026-03-20T12:01:44.123456789Z",
                "intuitentityid": "130",
                "intuitaccountid": company,
                "datacontenttype": "application/json",
                "data": {},
            }
        ]
    ).encode()
    assert (await post(gw, body, sign(VERIFIER, body))).status_code == 200
    assert (await gw.events(tenant))[-1] == "qbsync.qbo.entities_changed.v1"


async def test_two_megabyte_delivery_is_answered_within_three_seconds(gw: Gateway) -> None:
    tenant, company = await connected(gw)
    body = legacy(company, entities=20_000)
    assert len(body) > 2_000_000
    started = time.perf_counter()
    resp = await post(gw, body, sign(VERIFIER, body))
    elapsed = time.perf_counter() - started
    assert resp.status_code == 200
    assert elapsed < 3.0, f"took {elapsed:.2f}s"
    assert (await gw.events(tenant)).count("qbsync.qbo.entities_changed.v1") == 1
    forged = await post(gw, body, sign("x", body))
    assert forged.status_code == 401


async def test_authentic_but_unreadable_delivery_is_acknowledged_without_effect(
    gw: Gateway,
) -> None:
    body = b'{"unexpected": true}'
    assert (await post(gw, body, sign(VERIFIER, body))).status_code == 200
    assert await deliveries(gw, body) == 0
    samples = gw.edge.metrics.registry.get_sample_value(
        "qbsync_webhook_deliveries_total", {"service": "oauth-gateway", "outcome": "malformed"}
    )
    assert samples == 1.0


def webhook_count(gw: Gateway, outcome: str) -> float:
    value = gw.edge.metrics.registry.get_sample_value(
        "qbsync_webhook_deliveries_total", {"service": "oauth-gateway", "outcome": outcome}
    )
    return value or 0.0


async def test_a_body_over_the_limit_gets_413_is_counted_and_publishes_nothing(
    gw: Gateway,
) -> None:
    tenant, company = await connected(gw)
    before = await gw.events(tenant)
    body = legacy(company, entities=MAX_BODY // 100)
    assert len(body) > MAX_BODY
    resp = await post(gw, body, sign(VERIFIER, body))
    assert resp.status_code == 413
    assert webhook_count(gw, "too_large") == 1.0
    assert webhook_count(gw, "accepted") == 0.0
    assert await gw.events(tenant) == before
    assert await deliveries(gw, body) == 0


def change(realm: str, operation: str, last_updated: str) -> bytes:
    entity = {"name": "Invoice", "id": "42", "operation": operation, "lastUpdated": last_updated}
    notes = [{"realmId": realm, "dataChangeEvent": {"entities": [entity]}}]
    return json.dumps({"eventNotifications": notes}).encode()


async def test_out_of_order_deliveries_each_publish_their_own_change(gw: Gateway) -> None:
    """Intuit may deliver an older change after a newer one: neither is dropped or merged.

    Consumers re-read the entity from QBO, so order does not decide the outcome; each event
    carries its own lastUpdated so a consumer can also tell which change is newer.
    """
    tenant, company = await connected(gw)
    newer = change(company, "Update", "2026-03-20T12:05:00.000Z")
    older = change(company, "Create", "2026-03-20T12:01:00.000Z")
    for body in (newer, older):
        assert (await post(gw, body, sign(VERIFIER, body))).status_code == 200
    async with gw.sessions() as session:
        rows = await session.execute(
            text(
                f"SELECT body FROM {SCHEMA}.outbox WHERE headers->>'tenantid' = :t "
                "AND routing_key = 'qbsync.qbo.entities_changed.v1' ORDER BY seq"
            ),
            {"t": tenant},
        )
        published = [json.loads(bytes(r[0]))["data"]["entities"] for r in rows]
    assert [[(e["operation"], e["last_updated"][:16]) for e in p] for p in published] == [
        [("Update", "2026-03-20T12:05")],
        [("Create", "2026-03-20T12:01")],
    ]
    assert webhook_count(gw, "accepted") == 2.0
