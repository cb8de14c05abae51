"""`make run` (`python -m qbsync_dev run`) as a newcomer runs it: migrates an empty database, starts
the emulator and every service, connects the demo tenant, prints where to look, and Ctrl-C stops
all of it with exit 0 and no process left behind.

The real command runs on free ports (QBSYNC_DEV_<NAME>_PORT), with a database that does not exist
yet and a private RabbitMQ vhost, so a developer's own `make run` is not disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from qbsync_dev.database import PG_ADMIN_DSN
from qbsync_dev.demo.environment import DEMO_REALM, DEMO_TENANT
from qbsync_dev.stack import EMULATOR, GATEWAY, OPERATOR_KEY, SERVICES, free_port, port_variable

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BANNER_LAST = "Tenant settings:"
# Upper bounds only, never measured: a busy 2-core machine starts five processes slowly.
STARTUP_S = 420.0
STOP_S = 120.0
URL = re.compile(r"https?://[^\s)]+")


@pytest.fixture
async def empty_database_url() -> AsyncIterator[str]:
    """The name of a database that does not exist yet: `run` must create and migrate it."""
    name = f"qbsync_make_run_{uuid.uuid4().hex[:8]}"
    url = f"{PG_ADMIN_DSN}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield url
    finally:
        admin = await asyncpg.connect(f"{PG_ADMIN_DSN}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _session_members(session_id: int) -> dict[int, str]:
    """pid -> command of every live (not zombie) process in the session."""
    members = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/stat") as stat:
                head, _, rest = stat.read().rpartition(")")
            fields = rest.split()  # state, ppid, pgrp, session...
            if int(fields[3]) == session_id and fields[0] != "Z":
                members[int(entry)] = head.partition("(")[2]
    return members


async def _read_until_banner(stream: asyncio.StreamReader, lines: list[str]) -> bool:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace").rstrip("\n"))
        if lines[-1].startswith(BANNER_LAST):
            return True
    return False  # the command ended before printing its banner


async def _drain(stream: asyncio.StreamReader, lines: list[str]) -> None:
    """Keeps reading after the banner: a full pipe would block the stack's log output."""
    while line := await stream.readline():
        lines.append(line.decode(errors="replace").rstrip("\n"))


def _schemas() -> set[str]:
    return {
        importlib.import_module(f"{name.replace('-', '_')}.bootstrap").DEFINITION.schema
        for name, _ in SERVICES
    }


async def test_make_run_starts_everything_prints_where_to_look_and_stops_on_ctrl_c(
    empty_database_url: str, broker_vhost_url: str
) -> None:
    ports = {name: free_port() for name in [EMULATOR, *(n for n, _ in SERVICES)]}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QBSYNC_DEMO_", "QBSYNC_DEV_"))
    }
    env |= {port_variable(name): str(port) for name, port in ports.items()}
    env |= {
        "QBSYNC_DATABASE_URL": empty_database_url,
        "QBSYNC_BROKER_URL": broker_vhost_url,
        "QBSYNC_LOG_LEVEL": "WARNING",
    }
    # A session of its own, so Ctrl-C can be sent the way a terminal sends it: to the whole
    # foreground process group, the stack's children included.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qbsync_dev", "run", env=env, start_new_session=True,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    drain: asyncio.Task[None] | None = None
    try:
        try:
            printed = await asyncio.wait_for(_read_until_banner(process.stdout, lines), STARTUP_S)
        except TimeoutError:
            printed = False
        output = "\n".join(lines)
        assert printed, f"no banner:\n{output}"
        drain = asyncio.create_task(_drain(process.stdout, lines))
        started = _session_members(process.pid)
        # The run process itself, the emulator and four services (at least).
        assert len(started) >= 1 + len(ports), started

        gateway = f"http://127.0.0.1:{ports[GATEWAY]}"
        emulator = f"http://127.0.0.1:{ports[EMULATOR]}"
        assert "qbsync is running. Ctrl-C stops everything." in output
        assert f"Demo tenant {DEMO_TENANT!r} is connected to QuickBooks company {DEMO_REALM}" in (
            output
        )
        assert "uv run qbsync-demo publish <type> <json-file>" in output
        assert "exchange 'qbsync.events'" in output
        # The broker is named without its password.
        assert broker_vhost_url.rpartition("/")[2] in output and "guest:guest" not in output
        urls = sorted(set(URL.findall(output[output.index("qbsync is running") :])))
        assert f"{emulator}/_emulator/view/{DEMO_REALM}?refresh=3" in urls
        (connect_line,) = [line for line in lines if "connect page (a fresh link)" in line]
        assert URL.findall(connect_line)[0].startswith(gateway), connect_line
        for name, _ in SERVICES:
            assert f"http://127.0.0.1:{ports[name]}/metrics" in urls, name

        async with httpx.AsyncClient(timeout=30) as client:
            headers = {"Authorization": f"Bearer {OPERATOR_KEY}"}
            for url in urls:
                # Every printed URL answers: pages, docs, metrics, the operator API (with its key).
                answer = await client.get(url, headers=headers if "/v1/" in url else None)
                assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
            for name, port in ports.items():
                ready = "/_emulator/health" if name == EMULATOR else "/readyz"
                answer = await client.get(f"http://127.0.0.1:{port}{ready}")
                assert answer.status_code == 200, (name, answer.text[:200])
            tenant = await client.get(f"{gateway}/v1/tenants/{DEMO_TENANT}", headers=headers)
            assert tenant.json()["state"] == "connected"
            assert tenant.json()["realm_id"] == DEMO_REALM

        # `run` created the database and every service migrated its schema into it.
        conn = await asyncpg.connect(
            empty_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        )
        try:
            found = {r["nspname"] for r in await conn.fetch("SELECT nspname FROM pg_namespace")}
        finally:
            await conn.close()
        assert _schemas() <= found, sorted(found)

        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
        try:
            code = await asyncio.wait_for(process.wait(), STOP_S)
        except TimeoutError:
            code = None
        await asyncio.wait_for(drain, STOP_S)
        output = "\n".join(lines)
        assert code == 0, f"exit {code}:\n{output[-4000:]}"
        left = _session_members(process.pid)
        assert not left, f"still running after Ctrl-C: {left}"
        assert "Traceback" not in output, output[-4000:]
        async with httpx.AsyncClient(timeout=5) as client:
            for port in ports.values():
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"http://127.0.0.1:{port}/livez")
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        if drain is not None:
            drain.cancel()


async def test_make_run_says_which_database_it_cannot_reach() -> None:
    closed = free_port()  # nothing listens there
    env = {
        **os.environ,
        "QBSYNC_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/qbsync",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qbsync_dev", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 2, text
    assert f"cannot create the database 127.0.0.1:{closed}/qbsync" in text
    assert "Traceback" not in text


async def test_make_run_refuses_a_bad_port_setting_before_touching_anything() -> None:
    env = {**os.environ, port_variable(GATEWAY): "eighty"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qbsync_dev", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode == 2, output
    assert b"QBSYNC_DEV_OAUTH_GATEWAY_PORT must be a TCP port (1-65535), not 'eighty'" in output
