"""RELIABILITY §8 S4: the whole flow with DEBUG logs and spans captured leaks no credential."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from live_gateway import LiveGateway, connect, follow_to_return_url, issued_token, live_gateway
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.config import Settings
from oauth_gateway.webhooks.signature import sign
from qbsync_common.logs import configure_logging
from qbsync_common.telemetry import instrument_httpx, setup_tracing

pytestmark = pytest.mark.integration

# The emulator shares this process (and the root logger) but is Intuit's side, not ours.
NOT_OURS = ("qbo_emulator",)


@dataclass
class Secrets:
    """Every credential the flow handled, by kind, to search the telemetry for."""

    found: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, *values: str) -> None:
        self.found.setdefault(kind, set()).update(v for v in values if v)

    def leaks(self, text: str) -> list[str]:
        return sorted(kind for kind, values in self.found.items() if any(v in text for v in values))


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    setup_tracing(Settings(service_name="oauth-gateway"), exporter=memory)
    instrument_httpx()  # the calls to Intuit's token and revoke endpoints get client spans too
    yield memory
    memory.shutdown()  # later tests' spans are dropped instead of piling up in memory


@pytest.fixture(scope="module")
async def gw(
    exporter: InMemorySpanExporter,
    emulator_url: str,
    gateway_db: str,
    gateway_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[LiveGateway]:
    async with live_gateway(
        emulator_url, gateway_db, gateway_sessions, log_level="DEBUG"
    ) as gateway:
        yield gateway


@pytest.fixture
def service_logs(gw: LiveGateway) -> Iterator[None]:
    """The service's own logging setup (JSON lines on stdout) at DEBUG, undone afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging(gw.settings)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def run_whole_flow(gw: LiveGateway, tenant: str, secrets: Secrets) -> None:
    """Connect, use, refresh, webhook, lose the grant, reconnect, disconnect."""
    realm_id = await gw.emulator.company()
    landing = await connect(gw, tenant, realm_id)
    assert landing.outcome["qbsync_outcome"] == ["connected"]
    secrets.add("authorization code", *landing.codes)
    secrets.add("refresh token", *(g["refresh_token"] for g in await gw.emulator.grants()))
    first = (await issued_token(gw, tenant))["access_token"]
    # A 401 reported by a service: the gateway refreshes and Intuit rotates the refresh token.
    second = (await issued_token(gw, tenant, failed=first))["access_token"]
    assert second != first
    secrets.add("access token", first, second)
    secrets.add("refresh token", *(g["refresh_token"] for g in await gw.emulator.grants()))

    body = json.dumps(
        {"eventNotifications": [{"realmId": realm_id, "dataChangeEvent": {"entities": []}}]}
    ).encode()
    async with gw.client() as client:
        signed = await client.post(
            "/webhooks/intuit",
            content=body,
            headers={"intuit-signature": sign(gw.verifier_token, body)},
        )
        forged = await client.post(
            "/webhooks/intuit", content=body, headers={"intuit-signature": sign("wrong", body)}
        )
        denied = await client.post(
            f"/internal/v1/tenants/{tenant}/access-token",
            json={},
            headers={"Authorization": f"Bearer {gw.operator_key}"},  # not a service credential
        )
    assert (signed.status_code, forged.status_code, denied.status_code) == (200, 401, 401)

    (grant,) = [g for g in await gw.emulator.grants() if g["realm_id"] == realm_id]
    await gw.emulator.revoke(grant["refresh_token"])
    lost = await gw.access_token(tenant, failed_token=second)
    assert lost.json()["code"] == "needs_reauthorization"
    async with gw.client() as browser:
        pressed = await browser.post("/reconnect", data={"realmId": realm_id})
        again = await follow_to_return_url(browser, pressed)
    assert again.outcome["qbsync_outcome"] == ["connected"]
    secrets.add("authorization code", *again.codes)
    third = (await issued_token(gw, tenant))["access_token"]
    secrets.add("access token", third)
    secrets.add("refresh token", *(g["refresh_token"] for g in await gw.emulator.grants()))
    async with gw.client() as client:
        resp = await client.post(f"/v1/tenants/{tenant}/disconnect", headers=gw.operator)
    assert resp.json()["state"] == "disconnected"


