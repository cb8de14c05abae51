"""A mixed upstream workload for many tenants, and the tally of what came back (pure).

The system tests (SIGKILL, revocation) and the system benchmark play the same stream: clients and
vendors, client invoices, vendor invoices (Bills) and payments recorded upstream, each tenant's
events in causal order (a partner before its invoices, an invoice before its payment) and the
tenants interleaved, as a busy upstream app publishes them. Every name, number and id carries the
tenant's tag, so the effects in a QuickBooks company can be counted record by record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pydantic import BaseModel

from qbsync_common.contract import events
from qbsync_dev.demo.describe import describe
from qbsync_dev.demo.story import (
    SYNCED,
    document_event,
    document_key,
    export_key,
    lines_of,
    partner_event,
    partner_key,
)


@dataclass(frozen=True)
class Mix:
    """How many of each record one tenant publishes (the default is 125 events)."""

    clients: int = 40
    vendors: int = 10
    invoices: int = 50  # client invoices, round-robin over the clients
    bills: int = 15  # vendor invoices, round-robin over the vendors
    payments: int = 10  # payments recorded upstream, on the last invoices

    @property
    def events(self) -> int:
        return self.clients + self.vendors + self.invoices + self.bills + self.payments


@dataclass(frozen=True)
class TenantLoad:
    tenant_id: str
    tag: str
    events: list[BaseModel]
    expected: dict[str, str]  # result key → the outcome that means "done"
    customers: list[str]  # DisplayNames that must exist once in the company
    vendors: list[str]
    invoice_numbers: list[str]  # DocNumbers of Invoices
    bill_numbers: list[str]  # DocNumbers of Bills
    payment_refs: list[str]  # PaymentRefNum of the Payments exported from upstream


def build_load(
    tenant_id: str,
    tag: str,
    mix: Mix,
    client_status: str,
    vendor_status: str,
    *,
    now: datetime | None = None,
) -> TenantLoad:
    now = now or datetime.now(UTC)
    today = now.date()
    clients = [
        partner_event("client", f"c-{tag}-{i}", f"Client {tag} {i:04d}", f"c{i}@{tag}.example")
        for i in range(mix.clients)
    ]
    vendors = [
        partner_event("vendor", f"v-{tag}-{i}", f"Vendor {tag} {i:04d}", f"v{i}@{tag}.example")
        for i in range(mix.vendors)
    ]
    invoices = [
        _document("client", f"inv-{tag}-{i}", f"{tag}-{i:05d}", client_status,
                  clients[i % len(clients)], i, today, now)
        for i in range(mix.invoices if clients else 0)
    ]  # fmt: skip
    bills = [
        _document("vendor", f"vinv-{tag}-{i}", f"B{tag}-{i:05d}", vendor_status,
                  vendors[i % len(vendors)], i, today, now)
        for i in range(mix.bills if vendors else 0)
    ]  # fmt: skip
    paid = invoices[len(invoices) - min(mix.payments, len(invoices)) :]
    payments = [
        events.PaymentRecordedUpstream(
            payment_id=f"pay-{tag}-{i}",
            invoice_id=invoice.invoice_id,
            invoice_kind="client",
            version=1,
            amount=invoice.net_total,
            currency=invoice.currency,
            paid_at=today,
            method="bank transfer",
            reference=f"R{tag}-{i}",
            export_to_qbo=True,
        )
        for i, invoice in enumerate(paid)
    ]
    stream = [*clients, *vendors, *_alternate(invoices, bills), *payments]
    return TenantLoad(
        tenant_id=tenant_id,
        tag=tag,
        events=stream,
        expected={result_key(event): SYNCED for event in stream},
        customers=[c.name for c in clients],
        vendors=[v.name for v in vendors],
        invoice_numbers=[str(d.number) for d in invoices],
        bill_numbers=[str(d.number) for d in bills],
        payment_refs=[str(p.reference) for p in payments],
    )


def result_key(event: BaseModel) -> str:
    """The key (as the tally derives it from results) of the result that reports on an event."""
    match event:
        case events.PartnerUpserted():
            return partner_key(event.kind, event.partner_id)
        case events.InvoiceStatusChanged():
            return document_key("invoice" if event.kind == "client" else "bill", event.invoice_id)
        case events.PaymentRecordedUpstream():
            return export_key(event.payment_id)
    raise TypeError(f"the workload has no {type(event).__name__} events")


def qbo_record(event: BaseModel) -> tuple[str, str]:
    """(QBO entity, the name the census finds it by) of the record an event creates."""
    match event:
        case events.PartnerUpserted():
            return ("Customer" if event.kind == "client" else "Vendor", event.name)
        case events.InvoiceStatusChanged():
            return ("Invoice" if event.kind == "client" else "Bill", str(event.number))
        case events.PaymentRecordedUpstream():
            return ("Payment", str(event.reference))
    raise TypeError(f"the workload has no {type(event).__name__} events")


def _document(
    kind: str,
    invoice_id: str,
    number: str,
    status: str,
    partner: events.PartnerUpserted,
    i: int,
    today: date,
    now: datetime,
) -> events.InvoiceStatusChanged:
    # Varied but exact amounts: quantities with decimals, prices in cents.
    lines = lines_of(
        ("Translation", f"{100 + i % 7 * 25}.5", f"0.{10 + i % 9}"),
        ("Review", "1", f"{20 + i % 13}.75"),
    )
    return document_event(kind, invoice_id, number, status, partner, lines, today=today, now=now)


def _alternate(first: Sequence[BaseModel], second: Sequence[BaseModel]) -> list[BaseModel]:
    out: list[BaseModel] = []
    for i in range(max(len(first), len(second))):
        out += [*first[i : i + 1], *second[i : i + 1]]
    return out


def interleave(loads: Sequence[TenantLoad]) -> Iterator[tuple[str, BaseModel]]:
    """(tenant id, event) round-robin over the tenants, each tenant's own order kept."""
    longest = max((len(load.events) for load in loads), default=0)
    for i in range(longest):
        for load in loads:
            if i < len(load.events):
                yield load.tenant_id, load.events[i]


