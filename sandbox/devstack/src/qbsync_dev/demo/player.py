"""Plays the story for one connected tenant: publishes, prints results as they arrive, pays an
invoice in QuickBooks as a user would, and reports which expectations were met."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from qbsync_dev.demo.describe import Observed, describe
from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.demo.publish import publish, story_envelopes
from qbsync_dev.demo.results import ResultFeed
from qbsync_dev.demo.story import SYNCED, Story, build_story, document_key, payment_key


class StoryError(Exception):
    """The story cannot start (tenant unknown or not connected, gateway unreachable...)."""


class PaymentNotRecorded(StoryError):
    """The story ran, but the QuickBooks user's payment could not be made (emulator gone)."""

    def __init__(self, message: str, report: StoryReport) -> None:
        super().__init__(message)
        self.report = report  # the steps met before it failed, so the user sees what is left


@dataclass
class StoryReport:
    story: Story
    observed: dict[str, Observed] = field(default_factory=dict)
    payment: dict[str, Any] | None = None  # the QBO Payment the "QuickBooks user" recorded

    def unmet(self) -> list[str]:
        """One line per expectation not met: what it shows, expected and actual outcome."""
        lines = []
        for exp in self.story.expectations:
            seen = self.observed.get(exp.key)
            if seen is None or seen.outcome != exp.outcome:
                got = seen.outcome if seen else "nothing yet"
                lines.append(f"{exp.what} ({exp.key}): expected {exp.outcome}, got {got}")
        return lines

    def record(self, seen: Observed) -> None:
        """A met step stays met: a later echo (e.g. skipped as already-synced after a redelivery)
        says nothing new about it."""
        assert seen.key is not None
        expected = {e.key: e.outcome for e in self.story.expectations}.get(seen.key)
        previous = self.observed.get(seen.key)
        if previous is None or previous.outcome != expected:
            self.observed[seen.key] = seen

    @property
    def complete(self) -> bool:
        return not self.unmet()

    def settled(self) -> bool:
        """Every step has an outcome, or can no longer get one (the paid invoice did not sync)."""
        paid_doc = self.observed.get(document_key("invoice", self.story.paid_invoice_id))
        unreachable = {payment_key(self.story.paid_invoice_id)}
        unreachable = unreachable if paid_doc and paid_doc.outcome != SYNCED else set()
        return all(e.key in self.observed or e.key in unreachable for e in self.story.expectations)


async def tenant_realm(client: httpx.AsyncClient, env: DemoEnvironment, tenant_id: str) -> str:
    answer = await client.get(
        f"{env.gateway_url}/v1/tenants/{tenant_id}", headers=env.operator_headers()
    )
    if answer.status_code == 404:
        raise StoryError(f"the gateway has no tenant {tenant_id!r}: is `make run` running?")
    answer.raise_for_status()
    tenant = answer.json()
    if tenant["state"] != "connected" or not tenant["realm_id"]:
        raise StoryError(f"tenant {tenant_id!r} is {tenant['state']}, not connected")
    return str(tenant["realm_id"])


async def configured_statuses(
    client: httpx.AsyncClient, env: DemoEnvironment, tenant_id: str
) -> tuple[str, str]:
    """The first client and vendor invoice statuses the tenant syncs (the story uses them)."""
    answer = await client.get(
        f"{env.gateway_url}/v1/tenants/{tenant_id}/settings", headers=env.operator_headers()
    )
    answer.raise_for_status()
    settings = answer.json()["settings"]
    client_statuses, vendor_statuses = (
        settings["client_invoice_statuses"],
        settings["vendor_invoice_statuses"],
    )
    if not client_statuses or not vendor_statuses or not settings["sync_vendors"]:
        raise StoryError(f"tenant {tenant_id!r} does not sync client and vendor invoices")
    return str(client_statuses[0]), str(vendor_statuses[0])


async def record_payment(
    client: httpx.AsyncClient, env: DemoEnvironment, realm_id: str, qbo_invoice_id: str
) -> dict[str, Any]:
    """A QuickBooks user receives the full balance of the invoice (emulator admin API)."""
    answer = await client.post(
        f"{env.emulator_url}/_emulator/companies/{realm_id}/payments",
        json={"invoice_id": qbo_invoice_id},
    )
    answer.raise_for_status()
    payment: dict[str, Any] = answer.json()["Payment"]
    return payment


async def play(
    env: DemoEnvironment,
    tenant_id: str,
    *,
    timeout_s: float = 90.0,
    out: Callable[[str], None] = print,
    tag: str | None = None,
) -> StoryReport:
    async with httpx.AsyncClient(timeout=15) as client:
        try:
            realm_id = await tenant_realm(client, env, tenant_id)
            client_status, vendor_status = await configured_statuses(client, env, tenant_id)
        except httpx.HTTPError as exc:
            raise StoryError(f"cannot reach the gateway at {env.gateway_url}: {exc}") from exc
        story = build_story(tag or uuid.uuid4().hex[:6], client_status, vendor_status)
        report = StoryReport(story)
        async with ResultFeed(env.broker_url) as feed:
            out(f"tenant {tenant_id} (QBO company {realm_id}), story {story.tag}:")
            out(f"publishing {len(story.events)} events (clients, vendors, invoices)...")
            await publish(env.broker_url, story_envelopes(tenant_id, story.events))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            printed: set[str] = set()
            while not report.settled():
                result = await feed.next(deadline - loop.time())
                if result is None:
                    break
                envelope, data = result
                if envelope.tenantid != tenant_id:
                    continue  # other tenants' results share the exchange
                seen = describe(envelope.type, data)
                # A result may come twice (redelivery, or a service announcing a state again).
                again = seen.line in printed
                printed.add(seen.line)
                out(f"  {seen.line}{'  (again)' if again else ''}")
                if seen.key is None:
                    continue
                report.record(seen)
                paid_doc = document_key("invoice", story.paid_invoice_id)
                if seen.key == paid_doc and seen.sync_key and report.payment is None:
                    try:
                        report.payment = await record_payment(client, env, realm_id, seen.sync_key)
                    except httpx.HTTPError as exc:
                        raise PaymentNotRecorded(
                            f"invoice {seen.sync_key} reached QuickBooks, but recording its "
                            f"payment in the emulator at {env.emulator_url} failed ({exc!r}): "
                            "the payment.received step cannot happen; is the emulator running "
                            "(QBSYNC_DEMO_EMULATOR_URL)?",
                            report,
                        ) from exc
                    out(
                        f"  → a QuickBooks user records payment {report.payment['Id']} of "
                        f"{report.payment['TotalAmt']} on invoice {seen.sync_key}; "
                        "waiting for payment.received..."
                    )
            for problem in feed.invalid:
                out(f"  ! a result broke the contract: {problem}")
    return report
