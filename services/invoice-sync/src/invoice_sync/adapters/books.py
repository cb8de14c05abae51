"""The Books port over qbo_client: QBO reads and writes of one tenant, mapped to plain values."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from invoice_sync.domain.preflight import AccountFact, CompanyFacts
from invoice_sync.service_layer.ports import (
    BatchAnswer,
    NamedEntity,
    NamedRef,
    PaymentKind,
    QboDocument,
    QboPayment,
)
from qbo_client import (
    Account,
    Bill,
    BillPayment,
    CreditMemo,
    Invoice,
    Item,
    ObjectNotFoundError,
    Payment,
    Priority,
    QBOClient,
    Query,
    Term,
)
from qbo_client.batch import BATCH_MAX_ITEMS, BatchOp, chunk_request_id
from qbo_client.client import TenantSession
from qbo_client.models.transactions import Transaction
from qbsync_common.contract.values import DocumentKind

PAYMENTS: dict[PaymentKind, type[Payment] | type[BillPayment]] = {
    "Payment": Payment,
    "BillPayment": BillPayment,
}
ENTITIES: dict[DocumentKind, type[Invoice] | type[Bill] | type[CreditMemo]] = {
    "invoice": Invoice,
    "bill": Bill,
    "credit_memo": CreditMemo,
}


class QboBooks:
    """Books of one tenant through a QBO client session."""

    def __init__(self, session: TenantSession) -> None:
        self._s = session

    async def company_facts(self) -> CompanyFacts:
        prefs = await self._s.preferences()
        info = await self._s.company_info()
        extra: dict[str, Any] = prefs.model_extra or {}
        tax = extra.get("TaxPrefs") or {}
        currency = prefs.CurrencyPrefs
        home = (currency.home_currency if currency else None) or "USD"
        sales = prefs.SalesFormsPrefs
        accounts = [
            AccountFact(
                id=str(a.Id),
                name=a.Name or "",
                account_type=a.AccountType or "",
                sub_type=a.AccountSubType,
                active=a.Active is not False,
            )
            async for a in self._s.iterate(Query(Account).with_inactive())
        ]
        return CompanyFacts(
            home_currency=home,
            multicurrency=bool(currency and currency.MultiCurrencyEnabled),
            custom_txn_numbers=bool(sales and sales.CustomTxnNumbers),
            automated_sales_tax=bool(tax.get("PartnerTaxEnabled")),
            accounts=tuple(accounts),
            company_name=info.CompanyName or "",
        )

    async def documents_by_number(self, kind: DocumentKind, number: str) -> list[QboDocument]:
        found = await self._s.query(Query(ENTITIES[kind]).where("DocNumber", "=", number))
        return [_document(d) for d in found]

    async def get_document(self, kind: DocumentKind, qbo_id: str) -> QboDocument | None:
        try:
            return _document(await self._s.get(ENTITIES[kind], qbo_id))
        except ObjectNotFoundError:
            return None

    async def create_document(
        self, kind: DocumentKind, body: dict[str, Any], *, request_id: str
    ) -> QboDocument:
        created = await self._s.create(ENTITIES[kind].model_validate(body), request_id=request_id)
        return _document(created)

    async def delete_document(self, kind: DocumentKind, qbo_id: str, *, request_id: str) -> None:
        current = await self._s.get(ENTITIES[kind], qbo_id)
        await self._s.delete(current, request_id=request_id)

    def batch_request_id(self, request_id: str) -> str:
        return chunk_request_id(request_id, 0)

    async def create_documents(
        self, items: Sequence[tuple[DocumentKind, dict[str, Any]]], *, request_id: str
    ) -> list[BatchAnswer]:
        if len(items) > BATCH_MAX_ITEMS:
            raise ValueError(f"{len(items)} documents; one batch takes at most {BATCH_MAX_ITEMS}")
        ops = [BatchOp.create(ENTITIES[kind].model_validate(body)) for kind, body in items]
        results = await self._s.batch(ops, request_id=request_id)
        return [
            BatchAnswer(
                document=_document(r.entity) if isinstance(r.entity, Transaction) else None,
                error=r.error,
            )
            for r in results
        ]

    async def documents_by_numbers(
        self, wanted: Sequence[tuple[DocumentKind, str]]
    ) -> list[BatchAnswer]:
        if len(wanted) > BATCH_MAX_ITEMS:
            raise ValueError(f"{len(wanted)} look-ups; one batch takes at most {BATCH_MAX_ITEMS}")
        ops = [
            BatchOp.select(Query(ENTITIES[kind]).where("DocNumber", "=", number))
            for kind, number in wanted
        ]
        # A read must never be replayed (it would hide a create made since): a fresh requestid.
        results = await self._s.batch(ops, request_id=str(uuid.uuid4()))
        return [
            BatchAnswer(
                found=tuple(_document(d) for d in r.rows or () if isinstance(d, Transaction)),
                error=r.error,
            )
            for r in results
        ]

    async def find_named(self, entity: NamedEntity, name: str) -> NamedRef | None:
        cls: type[Item] | type[Term] = Item if entity == "Item" else Term
        rows = await self._s.query(Query(cls).where("Name", "=", name).with_inactive())
        if not rows:
            return None
        # An active entry wins over an inactive one of the same name (QBO renames deleted ones).
        best = sorted(rows, key=lambda r: r.Active is False)[0]
        return NamedRef(str(best.Id), best.Active is not False)

    async def create_item(
        self,
        name: str,
        *,
        income_account_id: str | None,
        expense_account_id: str | None,
        request_id: str,
    ) -> str:
        body: dict[str, Any] = {"Name": name, "Type": "Service"}
        if income_account_id:
            body["IncomeAccountRef"] = {"value": income_account_id}
        if expense_account_id:
            body["ExpenseAccountRef"] = {"value": expense_account_id}
        item = await self._s.create(Item.model_validate(body), request_id=request_id)
        return str(item.Id)

    async def create_term(self, name: str, due_days: int, *, request_id: str) -> str:
        term = await self._s.create(
            Term(Name=name, Type="STANDARD", DueDays=due_days), request_id=request_id
        )
        return str(term.Id)

    async def create_payment(
        self, kind: PaymentKind, body: dict[str, Any], *, request_id: str
    ) -> QboPayment:
        cls = PAYMENTS[kind]
        return _payment(await self._s.create(cls.model_validate(body), request_id=request_id))

    async def payments_on(self, kind: PaymentKind, txn_date: date) -> list[QboPayment]:
        found = await self._s.query(
            Query(PAYMENTS[kind]).where("TxnDate", "=", txn_date.isoformat())
        )
        return [_payment(p) for p in found]

    async def delete_payment(self, kind: PaymentKind, qbo_id: str, *, request_id: str) -> None:
        current = await self._s.get(PAYMENTS[kind], qbo_id)
        await self._s.delete(current, request_id=request_id)


def _payment(payment: Payment | BillPayment) -> QboPayment:
    party = getattr(payment, "CustomerRef", None) or getattr(payment, "VendorRef", None)
    return QboPayment(
        str(payment.Id),
        str(payment.SyncToken),
        party_key=party.value if party else None,
        private_note=payment.PrivateNote,
    )


def _document(doc: Transaction) -> QboDocument:
    party = getattr(doc, "CustomerRef", None) or getattr(doc, "VendorRef", None)
    return QboDocument(
        id=str(doc.Id),
        sync_token=str(doc.SyncToken),
        doc_number=doc.DocNumber,
        partner_key=party.value if party else None,
        private_note=doc.PrivateNote,
        total=doc.TotalAmt if doc.TotalAmt is not None else Decimal(0),
        balance=getattr(doc, "Balance", None) or Decimal(0),
        currency=doc.CurrencyRef.value if doc.CurrencyRef else None,
        intuit_tid=doc.intuit_tid,
    )


class QboBooksFactory:
    """Background priority: document sync is bulk work next to interactive operator calls."""

    def __init__(self, client: QBOClient, *, priority: Priority = Priority.BACKGROUND) -> None:
        self._client = client
        self._priority = priority

    def for_tenant(self, tenant_id: str) -> QboBooks:
        return QboBooks(self._client.for_tenant(tenant_id, priority=self._priority))
