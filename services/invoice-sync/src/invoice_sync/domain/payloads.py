"""QBO Invoice, Bill and CreditMemo bodies from a document and its amount plan (plain dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from invoice_sync.domain.amounts import AmountPlan, PlannedLine
from invoice_sync.domain.document import Document
from invoice_sync.domain.identity import marker
from invoice_sync.domain.naming import item_name
from invoice_sync.domain.policy import SyncPolicy

QBO_ENTITY = {"invoice": "Invoice", "bill": "Bill", "credit_memo": "CreditMemo"}
PARTY_REF = {"invoice": "CustomerRef", "bill": "VendorRef", "credit_memo": "CustomerRef"}
# QBO PrivateNote holds at most 4000 characters; ours is short and says where the document came from.
_NOTE = "Created by qbsync from upstream document {doc_id} (version {version}). {marker}"


@dataclass(frozen=True)
class References:
    """QBO ids the document points at, resolved by the service layer before mapping."""

    partner_key: str
    item_ids: Mapping[str, str]
    term_id: str | None = None
    billable_customer_key: str | None = None


def document_payload(
    doc: Document,
    plan: AmountPlan,
    refs: References,
    policy: SyncPolicy,
    *,
    operation: str,
    multicurrency: bool,
) -> dict[str, Any]:
    """The create body; amounts stay Decimal (the QBO client writes them as exact JSON numbers)."""
    body: dict[str, Any] = {
        PARTY_REF[doc.kind]: {"value": refs.partner_key},
        "DocNumber": (doc.number or "").strip(),
        "TxnDate": doc.issue_date.isoformat(),
        "PrivateNote": _NOTE.format(
            doc_id=doc.document_id, version=doc.version, marker=marker(operation)
        ),
        "Line": [_line(doc, line, refs, policy) for line in plan.lines],
    }
    if multicurrency:
        body["CurrencyRef"] = {"value": plan.currency}
        if plan.exchange_rate is not None:
            body["ExchangeRate"] = plan.exchange_rate
    if doc.due_date is not None and doc.kind != "credit_memo":
        body["DueDate"] = doc.due_date.isoformat()
    if refs.term_id is not None and doc.kind != "credit_memo":
        body["SalesTermRef"] = {"value": refs.term_id}
    return body


def _line(doc: Document, line: PlannedLine, refs: References, policy: SyncPolicy) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": refs.item_ids[item_name(line.name, policy)]}}
    _put(detail, "Qty", line.quantity)
    _put(detail, "UnitPrice", line.unit_price)
    out: dict[str, Any] = {"Amount": line.amount}
    if line.description:
        out["Description"] = line.description
    if doc.kind == "bill":
        if refs.billable_customer_key is not None:
            detail["CustomerRef"] = {"value": refs.billable_customer_key}
            detail["BillableStatus"] = "Billable"
        out["DetailType"] = "ItemBasedExpenseLineDetail"
        out["ItemBasedExpenseLineDetail"] = detail
    else:
        out["DetailType"] = "SalesItemLineDetail"
        out["SalesItemLineDetail"] = detail
    return out


def _put(detail: dict[str, Any], key: str, value: Decimal | None) -> None:
    if value is not None:
        detail[key] = value


def sum_of_lines(body: Mapping[str, Any]) -> Decimal:
    """What QBO will compute as TotalAmt from our lines (no tax): used by the property test."""
    return sum((Decimal(line["Amount"]) for line in body["Line"]), Decimal(0))
