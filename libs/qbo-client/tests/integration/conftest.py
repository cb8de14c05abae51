"""Fixtures for qbo-client integration tests: the real emulator and a limiter pool."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from prometheus_client import CollectorRegistry

from qbo_client import AccessToken, QBOClient, StaticTokenProvider, UnlimitedRateLimiter

# The emulator is started with this static token, accepted for every realm.
TOKEN = "qbo-client-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def qbo_emulator_url() -> Iterator[str]:
    """The emulator served by uvicorn in a background thread, for this test session."""
    emulator_app = pytest.importorskip("qbo_emulator.app")
    emulator_config = pytest.importorskip("qbo_emulator.config")
    app = emulator_app.create_app(
        emulator_config.EmulatorConfig(static_tokens=frozenset({TOKEN}), webhooks=False)
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
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


class EmulatorAdmin:
    """The emulator's /_emulator/ admin API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=f"{self.base_url}/_emulator") as http:
            response = await http.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    async def new_realm(self, *, seeded: bool = True) -> str:
        realm_id = str(9130000000000000 + uuid.uuid4().int % 10**12)
        body = {"realm_id": realm_id, "company_name": f"Co {realm_id}", "seeded": seeded}
        await self._call("POST", "/companies", body)
        return realm_id

    async def set_limits(self, realm_id: str, **limits: int) -> None:
        await self._call("PUT", f"/companies/{realm_id}/limits", limits)

    async def set_faults(self, realm_id: str, **faults: Any) -> None:
        await self._call("PUT", f"/companies/{realm_id}/faults", faults)

    async def stats(self, realm_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/companies/{realm_id}/stats")
        return result

    async def records(self, realm_id: str, entity: str) -> list[dict[str, Any]]:
        result = await self._call("GET", f"/companies/{realm_id}/records/{entity}")
        return list(result["records"])


@pytest.fixture
def admin(qbo_emulator_url: str) -> EmulatorAdmin:
    return EmulatorAdmin(qbo_emulator_url)


def static_tokens(base_url: str, *realms: str) -> StaticTokenProvider:
    """Tenant id == realm id; the emulator accepts TOKEN for every realm."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    return StaticTokenProvider({r: AccessToken(TOKEN, r, base_url, expires) for r in realms})


@pytest.fixture
def emulator_tokens(qbo_emulator_url: str) -> Callable[..., StaticTokenProvider]:
    """emulator_tokens(*realm_ids): tokens for those realms (tenant id == realm id)."""
    return lambda *realms: static_tokens(qbo_emulator_url, *realms)


@pytest.fixture
def emulator_token() -> str:
    return TOKEN


MakeClient = Callable[..., Awaitable[tuple[QBOClient, str]]]


@pytest.fixture
async def realm_client(qbo_emulator_url: str, admin: EmulatorAdmin) -> AsyncIterator[MakeClient]:
    """make() -> (client, realm_id) for a fresh seeded realm; clients are closed afterwards."""
    made: list[QBOClient] = []

    async def make(**kwargs: Any) -> tuple[QBOClient, str]:
        realm_id = await admin.new_realm()
        kwargs.setdefault("limiter", UnlimitedRateLimiter())
        kwargs.setdefault("registry", CollectorRegistry())
        client = QBOClient(static_tokens(qbo_emulator_url, realm_id), **kwargs)
        made.append(client)
        return client, realm_id

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def limiter_pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_dsn, min_size=1, max_size=6)
    try:
        yield pool
    finally:
        await pool.close()
