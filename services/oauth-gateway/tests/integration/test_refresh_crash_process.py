"""F12 with a real process: the gateway SIGKILLs itself after Intuit answered a refresh and before
our commit (QBSYNC_CRASH_AT=gateway-after-token-response), is restarted, and the tenant either
recovers (24 h rotation grace) or ends in needs-reauthorization with one event (0 h grace), while
another tenant's tokens keep working throughout.

The gateway runs as `python -m oauth_gateway run` (qbsync_dev's supervisor helpers) against the
session's emulator, on a private database and RabbitMQ vhost: its outbox relay runs, so it must
not share the test database's outbox with parallel tests, and the reauthorization event is counted
where upstream would see it, on qbsync.results.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from custody_harness import age_tokens
from live_gateway import SERVICE, Emulator, LiveGateway, connect, free_port, register_app
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from oauth_gateway.config import Settings
from oauth_gateway.custody.crash import AFTER_TOKEN_RESPONSE
from qbsync_common.contract.tenants import TenantReauthorizationRequired
from qbsync_common.faults import CRASH_AT, CRASH_LOG, CRASH_PROBABILITY
from qbsync_dev import supervisor
from qbsync_dev.broker import VhostUnavailable, private_vhost
from qbsync_dev.database import private_database
from qbsync_dev.demo.results import ResultFeed
from qbsync_dev.stack import Proc

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Sessions = async_sessionmaker[AsyncSession]
REAUTH = TenantReauthorizationRequired.event_type
# Waits for things that happen promptly; generous because the machine is shared (no timing asserts).
EVENT_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
async def f12_database() -> AsyncIterator[str]:
    async with private_database(f"qbsync_f12_{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.fixture(scope="module")
async def f12_sessions(f12_database: str) -> AsyncIterator[Sessions]:
    engine = create_async_engine(f12_database)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture(scope="module")
def f12_broker(broker_url: str) -> Iterator[str]:
    try:
        with private_vhost(broker_url, "qbsync-f12") as vhost:
            yield vhost.broker_url
    except VhostUnavailable:
        # A broker we may not administer: share its vhost; events are told apart by tenant id.
        yield broker_url


def environment_of(settings: Settings) -> dict[str, str]:
    """The QBSYNC_* variables that make `oauth-gateway run` read exactly `settings`."""
    env = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"QBSYNC_{name.upper()}"] = str(value)
    return env


@dataclass
class GatewayProcess:
    """One gateway deployment: started, killed by its crash point, started again."""

    gw: LiveGateway
    proc: Proc
    crash_log: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self, *, crash_after_token_response: bool) -> None:
        crash = {
            CRASH_AT: AFTER_TOKEN_RESPONSE,
            CRASH_PROBABILITY: "1",
            CRASH_LOG: str(self.crash_log),
        }
        proc = self.proc
        if crash_after_token_response:
            proc = Proc(proc.name, proc.argv, proc.port, proc.ready_path, {**proc.env, **crash})
        self.process = await supervisor.start(proc)
        assert await supervisor.wait_ready([proc]) == [], "the gateway did not become ready"
        await self._operator_keys_installed()

    async def stop(self) -> None:
        if self.process is not None:
            await supervisor.stop([self.process])

    async def _operator_keys_installed(self) -> None:
        """The housekeeping job installs the operator key shortly after start."""
        async with self.gw.client() as client:
            for _ in range(600):
                if (await client.get("/v1/tenants", headers=self.gw.operator)).status_code == 200:
                    return
                await asyncio.sleep(0.1)
        raise AssertionError("the operator key was never installed")


@pytest.fixture
async def gateway_process(
    emulator_url: str,
    f12_database: str,
    f12_sessions: Sessions,
    f12_broker: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[GatewayProcess]:
    """The gateway as a process of its own, for an Intuit app with the case's rotation grace."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emulator = await register_app(
        emulator_url, f"{base}/oauth/callback", grace_hours=request.param, rotate_after_hours=0
    )
    settings = settings_for(emulator, base, port, f12_database, f12_broker)
    argv = [sys.executable, "-m", "oauth_gateway", "run"]
    gateway = GatewayProcess(
        LiveGateway(
            base,
            settings,
            emulator,
            f12_sessions,
            settings.operator_api_keys.get_secret_value(),
            json.loads(settings.service_credentials.get_secret_value())[SERVICE],
            settings.webhook_verifier_token.get_secret_value(),
        ),
        Proc("oauth-gateway", argv, port, env=environment_of(settings)),
        tmp_path / "crashes.log",
    )
    try:
        yield gateway
    finally:
        await gateway.stop()


def settings_for(
    emulator: Emulator, base: str, port: int, database_url: str, broker_url: str
) -> Settings:
    return Settings(
        environment="development",
        database_url=SecretStr(database_url),
        broker_url=SecretStr(broker_url),
        http_port=port,
        log_level="WARNING",
        intuit_discovery_url=f"{emulator.public_url}/.well-known/openid_configuration",
        intuit_client_id=emulator.client_id,
        intuit_client_secret=SecretStr(emulator.client_secret),
        intuit_redirect_uri=f"{base}/oauth/callback",
        qbo_api_base_url=emulator.url,
        public_base_url=base,
        operator_api_keys=SecretStr(uuid.uuid4().hex),
        service_credentials=SecretStr(json.dumps({SERVICE: uuid.uuid4().hex})),
        webhook_verifier_token=SecretStr(uuid.uuid4().hex),
    )


