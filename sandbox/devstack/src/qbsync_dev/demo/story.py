"""The demo story as data: what the upstream app publishes for one tenant, and what must come back.

Pure: builds contract models and expectations; the player publishes them and watches results.
Every id and name carries a run tag, so the story can be played again on the same stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel

from qbsync_common.contract import events
from qbsync_common.contract.values import DocumentLine, PaymentTerms

SYNCED = "synced"
RECEIVED = "received"
CURRENCY = "USD"


@dataclass(frozen=True)
class Expectation:
    key: str  # the same key the result describer derives from a result event
    outcome: str  # "synced", "skipped:<reason>", "received"
    what: str  # one line for people: what this step shows


@dataclass(frozen=True)
class Story:
    tag: str
    events: list[BaseModel]
    expectations: list[Expectation]
    paid_invoice_id: str  # the invoice a QuickBooks user pays once it is synced


def partner_key(kind: str, partner_id: str) -> str:
    return f"partner {kind} {partner_id}"


def document_key(kind: str, document_id: str) -> str:
    return f"document {kind} {document_id}"


def payment_key(invoice_id: str) -> str:
    return f"payment-received {invoice_id}"


def export_key(payment_id: str) -> str:
    """A payment recorded upstream, exported to QBO (or not)."""
    return f"payment-exported {payment_id}"


def partner_event(kind: str, partner_id: str, name: str, email: str) -> events.PartnerUpserted:
    return events.PartnerUpserted(
        kind=kind,
        partner_id=partner_id,
        version=1,
        name=name,
        email=email,
        currency=CURRENCY,
        active=True,
    )


def lines_of(*items: tuple[str, str, str]) -> list[DocumentLine]:
    return [
        DocumentLine(
            name=name,
            description=None,
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            amount=Decimal(quantity) * Decimal(price),
        )
        for name, quantity, price in items
    ]


def document_event(
    kind: str,
    invoice_id: str,
    number: str | None,
    status: str,
    partner: events.PartnerUpserted,
    lines: list[DocumentLine],
    *,
    pro_forma: bool = False,
    today: date,
    now: datetime,
) -> events.InvoiceStatusChanged:
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return events.InvoiceStatusChanged(
        kind=kind,
        invoice_id=invoice_id,
        version=1,
        number=number,
        status=status,
        pro_forma=pro_forma,
        issue_date=today,
        due_date=None,
        modified_at=now,
        partner_id=partner.partner_id,
        partner=events.PartnerSnapshot.model_validate(partner.model_dump()),
        payment_terms=PaymentTerms(name="Net 30", due_days=30),
        currency=CURRENCY,
        exchange_rate=Decimal("1"),
        lines=lines,
        net_total=total,
    )


def build_story(
    tag: str, client_status: str, vendor_status: str, *, now: datetime | None = None
) -> Story:
    """The story for one run; `client_status`/`vendor_status` are statuses the tenant syncs."""
    now = now or datetime.now(UTC)
    today = now.date()
    acme = partner_event("client", f"c-{tag}-1", f"Acme Translations {tag}", "billing@acme.example")
    globex = partner_event("client", f"c-{tag}-2", f"Globex Publishing {tag}", "ap@globex.example")
    # The same business is a client and a vendor: QBO needs distinct names across both lists.
    north_client = partner_event(
        "client", f"c-{tag}-3", f"Northwind Studio {tag}", "nw@north.example"
    )
    north_vendor = partner_event(
        "vendor", f"v-{tag}-3", f"Northwind Studio {tag}", "nw@north.example"
    )
    lingua = partner_event("vendor", f"v-{tag}-1", f"Lingua Freelance {tag}", "pay@lingua.example")
    partners = [acme, globex, north_client, north_vendor, lingua]

    work = lines_of(("Translation EN-DE", "1200", "0.12"), ("Proofreading", "6.5", "40.00"))
    invoice = document_event(
        "client", f"inv-{tag}-1", f"{tag}-0001", client_status, acme, work, today=today, now=now
    )
    to_pay = document_event(
        "client",
        f"inv-{tag}-2",
        f"{tag}-0002",
        client_status,
        globex,
        lines_of(("Subtitling", "3", "150.00")),
        today=today,
        now=now,
    )
    pro_forma = document_event(
        "client",
        f"inv-{tag}-3",
        f"{tag}-PF01",
        client_status,
        acme,
        work,
        pro_forma=True,
        today=today,
        now=now,
    )
    zero = document_event(
        "client",
        f"inv-{tag}-4",
        f"{tag}-0004",
        client_status,
        north_client,
        lines_of(("Goodwill review", "1", "0.00")),
        today=today,
        now=now,
    )
    bill = document_event(
        "vendor",
        f"vinv-{tag}-1",
        f"L-{tag}-17",
        vendor_status,
        lingua,
        lines_of(("Freelance translation", "1000", "0.08")),
        today=today,
        now=now,
    )
    documents = [invoice, to_pay, pro_forma, zero, bill]

    expectations = [
        Expectation(partner_key(p.kind, p.partner_id), SYNCED, f"{p.kind} {p.name!r} in QBO")
        for p in partners
    ]
    expectations += [
        Expectation(document_key("invoice", invoice.invoice_id), SYNCED, "invoice in QBO"),
        Expectation(document_key("invoice", to_pay.invoice_id), SYNCED, "invoice to be paid"),
        Expectation(
            document_key("invoice", pro_forma.invoice_id), "skipped:pro-forma", "pro-forma skipped"
        ),
        Expectation(
            document_key("invoice", zero.invoice_id), "skipped:zero-total", "zero-value skipped"
        ),
        Expectation(document_key("bill", bill.invoice_id), SYNCED, "vendor invoice as a Bill"),
        Expectation(payment_key(to_pay.invoice_id), RECEIVED, "payment made in QuickBooks"),
    ]
    return Story(tag, [*partners, *documents], expectations, to_pay.invoice_id)