async def test_s4_no_credential_in_debug_logs_or_span_attributes(
    gw: LiveGateway,
    exporter: InMemorySpanExporter,
    service_logs: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets = Secrets()
    secrets.add("client secret", gw.emulator.client_secret)
    secrets.add("verifier token", gw.verifier_token)
    secrets.add("operator API key", gw.operator_key)
    secrets.add("service credential", gw.service_secret)
    tenant = await gw.new_tenant()
    exporter.clear()
    try:
        await run_whole_flow(gw, tenant, secrets)
    finally:
        await gw.cleanup([tenant])
    assert set(secrets.found) == {
        "client secret",
        "verifier token",
        "operator API key",
        "service credential",
        "authorization code",
        "access token",
        "refresh token",
    }
    assert len(secrets.found["authorization code"]) == 2
    assert len(secrets.found["refresh token"]) >= 2  # the first grant's, rotated, and the new one

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    ours = [line for line in lines if not str(line.get("logger", "")).startswith(NOT_OURS)]
    # DEBUG really was on and the flow really logged (so "no leak" is not "no logs").
    assert any(line["level"] == "DEBUG" for line in ours)
    assert any("connected to realm" in line["msg"] for line in ours)
    leaking_lines = {json.dumps(line): secrets.leaks(json.dumps(line)) for line in ours}
    assert {line: kinds for line, kinds in leaking_lines.items() if kinds} == {}

    spans = exporter.get_finished_spans()
    routes = {span.attributes.get("http.route") for span in spans if span.attributes}
    assert {"/oauth/callback", "/internal/v1/tenants/{tenant_id}/access-token"} <= routes
    assert any(span.name.startswith("POST") and "oauth2" in str(span.attributes) for span in spans)
    for span in spans:
        text = json.dumps(
            {
                "name": span.name,
                "attributes": dict(span.attributes or {}),
                "events": [dict(event.attributes or {}) for event in span.events],
            },
            default=str,
        )
        assert secrets.leaks(text) == [], (span.name, text)


def encodings(value: str) -> set[str]:
    """A secret as it could leak: plain, and base64 (standard and URL-safe, padding dropped)."""
    raw = value.encode()
    return {
        value,
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


async def test_s2_s4_no_credential_in_metrics_or_error_pages(gw: LiveGateway) -> None:
    secrets = Secrets()
    secrets.add("client secret", gw.emulator.client_secret)
    # What our calls to Intuit's token and revoke endpoints carry in `Authorization: Basic`.
    basic = f"{gw.emulator.client_id}:{gw.emulator.client_secret}"
    secrets.add("client basic auth", basic, base64.b64encode(basic.encode()).decode())
    secrets.add("verifier token", gw.verifier_token)
    secrets.add("operator API key", gw.operator_key)
    secrets.add("service credential", gw.service_secret)
    tenant = await gw.new_tenant()
    pages: dict[str, httpx.Response] = {}
    try:
        realm_id = await gw.emulator.company()
        landing = await connect(gw, tenant, realm_id)
        secrets.add("authorization code", *landing.codes)
        first = (await issued_token(gw, tenant))["access_token"]
        second = (await issued_token(gw, tenant, failed=first))["access_token"]
        secrets.add("access token", first, second)
        secrets.add("refresh token", *(g["refresh_token"] for g in await gw.emulator.grants()))
        service = {"Authorization": f"Bearer {gw.service_secret}"}
        async with gw.client() as client:
            # A service that sends the raw token where its hash belongs: 422 must not echo it.
            pages["422 raw token as hash"] = await client.post(
                f"/internal/v1/tenants/{tenant}/access-token",
                json={"failed_token_sha256": second},
                headers=service,
            )
            pages["422 token as tenant id"] = await client.post(
                "/v1/tenants", json={"tenant_id": f"{second}\x00", "name": "x"}, headers=gw.operator
            )
            pages["401 refresh token as credential"] = await client.post(
                f"/internal/v1/tenants/{tenant}/access-token",
                json={},
                headers={"Authorization": f"Bearer {second}"},
            )
            pages["401 operator"] = await client.get("/v1/tenants", headers=service)
            pages["404 unknown tenant"] = await client.post(
                "/internal/v1/tenants/t-nobody/access-token", json={}, headers=service
            )
            pages["invalid link"] = await client.get(f"/connect/{landing.codes[0]}")
            pages["replayed code"] = await client.get(
                "/oauth/callback",
                params={"code": landing.codes[0], "state": "forged", "realmId": realm_id},
            )
            pages["reconnect forged realm"] = await client.post(
                "/reconnect", data={"realmId": second}
            )
            pages["unknown route"] = await client.get(f"/v1/{second}")
            pages["metrics"] = await client.get("/metrics")
    finally:
        await gw.cleanup([tenant])
    assert "qbsync_token_refreshes_total" in pages["metrics"].text  # the real exposition
    statuses = {name: resp.status_code for name, resp in pages.items()}
    assert statuses["422 raw token as hash"] == 422
    assert statuses["422 token as tenant id"] == 422
    assert statuses["401 refresh token as credential"] == 401
    assert statuses["404 unknown tenant"] == 404
    needles = {kind: set().union(*map(encodings, v)) for kind, v in secrets.found.items()}
    leaks = {
        name: sorted(
            kind for kind, values in needles.items() if any(v in resp.text for v in values)
        )
        for name, resp in pages.items()
    }
    assert {name: kinds for name, kinds in leaks.items() if kinds} == {}
