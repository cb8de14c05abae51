"""One QBO document per operation: look before creating when in doubt, replay the same requestid,
and recognise our own earlier write by its PrivateNote marker; never a blind second create."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from invoice_sync.domain.document import Document
from invoice_sync.domain.identity import carries_marker
from invoice_sync.service_layer.ports import Books, QboDocument
from qbo_client import (
    DuplicateDocNumberError,
    InvalidReferenceError,
    ObjectNotFoundError,
    ValidationError,
)
from qbsync_common.contract.document_results import DocumentFailureReason


class CreateFailed(Exception):
    """QBO refused the document for good; nothing was created."""

    def __init__(
        self,
        reason: DocumentFailureReason,
        message: str,
        *,
        intuit_tid: str | None = None,
        forget_refs: bool = False,
    ) -> None:
        super().__init__(message)
        self.reason: DocumentFailureReason = reason
        self.message = message
        self.intuit_tid = intuit_tid
        self.forget_refs = forget_refs


class StaleNames(Exception):
    """QBO refused an item or term id we had cached: forget them and try again."""


class Created:
    """The QBO document now holding our document, and whether it was someone else's (adopted)."""

    def __init__(self, document: QboDocument, *, adopted: bool) -> None:
        self.document = document
        self.adopted = adopted


async def create_once(
    books: Books,
    doc: Document,
    body: dict[str, Any],
    partner_key: str,
    operation: str,
    rid: str,
    *,
    look_first: bool,
) -> Created:
    """`look_first` when a previous attempt may have created it (uncertain) and for bills, whose
    numbers QBO does not always keep unique; invoices rely on QBO's duplicate-number refusal so
    that the steady state costs one call."""
    if look_first:
        found = await find_existing(books, doc, partner_key, operation)
        if found is not None:
            return found
    try:
        # A transient error (timeout, 5xx, 429) propagates: the retry replays the same requestid.
        return Created(await books.create_document(doc.kind, body, request_id=rid), adopted=False)
    except DuplicateDocNumberError as exc:
        found = await find_existing(books, doc, partner_key, operation)
        if found is not None:
            return found
        raise number_taken(doc, exc) from exc
    except (ValidationError, ObjectNotFoundError) as exc:
        raise refusal(doc, exc) from exc


def number_taken(doc: Document, exc: ValidationError) -> CreateFailed:
    """QBO's 6140 and no document of that number is ours or the partner's to adopt."""
    return CreateFailed(
        "qbo-validation",
        f"Number {doc.number} is already used in QuickBooks by another partner's document.",
        intuit_tid=exc.intuit_tid,
    )


def refusal(doc: Document, exc: ValidationError | ObjectNotFoundError) -> CreateFailed | StaleNames:
    """What a refused create means for the document (shared by single and batch creates); a
    duplicate number (6140) is not decided here: it needs a look-up first (`number_taken`)."""
    if isinstance(exc, InvalidReferenceError | ObjectNotFoundError):
        element = exc.element or ""
        if "ItemRef" in element or "TermRef" in element:
            return StaleNames(element)
        # The partner itself is gone or inactive in QBO: partner-sync has to bring it back.
        return CreateFailed(
            "qbo-validation",
            f"QuickBooks refused a reference of the document: {exc.detail or exc.message}",
            intuit_tid=exc.intuit_tid,
            forget_refs=True,
        )
    reason: DocumentFailureReason = (
        "currency-mismatch" if (exc.element or "") == "CurrencyRef" else "qbo-validation"
    )
    return CreateFailed(
        reason,
        f"QuickBooks refused the document: {exc.detail or exc.message}",
        intuit_tid=exc.intuit_tid,
    )


async def find_existing(
    books: Books, doc: Document, partner_key: str, operation: str
) -> Created | None:
    found = await books.documents_by_number(doc.kind, (doc.number or "").strip())
    return choose_existing(found, partner_key, operation)


def choose_existing(
    found: Sequence[QboDocument], partner_key: str, operation: str
) -> Created | None:
    """Same number and same partner: ours (marker) or adopted (made by someone else)."""
    same = [d for d in found if d.partner_key == partner_key]
    ours = [d for d in same if carries_marker(d.private_note, operation)]
    if ours:
        return Created(ours[0], adopted=False)
    if same:
        return Created(same[0], adopted=True)
    return None
