"""What the handlers need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from invoice_sync.domain.preflight import CompanyFacts
from qbsync_common.contract.values import DocumentKind

NamedEntity = Literal["Item", "Term"]


@dataclass(frozen=True)
class QboDocument:
    """A QBO Invoice, Bill or CreditMemo as the handlers read it."""

    id: str
    sync_token: str
    doc_number: str | None
    partner_key: str | None
    private_note: str | None
    total: Decimal
    balance: Decimal
    currency: str | None
    # QBO's intuit_tid of the write that produced this document; None when it was read.
    intuit_tid: str | None = None


@dataclass(frozen=True)
class QboPayment:
    id: str
    sync_token: str
    party_key: str | None = None
    private_note: str | None = None


@dataclass(frozen=True)
class BatchAnswer:
    """QBO's answer to one item of a batch: that item's document (or rows), or its own error.
    `error` is a qbo_client error; a transient one means the item's outcome is unknown."""

    document: QboDocument | None = None
    found: tuple[QboDocument, ...] = ()
    error: Exception | None = None


PaymentKind = Literal["Payment", "BillPayment"]


@dataclass(frozen=True)
class NamedRef:
    id: str
    active: bool


class Books(Protocol):
    """One tenant's QBO company, seen through the operations invoice-sync performs."""

    async def company_facts(self) -> CompanyFacts: ...

    async def documents_by_number(self, kind: DocumentKind, number: str) -> list[QboDocument]: ...

    async def get_document(self, kind: DocumentKind, qbo_id: str) -> QboDocument | None: ...

    async def create_document(
        self, kind: DocumentKind, body: dict[str, Any], *, request_id: str
    ) -> QboDocument: ...

    async def delete_document(
        self, kind: DocumentKind, qbo_id: str, *, request_id: str
    ) -> None: ...

    def batch_request_id(self, request_id: str) -> str:
        """The requestid QBO sees for a batch of at most 30 items sent under `request_id`."""
        ...

    async def create_documents(
        self, items: Sequence[tuple[DocumentKind, dict[str, Any]]], *, request_id: str
    ) -> list[BatchAnswer]:
        """One batch call (at most 30 items); answers in the order of `items`."""
        ...

    async def documents_by_numbers(
        self, wanted: Sequence[tuple[DocumentKind, str]]
    ) -> list[BatchAnswer]:
        """`documents_by_number` for many at once (batch queries, at most 30)."""
        ...

    async def find_named(self, entity: NamedEntity, name: str) -> NamedRef | None: ...

    async def create_item(
        self,
        name: str,
        *,
        income_account_id: str | None,
        expense_account_id: str | None,
        request_id: str,
    ) -> str: ...

    async def create_term(self, name: str, due_days: int, *, request_id: str) -> str: ...

    async def create_payment(
        self, kind: PaymentKind, body: dict[str, Any], *, request_id: str
    ) -> QboPayment: ...

    async def payments_on(self, kind: PaymentKind, txn_date: date) -> list[QboPayment]: ...

    async def delete_payment(self, kind: PaymentKind, qbo_id: str, *, request_id: str) -> None: ...


class BooksFactory(Protocol):
    def for_tenant(self, tenant_id: str) -> Books: ...
