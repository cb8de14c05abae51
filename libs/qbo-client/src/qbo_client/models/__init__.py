"""Typed pydantic models for the QBO entities qbsync uses."""

from qbo_client.models.base import (
    EmailAddress,
    EntityKind,
    LinkedTxn,
    MetaData,
    PhysicalAddress,
    QBOEntity,
    QBOModel,
    Ref,
    TelephoneNumber,
    VoidMode,
)
from qbo_client.models.company import CompanyInfo, CurrencyPrefs, ExchangeRate, Preferences
from qbo_client.models.names import Account, Customer, Item, NameListEntity, Term, Vendor
from qbo_client.models.transactions import (
    AccountBasedExpenseLineDetail,
    Bill,
    BillPayment,
    CreditMemo,
    Invoice,
    ItemBasedExpenseLineDetail,
    Line,
    Payment,
    SalesItemLineDetail,
    Transaction,
    TxnTaxDetail,
)

ENTITY_TYPES: dict[str, type[QBOEntity]] = {
    cls.ENTITY: cls
    for cls in (
        Customer,
        Vendor,
        Item,
        Term,
        Account,
        Invoice,
        Bill,
        Payment,
        BillPayment,
        CreditMemo,
        CompanyInfo,
        Preferences,
        ExchangeRate,
    )
}

__all__ = [
    "ENTITY_TYPES",
    "Account",
    "AccountBasedExpenseLineDetail",
    "Bill",
    "BillPayment",
    "CompanyInfo",
    "CreditMemo",
    "CurrencyPrefs",
    "Customer",
    "EmailAddress",
    "EntityKind",
    "ExchangeRate",
    "Invoice",
    "Item",
    "ItemBasedExpenseLineDetail",
    "Line",
    "LinkedTxn",
    "MetaData",
    "NameListEntity",
    "Payment",
    "PhysicalAddress",
    "Preferences",
    "QBOEntity",
    "QBOModel",
    "Ref",
    "SalesItemLineDetail",
    "TelephoneNumber",
    "Term",
    "Transaction",
    "TxnTaxDetail",
    "Vendor",
    "VoidMode",
]
