"""The qbo-emulator command: serve in a real process, admin subcommands, state file across restarts."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qbo_emulator.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(port: int, state_file: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "qbo_emulator.cli", "--port", str(port)]
    command += ["--state-file", str(state_file), "--company", "4242:Seeded Co", "--log-level"]
    command += ["warning"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/.well-known/openid_configuration", timeout=1)
            return process
        except httpx.TransportError:
            assert time.monotonic() < deadline, "emulator process did not start"
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    return stderr.decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    process = _start(port, tmp_path / "emulator.state")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out = capsys.readouterr()
    if code != 0:
        return code, out.err
    return code, json.loads(out.out) if out.out.strip() else None


@pytest.mark.slow
def test_serve_and_admin_commands(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = served
    cli = ("--url", url)
    code, companies = _run(capsys, *cli, "company", "list")
    assert code == 0
    assert [c["realm_id"] for c in companies] == ["4242"]  # from --company
    code, created = _run(capsys, *cli, "company", "create", "--realm-id", "777", "--empty")
    assert code == 0
    assert created["realm_id"] == "777"
    code, app = _run(
        capsys,
        *cli,
        "apps",
        "register",
        "--client-id",
        "cli-app",
        "--client-secret",
        "cli-secret",
        "--redirect-uri",
        "http://localhost/cb",
        "--rotation-grace-hours",
        "24",
    )
    assert code == 0
    assert app["rotation_grace_hours"] == 24
    assert app["redirect_uris"] == ["http://localhost/cb"]
    code, approved = _run(capsys, *cli, "apps", "auto-approve", "cli-app", "777")
    assert approved["auto_approve_realm"] == "777"
    code, grant = _run(capsys, *cli, "grants", "mint", "cli-app", "777")
    assert code == 0
    api = httpx.get(
        f"{url}/v3/company/777/companyinfo/777",
        headers={"Authorization": f"Bearer {grant['access_token']}"},
    )
    assert api.status_code == 200
    code, disconnected = _run(capsys, *cli, "apps", "disconnect", "cli-app", "777")
    assert (code, disconnected) == (0, {"revoked": 1})
    api = httpx.get(
        f"{url}/v3/company/777/companyinfo/777",
        headers={"Authorization": f"Bearer {grant['access_token']}"},
    )
    assert api.status_code == 401
    code, fault = _run(capsys, *cli, "token-faults", "add", "--status", "502", "--count", "3")
    assert (fault["status"], fault["remaining"]) == (502, 3)
    assert _run(capsys, *cli, "token-faults", "clear") == (0, None)
    code, hooks = _run(capsys, *cli, "webhooks", "config", "--retry-scale", "0.5")
    assert hooks["retry_scale"] == 0.5

    # Errors are reported, never a traceback: HTTP errors exit 1, usage errors 2.
    code, err = _run(capsys, *cli, "apps", "show", "nobody")
    assert code == 1
    assert "HTTP 404" in err
    code, err = _run(capsys, *cli, "limits", "777", "{not json")
    assert code == 2
    assert "not valid JSON" in err
    code, err = _run(capsys, "--url", "http://127.0.0.1:9", "apps", "list")
    assert code == 2
    assert "cannot reach" in err


@pytest.mark.slow
def test_state_survives_a_restart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    state = tmp_path / "demo.state"
    process = _start(port, state)
    url = f"http://127.0.0.1:{port}"
    try:
        assert (
            _run(capsys, "--url", url, "company", "create", "--realm-id", "31", "--empty")[0] == 0
        )
        main(["--url", url, "apps", "register", "--client-id", "keep", "--client-secret", "s"])
        capsys.readouterr()
        code, grant = _run(capsys, "--url", url, "grants", "mint", "keep", "31")
        assert code == 0
    finally:
        stderr = _stop(process)
    assert "state saved" in stderr
    assert state.exists()

    process = _start(port, state)
    try:
        code, apps = _run(capsys, "--url", url, "apps", "list")
        assert [a["client_id"] for a in apps] == ["keep"]
        response = httpx.get(
            f"{url}/v3/company/31/companyinfo/31",
            headers={"Authorization": f"Bearer {grant['access_token']}"},
        )
        assert response.status_code == 200
    finally:
        _stop(process)


def test_usage_errors_exit_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing_action:
        main(["apps"])
    assert missing_action.value.code == 2
    assert "usage:" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "apps", "auto-approve", "cid"]) == 2
    assert "--off" in capsys.readouterr().err
