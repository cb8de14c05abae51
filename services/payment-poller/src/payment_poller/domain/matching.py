"""Matching a QBO payment to our documents through LinkedTxn, and deciding what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from payment_poller.domain.model import (
    ZERO,
    Change,
    ChangeKind,
    CreditChange,
    Doc,
    QboPayment,
    Reported,
    ReportKey,
    Source,
)

TARGET_KIND = {"Invoice": "invoice", "Bill": "bill"}


@dataclass(frozen=True)
class Slice:
    """Money applied to one of our documents from one source (the payment or a credit memo)."""

    doc: Doc
    source: Source
    source_id: str
    amount: Decimal


def slices(payment: QboPayment, docs: Mapping[tuple[str, str], Doc]) -> list[Slice]:
    """Split a payment's applications per (document, source).

    A QBO Payment that applies credit memos lists them as lines too; their credit pays the
    invoices first (in line order), and only the rest is the customer's money. Documents we do
    not track are ignored.
    """
    if payment.state != "active":
        return []
    # Remaining credit per credit memo, in line order (dicts keep insertion order).
    credits: dict[str, Decimal] = {}
    for link in payment.links:
        if link.target_type == "CreditMemo":
            credits[link.target_id] = credits.get(link.target_id, ZERO) + link.amount
    amounts: dict[tuple[str, str, str, Source], Decimal] = {}
    order: list[tuple[str, str, str, Source]] = []
    for link in payment.links:
        kind = TARGET_KIND.get(link.target_type)
        if kind is None:
            continue
        remaining = link.amount
        parts: list[tuple[Source, str, Decimal]] = []
        for credit_id, left in credits.items():
            take = min(remaining, left)
            if take > ZERO:
                parts.append(("credit_memo", credit_id, take))
                credits[credit_id] = left - take
                remaining -= take
        if remaining > ZERO:
            parts.append(("payment", payment.id, remaining))
        for source, source_id, amount in parts:
            key = (kind, link.target_id, source_id, source)
            if key not in amounts:
                order.append(key)
                amounts[key] = ZERO
            amounts[key] += amount
    result = []
    for key in order:
        doc = docs.get((key[0], key[1]))
        if doc is not None:
            result.append(Slice(doc, key[3], key[2], amounts[key]))
    return result


def decide(
    payment: QboPayment,
    docs: Mapping[tuple[str, str], Doc],
    previous: Mapping[ReportKey, Reported],
    docs_by_id: Mapping[tuple[str, str], Doc],
) -> list[Change]:
    """The events one payment version causes, given what we reported for it before.

    `docs` maps (kind, QBO id) to our documents; `docs_by_id` maps (kind, upstream id) to them
    (a reported document may since have a new QBO key). `previous` holds this payment's reports.
    """
    if payment.ours:
        return []
    bill = payment.kind == "bill_payment"
    changes: list[Change] = []
    seen: set[ReportKey] = set()
    for part in slices(payment, docs):
        key = ReportKey(
            payment.kind, payment.id, part.doc.kind, part.doc.document_id, part.source_id
        )
        seen.add(key)
        report = Reported(
            key, part.source, part.amount, payment.txn_date, payment.method, payment.reference, True
        )
        before = previous.get(key)
        if before is None or not before.active:
            kind: ChangeKind = "bill_paid" if bill else "received"
            changes.append(Change(kind, part.doc, payment, report, part.amount))
        elif _differs(before, report):
            kind = "bill_changed" if bill else "changed"
            changes.append(Change(kind, part.doc, payment, report, part.amount))
    for key, before in previous.items():
        if key in seen or not before.active:
            continue
        doc = docs_by_id.get((key.doc_kind, key.document_id))
        if doc is None:
            continue
        gone = Reported(
            key, before.source, ZERO, before.txn_date, before.method, before.reference, False
        )
        if payment.state == "active":
            # Still a payment, just no longer applied here: the corrected amount is zero.
            kind = "bill_changed" if bill else "changed"
            changes.append(Change(kind, doc, payment, gone, ZERO))
        else:
            kind = "bill_reversed" if bill else "reversed"
            changes.append(Change(kind, doc, payment, gone, before.amount, payment.state))
    return _carry_unapplied(payment, changes)


def _carry_unapplied(payment: QboPayment, changes: list[Change]) -> list[Change]:
    """Put the unapplied amount on one received/changed event of the version only.

    Repeating it on every invoice event of a multi-invoice payment would make consumers that add
    it up count the same customer credit several times. The carrier is the first event about the
    payment's own money (its qbo_payment_id is the payment), else the first one.
    """
    candidates = [i for i, c in enumerate(changes) if c.kind in ("received", "changed")]
    own = [i for i in candidates if changes[i].report.source == "payment"]
    if candidates:
        i = (own or candidates)[0]
        changes[i] = replace(changes[i], unapplied=payment.unapplied)
    return changes


def decide_credit(payment: QboPayment, reported: Decimal | None) -> CreditChange | None:
    """The unapplied-amount event a payment version causes, given the last amount reported.

    Nothing is reported for a payment that never had unapplied money; once some was reported,
    every change of it (down to 0 on a void or delete) is.
    """
    if payment.ours or payment.kind != "payment":
        return None
    now = payment.unapplied if payment.state == "active" else ZERO
    if now == (reported if reported is not None else ZERO):
        return None
    return CreditChange(payment, now)


def _differs(before: Reported, now: Reported) -> bool:
    return (before.amount, before.txn_date, before.method, before.reference) != (
        now.amount,
        now.txn_date,
        now.method,
        now.reference,
    )
