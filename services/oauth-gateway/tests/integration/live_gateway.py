"""The whole gateway service (bootstrap.build) served by uvicorn on a random port, with the emulator.

Only the HTTP app runs: the runtime's outbox relay and background jobs stay off, because the
test database's `oauth_gateway` schema is shared with parallel runs and a relay would publish
(and delete) their outbox rows; tests read the outbox themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import SecretStr
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from oauth_gateway.bootstrap import build
from oauth_gateway.config import Settings
from oauth_gateway.internal_server import InternalServer
from oauth_gateway.operators.auth import OperatorKeys
from oauth_gateway.tenants.repository import TenantRepository
from oauth_gateway.tenants.tables import tenant_tables
from qbsync_common.health import serve
from qbsync_common.telemetry import instrument_fastapi

SCHEMA = "oauth_gateway"
SERVICE = "partner-sync"
# The gateway is served on 127.0.0.1 and reaches Intuit as localhost: two different sites for a
# browser, as in production, so SameSite rules on the callback cookie are really exercised.
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Emulator:
    """The emulated Intuit: one app registered for this gateway, plus its admin API."""

    url: str
    client_id: str
    client_secret: str

    @property
    def public_url(self) -> str:
        """Intuit as the gateway and browsers address it (another site than the gateway)."""
        return self.url.replace("//127.0.0.1:", "//localhost:")

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=f"{self.url}/_emulator") as client:
            resp = await client.request(method, path, json=body)
            resp.raise_for_status()
            return resp.json() if resp.content else None

    async def company(self) -> str:
        realm_id = str(secrets.randbelow(10**15) + 10**14)
        await self.admin("POST", "/companies", {"realm_id": realm_id, "company_name": "Co"})
        return realm_id

    async def auto_approve(self, realm_id: str | None) -> None:
        await self.admin("PUT", f"/apps/{self.client_id}/auto-approve", {"realm_id": realm_id})

    async def grants(self) -> list[dict[str, Any]]:
        return list(await self.admin("GET", f"/grants?client_id={self.client_id}"))

    async def token_calls(self) -> dict[str, int]:
        return dict(await self.admin("GET", f"/apps/{self.client_id}/token-calls"))

    async def revoke(self, token: str) -> None:
        """What a company admin disconnecting the app on Intuit's side amounts to."""
        async with httpx.AsyncClient() as client:
            resp = await client.post(
                f"{self.url}/v2/oauth2/tokens/revoke",
                json={"token": token},
                auth=(self.client_id, self.client_secret),
            )
            resp.raise_for_status()

    async def qbo_status(self, realm_id: str, access_token: str) -> tuple[int, str]:
        """Status and body of a real Accounting API call made with `access_token`."""
        async with httpx.AsyncClient() as client:
            resp = await client.get(
                f"{self.url}/v3/company/{realm_id}/companyinfo/{realm_id}",
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        return resp.status_code, resp.text


@dataclass(frozen=True)
class LiveGateway:
    url: str
    settings: Settings
    emulator: Emulator
    sessions: async_sessionmaker[AsyncSession]
    operator_key: str
    service_secret: str
    verifier_token: str
    internal_url: str = ""  # where /internal/v1 is served: `url` unless on its own port

    @property
    def internal(self) -> str:
        return self.internal_url or self.url

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator_key}"}

    def client(self) -> httpx.AsyncClient:
        """A client that keeps cookies like a browser but lets tests see each redirect."""
        return httpx.AsyncClient(base_url=self.url, timeout=10)

    async def new_tenant(self, return_url: str | None = "https://app.test/qbo?x=1") -> str:
        tenant_id = f"t-{secrets.token_hex(6)}"
        body: dict[str, Any] = {"tenant_id": tenant_id, "name": f"Acme {tenant_id}"}
        if return_url:
            body["return_url"] = return_url
        async with self.client() as client:
            resp = await client.post("/v1/tenants", json=body, headers=self.operator)
        assert resp.status_code == 201, resp.text
        assert resp.json()["state"] == "not_connected"
        return tenant_id

    async def tenant(self, tenant_id: str) -> dict[str, Any]:
        async with self.client() as client:
            resp = await client.get(f"/v1/tenants/{tenant_id}", headers=self.operator)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def link(self, tenant_id: str, purpose: str = "connect") -> str:
        async with self.client() as client:
            resp = await client.post(
                f"/v1/tenants/{tenant_id}/links", json={"purpose": purpose}, headers=self.operator
            )
        assert resp.status_code == 201, resp.text
        url = str(resp.json()["url"])
        assert url.startswith(self.url)
        return url

    async def access_token(self, tenant_id: str, failed_token: str | None = None) -> httpx.Response:
        failed = hashlib.sha256(failed_token.encode()).hexdigest() if failed_token else None
        async with httpx.AsyncClient(base_url=self.internal, timeout=10) as client:
            return await client.post(
                f"/internal/v1/tenants/{tenant_id}/access-token",
                json={"failed_token_sha256": failed},
                headers={"Authorization": f"Bearer {self.service_secret}"},
            )

    async def events(self, tenant_id: str) -> list[str]:
        """Routing keys of the tenant's outbox rows, oldest first (no relay runs in these tests)."""
        async with self.sessions() as session:
            rows = await session.execute(
                text(
                    f"SELECT routing_key FROM {SCHEMA}.outbox "
                    "WHERE headers->>'tenantid' = :t ORDER BY seq"
                ),
                {"t": tenant_id},
            )
            return [str(r[0]) for r in rows]

    async def token_rows(self, tenant_id: str) -> int:
        async with self.sessions() as session:
            result = await session.execute(
                text(f"SELECT count(*) FROM {SCHEMA}.tokens WHERE tenant_id = :t"), {"t": tenant_id}
            )
            return int(result.scalar_one())

    async def cleanup(self, tenant_ids: list[str]) -> None:
        async with self.sessions.begin() as session:
            await session.execute(
                text(f"DELETE FROM {SCHEMA}.outbox WHERE headers->>'tenantid' = ANY(:ids)"),
                {"ids": tenant_ids},
            )
            await session.execute(
                text(f"DELETE FROM {SCHEMA}.tenants WHERE tenant_id = ANY(:ids)"),
                {"ids": tenant_ids},
            )


