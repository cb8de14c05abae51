"""What the handlers need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

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
