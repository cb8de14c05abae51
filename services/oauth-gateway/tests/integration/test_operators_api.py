"""Operator API: API-key auth, tenants, settings with versions and events, OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from custody_fakes import FakeIntuit, RecordedEvents
from custody_harness import replica
from edge_harness import SCHEMA, Gateway, dev_keyring, gateway
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.settings_schema import EXPORT_PATH
from oauth_gateway.tenants.signing import digest

pytestmark = pytest.mark.integration


@pytest.fixture
async def gw(gateway_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Gateway]:
    custody = replica(gateway_sessions, FakeIntuit(), RecordedEvents(), dev_keyring())
    gw = gateway(gateway_sessions, custody.vault)
    await gw.edge.keys.install([gw.operator_key], gw.edge.clock())
    yield gw
    await gw.cleanup()


async def test_api_keys_are_required_stored_hashed_and_revocable(gw: Gateway) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": gw.operator_key + "x"}):
        resp = await gw.client.get("/v1/tenants", headers=headers)
        assert resp.status_code == 401
    assert (
        await gw.client.get("/v1/tenants", headers={"X-API-Key": gw.operator_key})
    ).status_code == 200
    stored = await gw.sql(
        f"SELECT count(*) FROM {SCHEMA}.operator_api_keys WHERE key_sha256 = :d",
        d=digest(gw.operator_key),
    )
    plain = await gw.sql(
        f"SELECT count(*) FROM {SCHEMA}.operator_api_keys WHERE key_sha256 = :k OR label = :k",
        k=gw.operator_key,
    )
    assert (stored, plain) == (1, 0)
    await gw.execute(
        f"UPDATE {SCHEMA}.operator_api_keys SET revoked_at = now() WHERE key_sha256 = :d",
        d=digest(gw.operator_key),
    )
    assert (await gw.client.get("/v1/tenants", headers=gw.auth)).status_code == 401


async def test_tenants_create_list_get(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    dup = await gw.client.post(
        "/v1/tenants", json={"tenant_id": tenant, "name": "x"}, headers=gw.auth
    )
    assert dup.status_code == 409
    bad = await gw.client.post(
        "/v1/tenants", json={"tenant_id": "a b", "name": "x"}, headers=gw.auth
    )
    assert bad.status_code == 422
    view = (await gw.client.get(f"/v1/tenants/{tenant}", headers=gw.auth)).json()
    assert (view["state"], view["realm_id"], view["reconnect_url"]) == ("not_connected", None, None)
    assert (await gw.client.get("/v1/tenants/nope-404", headers=gw.auth)).status_code == 404
    listed = await gw.client.get(
        "/v1/tenants",
        params={"state": "not_connected", "after": tenant[:-1], "limit": 500},
        headers=gw.auth,
    )
    assert tenant in [t["tenant_id"] for t in listed.json()["items"]]
    assert (
        await gw.client.post("/v1/tenants/nope-404/links", json={}, headers=gw.auth)
    ).status_code == 404


async def test_settings_default_then_versioned_changes_with_events(gw: Gateway) -> None:
    tenant = await gw.new_tenant()
    url = f"/v1/tenants/{tenant}/settings"
    first = (await gw.client.get(url, headers=gw.auth)).json()
    assert first["version"] == 0
    assert first["settings"]["sync_clients"] is True
    changed = {**first["settings"], "sync_vendors": False, "automatch_threshold": 0.9}
    for expected_version in (1, 2):
        resp = await gw.client.put(url, json=changed, headers=gw.auth)
        assert resp.status_code == 200
        assert resp.json()["version"] == expected_version
    now = (await gw.client.get(url, headers=gw.auth)).json()
    assert now["version"] == 2
    assert now["settings"]["sync_vendors"] is False
    assert await gw.events(tenant) == ["qbsync.tenant.settings_changed.v1"] * 2
    body = await gw.sql(
        f"SELECT convert_from(body, 'UTF8') FROM {SCHEMA}.outbox WHERE headers->>'tenantid' = :t "
        "ORDER BY seq DESC LIMIT 1",
        t=tenant,
    )
    assert json.loads(body)["data"]["version"] == 2
    invalid = await gw.client.put(
        url, json={**changed, "payment_poll_interval_seconds": 1}, headers=gw.auth
    )
    assert invalid.status_code == 422
    assert (await gw.client.get(url, headers=gw.auth)).json()["version"] == 2


async def test_schema_endpoint_and_openapi_document(gw: Gateway) -> None:
    served = (await gw.client.get("/v1/settings-schema")).json()
    assert served == json.loads(EXPORT_PATH.read_text())
    app = gw.client._transport.app  # type: ignore[attr-defined]
    paths = app.openapi()["paths"]
    for path in (
        "/v1/tenants",
        "/v1/tenants/{tenant_id}",
        "/v1/tenants/{tenant_id}/links",
        "/v1/tenants/{tenant_id}/disconnect",
        "/v1/tenants/{tenant_id}/settings",
        "/v1/settings-schema",
    ):
        assert path in paths
        for operation in paths[path].values():
            assert "200" in operation["responses"] or "201" in operation["responses"]
    # Browser pages and the callback are not part of the operator API document.
    assert "/oauth/callback" not in paths
    assert "/connect/{token}" not in paths
