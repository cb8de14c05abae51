"""Transaction entities: Invoice, Bill, Payment, BillPayment, CreditMemo and their lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from qbo_client.models.base import (
    EmailAddress,
    EntityKind,
    LinkedTxn,
    PhysicalAddress,
    QBOEntity,
    QBOModel,
    Ref,
    VoidMode,
)


class SalesItemLineDetail(QBOModel):
    ItemRef: Ref | None = None
    Qty: Decimal | None = None
    UnitPrice: Decimal | None = None
    TaxCodeRef: Ref | None = None
    ServiceDate: date | None = None
    ClassRef: Ref | None = None
    ItemAccountRef: Ref | None = None


class AccountBasedExpenseLineDetail(QBOModel):
    AccountRef: Ref | None = None
    BillableStatus: str | None = None
    CustomerRef: Ref | None = None
    TaxCodeRef: Ref | None = None
    ClassRef: Ref | None = None


class ItemBasedExpenseLineDetail(QBOModel):
    ItemRef: Ref | None = None
    Qty: Decimal | None = None
    UnitPrice: Decimal | None = None
    CustomerRef: Ref | None = None
    BillableStatus: str | None = None
    TaxCodeRef: Ref | None = None


# Fields carry QBO's names, which equal some type names; these aliases keep types resolvable.
_SalesItemLineDetail = SalesItemLineDetail
_AccountBasedExpenseLineDetail = AccountBasedExpenseLineDetail
_ItemBasedExpenseLineDetail = ItemBasedExpenseLineDetail
_LinkedTxn = LinkedTxn


class Line(QBOModel):
    """One transaction line; only the detail block matching DetailType is set."""

    Id: str | None = None
    LineNum: int | None = None
    Description: str | None = None
    Amount: Decimal | None = None
    DetailType: str | None = None
    SalesItemLineDetail: _SalesItemLineDetail | None = None
    AccountBasedExpenseLineDetail: _AccountBasedExpenseLineDetail | None = None
    ItemBasedExpenseLineDetail: _ItemBasedExpenseLineDetail | None = None
    LinkedTxn: list[_LinkedTxn] | None = None


class TxnTaxDetail(QBOModel):
    TotalTax: Decimal | None = None
    TxnTaxCodeRef: Ref | None = None


_Line = Line
_TxnTaxDetail = TxnTaxDetail


class Transaction(QBOEntity):
    KIND: ClassVar[EntityKind] = EntityKind.TRANSACTION

    DocNumber: str | None = None
    TxnDate: date | None = None
    PrivateNote: str | None = None
    CurrencyRef: Ref | None = None
    ExchangeRate: Decimal | None = None
    Line: list[_Line] | None = None
    LinkedTxn: list[_LinkedTxn] | None = None
    TotalAmt: Decimal | None = None
    HomeTotalAmt: Decimal | None = None


class Invoice(Transaction):
    ENTITY: ClassVar[str] = "Invoice"
    VOID: ClassVar[VoidMode] = VoidMode.OPERATION_VOID

    CustomerRef: Ref | None = None
    SalesTermRef: Ref | None = None
    DueDate: date | None = None
    BillAddr: PhysicalAddress | None = None
    ShipAddr: PhysicalAddress | None = None
    BillEmail: EmailAddress | None = None
    TxnTaxDetail: _TxnTaxDetail | None = None
    Balance: Decimal | None = None
    HomeBalance: Decimal | None = None
    EmailStatus: str | None = None
    PrintStatus: str | None = None


class CreditMemo(Transaction):
    ENTITY: ClassVar[str] = "CreditMemo"

    CustomerRef: Ref | None = None
    BillAddr: PhysicalAddress | None = None
    TxnTaxDetail: _TxnTaxDetail | None = None
    Balance: Decimal | None = None
    RemainingCredit: Decimal | None = None


class Bill(Transaction):
    ENTITY: ClassVar[str] = "Bill"

    VendorRef: Ref | None = None
    APAccountRef: Ref | None = None
    SalesTermRef: Ref | None = None
    DueDate: date | None = None
    Balance: Decimal | None = None
    HomeBalance: Decimal | None = None


class Payment(Transaction):
    ENTITY: ClassVar[str] = "Payment"
    VOID: ClassVar[VoidMode] = VoidMode.UPDATE_INCLUDE_VOID

    CustomerRef: Ref | None = None
    DepositToAccountRef: Ref | None = None
    PaymentMethodRef: Ref | None = None
    ARAccountRef: Ref | None = None
    PaymentRefNum: str | None = None
    UnappliedAmt: Decimal | None = None
    ProcessPayment: bool | None = None


class CheckPayment(QBOModel):
    BankAccountRef: Ref | None = None
    PrintStatus: str | None = None


class CreditCardPayment(QBOModel):
    CCAccountRef: Ref | None = None


_CheckPayment = CheckPayment
_CreditCardPayment = CreditCardPayment


class BillPayment(Transaction):
    ENTITY: ClassVar[str] = "BillPayment"
    VOID: ClassVar[VoidMode] = VoidMode.UPDATE_INCLUDE_VOID

    VendorRef: Ref | None = None
    APAccountRef: Ref | None = None
    PayType: str | None = None
    CheckPayment: _CheckPayment | None = None
    CreditCardPayment: _CreditCardPayment | None = None
