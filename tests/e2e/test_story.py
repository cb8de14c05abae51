"""The whole story end to end: every service as a process, the emulator, the broker, the database.

Two tenants are connected through the real OAuth flow and play the story at the same time; each
QuickBooks company must end up with exactly its own tenant's records, and the result events must
tell the story (sync keys, the two skips, the payment made in QuickBooks coming back).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from qbsync_common.contract import events
from qbsync_dev.demo.connect import ensure_tenant, set_up_tenant
from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.demo.player import StoryReport, play
from qbsync_dev.demo.results import ResultFeed
from qbsync_dev.demo.story import build_story
from qbsync_dev.stack import StackSpec, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STORY_TIMEOUT_S = 60.0
# What each service must handle for the story; a service that still parks these as
# not-implemented cannot pass it (checked on the service's own handler map).
NEEDED = {
    "partner-sync": {events.PartnerUpserted.event_type},
    "invoice-sync": {events.InvoiceStatusChanged.event_type},
    "payment-poller": {events.DocumentSynced.event_type, events.QboEntitiesChanged.event_type},
}


class _Anything:
    """Stands in for collaborators: building a handler map only reads attributes."""

    def __getattr__(self, name: str) -> Any:
        return _Anything()


def _handler_maps() -> dict[str, Callable[[], set[str]]]:
    def partner() -> set[str]:
        from partner_sync.bootstrap import PartnerSync

        stubs: dict[str, Any] = {p: _Anything() for p in inspect.signature(PartnerSync).parameters}
        return set(PartnerSync(**stubs).handler_map())

    def invoice() -> set[str]:
        from invoice_sync.service_layer.handlers import handlers

        return set(handlers(_Anything()))  # type: ignore[arg-type]

    def poller() -> set[str]:
        from payment_poller.service_layer.handlers import Handlers

        stubs: dict[str, Any] = {p: _Anything() for p in inspect.signature(Handlers).parameters}
        return set(Handlers(**stubs).mapping())

    return {"partner-sync": partner, "invoice-sync": invoice, "payment-poller": poller}


def _not_implemented() -> list[str]:
    """Services whose handler map lacks what the story needs. A map that cannot be built
    (refactored wiring) does not skip: the test then runs and says what is wrong."""
    missing = []
    for service, build in _handler_maps().items():
        try:
            handled = build()
        except Exception:
            continue
        if NEEDED[service] - handled:
            missing.append(f"{service} lacks {sorted(NEEDED[service] - handled)}")
    return missing


async def _records(
    client: httpx.AsyncClient, spec: StackSpec, realm: str, entity: str
) -> list[Any]:
    answer = await client.get(f"{spec.emulator_url}/_emulator/companies/{realm}/records/{entity}")
    answer.raise_for_status()
    return list(answer.json()["records"])


def _realm() -> str:
    return str(9130350000000000 + uuid.uuid4().int % 10**9)


async def test_story_for_two_tenants_at_once(stack: StackSpec) -> None:
    missing = _not_implemented()
    if missing:
        pytest.skip(
            "services still park the story's events as not-implemented: " + "; ".join(missing)
        )
    env = DemoEnvironment.of(stack)
    run = uuid.uuid4().hex[:6]
    tenants = {f"e2e-a-{run}": _realm(), f"e2e-b-{run}": _realm()}
    for tenant_id, realm in tenants.items():
        await set_up_tenant(env, tenant_id, f"Tenant {tenant_id}", realm, f"Company {tenant_id}")
    tags = {tenant_id: f"{tenant_id[4]}{run}" for tenant_id in tenants}
    lines: dict[str, list[str]] = {t: [] for t in tenants}
    started = time.monotonic()

    def transcript_of(tenant_id: str) -> Callable[[str], None]:
        return lambda line: lines[tenant_id].append(f"{time.monotonic() - started:5.1f}s {line}")

    reports: list[StoryReport] = await asyncio.gather(
        *(
            play(env, t, timeout_s=STORY_TIMEOUT_S, out=transcript_of(t), tag=tags[t])
            for t in tenants
        )
    )
    for tenant_id, report in zip(tenants, reports, strict=True):
        transcript = "\n".join(lines[tenant_id])
        assert report.complete, f"{tenant_id}: {report.unmet()}\n{transcript}"
        assert report.payment is not None

    async with httpx.AsyncClient(timeout=10) as client:
        for (tenant_id, realm), report in zip(tenants.items(), reports, strict=True):
            tag, other = tags[tenant_id], next(t for t in tags.values() if t != tags[tenant_id])
            customers = await _records(client, stack, realm, "Customer")
            vendors = await _records(client, stack, realm, "Vendor")
            invoices = await _records(client, stack, realm, "Invoice")
            bills = await _records(client, stack, realm, "Bill")
            payments = await _records(client, stack, realm, "Payment")
            names = [r["DisplayName"] for r in customers + vendors]
            ours = [n for n in names if tag in n]
            # Three clients and two vendors; the client that is also a vendor got two names.
            assert len(ours) == 5 and len(set(ours)) == 5, ours
            assert sum(f"Northwind Studio {tag}" in n for n in ours) == 2
            numbers = {r.get("DocNumber"): r for r in invoices if tag in str(r.get("DocNumber"))}
            # The pro-forma and the zero-value invoice were skipped: only two invoices exist.
            assert set(numbers) == {f"{tag}-0001", f"{tag}-0002"}
            assert float(numbers[f"{tag}-0001"]["TotalAmt"]) == 404.0
            paid = numbers[f"{tag}-0002"]
            assert float(paid["Balance"]) == 0.0 and float(paid["TotalAmt"]) == 450.0
            assert [b for b in bills if b.get("DocNumber") == f"L-{tag}-17"]
            settled = {
                link["TxnId"]
                for p in payments
                for line in p.get("Line", [])
                for link in line.get("LinkedTxn", [])
            }
            assert paid["Id"] in settled
            # Sync keys reported upstream are the records' QBO ids.
            synced = report.observed[f"document invoice inv-{tag}-2"]
            assert synced.sync_key == paid["Id"]
            # Isolation: nothing of the other tenant's story reached this company.
            leaked = [n for n in names if other in n]
            leaked += [r["DocNumber"] for r in invoices + bills if other in str(r.get("DocNumber"))]
            assert not leaked, f"{tenant_id}'s company holds the other tenant's records: {leaked}"
            # ...and every result addressed to this tenant was about its own records.
            assert all(tag in key for key in report.observed), list(report.observed)
        received = [line for line in lines[next(iter(tenants))] if "payment received" in line]
        assert len(received) == 1, "one payment.received event for the one payment"


async def _demo_cli(
    stack: StackSpec, *args: str, emulator_url: str | None = None
) -> tuple[int, str]:
    env = {
        **os.environ,
        "QBSYNC_DEMO_GATEWAY_URL": stack.gateway_url,
        "QBSYNC_DEMO_EMULATOR_URL": emulator_url or stack.emulator_url,
        "QBSYNC_DEMO_BROKER_URL": stack.broker_url or "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "qbsync_dev.demo", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_publish_command_refuses_invalid_events_and_publishes_valid_ones(
    stack: StackSpec, tmp_path: Path
) -> None:
    env = DemoEnvironment.of(stack)
    tenant_id, realm = f"e2e-p-{uuid.uuid4().hex[:6]}", _realm()
    await set_up_tenant(env, tenant_id, "Publisher", realm, "Publisher Co")
    name = f"Published Client {uuid.uuid4().hex[:6]}"
    client = {"kind": "client", "partner_id": "c-pub", "version": 1, "name": name,
              "currency": "USD", "active": True}  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**client, "currency": "dollars"}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(client))
    partner = events.PartnerUpserted.event_type

    code, output = await _demo_cli(stack, "--tenant", tenant_id, "publish", partner, str(bad))
    assert code == 2 and "data.currency" in output, output

    async with ResultFeed(env.broker_url) as feed:
        code, output = await _demo_cli(stack, "--tenant", tenant_id, "publish", partner, str(good))
        assert code == 0, output
        deadline = time.monotonic() + 30
        synced = None
        while synced is None and time.monotonic() < deadline:
            result = await feed.next(deadline - time.monotonic())
            if (
                result
                and result[0].tenantid == tenant_id
                and isinstance(result[1], events.PartnerSynced)
            ):
                synced = result[1]
    assert synced is not None and synced.partner_id == "c-pub"
    async with httpx.AsyncClient(timeout=10) as http:
        customers = await _records(http, stack, realm, "Customer")
    assert [c["Id"] for c in customers if c["DisplayName"] == name] == [synced.sync_key]


def _skip_unless_the_story_can_run() -> None:
    missing = _not_implemented()
    if missing:
        pytest.skip("services still park the story's events: " + "; ".join(missing))


async def _connected_tenant(stack: StackSpec, prefix: str) -> str:
    tenant_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
    env = DemoEnvironment.of(stack)
    await set_up_tenant(env, tenant_id, f"Tenant {tenant_id}", _realm(), f"Company {tenant_id}")
    return tenant_id


async def test_story_command_exits_0_when_the_story_is_complete(stack: StackSpec) -> None:
    _skip_unless_the_story_can_run()
    tenant_id = await _connected_tenant(stack, "e2e-cli")
    timeout = str(STORY_TIMEOUT_S)
    code, output = await _demo_cli(stack, "--tenant", tenant_id, "story", "--timeout", timeout)
    assert code == 0, output
    assert "story complete" in output
    assert "payment received" in output, output


async def test_story_command_exits_2_for_an_unknown_or_disconnected_tenant(
    stack: StackSpec,
) -> None:
    unknown = f"e2e-nobody-{uuid.uuid4().hex[:6]}"
    code, output = await _demo_cli(stack, "--tenant", unknown, "story")
    assert code == 2, output
    assert f"the gateway has no tenant {unknown!r}" in output
    assert "Traceback" not in output

    # Created but never connected through OAuth: nothing can reach its QuickBooks company.
    env = DemoEnvironment.of(stack)
    idle = f"e2e-idle-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(timeout=15) as client:
        await ensure_tenant(client, env, idle, "Never connected")
    code, output = await _demo_cli(stack, "--tenant", idle, "story")
    assert code == 2, output
    assert f"tenant {idle!r} is" in output and "not connected" in output
    assert "Traceback" not in output


async def test_story_command_exits_1_listing_what_did_not_come_back(stack: StackSpec) -> None:
    tenant_id = await _connected_tenant(stack, "e2e-slow")
    # With no time to wait, the loop only takes results already queued; the payment step cannot
    # be among them (it starts only once the paid invoice's result was taken, then goes through
    # the emulator's webhook and the payment-poller), so the story ends incomplete.
    code, output = await _demo_cli(stack, "--tenant", tenant_id, "story", "--timeout", "0")
    assert code == 1, output
    _, header, listed = output.partition("story INCOMPLETE; missing or different:\n")
    assert header, output
    unmet = [line for line in listed.splitlines() if line.startswith("  - ")]
    tag = re.search(r", story (\w+):", output)
    assert tag, output
    expected = {f"{e.what} ({e.key})" for e in build_story(tag[1], "s", "a").expectations}
    assert unmet and all(line[4:].partition(": expected ")[0] in expected for line in unmet), unmet
    assert any(line.startswith("  - payment made in QuickBooks (") for line in unmet), output
    assert "Traceback" not in output


async def test_story_command_says_the_emulator_is_missing_instead_of_a_traceback(
    stack: StackSpec,
) -> None:
    _skip_unless_the_story_can_run()
    tenant_id = await _connected_tenant(stack, "e2e-noemu")
    # The services still reach the stack's emulator; only the "QuickBooks user" cannot, so the
    # invoice syncs and recording its payment is the call that fails.
    gone = f"http://127.0.0.1:{free_port()}"
    code, output = await _demo_cli(
        stack, "--tenant", tenant_id, "story", "--timeout", str(STORY_TIMEOUT_S), emulator_url=gone
    )
    assert code == 2, output
    assert f"recording its payment in the emulator at {gone} failed" in output, output
    assert "payment made in QuickBooks" in output, "the unmet step is listed"
    assert "Traceback" not in output
