"""What the poller asks QBO: changes since a cursor, a document by number, whether a payment exists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from payment_poller.domain.marker import is_ours
from payment_poller.domain.model import ZERO, Link, PaymentKind, QboPayment
from qbo_client.cdc import CDCResult
from qbo_client.models import Bill, BillPayment, CreditMemo, Invoice, Payment
from qbo_client.models.base import QBOEntity
from qbo_client.models.names import NameListEntity
from qbo_client.query import Query
from qbo_client.session import TenantSession

ENTITIES: list[type[QBOEntity]] = [Payment, BillPayment, Invoice, Bill, CreditMemo]
TARGET = {"Invoice": "invoice", "Bill": "bill"}


@dataclass
class Changes:
    """One poll's view of QBO: payments (in CDC order), document balances and deleted documents."""

    payments: list[QboPayment] = field(default_factory=list)
    balances: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    deleted_docs: set[tuple[str, str]] = field(default_factory=set)
    # (kind, QBO id) -> the document's CustomerRef / VendorRef.
    partners: dict[tuple[str, str], str] = field(default_factory=dict)
    time: datetime | None = None
    mode: str = "cdc"


async def fetch_changes(session: TenantSession, since: datetime) -> Changes:
    """One CDC call for an idle tenant; the client splits windows and falls back to queries."""
    result = await session.cdc(ENTITIES, since)
    return to_changes(result)


def to_changes(result: CDCResult) -> Changes:
    out = Changes(time=result.time, mode="query" if result.queried else "cdc")
    payment_kinds: tuple[tuple[str, PaymentKind], ...] = (
        ("Payment", "payment"),
        ("BillPayment", "bill_payment"),
    )
    for name, kind in payment_kinds:
        for obj in result.changed.get(name, []):
            out.payments.append(to_payment(kind, obj))
        for stub in result.deleted.get(name, []):
            out.payments.append(QboPayment(kind, stub.Id or "", "deleted", "deleted"))
    for name, doc_kind in TARGET.items():
        for obj in result.changed.get(name, []):
            balance = getattr(obj, "Balance", None)
            if obj.Id and balance is not None:
                out.balances[(doc_kind, obj.Id)] = Decimal(balance)
            partner = _partner_of(obj)
            if obj.Id and partner is not None:
                out.partners[(doc_kind, obj.Id)] = partner
        for stub in result.deleted.get(name, []):
            out.deleted_docs.add((doc_kind, stub.Id or ""))
    return out


def to_payment(kind: PaymentKind, obj: QBOEntity) -> QboPayment:
    note = getattr(obj, "PrivateNote", None)
    total = Decimal(getattr(obj, "TotalAmt", None) or ZERO)
    lines = getattr(obj, "Line", None) or []
    links = tuple(
        Link(link.TxnType, link.TxnId, Decimal(line.Amount or ZERO))
        for line in lines
        for link in (line.LinkedTxn or [])
    )
    # QBO voids a payment by zeroing it and prefixing the PrivateNote with "Voided".
    voided = total == ZERO and not links and (note or "").startswith("Voided")
    method_ref = getattr(obj, "PaymentMethodRef", None)
    method = method_ref.name if method_ref is not None else getattr(obj, "PayType", None)
    method_id = method_ref.value if method_ref is not None and not method else None
    currency_ref = getattr(obj, "CurrencyRef", None)
    party_ref = getattr(obj, "CustomerRef", None) or getattr(obj, "VendorRef", None)
    return QboPayment(
        kind=kind,
        id=obj.Id or "",
        version=obj.SyncToken or "0",
        state="voided" if voided else "active",
        ours=is_ours(note),
        txn_date=getattr(obj, "TxnDate", None),
        method=method,
        reference=getattr(obj, "PaymentRefNum", None) or getattr(obj, "DocNumber", None),
        currency=currency_ref.value if currency_ref is not None else None,
        total=total,
        unapplied=Decimal(getattr(obj, "UnappliedAmt", None) or ZERO),
        links=links,
        party_id=party_ref.value if party_ref is not None else None,
        method_id=method_id or None,
    )


def _partner_of(obj: QBOEntity) -> str | None:
    ref = getattr(obj, "CustomerRef", None) or getattr(obj, "VendorRef", None)
    value = getattr(ref, "value", None) if ref is not None else None
    return value if isinstance(value, str) and value else None


async def find_by_number(
    session: TenantSession, kind: str, doc_number: str, partner_id: str | None
) -> tuple[str, Decimal] | None:
    """The (QBO id, balance) of the document with this DocNumber and partner, if QBO has one.

    XTRF's rule matches by number and partner: DocNumbers repeat across customers (and bills
    of different vendors often share one). When the partner was never seen (no poll read the
    document before it vanished) only an unambiguous number is adopted.
    """
    entity: type[Invoice] | type[Bill] = Invoice if kind == "invoice" else Bill
    rows = await session.query(Query(entity).where("DocNumber", "=", doc_number))
    candidates = [r for r in rows if r.Id and r.Balance is not None]
    if partner_id is not None:
        candidates = [r for r in candidates if _partner_of(r) == partner_id]
    elif len(candidates) > 1:
        return None
    if not candidates:
        return None
    found = candidates[0]
    assert found.Id is not None and found.Balance is not None
    return found.Id, Decimal(found.Balance)


# Ids per existence query: QBO limits a query statement's length, not the IN list as such.
ID_CHUNK = 100
BY_KIND: dict[str, type[QBOEntity]] = {
    "payment": Payment,
    "bill_payment": BillPayment,
    "invoice": Invoice,
    "bill": Bill,
}


async def existing(session: TenantSession, kind: str, ids: Iterable[str]) -> set[str]:
    """Which of these ids of one entity QBO still has (hard deletes are gone).

    Queries cannot see deletions older than CDC's 30 days, so the query mode asks this instead:
    one query per ID_CHUNK ids rather than one GET per object.
    """
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        rows = await session.query(Query(BY_KIND[kind]).where("Id", "IN", chunk))
        found |= {row.Id for row in rows if row.Id}
    return found


class PaymentMethod(NameListEntity):
    """QBO's PaymentMethod name list (Cash, Check, Visa…); the client library has no model."""

    ENTITY: ClassVar[str] = "PaymentMethod"

    Name: str | None = None
    Type: str | None = None


async def payment_method_names(session: TenantSession, ids: Iterable[str]) -> dict[str, str]:
    """Names of these PaymentMethod ids, inactive ones included (old payments still cite them).

    One query per ID_CHUNK ids; an id QBO does not return is simply absent from the answer.
    """
    wanted = sorted(set(ids))
    names: dict[str, str] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        query = Query(PaymentMethod).where("Id", "IN", chunk).with_inactive()
        for row in await session.query(query):
            if row.Id and row.Name:
                names[row.Id] = row.Name
    return names
