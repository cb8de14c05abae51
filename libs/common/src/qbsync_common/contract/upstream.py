"""Events an upstream app publishes into qbsync: full snapshots of partners, projects, documents."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, ConfigDict, Field

from qbsync_common.contract.bases import UpstreamEvent
from qbsync_common.contract.partner_snapshot import VERSION_DESCRIPTION, PartnerSnapshot
from qbsync_common.contract.scalars import CurrencyCode, ExactDecimal, Identifier, Money
from qbsync_common.contract.values import DocumentLine, PartnerKind, PaymentTerms


class PartnerUpserted(UpstreamEvent, PartnerSnapshot):
    """A client or vendor was created or changed upstream; carries the partner's full snapshot."""

    event_type = "qbsync.partner.upserted.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "client",
                    "partner_id": "c-1042",
                    "version": 7,
                    "name": "Acme Translations Ltd",
                    "display_name": "Acme Translations",
                    "company_name": "Acme Translations Ltd",
                    "contact_type": "agency",
                    "email": "billing@acme.example",
                    "phone": "+44 20 7946 0000",
                    "website": "https://acme.example",
                    "tax_id": "GB123456789",
                    "billing_address": {
                        "line1": "1 Long Acre",
                        "line2": None,
                        "city": "London",
                        "region": "Greater London",
                        "postal_code": "WC2E 9LH",
                        "country": "GB",
                    },
                    "currency": "GBP",
                    "active": True,
                }
            ]
        }
    )


class PartnerDeactivated(UpstreamEvent):
    """A client or vendor was deactivated or deleted upstream; its QBO copy is made inactive."""

    event_type = "qbsync.partner.deactivated.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"kind": "vendor", "partner_id": "v-311", "version": 12}],
        }
    )

    kind: PartnerKind = Field(description="client or vendor.")
    partner_id: Identifier = Field(description="The partner's id in the upstream app.")
    version: int = Field(ge=0, description=VERSION_DESCRIPTION)


class ProjectUpserted(UpstreamEvent):
    """A project was created or changed upstream; synced as a QBO sub-customer when enabled."""

    event_type = "qbsync.project.upserted.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "project_id": "p-88",
                    "client_id": "c-1042",
                    "name": "Website localisation 2026",
                    "active": True,
                    "version": 3,
                }
            ]
        }
    )

    project_id: Identifier = Field(description="The project's id in the upstream app.")
    client_id: Identifier = Field(description="Upstream id of the client the project belongs to.")
    name: str = Field(min_length=1, max_length=500, description="Project name (the QBO job name).")
    active: bool = Field(description="Inactive projects are made inactive in QBO.")
    version: int = Field(ge=0, description=VERSION_DESCRIPTION)


class InvoiceStatusChanged(UpstreamEvent):
    """An invoice changed status upstream; carries the invoice's full snapshot.

    Client invoices become QBO Invoices and vendor invoices QBO Bills, once the invoice reaches a
    status the tenant configured.
    """

    event_type = "qbsync.invoice.status_changed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "client",
                    "invoice_id": "inv-5521",
                    "version": 4,
                    "number": "2026/0193",
                    "status": "sent",
                    "pro_forma": False,
                    "issue_date": "2026-03-02",
                    "due_date": "2026-04-01",
                    "modified_at": "2026-03-02T09:15:00Z",
                    "partner_id": "c-1042",
                    "project_id": "p-88",
                    "partner": {
                        "kind": "client",
                        "partner_id": "c-1042",
                        "version": 7,
                        "name": "Acme Translations Ltd",
                        "email": "billing@acme.example",
                        "currency": "EUR",
                        "active": True,
                    },
                    "client_id": None,
                    "payment_terms": {"name": "Net 30", "due_days": 30},
                    "currency": "EUR",
                    "exchange_rate": "1.0825",
                    "lines": [
                        {
                            "name": "Translation EN-DE",
                            "description": "Website, 12,000 words",
                            "quantity": "12000",
                            "unit_price": "0.12",
                            "amount": "1440.00",
                        },
                        {
                            "name": "Proofreading",
                            "description": None,
                            "quantity": "6.5",
                            "unit_price": "40.00",
                            "amount": "260.00",
                        },
                    ],
                    "net_total": "1700.00",
                    "sync_key": None,
                }
            ]
        }
    )

    kind: PartnerKind = Field(
        description="client invoice → QBO Invoice; vendor invoice → QBO Bill."
    )
    invoice_id: Identifier = Field(description="The invoice's id in the upstream app.")
    version: int = Field(ge=0, description=VERSION_DESCRIPTION)
    number: str | None = Field(
        None,
        max_length=100,
        description="Invoice number (QBO DocNumber); invoices without one are skipped.",
    )
    status: str = Field(
        min_length=1,
        max_length=100,
        description="Upstream status; the tenant chooses which statuses trigger a sync.",
    )
    pro_forma: bool = Field(False, description="Pro-forma invoices are never synced.")
    issue_date: date = Field(description="Issue date (ISO 8601 date).")
    due_date: date | None = Field(None, description="Due date (ISO 8601 date), if any.")
    modified_at: AwareDatetime = Field(
        description="Last modification upstream, with time zone; compared with the tenant's "
        "'sync items newer than' date."
    )
    partner_id: Identifier = Field(
        description="Upstream id of the partner: the client of a client invoice, the vendor of a "
        "vendor invoice."
    )
    project_id: Identifier | None = Field(None, description="Upstream id of the project, if any.")
    partner: PartnerSnapshot | None = Field(
        None,
        description="The partner's current snapshot (as in partner.upserted), so that qbsync can "
        "sync a partner it has not seen yet when its first document arrives. Recommended.",
    )
    client_id: Identifier | None = Field(
        None,
        description="For vendor invoices: upstream id of the client the work was for; its QBO "
        "key must exist or the bill fails.",
    )
    payment_terms: PaymentTerms | None = Field(None, description="Payment terms, if any.")
    currency: CurrencyCode = Field(description="ISO 4217 currency of all amounts on the invoice.")
    exchange_rate: ExactDecimal = Field(
        description="Upstream rate from `currency` to the tenant's home currency (1 unit of "
        'currency = rate units of home currency), exact decimal string, e.g. "1.0825".'
    )
    lines: list[DocumentLine] = Field(description="Invoice lines in upstream order.")
    net_total: Money = Field(
        description="Net total; zero-total invoices are skipped, and a balancing line is added "
        "when the lines do not add up to it."
    )
    sync_key: Identifier | None = Field(
        None, description="QBO id already known upstream for this invoice, if any."
    )


