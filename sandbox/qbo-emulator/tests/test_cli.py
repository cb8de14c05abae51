"""The qbo-emulator command: serve in a real process, admin subcommands, state file across restarts."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
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

    code, shown = _run(capsys, *cli, "clock", "show")
    assert code == 0
    code, moved = _run(capsys, *cli, "clock", "advance", "7200")
    assert code == 0
    assert datetime.fromisoformat(moved["now"]) - datetime.fromisoformat(shown["now"]) >= (
        timedelta(hours=2)
    )
    # Two hours on, the grant's access token (valid for one) has expired.
    expired = httpx.get(
        f"{url}/v3/company/777/companyinfo/777",
        headers={"Authorization": f"Bearer {grant['access_token']}"},
    )
    assert expired.status_code == 401

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

    assert _run(capsys, *cli, "reset") == (0, {"reset": True})
    assert _run(capsys, *cli, "company", "list") == (0, [])
    assert _run(capsys, *cli, "apps", "list") == (0, [])
    code, shown = _run(capsys, *cli, "clock", "show")
    # reset puts the clock back to real time
    assert abs(datetime.fromisoformat(shown["now"]) - datetime.now(UTC)) < timedelta(minutes=30)


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


def test_company_records_payments_stats_limits_and_faults(
    emulator_url: str,
    new_realm: Callable[..., str],
    emulator_token: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The realm-scoped admin commands, against the test session's emulator."""
    cli = ("--url", emulator_url)
    realm_id = new_realm()
    headers = {"Authorization": f"Bearer {emulator_token}", "Accept": "application/json"}
    base = f"{emulator_url}/v3/company/{realm_id}"
    code, customers = _run(capsys, *cli, "company", "records", realm_id, "Customer")
    assert code == 0
    customer = customers["records"][0]
    code, items = _run(capsys, *cli, "company", "records", realm_id, "item")
    line = {
        "Amount": 30,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": items["records"][0]["Id"]}},
    }
    invoice = httpx.post(
        f"{base}/invoice",
        json={"CustomerRef": {"value": customer["Id"]}, "Line": [line]},
        headers=headers,
    ).json()["Invoice"]

    code, paid = _run(
        capsys, *cli, "company", "pay", realm_id, "--invoice", invoice["Id"], "--amount", "12.5"
    )
    assert code == 0
    assert paid["Payment"]["TotalAmt"] == 12.5
    code, shown = _run(capsys, *cli, "company", "record", realm_id, "Invoice", invoice["Id"])
    assert (code, shown["deleted"], shown["record"]["Balance"]) == (0, False, 17.5)
    code, paid = _run(capsys, *cli, "company", "pay", realm_id, "--invoice", invoice["Id"])
    assert paid["Payment"]["TotalAmt"] == 17.5

    code, accounts = _run(capsys, *cli, "company", "records", realm_id, "Account")
    expense = next(a for a in accounts["records"] if a["AccountType"] == "Expense")
    vendor = next(iter(_run(capsys, *cli, "company", "records", realm_id, "Vendor")[1]["records"]))
    bill_line = {
        "Amount": 8,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense["Id"]}},
    }
    bill = httpx.post(
        f"{base}/bill",
        json={"VendorRef": {"value": vendor["Id"]}, "Line": [bill_line]},
        headers=headers,
    ).json()["Bill"]
    code, bill_paid = _run(capsys, *cli, "company", "pay", realm_id, "--bill", bill["Id"])
    assert (code, bill_paid["BillPayment"]["TotalAmt"]) == (0, 8)
    code, err = _run(capsys, *cli, "company", "pay", realm_id, "--bill", bill["Id"])
    assert code == 1
    assert "6000" in err  # nothing left to pay
    code, err = _run(capsys, *cli, "company", "record", realm_id, "Bill", "999999")
    assert (code, "HTTP 404" in err) == (1, True)
    with pytest.raises(SystemExit):
        main([*cli, "company", "pay", realm_id, "--invoice", "1", "--bill", "2"])
    capsys.readouterr()

    code, stats = _run(capsys, *cli, "company", "stats", realm_id)
    assert code == 0
    calls = {(c["method"], c["endpoint"], c["status"]) for c in stats["calls"]}
    assert {("POST", "invoice", 200), ("POST", "bill", 200)} <= calls

    code, limits = _run(capsys, *cli, "limits", realm_id, '{"per_second": 1}')
    assert (code, limits["per_second"]) == (0, 1)
    statuses = [httpx.get(f"{base}/preferences", headers=headers).status_code for _ in range(3)]
    assert 429 in statuses
    _run(capsys, *cli, "limits", realm_id, "{}")
    code, faults = _run(capsys, *cli, "faults", realm_id, '{"error_rate": 1, "error_status": 503}')
    assert (code, faults["error_status"]) == (0, 503)
    assert httpx.get(f"{base}/preferences", headers=headers).status_code == 503
    code, _ = _run(capsys, *cli, "faults", realm_id, "{}")
    assert httpx.get(f"{base}/preferences", headers=headers).status_code == 200
    code, stats = _run(capsys, *cli, "company", "stats", realm_id)
    assert stats["throttled"] >= 1
    assert stats["injected_faults"] == 1
    code, err = _run(capsys, *cli, "faults", realm_id, '{"error_rate": 7}')
    assert (code, "HTTP 422" in err) == (1, True)
