"""The pure matching rules: which payment versions become which events."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from payment_poller.domain.marker import is_ours
from payment_poller.domain.matching import decide, decide_credit, slices
from payment_poller.domain.model import Doc, Link, QboPayment, Reported, ReportKey, invoice_status

D = Decimal


def doc(qbo_id: str, total: str = "100.00", balance: str = "100.00", kind: str = "invoice") -> Doc:
    return Doc(kind, f"up-{qbo_id}", qbo_id, f"N{qbo_id}", D(total), D(balance), "USD")  # type: ignore[arg-type]


def payment(*links: Link, pid: str = "p1", version: str = "0", **kw: object) -> QboPayment:
    total = kw.pop(
        "total", sum((li.amount for li in links if li.target_type != "CreditMemo"), D(0))
    )
    return QboPayment("payment", pid, version, "active", links=links, total=total, **kw)  # type: ignore[arg-type]


def docs_of(*ds: Doc) -> dict[tuple[str, str], Doc]:
    return {(d.kind, d.qbo_id): d for d in ds}


def by_id(*ds: Doc) -> dict[tuple[str, str], Doc]:
    return {(d.kind, d.document_id): d for d in ds}


def as_previous(changes: list) -> dict[ReportKey, Reported]:  # type: ignore[type-arg]
    return {c.report.key: c.report for c in changes}


def test_one_payment_settling_two_invoices_gives_one_event_each() -> None:
    a, b = doc("10"), doc("11", total="50.00")
    p = payment(Link("Invoice", "10", D("100.00")), Link("Invoice", "11", D("20.00")))
    changes = decide(p, docs_of(a, b), {}, by_id(a, b))
    assert [(c.kind, c.doc.qbo_id, c.amount) for c in changes] == [
        ("received", "10", D("100.00")),
        ("received", "11", D("20.00")),
    ]


def test_untracked_invoices_and_our_own_payments_are_ignored() -> None:
    a = doc("10")
    p = payment(Link("Invoice", "10", D("30")), Link("Invoice", "99", D("5")))
    assert [c.doc.qbo_id for c in decide(p, docs_of(a), {}, by_id(a))] == ["10"]
    mine = payment(Link("Invoice", "10", D("30")), ours=True)
    assert decide(mine, docs_of(a), {}, by_id(a)) == []


def test_same_version_seen_again_changes_nothing_but_an_edit_is_a_change() -> None:
    a = doc("10")
    first = decide(payment(Link("Invoice", "10", D("40"))), docs_of(a), {}, by_id(a))
    again = decide(
        payment(Link("Invoice", "10", D("40"))), docs_of(a), as_previous(first), by_id(a)
    )
    assert again == []
    edited = payment(Link("Invoice", "10", D("60")), version="1")
    changes = decide(edited, docs_of(a), as_previous(first), by_id(a))
    assert [(c.kind, c.amount) for c in changes] == [("changed", D("60"))]
    assert changes[0].dedupe_key != first[0].dedupe_key


def test_void_and_delete_reverse_what_was_reported() -> None:
    a = doc("10")
    first = decide(payment(Link("Invoice", "10", D("40"))), docs_of(a), {}, by_id(a))
    voided = QboPayment("payment", "p1", "1", "voided")
    changes = decide(voided, docs_of(a), as_previous(first), by_id(a))
    assert [(c.kind, c.reversal, c.amount, c.report.active) for c in changes] == [
        ("reversed", "voided", D("40"), False)
    ]
    # Deleted after the void: nothing is active any more, so nothing more to say.
    deleted = QboPayment("payment", "p1", "deleted", "deleted")
    assert decide(deleted, docs_of(a), as_previous(changes), by_id(a)) == []
    direct = decide(deleted, docs_of(a), as_previous(first), by_id(a))
    assert [(c.kind, c.reversal) for c in direct] == [("reversed", "deleted")]


def test_moving_a_payment_to_another_invoice_zeroes_the_first() -> None:
    a, b = doc("10"), doc("11")
    first = decide(payment(Link("Invoice", "10", D("40"))), docs_of(a, b), {}, by_id(a, b))
    moved = payment(Link("Invoice", "11", D("40")), version="1")
    changes = decide(moved, docs_of(a, b), as_previous(first), by_id(a, b))
    assert sorted((c.kind, c.doc.qbo_id, c.amount) for c in changes) == [
        ("changed", "10", D("0")),
        ("received", "11", D("40")),
    ]


def test_credit_memo_pays_first_then_cash() -> None:
    a, b = doc("10", total="100"), doc("11", total="80")
    p = payment(
        Link("Invoice", "10", D("100")),
        Link("Invoice", "11", D("80")),
        Link("CreditMemo", "77", D("120")),
        total=D("60"),
    )
    got = [(s.doc.qbo_id, s.source, s.source_id, s.amount) for s in slices(p, docs_of(a, b))]
    assert got == [
        ("10", "credit_memo", "77", D("100")),
        ("11", "credit_memo", "77", D("20")),
        ("11", "payment", "p1", D("60")),
    ]


def test_bill_payments_become_bill_paid() -> None:
    bill = doc("20", kind="bill")
    p = QboPayment(
        "bill_payment", "bp1", "0", "active", links=(Link("Bill", "20", D("100")),), total=D("100")
    )
    changes = decide(p, docs_of(bill), {}, by_id(bill))
    assert [(c.kind, c.amount) for c in changes] == [("bill_paid", D("100"))]


def test_bill_payment_edit_void_and_delete_become_bill_corrections() -> None:
    bill = doc("20", kind="bill")

    def bill_payment(amount: str, version: str, state: str = "active") -> QboPayment:
        links = (Link("Bill", "20", D(amount)),) if state == "active" else ()
        return QboPayment("bill_payment", "bp1", version, state, links=links, total=D(amount))  # type: ignore[arg-type]

    first = decide(bill_payment("100", "0"), docs_of(bill), {}, by_id(bill))
    edited = decide(bill_payment("70", "1"), docs_of(bill), as_previous(first), by_id(bill))
    assert [(c.kind, c.amount) for c in edited] == [("bill_changed", D("70"))]
    voided = decide(
        bill_payment("0", "2", "voided"), docs_of(bill), as_previous(edited), by_id(bill)
    )
    assert [(c.kind, c.reversal, c.amount) for c in voided] == [
        ("bill_reversed", "voided", D("70"))
    ]
    deleted = QboPayment("bill_payment", "bp1", "deleted", "deleted")
    direct = decide(deleted, docs_of(bill), as_previous(first), by_id(bill))
    assert [(c.kind, c.reversal, c.amount) for c in direct] == [
        ("bill_reversed", "deleted", D("100"))
    ]


def test_unapplied_amount_is_carried_by_one_event_per_payment_version() -> None:
    a, b, c = doc("10"), doc("11"), doc("12")
    p = payment(
        Link("Invoice", "10", D("10")),
        Link("Invoice", "11", D("20")),
        Link("Invoice", "12", D("30")),
        total=D("85"),
        unapplied=D("25"),
    )
    changes = decide(p, docs_of(a, b, c), {}, by_id(a, b, c))
    assert [(ch.doc.qbo_id, ch.unapplied) for ch in changes] == [
        ("10", D("25")),
        ("11", D("0")),
        ("12", D("0")),
    ]
    # An edit of the second line only: that version's one event carries the credit.
    edited = replace(
        p,
        version="1",
        links=(p.links[0], Link("Invoice", "11", D("15")), p.links[2]),
        unapplied=D("30"),
    )
    again = decide(edited, docs_of(a, b, c), as_previous(changes), by_id(a, b, c))
    assert [(ch.kind, ch.doc.qbo_id, ch.unapplied) for ch in again] == [("changed", "11", D("30"))]


def test_credit_events_follow_the_unapplied_amount() -> None:
    fully_unapplied = payment(total=D("250"), unapplied=D("250"))
    first = decide_credit(fully_unapplied, None)
    assert first is not None
    assert first.amount == D("250")
    assert first.dedupe_key == "payment:p1:0:unapplied"
    assert decide_credit(fully_unapplied, D("250")) is None  # already reported
    assert decide_credit(payment(Link("Invoice", "10", D("40"))), None) is None  # no credit
    applied_later = replace(fully_unapplied, version="1", unapplied=D("0"))
    later = decide_credit(applied_later, D("250"))
    assert later is not None
    assert later.amount == D("0")
    voided = decide_credit(QboPayment("payment", "p1", "2", "voided"), D("250"))
    assert voided is not None
    assert voided.amount == D("0")
    assert decide_credit(replace(fully_unapplied, ours=True), None) is None
    bill = QboPayment("bill_payment", "bp1", "0", "active", unapplied=D("5"))
    assert decide_credit(bill, None) is None


def test_invoice_status_and_marker() -> None:
    assert invoice_status(doc("1", balance="0")) == "paid"
    assert invoice_status(doc("1", balance="30")) == "partially-paid"
    assert invoice_status(doc("1", balance="100")) == "unpaid"
    assert is_ours("exported by qbsync qbsync:op=op-123")
    # What invoice-sync actually writes (invoice_sync.domain.identity.marker).
    assert is_ours(
        "Recorded upstream as payment pay-1. qbsync-op:0b6c7e0e-5d1f-5a1e-9c1a-1f1e2d3c4b5a"
    )
    assert not is_ours("qbsync-op:")
    assert not is_ours("qbsync:op=")
    assert not is_ours(None)
    assert not is_ours("paid by check")
