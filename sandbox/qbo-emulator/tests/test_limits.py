"""Per-realm throttling and injected faults, configured through the admin API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from qbo_emulator.accounting.limits import FaultSettings, Governor

pytestmark = pytest.mark.integration


@pytest.fixture
def realm(emulator_url: str, new_realm: Callable[..., str]) -> str:
    return new_realm(seeded=False)


@pytest.fixture
def client(emulator_url: str, realm: str, emulator_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator_token}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{emulator_url}/v3/company/{realm}/", headers=headers) as c:
        yield c


def configure(emulator_url: str, realm: str, kind: str, settings: dict[str, Any]) -> None:
    httpx.put(
        f"{emulator_url}/_emulator/companies/{realm}/{kind}", json=settings
    ).raise_for_status()


def test_limits_are_off_by_default(client: httpx.Client) -> None:
    statuses = {client.get("preferences").status_code for _ in range(30)}
    assert statuses == {200}


def test_per_second_limit_answers_429_with_xml_and_counts(
    client: httpx.Client, emulator_url: str, realm: str
) -> None:
    configure(emulator_url, realm, "limits", {"per_second": 3})
    statuses = [client.get("preferences").status_code for _ in range(6)]
    assert statuses.count(429) >= 2
    throttled = client.get("preferences")
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("application/xml")
    assert "ThrottleExceeded" in throttled.text
    assert 'code="3001"' in throttled.text
    stats = httpx.get(f"{emulator_url}/_emulator/companies/{realm}/stats").json()
    assert stats["throttled"] >= 3
    assert any(c["endpoint"] == "preferences" and c["status"] == 200 for c in stats["calls"])


def test_batch_per_minute_limit(client: httpx.Client, emulator_url: str, realm: str) -> None:
    configure(emulator_url, realm, "limits", {"batch_per_minute": 2})
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    statuses = [client.post("batch", json=body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get("preferences").status_code == 200  # other calls are not batch-limited


def test_injected_errors(client: httpx.Client, emulator_url: str, realm: str) -> None:
    configure(
        emulator_url, realm, "faults", {"error_rate": 1, "error_status": 503, "html_503": True}
    )
    html = client.get("preferences")
    assert html.status_code == 503
    assert html.headers["content-type"].startswith("text/html")
    configure(emulator_url, realm, "faults", {"error_rate": 1, "error_status": 500})
    error = client.get("preferences")
    assert error.status_code == 500
    assert error.json()["Fault"]["type"] == "SystemFault"
    configure(emulator_url, realm, "faults", {"xml_errors": True})
    xml = client.post("customer", json={})
    assert xml.status_code == 400
    assert '<Error code="2020"' in xml.text


def test_timeout_drops_the_connection(client: httpx.Client, emulator_url: str, realm: str) -> None:
    configure(emulator_url, realm, "faults", {"timeout_rate": 1, "timeout_seconds": 0.2})
    with pytest.raises(httpx.TransportError):
        client.get("preferences")


def test_commit_then_drop_and_replay(client: httpx.Client, emulator_url: str, realm: str) -> None:
    configure(emulator_url, realm, "faults", {"drop_after_commit_rate": 1})
    name = f"Dropped {uuid.uuid4().hex[:6]}"
    request_id = uuid.uuid4().hex
    with pytest.raises(httpx.TransportError):
        client.post("customer", params={"requestid": request_id}, json={"DisplayName": name})
    configure(emulator_url, realm, "faults", {})
    replay = client.post("customer", params={"requestid": request_id}, json={"DisplayName": name})
    assert replay.status_code == 200
    assert replay.json()["Customer"]["DisplayName"] == name


def test_latency_and_concurrency_limit(emulator_url: str, realm: str, emulator_token: str) -> None:
    configure(emulator_url, realm, "faults", {"latency_ms": 300})
    configure(emulator_url, realm, "limits", {"concurrent": 1})

    async def burst() -> list[int]:
        headers = {"Authorization": f"Bearer {emulator_token}", "Accept": "application/json"}
        async with httpx.AsyncClient(headers=headers) as c:
            url = f"{emulator_url}/v3/company/{realm}/preferences"
            responses = await asyncio.gather(*(c.get(url) for _ in range(3)))
            return sorted(r.status_code for r in responses)

    assert asyncio.run(burst()) == [200, 429, 429]


def test_jitter_spreads_latency_within_its_range() -> None:
    """Jitter adds a seeded uniform 0..jitter_ms on top of latency_ms (no wall-clock timing)."""
    gov = Governor()
    gov.configure_faults(FaultSettings(latency_ms=100, jitter_ms=50, seed=7))
    latencies = [gov.decide().latency for _ in range(200)]
    assert all(0.1 <= latency <= 0.15 for latency in latencies)
    assert len(set(latencies)) > 100  # spread, not one fixed delay
    assert max(latencies) - min(latencies) > 0.04
    again = Governor()
    again.configure_faults(FaultSettings(latency_ms=100, jitter_ms=50, seed=7))
    assert [again.decide().latency for _ in range(200)] == latencies  # the seed replays it
    fixed = Governor()
    fixed.configure_faults(FaultSettings(latency_ms=20))
    assert {fixed.decide().latency for _ in range(20)} == {0.02}


def test_jitter_is_configured_per_realm_over_http(
    client: httpx.Client, emulator_url: str, realm: str
) -> None:
    configure(emulator_url, realm, "faults", {"jitter_ms": 30, "seed": 1})
    shown = httpx.get(f"{emulator_url}/_emulator/companies/{realm}/limits").json()
    assert (shown["faults"]["jitter_ms"], shown["faults"]["latency_ms"]) == (30, 0)
    assert {client.get("preferences").status_code for _ in range(5)} == {200}
    refused = httpx.put(
        f"{emulator_url}/_emulator/companies/{realm}/faults", json={"jitter_ms": -1}
    )
    assert refused.status_code == 422