@dataclass(frozen=True)
class Landing:
    """Where a browser-like walk through redirects left the gateway's and Intuit's hosts."""

    url: str
    visited: list[str]
    codes: list[str]  # authorization codes seen on the way (for the S4 secret search)

    @property
    def outcome(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)


async def follow_to_return_url(client: httpx.AsyncClient, first: httpx.Response) -> Landing:
    """Follow redirects as a browser would until one leaves this machine (the tenant's app)."""
    resp = first
    visited: list[str] = []
    codes: list[str] = []
    while resp.is_redirect:
        location = str(resp.url.join(resp.headers["location"]))
        code = parse_qs(urlsplit(location).query).get("code")
        codes += code or []
        if urlsplit(location).hostname not in LOCAL_HOSTS:
            return Landing(location, visited, codes)
        visited.append(location)
        resp = await client.get(location)
    raise AssertionError(f"the flow stopped at {resp.url}: {resp.status_code} {resp.text[:300]}")


async def connect(gw: LiveGateway, tenant: str, realm_id: str) -> Landing:
    """Operator link → connect page → button → emulator auto-approves → callback → return URL."""
    await gw.emulator.auto_approve(realm_id)
    link = await gw.link(tenant)
    async with gw.client() as browser:
        page = await browser.get(link)
        assert page.status_code == 200
        assert "Connect to QuickBooks" in page.text
        assert page.headers["cache-control"] == "no-store"
        pressed = await browser.post(link)
        assert pressed.status_code == 303
        assert pressed.headers["location"].startswith(f"{gw.emulator.public_url}/connect/oauth2?")
        landing = await follow_to_return_url(browser, pressed)
    assert any(url.startswith(f"{gw.url}/oauth/callback?") for url in landing.visited)
    assert len(landing.codes) == 1
    return landing


async def issued_token(gw: LiveGateway, tenant: str, failed: str | None = None) -> dict[str, str]:
    resp = await gw.access_token(tenant, failed)
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = dict(resp.json())
    assert set(body) == {"access_token", "realm_id", "api_base_url", "expires_at"}
    return body