@dataclass
class Tally:
    """Results per tenant and key: the last outcome, how often each key was reported done, and
    when (for publish-to-result latency)."""

    expected: dict[str, dict[str, str]]  # tenant → key → outcome meaning done
    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)
    done_at: dict[tuple[str, str], float] = field(default_factory=dict)
    reports: Counter[tuple[str, str]] = field(default_factory=Counter)
    received: Counter[tuple[str, str]] = field(default_factory=Counter)  # (tenant, QBO payment id)

    @classmethod
    def of(cls, loads: Sequence[TenantLoad]) -> Tally:
        return cls({load.tenant_id: dict(load.expected) for load in loads})

    def take(self, tenant_id: str, event_type: str, data: BaseModel, at: float) -> None:
        if isinstance(data, events.PaymentReceived):
            self.received[(tenant_id, data.qbo_payment_id)] += 1
            return
        seen = describe(event_type, data)
        wanted = self.expected.get(tenant_id, {})
        if seen.key is None or seen.key not in wanted:
            return
        key = (tenant_id, seen.key)
        self.outcomes[key] = seen.outcome
        if seen.outcome == wanted[seen.key]:
            self.reports[key] += 1
            self.done_at.setdefault(key, at)

    def missing(self, tenant_id: str | None = None) -> list[str]:
        """'tenant key: last outcome' for every expected result not reported done yet."""
        return [
            f"{tenant} {key}: {self.outcomes.get((tenant, key), 'nothing yet')}"
            for tenant, wanted in self.expected.items()
            if tenant_id in (None, tenant)
            for key in wanted
            if (tenant, key) not in self.done_at
        ]

    def complete(self, tenant_id: str | None = None) -> bool:
        return not self.missing(tenant_id)

    def failures(self, tenant_id: str) -> dict[str, str]:
        """key → outcome of this tenant's results that reported a failure."""
        return {
            key: outcome
            for (tenant, key), outcome in self.outcomes.items()
            if tenant == tenant_id and outcome.startswith("failed:")
        }
