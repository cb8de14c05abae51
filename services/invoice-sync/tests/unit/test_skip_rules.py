"""Every skip reason, in the order the rules apply, on plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from invoice_sync.domain.document import Document
from invoice_sync.domain.policy import SyncPolicy
from invoice_sync.domain.skip_rules import skip_reason
from qbsync_common.contract.values import DocumentLine


def doc(**changes: object) -> Document:
    base = Document(
        kind="invoice",
        document_id="inv-1",
        version=1,
        number="2026/1",
        status="sent",
        pro_forma=False,
        issue_date=date(2026, 3, 2),
        due_date=None,
        modified_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        partner_kind="client",
        partner_id="c-1",
        partner=None,
        project_id=None,
        client_id=None,
        terms=None,
        currency="USD",
        exchange_rate=Decimal(1),
        lines=(
            DocumentLine(name="A", quantity=Decimal(1), unit_price=Decimal(10), amount=Decimal(10)),
        ),
        net_total=Decimal(10),
        upstream_sync_key=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


POLICY = SyncPolicy(sync_items_newer_than=date(2026, 1, 1))


def test_a_plain_sent_invoice_is_synced() -> None:
    assert skip_reason(doc(), POLICY, already_synced=False) is None


@pytest.mark.parametrize(
    ("changes", "policy", "reason"),
    [
        ({"pro_forma": True}, POLICY, "pro-forma"),
        ({"net_total": Decimal("0.00")}, POLICY, "zero-total"),
        ({"number": None}, POLICY, "no-number"),
        ({"number": "   "}, POLICY, "no-number"),
        ({"status": "draft"}, POLICY, "status-not-configured"),
        ({"modified_at": datetime(2025, 12, 31, 23, 0, tzinfo=UTC)}, POLICY, "older-than-cutoff"),
        ({}, replace(POLICY, sync_clients=False), "partner-kind-disabled"),
        (
            {"kind": "bill", "partner_kind": "vendor", "status": "approved"},
            replace(POLICY, sync_vendors=False),
            "partner-kind-disabled",
        ),
        (
            {"kind": "bill", "partner_kind": "vendor", "status": "sent"},
            POLICY,
            "status-not-configured",
        ),
        ({"upstream_sync_key": "77"}, POLICY, "already-synced"),
    ],
)
def test_each_skip_reason(changes: dict[str, object], policy: SyncPolicy, reason: str) -> None:
    skip = skip_reason(doc(**changes), policy, already_synced=False)
    assert skip is not None
    assert skip.reason == reason
    assert skip.message


def test_already_synced_wins_over_every_other_reason() -> None:
    skip = skip_reason(doc(pro_forma=True, number=None), POLICY, already_synced=True)
    assert skip is not None
    assert skip.reason == "already-synced"


def test_vendor_invoice_uses_vendor_statuses_and_credit_memos_have_none() -> None:
    bill = doc(kind="bill", partner_kind="vendor", status="approved")
    assert skip_reason(bill, POLICY, already_synced=False) is None
    memo = doc(kind="credit_memo", status=None)
    assert skip_reason(memo, POLICY, already_synced=False) is None


def test_modified_on_the_cutoff_day_is_not_older() -> None:
    on_cutoff = doc(modified_at=datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    assert skip_reason(on_cutoff, POLICY, already_synced=False) is None