class CreditMemoIssued(UpstreamEvent):
    """A credit memo was issued to a client upstream; synced as a QBO CreditMemo."""

    event_type = "qbsync.credit_memo.issued.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "credit_memo_id": "cm-77",
                    "version": 1,
                    "number": "CM-2026/0007",
                    "partner_id": "c-1042",
                    "original_invoice_id": "inv-5521",
                    "issue_date": "2026-03-10",
                    "modified_at": "2026-03-10T14:00:00+01:00",
                    "currency": "EUR",
                    "exchange_rate": "1.0830",
                    "lines": [
                        {
                            "name": "Translation EN-DE",
                            "description": "Credit for 500 words not delivered",
                            "quantity": "500",
                            "unit_price": "0.12",
                            "amount": "60.00",
                        }
                    ],
                    "net_total": "60.00",
                }
            ]
        }
    )

    credit_memo_id: Identifier = Field(description="The credit memo's id in the upstream app.")
    version: int = Field(ge=0, description=VERSION_DESCRIPTION)
    number: str | None = Field(
        None, max_length=100, description="Credit memo number (QBO DocNumber); skipped if absent."
    )
    partner_id: Identifier = Field(description="Upstream id of the client credited.")
    partner: PartnerSnapshot | None = Field(
        None,
        description="The partner's current snapshot (as in partner.upserted), so that qbsync can "
        "sync a partner it has not seen yet when its first document arrives. Recommended.",
    )
    original_invoice_id: Identifier | None = Field(
        None, description="Upstream id of the invoice this credit memo corrects, if any."
    )
    issue_date: date = Field(description="Issue date (ISO 8601 date).")
    modified_at: AwareDatetime | None = Field(
        None, description="Last modification upstream, with time zone."
    )
    currency: CurrencyCode = Field(description="ISO 4217 currency of all amounts.")
    exchange_rate: ExactDecimal = Field(
        description="Upstream rate from `currency` to the tenant's home currency, exact decimal."
    )
    lines: list[DocumentLine] = Field(description="Credit memo lines, amounts positive.")
    net_total: Money = Field(description="Net total credited, positive.")


class PaymentRecordedUpstream(UpstreamEvent):
    """A payment was recorded upstream against an invoice; exported to QBO if the tenant wants."""

    event_type = "qbsync.payment.recorded_upstream.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "pay-9001",
                    "invoice_id": "inv-5521",
                    "invoice_kind": "client",
                    "version": 1,
                    "amount": "850.00",
                    "currency": "EUR",
                    "paid_at": "2026-03-20",
                    "method": "bank transfer",
                    "reference": "SEPA 2026-03-20 ACME",
                    "export_to_qbo": None,
                }
            ]
        }
    )

    payment_id: Identifier = Field(description="The payment's id in the upstream app.")
    invoice_id: Identifier = Field(description="Upstream id of the invoice paid.")
    invoice_kind: PartnerKind = Field(
        description="client: payment received (QBO Payment); vendor: bill paid (QBO BillPayment)."
    )
    version: int = Field(ge=0, description=VERSION_DESCRIPTION)
    amount: Money = Field(description="Amount paid, positive, in `currency`.")
    currency: CurrencyCode = Field(description="ISO 4217 currency of the amount.")
    paid_at: date = Field(description="Date of payment (ISO 8601 date).")
    method: str | None = Field(
        None, max_length=100, description="Payment method as upstream names it."
    )
    reference: str | None = Field(
        None, max_length=100, description="Payment reference (QBO PaymentRefNum)."
    )
    export_to_qbo: bool | None = Field(
        None,
        description="Send this payment to QBO: true or false overrides the tenant's default; "
        "null uses it.",
    )
