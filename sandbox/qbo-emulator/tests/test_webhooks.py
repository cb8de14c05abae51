"""Webhook delivery end to end: API change -> signed, batched POST to a real receiver, with retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import uvicorn

from qbo_emulator.app import create_app

VERIFIER = "verifier-" + uuid.uuid4().hex


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """A webhook endpoint that answers from a script of (status, delay) and records every POST."""

    url: str
    script: list[tuple[int, float]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 8.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"only {len(self.received)} deliveries arrived"
            time.sleep(0.02)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, delay = state.script.pop(0) if state.script else (200, 0.0)
            state.received.append(Received(body, {k.lower(): v for k, v in self.headers.items()}))
            time.sleep(delay)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/intuit"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def emulator_base() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "emulator crashed on start"
        assert time.monotonic() < deadline, "emulator did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    # Fast schedule for tests: flush every 0.1 s, retries after 0.1 s / 0.2 s / 0.3 s ...
    settings = {"flush_interval_seconds": 0.1, "retry_scale": 0.01, "timeout_seconds": 1.0}
    httpx.put(f"{base}/_emulator/webhooks/config", json=settings).raise_for_status()
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@dataclass(frozen=True)
class Connected:
    realm_id: str
    client_id: str
    create_customer: Callable[[str], str]


def _connect(base: str, webhook_url: str | None, fmt: str = "legacy") -> Connected:
    realm_id = str(uuid.uuid4().int % 10**12)
    company = {"realm_id": realm_id, "company_name": "Hooks Inc", "seeded": False}
    httpx.post(f"{base}/_emulator/companies", json=company).raise_for_status()
    spec = {"webhook_url": webhook_url, "webhook_verifier_token": VERIFIER, "webhook_format": fmt}
    app = httpx.post(f"{base}/_emulator/apps", json=spec).json()
    grant = {"client_id": app["client_id"], "realm_id": realm_id}
    token = httpx.post(f"{base}/_emulator/grants", json=grant).json()["access_token"]

    def create_customer(name: str) -> str:
        response = httpx.post(
            f"{base}/v3/company/{realm_id}/customer",
            json={"DisplayName": name},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["Customer"]["Id"])

    return Connected(realm_id, app["client_id"], create_customer)


def _independent_signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest()).decode()


def _deliveries(base: str, client_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/_emulator/webhooks/deliveries", params={"client_id": client_id})
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


def test_legacy_notification_is_signed_and_batched(emulator_base: str, receiver: Receiver) -> None:
    hooked = _connect(emulator_base, receiver.url)
    first = hooked.create_customer("Alpha " + uuid.uuid4().hex[:6])
    second = hooked.create_customer("Beta " + uuid.uuid4().hex[:6])
    got = receiver.wait_for(1)[0]
    assert got.headers["intuit-signature"] == _independent_signature(got.body)
    assert got.headers["content-type"].startswith("application/json")
    assert got.headers["intuit-t-id"]
    payload = json.loads(got.body)
    [notification] = payload["eventNotifications"]
    assert notification["realmId"] == hooked.realm_id
    entities = notification["dataChangeEvent"]["entities"]
    if len(entities) == 1:  # the two creates straddled a flush: the second comes next
        entities += json.loads(receiver.wait_for(2)[1].body)["eventNotifications"][0][
            "dataChangeEvent"
        ]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Customer", first, "Create"),
        ("Customer", second, "Create"),
    ]
    assert entities[0]["lastUpdated"].endswith("Z")


def test_cloudevents_format(emulator_base: str, receiver: Receiver) -> None:
    hooked = _connect(emulator_base, receiver.url, fmt="cloudevents")
    customer_id = hooked.create_customer("Gamma " + uuid.uuid4().hex[:6])
    got = receiver.wait_for(1)[0]
    assert got.headers["intuit-signature"] == _independent_signature(got.body)
    [event] = json.loads(got.body)
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.customer.created.v1"
    assert event["intuitentityid"] == customer_id
    assert event["intuitaccountid"] == hooked.realm_id
    assert event["source"].startswith("intuit.")
    uuid.UUID(event["id"])


def test_failed_delivery_is_retried_and_later_events_wait(
    emulator_base: str, receiver: Receiver
) -> None:
    receiver.script = [(500, 0.0), (200, 1.6)]  # then a timeout (1 s limit), then success
    hooked = _connect(emulator_base, receiver.url)
    first = hooked.create_customer("Delta " + uuid.uuid4().hex[:6])
    receiver.wait_for(1)
    second = hooked.create_customer("Epsilon " + uuid.uuid4().hex[:6])
    received = receiver.wait_for(4)
    assert received[0].body == received[1].body == received[2].body  # same delivery retried
    later = json.loads(received[3].body)["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [e["id"] for e in later] == [second]
    deadline = time.monotonic() + 5
    while True:
        deliveries = _deliveries(emulator_base, hooked.client_id)
        if all(d["state"] == "delivered" for d in deliveries) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    first_delivery = deliveries[0]
    assert (
        first_delivery["payload"]["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["id"]
        == first
    )
    attempts = first_delivery["attempts"]
    assert [a["status"] for a in attempts] == [500, None, 200]
    assert "Timeout" in attempts[1]["error"]
    assert [d["state"] for d in deliveries] == ["delivered", "delivered"]


def test_no_delivery_without_a_connection_and_bad_urls_do_not_hurt(
    emulator_base: str, receiver: Receiver
) -> None:
    unreachable = _connect(emulator_base, "http://127.0.0.1:9/nothing-listens-here")
    not_an_url = _connect(emulator_base, "this is not a url")
    # An app with a webhook but no grant on the realm hears nothing about it.
    spec = {"webhook_url": receiver.url, "webhook_verifier_token": VERIFIER}
    stranger = httpx.post(f"{emulator_base}/_emulator/apps", json=spec).json()
    unreachable.create_customer("Zeta " + uuid.uuid4().hex[:6])
    not_an_url.create_customer("Eta " + uuid.uuid4().hex[:6])
    assert httpx.post(f"{emulator_base}/_emulator/webhooks/flush").status_code == 200
    for hooked in (unreachable, not_an_url):
        [delivery] = _deliveries(emulator_base, hooked.client_id)
        assert delivery["state"] == "retrying"
        assert delivery["attempts"][0]["status"] is None
        assert delivery["attempts"][0]["error"]
    assert _deliveries(emulator_base, stranger["client_id"]) == []
    assert receiver.received == []
    assert httpx.get(f"{emulator_base}/.well-known/openid_configuration").status_code == 200