async def register_app(
    emulator_url: str, redirect_uri: str, *, grace_hours: float = 0, rotate_after_hours: float = 0
) -> Emulator:
    """An Intuit app whose refresh tokens rotate after `rotate_after_hours`; the previous one
    keeps working for `grace_hours` after a rotation (QBO.md §1.4)."""
    emulator = Emulator(emulator_url, f"AB{secrets.token_hex(12)}", secrets.token_hex(20))
    await emulator.admin(
        "POST",
        "/apps",
        {
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "name": "qbsync test",
            "redirect_uris": [redirect_uri],
            "rotation_grace_hours": grace_hours,
            "rotation_after_hours": rotate_after_hours,
        },
    )
    return emulator


@asynccontextmanager
async def live_gateway(
    emulator_url: str,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    *,
    log_level: str = "INFO",
    internal_port: bool = False,
) -> AsyncIterator[LiveGateway]:
    """Build the service exactly as `oauth-gateway run` does and serve its HTTP app.

    With `internal_port`, /internal/v1 gets a port of its own (QBSYNC_INTERNAL_HTTP_PORT) and
    its server job runs, as in production.
    """
    port = free_port()
    internal = free_port() if internal_port else None
    base = f"http://127.0.0.1:{port}"
    emulator = await register_app(emulator_url, f"{base}/oauth/callback")
    operator_key, service_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(24)
    settings = Settings(
        database_url=SecretStr(database_url),
        http_port=port,
        log_level=log_level,
        intuit_discovery_url=f"{emulator.public_url}/.well-known/openid_configuration",
        intuit_client_id=emulator.client_id,
        intuit_client_secret=SecretStr(emulator.client_secret),
        intuit_redirect_uri=f"{base}/oauth/callback",
        qbo_api_base_url=emulator_url,
        public_base_url=base,
        operator_api_keys=SecretStr(operator_key),
        service_credentials=SecretStr(json.dumps({SERVICE: service_secret})),
        connect_signing_key=SecretStr(secrets.token_urlsafe(32)),
        webhook_verifier_token=SecretStr(verifier),
        internal_http_port=internal,
    )
    built = await build(settings)
    instrument_fastapi(built.http)  # as run_service does: the S4 test inspects these spans
    # The edge's housekeeping job installs bootstrap keys; the runtime's jobs do not run here.
    keys = OperatorKeys(sessions, TenantRepository(tenant_tables(MetaData(schema=SCHEMA))))
    await keys.install([operator_key], datetime.now(UTC))
    server = await serve(built.http, settings)
    stop = asyncio.Event()
    # Only the internal API's server job runs (the relay and refresh jobs stay off, see above).
    servers = [job for job in built.runtime.jobs if isinstance(job, InternalServer)]
    internal_jobs = [asyncio.create_task(job(stop)) for job in servers]
    try:
        if internal is not None:
            await wait_listening(internal)
        yield LiveGateway(
            base,
            settings,
            emulator,
            sessions,
            operator_key,
            service_secret,
            verifier,
            internal_url=f"http://127.0.0.1:{internal}" if internal is not None else "",
        )
    finally:
        stop.set()
        await asyncio.gather(*internal_jobs)
        await server.stop()
        await built.runtime.engine.dispose()


async def wait_listening(port: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                await client.get(f"http://127.0.0.1:{port}/openapi.json")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def live_gateway_in_thread(
    emulator_url: str, database_url: str, created_tenants: list[str]
) -> Iterator[LiveGateway]:
    """`live_gateway` on its own event loop in a thread, for synchronous clients (schemathesis).

    The returned object's async helpers belong to that loop: use only its plain fields. Tenants
    whose ids end up in `created_tenants` are deleted before the thread ends.
    """
    started: queue.Queue[LiveGateway | BaseException] = queue.Queue()
    stop = threading.Event()

    async def main() -> None:
        engine = create_async_engine(database_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            async with live_gateway(emulator_url, database_url, sessions) as gateway:
                started.put(gateway)
                await asyncio.to_thread(stop.wait)
                await gateway.cleanup(created_tenants)
        except BaseException as exc:
            started.put(exc)
            raise
        finally:
            await engine.dispose()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    gateway = started.get(timeout=30)
    if isinstance(gateway, BaseException):
        raise RuntimeError("the gateway did not start") from gateway
    try:
        yield gateway
    finally:
        stop.set()
        thread.join(timeout=30)
