"""Shared fixtures: a real emulator served by uvicorn on a random port in a background thread."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from qbo_emulator.app import create_app
from qbo_emulator.config import EmulatorConfig

# The tests' shared helpers (emulator_http) import by name, like the other packages' harnesses.
sys.path.insert(0, str(Path(__file__).parent))

# python-quickbooks talks through requests-oauthlib, which refuses http:// without this.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

STATIC_TOKEN = "emulator-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    """Base URL (no trailing slash) of one emulator shared by the whole test session."""
    port = _free_port()
    app = create_app(EmulatorConfig(static_tokens=frozenset({STATIC_TOKEN})))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("emulator did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def emulator_token() -> str:
    """A bearer token the test emulator accepts for every realm (EmulatorConfig.static_tokens)."""
    return STATIC_TOKEN


@pytest.fixture
def new_realm(emulator_url: str) -> Callable[..., str]:
    """Create a fresh company through the admin API and return its realm id."""

    def make(**spec: Any) -> str:
        realm_id = spec.pop("realm_id", None) or str(uuid.uuid4().int % 10**15)
        body = {"realm_id": realm_id, "company_name": f"Co {realm_id}", **spec}
        response = httpx.post(f"{emulator_url}/_emulator/companies", json=body)
        response.raise_for_status()
        return realm_id

    return make


@pytest.fixture
def api(
    emulator_url: str, new_realm: Callable[..., str]
) -> Iterator[Callable[..., httpx.Response]]:
    """A raw JSON caller for one fresh seeded realm: api(method, path, **httpx kwargs)."""
    realm_id = new_realm()
    base = f"{emulator_url}/v3/company/{realm_id}/"
    headers = {"Authorization": f"Bearer {STATIC_TOKEN}", "Accept": "application/json"}
    with httpx.Client(base_url=base, headers=headers) as client:

        def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
            return client.request(method, path, **kwargs)

        call.realm_id = realm_id  # type: ignore[attr-defined]
        yield call
