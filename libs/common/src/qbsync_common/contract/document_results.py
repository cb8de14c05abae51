"""What invoice-sync tells upstream about invoices, bills and credit memos."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field

from qbsync_common.contract.bases import ResultEvent
from qbsync_common.contract.partner_results import OPERATION_DESCRIPTION
from qbsync_common.contract.scalars import CurrencyCode, Identifier, Money
from qbsync_common.contract.values import DocumentKind

DocumentFailureReason = Literal[
    "needs-reauthorization",
    "tenant-not-connected",
    "partner-not-synced",
    "client-not-synced",
    "project-not-synced",
    "company-not-ready",
    "currency-mismatch",
    "qbo-validation",
    "qbo-unavailable",
    "other",
]
DocumentSkipReason = Literal[
    "pro-forma",
    "zero-total",
    "no-number",
    "status-not-configured",
    "older-than-cutoff",
    "partner-kind-disabled",
    "already-synced",
    "older-version",
    "removed-by-operator",
]
DOCUMENT_KIND_DESCRIPTION = "invoice (QBO Invoice), bill (QBO Bill), credit_memo (QBO CreditMemo)."
DOCUMENT_ID_DESCRIPTION = "Upstream id of the invoice or credit memo."


class DocumentSynced(ResultEvent):
    """A document is in QBO; store `sync_key`. Totals are as QBO computed them."""

    event_type = "qbsync.document.synced.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "invoice",
                    "document_id": "inv-5521",
                    "version": 4,
                    "sync_key": "1877",
                    "sync_token": "0",
                    "doc_number": "2026/0193",
                    "total": "1840.25",
                    "balance": "1840.25",
                    "currency": "USD",
                    "adopted": False,
                    "operation_id": "op-01HQ90B8C2",
                }
            ]
        }
    )

    document_kind: DocumentKind = Field(description=DOCUMENT_KIND_DESCRIPTION)
    document_id: Identifier = Field(description=DOCUMENT_ID_DESCRIPTION)
    version: int = Field(ge=0, description="The snapshot version that was synced.")
    sync_key: Identifier = Field(description="The QBO document id (the sync key).")
    sync_token: str = Field(description="QBO SyncToken of the document after our write.")
    doc_number: str | None = Field(None, description="QBO DocNumber of the document.")
    total: Money = Field(description="QBO TotalAmt, exact decimal string, in `currency`.")
    balance: Money = Field(description="QBO Balance (still owed), exact decimal string.")
    currency: CurrencyCode = Field(description="Currency of the QBO document.")
    adopted: bool = Field(
        description="True when an existing QBO document with the same number and partner was "
        "adopted instead of creating one."
    )
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class DocumentSyncFailed(ResultEvent):
    """A document could not be synced; `reason_code` says why, `message` explains it."""

    event_type = "qbsync.document.sync_failed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "bill",
                    "document_id": "vinv-301",
                    "version": 2,
                    "reason_code": "client-not-synced",
                    "message": "Client c-77 referenced by this vendor invoice has no QBO key.",
                    "operation_id": "op-01HQ90C1DD",
                }
            ]
        }
    )

    document_kind: DocumentKind = Field(description=DOCUMENT_KIND_DESCRIPTION)
    document_id: Identifier = Field(description=DOCUMENT_ID_DESCRIPTION)
    version: int = Field(ge=0, description="The snapshot version that failed.")
    reason_code: DocumentFailureReason = Field(
        description="needs-reauthorization, tenant-not-connected, partner-not-synced (the partner "
        "could not be synced), client-not-synced / project-not-synced (referenced by a vendor "
        "invoice), company-not-ready (the QBO company cannot take our documents as configured), "
        "currency-mismatch, qbo-validation (QBO rejected the document), qbo-unavailable (retries "
        "exhausted), other."
    )
    message: str = Field(description="Human-readable explanation for the upstream user.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class DocumentSkipped(ResultEvent):
    """A document was deliberately not synced; `reason_code` says why."""

    event_type = "qbsync.document.skipped.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "invoice",
                    "document_id": "inv-5530",
                    "version": 1,
                    "reason_code": "pro-forma",
                    "message": "Pro-forma invoices are not synced.",
                }
            ]
        }
    )

    document_kind: DocumentKind = Field(description=DOCUMENT_KIND_DESCRIPTION)
    document_id: Identifier = Field(description=DOCUMENT_ID_DESCRIPTION)
    version: int = Field(ge=0, description="The snapshot version that was skipped.")
    reason_code: DocumentSkipReason = Field(
        description="pro-forma, zero-total, no-number, status-not-configured (status does not "
        "trigger a sync for this tenant), older-than-cutoff (modified before the tenant's 'sync "
        "items newer than' date), partner-kind-disabled, already-synced (documents are never "
        "updated once in QBO), older-version, removed-by-operator (cleared from the queue)."
    )
    message: str = Field(description="Human-readable explanation.")


class DocumentNeedsReview(ResultEvent):
    """QBO's total differs from ours by more than a cent; an operator must look at the document."""

    event_type = "qbsync.document.needs_review.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "invoice",
                    "document_id": "inv-5521",
                    "version": 4,
                    "sync_key": "1877",
                    "reason": "total-variance",
                    "expected": "1840.25",
                    "qbo_total": "1987.47",
                    "currency": "USD",
                    "operation_id": "op-01HQ90B8C2",
                }
            ]
        }
    )

    document_kind: DocumentKind = Field(description=DOCUMENT_KIND_DESCRIPTION)
    document_id: Identifier = Field(description=DOCUMENT_ID_DESCRIPTION)
    version: int = Field(ge=0, description="The snapshot version concerned.")
    sync_key: Identifier = Field(description="The QBO document id.")
    reason: Literal["total-variance"] = Field(
        description="total-variance: QBO computed a different total (e.g. automated sales tax)."
    )
    expected: Money = Field(description="The total qbsync sent, exact decimal string.")
    qbo_total: Money = Field(description="The total QBO computed, exact decimal string.")
    currency: CurrencyCode = Field(description="Currency of both totals.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class DocumentMarkedPaid(ResultEvent):
    """An operator marked the document paid without syncing a payment.

    From then on qbsync sends no payment of it to QBO, and payments made in QBO against it are
    not reported (no payment.received / payment.changed / payment.reversed about it): the
    operator settled it outside QuickBooks' payment flow. What was reported before stays as it
    was; nothing is retracted.
    """

    event_type = "qbsync.document.marked_paid.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "invoice",
                    "document_id": "inv-5521",
                    "sync_key": "1877",
                    "marked_at": "2026-03-26T10:04:00+00:00",
                    "operation_id": "op-01HQ92A0ZK",
                }
            ]
        }
    )

    document_kind: DocumentKind = Field(description=DOCUMENT_KIND_DESCRIPTION)
    document_id: Identifier = Field(description=DOCUMENT_ID_DESCRIPTION)
    sync_key: Identifier | None = Field(
        description="The QBO document id, or null when the document is not in QBO (yet)."
    )
    marked_at: AwareDatetime = Field(description="When the operator marked it, with offset.")
    operation_id: Identifier = Field(description=OPERATION_DESCRIPTION)


class DocumentRekeyed(ResultEvent):
    """A synced document's QBO key changed: store `new_sync_key` in place of `old_sync_key`.

    The document was no longer found in QBO under its key, and was found by its number and
    partner (XTRF's recovery rule). Payments and later work about the document must use the new
    key; the old one names nothing in QBO any more.
    """

    event_type = "qbsync.document.rekeyed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document_kind": "invoice",
                    "document_id": "inv-5521",
                    "old_sync_key": "1877",
                    "new_sync_key": "1912",
                    "found_by": "number",
                }
            ]
        }
    )

    document_kind: DocumentKind = Field(description=DOCUMENT_KIND_DESCRIPTION)
    document_id: Identifier = Field(description=DOCUMENT_ID_DESCRIPTION)
    old_sync_key: Identifier = Field(description="The QBO id that could no longer be found.")
    new_sync_key: Identifier = Field(description="The QBO id the document is found under now.")
    found_by: Literal["number"] = Field(
        description="number: found by DocNumber and the document's customer or vendor."
    )
