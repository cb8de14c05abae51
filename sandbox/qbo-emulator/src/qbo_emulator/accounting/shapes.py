"""Shape checks of request bodies at the boundary, driven by QBO's field-naming conventions.

QBO's schema is regular: `...Ref` fields are reference objects, `...Detail` blocks are objects,
dates are ISO dates, `Line`/`LinkedTxn` are lists of objects, and a handful of names
are strings, flags, whole numbers or amounts wherever they appear. Checking a body once against
these conventions means the entity rules further in can trust the types they read, so a wrong
type is a 2010 fault naming the element instead of an exception deep in a rule.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from qbo_emulator.accounting import faults
from qbo_emulator.accounting.money import to_decimal

_OBJECTS = frozenset({"CheckPayment", "CreditCardPayment", "MarkupInfo", "MetaData", "OtherPrefs"})
_OBJECT_SUFFIXES = ("Ref", "Detail", "Prefs", "Addr", "Phone", "Currency")
# AttachableRef, TaxRateDetail and BudgetDetail are lists in entities the emulator does not serve.
_OBJECT_LISTS = frozenset(
    {"Line", "LinkedTxn", "NameValue", "TaxLine", "AttachableRef", "TaxRateDetail", "BudgetDetail"}
)
_TEXT = frozenset(
    {
        "DisplayName",
        "Name",
        "CompanyName",
        "LegalName",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Title",
        "Suffix",
        "PrintOnCheckName",
        "FullyQualifiedName",
        "Type",
        "AccountType",
        "AccountSubType",
        "DetailType",
        "PayType",
        "Code",
        "SourceCurrencyCode",
        "TargetCurrencyCode",
        "BillableStatus",
        "EmailStatus",
        "PrintStatus",
        "GlobalTaxCalculation",
        "PrivateNote",
        "Notes",
        "Description",
        "Address",
    }
)
# Identifiers QBO accepts as a JSON string or number (python-quickbooks sends SyncToken as 0, and
# a LinkedTxn's TxnType as 0 until it is set).
_IDENTIFIERS = frozenset(
    {
        "Id",
        "SyncToken",
        "value",
        "TxnId",
        "TxnType",
        "DocNumber",
        "PaymentRefNum",
        "AcctNum",
        "LineNum",
    }
)
_FLAGS = frozenset(
    {
        "Active",
        "Job",
        "BillWithParent",
        "Taxable",
        "sparse",
        "PercentBased",
        "ProcessPayment",
        "TrackQtyOnHand",
        "SubAccount",
        "MultiCurrencyEnabled",
        "Vendor1099",
    }
)
_WHOLE_NUMBERS = frozenset({"DueDays", "DayOfMonthDue", "DueNextMonthDays", "DiscountDays"})
_AMOUNTS = frozenset(
    {
        "Amount",
        "TotalAmt",
        "Balance",
        "UnitPrice",
        "Qty",
        "Rate",
        "ExchangeRate",
        "TotalTax",
        "DiscountPercent",
        "PurchaseCost",
        "QtyOnHand",
        "UnappliedAmt",
    }
)
# Not every "...Date" field is a date (CalcAgingReportFromTxnDate is a flag, WorkWeekStartDate a
# weekday), so dates are named.
_DATES = frozenset(
    {
        "TxnDate",
        "DueDate",
        "ShipDate",
        "ServiceDate",
        "AsOfDate",
        "InvStartDate",
        "OpenBalanceDate",
        "HiredDate",
        "ReleasedDate",
        "BirthDate",
    }
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_DEPTH = 12


def check(body: dict[str, Any], root: str) -> None:
    """Raise a 2010 fault for the first field whose type breaks QBO's conventions."""
    _object(body, root, 0)


def _object(value: dict[str, Any], path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise faults.invalid_property(path)
    for key, item in value.items():
        if item is None or item == "":
            continue  # treated as absent (Ledger.clean)
        _field(key, item, f"{path}.{key}" if path else key, depth)


def _field(key: str, value: Any, path: str, depth: int) -> None:
    if key in _OBJECT_LISTS:
        if not isinstance(value, list):
            raise faults.invalid_property(path)
        for element in value:
            if not isinstance(element, dict):
                raise faults.invalid_property(path)
            _object(element, path, depth + 1)
    elif key in _OBJECTS or key.endswith(_OBJECT_SUFFIXES):
        if not isinstance(value, dict):
            raise faults.invalid_property(path)
        _object(value, path, depth + 1)
    elif key in _TEXT:
        if not isinstance(value, str):
            raise faults.invalid_property(path)
    elif key in _IDENTIFIERS:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise faults.invalid_property(path)
    elif key in _FLAGS:
        if not isinstance(value, bool):
            raise faults.invalid_property(path)
    elif key in _WHOLE_NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise faults.invalid_property(path)
    elif key in _AMOUNTS:
        to_decimal(value, path)
    elif key in _DATES:
        if not is_iso_date(value):
            raise faults.invalid_property(path)
    else:
        _unknown(value, path, depth + 1)


def _unknown(value: Any, path: str, depth: int) -> None:
    """A field with no convention: only its nesting is bounded (clean() and render recurse)."""
    if isinstance(value, dict):
        _object(value, path, depth)
    elif isinstance(value, list):
        if depth > MAX_DEPTH:
            raise faults.invalid_property(path)
        for element in value:
            _unknown(element, path, depth + 1)


def is_iso_date(value: Any) -> bool:
    """A YYYY-MM-DD date, optionally followed by a time (QBO reads the date part)."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True