async def connected_tenant(gw: LiveGateway) -> tuple[str, str]:
    tenant, realm_id = await gw.new_tenant(), await gw.emulator.company()
    await connect(gw, tenant, realm_id)
    assert (await gw.tenant(tenant))["state"] == "connected"
    return tenant, realm_id


async def working_token(gw: LiveGateway, tenant: str, realm_id: str) -> str:
    """A token from the internal API that QBO accepts for the tenant's company."""
    resp = await gw.access_token(tenant)
    assert resp.status_code == 200, resp.text
    token = str(resp.json()["access_token"])
    assert await qbo_accepts(gw.emulator, realm_id, token)
    return token


async def qbo_accepts(emulator: Emulator, realm_id: str, token: str) -> bool:
    status, _ = await emulator.qbo_status(realm_id, token)
    return status == 200


async def refresh_calls(emulator: Emulator) -> int:
    return (await emulator.token_calls()).get("refresh_token", 0)


async def tenant_events(
    feed: ResultFeed, f12: GatewayProcess, tenants: list[str], reauth_expected: bool
) -> dict[str, list[str]]:
    """Every tenant event the gateway published for `tenants`, once nothing more can come.

    With `reauth_expected`, first wait (while the gateway runs) for the reauthorization event;
    then stop the gateway, check its outbox holds nothing more for them, and drain the feed.
    """
    seen: dict[str, list[str]] = {t: [] for t in tenants}

    async def take(timeout_s: float) -> bool:
        result = await feed.next(timeout_s)
        if result is None:
            return False
        envelope, _ = result
        if envelope.tenantid in seen:
            seen[envelope.tenantid].append(envelope.type)
        return True

    loop = asyncio.get_running_loop()
    deadline = loop.time() + EVENT_TIMEOUT_S
    while reauth_expected and not any(REAUTH in types for types in seen.values()):
        if not await take(deadline - loop.time()):
            raise AssertionError(f"no {REAUTH} within {EVENT_TIMEOUT_S:.0f}s: {seen}")
    await f12.stop()
    async with f12.gw.sessions() as session:
        pending = await session.execute(
            text("SELECT count(*) FROM oauth_gateway.outbox WHERE headers->>'tenantid' = ANY(:t)"),
            {"t": tenants},
        )
        assert pending.scalar_one() == 0
    # Everything relayed was confirmed by the broker, so it is already in our queue.
    while await take(2.0):
        pass
    assert not feed.invalid, feed.invalid
    return seen


@pytest.mark.parametrize(
    ("gateway_process", "recovers"),
    [pytest.param(24, True, id="grace-24h"), pytest.param(0, False, id="grace-0h")],
    indirect=["gateway_process"],
)
async def test_gateway_killed_between_intuit_answer_and_commit(
    gateway_process: GatewayProcess, f12_broker: str, recovers: bool
) -> None:
    f12, gw = gateway_process, gateway_process.gw
    await f12.start(crash_after_token_response=True)
    async with ResultFeed(f12_broker) as feed:
        doomed, doomed_realm = await connected_tenant(gw)
        bystander, bystander_realm = await connected_tenant(gw)
        bystander_token = await working_token(gw, bystander, bystander_realm)

        # The doomed tenant's access token expired: its refresh reaches Intuit, which rotates the
        # refresh token (rotation after 0 h), and the gateway dies before committing the answer.
        await age_tokens(gw.sessions, doomed, access_left=timedelta(seconds=-1))
        with pytest.raises(httpx.TransportError):
            await gw.access_token(doomed)
        assert f12.process is not None
        assert await f12.process.wait() == -signal.SIGKILL
        assert f12.crash_log.read_text().split() == [AFTER_TOKEN_RESPONSE]
        assert await refresh_calls(gw.emulator) == 1
        # While no gateway runs, the other tenant's token still works at QuickBooks.
        assert await qbo_accepts(gw.emulator, bystander_realm, bystander_token)

        await f12.start(crash_after_token_response=False)
        if recovers:
            # The stored (pre-crash) refresh token is still inside its grace: one more refresh.
            await working_token(gw, doomed, doomed_realm)
            assert await refresh_calls(gw.emulator) == 2
            assert (await gw.tenant(doomed))["state"] == "connected"
        else:
            # The stored refresh token died at rotation: invalid_grant, re-read, mark, and from
            # then on 409 without calling Intuit again (one attempt since the restart).
            for _ in range(4):
                resp = await gw.access_token(doomed)
                assert resp.status_code == 409, resp.text
                assert resp.json()["code"] == "needs_reauthorization"
            assert await refresh_calls(gw.emulator) == 2
            assert (await gw.tenant(doomed))["state"] == "needs_reauthorization"

        # The other tenant is unaffected after the restart, down to a refresh of its own.
        await age_tokens(gw.sessions, bystander, access_left=timedelta(seconds=-1))
        refreshed = await working_token(gw, bystander, bystander_realm)
        assert refreshed != bystander_token
        assert await refresh_calls(gw.emulator) == 3
        assert (await gw.tenant(bystander))["state"] == "connected"

        events = await tenant_events(feed, f12, [doomed, bystander], reauth_expected=not recovers)
    assert events[doomed].count(REAUTH) == (0 if recovers else 1), events
    assert REAUTH not in events[bystander], events
