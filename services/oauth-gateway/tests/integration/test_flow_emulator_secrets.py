"""RELIABILITY §8 S4: the whole flow with DEBUG logs and spans captured leaks no credential."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

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
