"""Which entities the emulator serves and how each behaves (name list, transaction, singleton)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    NAME_LIST = "name list"
    TRANSACTION = "transaction"
    SINGLETON = "singleton"
    CURRENCY = "currency"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    kind: Kind
    voidable: bool = False
    cdc: bool = True
    # Fields QBO computes; whatever a client sends for them is ignored.
    read_only: frozenset[str] = frozenset()


_COMMON_RO = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
_NAME_RO = _COMMON_RO | {"FullyQualifiedName", "Level", "BalanceWithJobs", "IsProject"}
_TXN_RO = _COMMON_RO | {"TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance", "RemainingCredit"}

SPECS: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec("Customer", Kind.NAME_LIST, read_only=_NAME_RO),
        EntitySpec("Vendor", Kind.NAME_LIST, read_only=_NAME_RO),
        EntitySpec("Employee", Kind.NAME_LIST, read_only=_NAME_RO),
        EntitySpec("Item", Kind.NAME_LIST, read_only=_NAME_RO),
        EntitySpec("Term", Kind.NAME_LIST, read_only=_NAME_RO | {"Type"}),
        EntitySpec("PaymentMethod", Kind.NAME_LIST, read_only=_NAME_RO),
        EntitySpec("Account", Kind.NAME_LIST, read_only=_NAME_RO | {"Classification"}),
        EntitySpec("Invoice", Kind.TRANSACTION, voidable=True, read_only=_TXN_RO),
        EntitySpec("Bill", Kind.TRANSACTION, read_only=_TXN_RO),
        EntitySpec("CreditMemo", Kind.TRANSACTION, read_only=_TXN_RO),
        EntitySpec(
            "Payment",
            Kind.TRANSACTION,
            voidable=True,
            read_only=_COMMON_RO | {"UnappliedAmt", "HomeTotalAmt"},
        ),
        EntitySpec(
            "BillPayment", Kind.TRANSACTION, voidable=True, read_only=_COMMON_RO | {"HomeTotalAmt"}
        ),
        EntitySpec("CompanyInfo", Kind.SINGLETON, read_only=_COMMON_RO),
        EntitySpec("Preferences", Kind.SINGLETON, read_only=_COMMON_RO),
        EntitySpec("CompanyCurrency", Kind.CURRENCY, read_only=_COMMON_RO | {"Name"}),
        EntitySpec("ExchangeRate", Kind.CURRENCY, cdc=False, read_only=_COMMON_RO),
    )
}

# URL segments are the lower-case entity names ("URIs are case sensitive").
BY_SEGMENT: dict[str, EntitySpec] = {name.lower(): spec for name, spec in SPECS.items()}
# Query and CDC entity names are case-insensitive.
BY_LOWER = BY_SEGMENT

# Customer, Vendor and Employee share one DisplayName namespace.
PEOPLE = frozenset({"Customer", "Vendor", "Employee"})
LIST_NAME_FIELD = {"Item": "Name", "Term": "Name", "PaymentMethod": "Name", "Account": "Name"}

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "INR": "Indian Rupee",
    "JPY": "Japanese Yen",
    "MXN": "Mexican Peso",
    "CHF": "Swiss Franc",
    "NZD": "New Zealand Dollar",
}
