"""The demo story's bookkeeping (pure): what it publishes, and when it is complete."""

from __future__ import annotations

from decimal import Decimal

from qbsync_common.contract import events
from qbsync_dev.demo.describe import Observed, describe
from qbsync_dev.demo.player import StoryReport
from qbsync_dev.demo.story import build_story, document_key, payment_key


def _synced(kind: str, doc_id: str, key: str) -> events.DocumentSynced:
    return events.DocumentSynced(
        document_kind=kind,
        document_id=doc_id,
        version=1,
        sync_key=key,
        sync_token="0",
        doc_number="X",
        total=Decimal("450.00"),
        balance=Decimal("450.00"),
        currency="USD",
        adopted=False,
        operation_id="op-1",
    )


def test_story_has_partners_both_kinds_and_the_documents_to_skip() -> None:
    story = build_story("t1", "sent", "approved")
    partners = [e for e in story.events if isinstance(e, events.PartnerUpserted)]
    invoices = [e for e in story.events if isinstance(e, events.InvoiceStatusChanged)]
    names = [(p.kind, p.name) for p in partners]
    both = {n for k, n in names if k == "client"} & {n for k, n in names if k == "vendor"}
    assert len(both) == 1, "one business is a client and a vendor"
    assert [i for i in invoices if i.pro_forma]
    assert [i for i in invoices if i.net_total == 0]
    assert {i.status for i in invoices if i.kind == "client"} == {"sent"}
    assert {i.status for i in invoices if i.kind == "vendor"} == {"approved"}
    # Lines add up to the net total, so nothing is "balanced" by an extra line.
    for invoice in invoices:
        assert sum(line.amount for line in invoice.lines) == invoice.net_total
    assert all("t1" in e.key for e in story.expectations)


def test_report_is_complete_only_when_every_expectation_is_met() -> None:
    story = build_story("t2", "sent", "approved")
    report = StoryReport(story)
    for exp in story.expectations:
        assert not report.complete
        kind, _, doc_id = exp.key.partition(" ")[2].partition(" ")
        if exp.key.startswith("partner"):
            data = events.PartnerSynced(
                kind=kind, partner_id=doc_id, version=1, sync_key="9", sync_token="0",
                adopted=False, operation_id="op",
            )  # fmt: skip
            report.record(describe(data.event_type, data))
        elif exp.outcome == "synced":
            report.record(describe("", _synced(kind, doc_id, "41")))
        elif exp.key.startswith("document"):
            reason = exp.outcome.partition(":")[2]
            skipped = events.DocumentSkipped(
                document_kind=kind, document_id=doc_id, version=1, reason_code=reason, message="m"
            )
            report.record(describe("", skipped))
    assert report.unmet() == [
        f"payment made in QuickBooks ({payment_key(story.paid_invoice_id)}): "
        "expected received, got nothing yet"
    ]
    assert not report.settled()


def test_a_later_echo_does_not_undo_a_met_step() -> None:
    story = build_story("t3", "sent", "approved")
    report = StoryReport(story)
    doc = document_key("invoice", story.paid_invoice_id)
    report.record(describe("", _synced("invoice", story.paid_invoice_id, "41")))
    echo = events.DocumentSkipped(
        document_kind="invoice",
        document_id=story.paid_invoice_id,
        version=1,
        reason_code="already-synced",
        message="m",
    )
    report.record(describe("", echo))
    assert report.observed[doc].outcome == "synced"
    assert report.observed[doc].sync_key == "41"


def test_a_failed_paid_invoice_settles_the_story_without_waiting_for_payment() -> None:
    story = build_story("t4", "sent", "approved")
    report = StoryReport(story)
    failed = events.DocumentSyncFailed(
        document_kind="invoice",
        document_id=story.paid_invoice_id,
        version=1,
        reason_code="qbo-validation",
        message="QBO said no",
        operation_id="op",
    )
    seen = describe("", failed)
    assert "QBO said no" in seen.line and seen.outcome == "failed:qbo-validation"
    report.record(seen)
    skip = {seen.key, payment_key(story.paid_invoice_id)}
    for exp in story.expectations:
        if exp.key not in skip:
            report.record(Observed(exp.key, exp.outcome, "ok"))
    # No payment can come for an invoice that is not in QuickBooks: the story ends, incomplete.
    assert report.settled() and not report.complete
    assert len(report.unmet()) == 2
