"""Rules of the name lists.

Customer/Vendor/Employee names, Item, Term, PaymentMethod, Account, CompanyCurrency.
"""

from __future__ import annotations

from typing import Any

from qbo_emulator.accounting import faults
from qbo_emulator.accounting.catalogue import CURRENCY_NAMES, LIST_NAME_FIELD, PEOPLE
from qbo_emulator.accounting.money import ZERO, optional_decimal
from qbo_emulator.accounting.refs import named, resolve
from qbo_emulator.accounting.store import Realm, Record

_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
_BAD_CHARS = (":", "\t", "\n")
MAX_JOB_LEVEL = 4

ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    # AccountType -> (Classification, default AccountSubType)
    "Bank": ("Asset", "Checking"),
    "Accounts Receivable": ("Asset", "AccountsReceivable"),
    "Other Current Asset": ("Asset", "OtherCurrentAssets"),
    "Fixed Asset": ("Asset", "MachineryAndEquipment"),
    "Other Asset": ("Asset", "OtherLongTermAssets"),
    "Accounts Payable": ("Liability", "AccountsPayable"),
    "Credit Card": ("Liability", "CreditCard"),
    "Other Current Liability": ("Liability", "OtherCurrentLiabilities"),
    "Long Term Liability": ("Liability", "OtherLongTermLiabilities"),
    "Equity": ("Equity", "OpeningBalanceEquity"),
    "Income": ("Revenue", "SalesOfProductIncome"),
    "Cost of Goods Sold": ("Expense", "SuppliesMaterialsCogs"),
    "Expense": ("Expense", "OtherMiscellaneousServiceCost"),
    "Other Income": ("Revenue", "OtherMiscellaneousIncome"),
    "Other Expense": ("Expense", "OtherMiscellaneousExpense"),
    "Non-Posting": ("Asset", "OtherNonPosting"),
}
PAYMENT_METHOD_TYPES = frozenset({"CREDIT_CARD", "NON_CREDIT_CARD"})
ITEM_TYPES = frozenset(
    {"Service", "NonInventory", "Inventory", "Category", "Group", "Bundle", "Other Charge"}
)


def prepare(realm: Realm, entity: str, rec: Record, old: Record | None) -> Record:
    """Validate a candidate name-list record and fill QBO's computed fields; no state changes."""
    if "Active" not in rec:
        rec["Active"] = True
    elif not isinstance(rec["Active"], bool):
        raise faults.invalid_property("Active")
    if entity in PEOPLE:
        _person(realm, entity, rec, old)
    elif entity == "Item":
        _item(realm, rec, old)
    elif entity == "Term":
        _term(realm, rec, old)
    elif entity == "PaymentMethod":
        _payment_method(realm, rec, old)
    elif entity == "Account":
        _account(realm, rec, old)
    elif entity == "CompanyCurrency":
        _company_currency(realm, rec, old)
    return rec


def commit(realm: Realm, entity: str, rec: Record, old: Record | None) -> None:
    """Keep the uniqueness indexes in step with a saved record."""
    if entity in PEOPLE:
        if old is not None:
            realm.people_names.pop(old["DisplayName"].lower(), None)
        realm.people_names[rec["DisplayName"].lower()] = (entity, rec["Id"])
    elif entity in LIST_NAME_FIELD:
        index = realm.list_names[entity]
        if old is not None:
            index.pop(_unique_key(entity, old), None)
        index[_unique_key(entity, rec)] = rec["Id"]


def _unique_key(entity: str, rec: Record) -> str:
    return str(rec.get("FullyQualifiedName") or rec[LIST_NAME_FIELD[entity]]).lower()


def _text(rec: Record, key: str) -> str | None:
    value = rec.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise faults.invalid_property(key)
    return value


def _person(realm: Realm, entity: str, rec: Record, old: Record | None) -> None:
    display = _text(rec, "DisplayName")
    parts = [p for p in (_text(rec, k) for k in _NAME_PARTS) if p]
    if not display:
        if not parts:
            raise faults.required("DisplayName")
        display = " ".join(parts)
    display = display.strip()
    for key in ("DisplayName", *_NAME_PARTS, "PrintOnCheckName"):
        value = display if key == "DisplayName" else rec.get(key)
        if isinstance(value, str) and any(c in value for c in _BAD_CHARS):
            raise faults.business(f"{key} cannot contain a colon (:), tab or newline.", key)
    if len(display) > 500:
        raise faults.business("DisplayName is longer than 500 characters.", "DisplayName")
    rec["DisplayName"] = display
    email = rec.get("PrimaryEmailAddr")
    if isinstance(email, dict) and email.get("Address"):
        address = str(email["Address"])
        if "@" not in address or "." not in address:
            raise faults.business(
                "Email Address does not conform to the syntax rules of RFC 822.",
                "PrimaryEmailAddr.Address",
            )
    holder = realm.people_names.get(display.lower())
    if holder is not None and (old is None or holder != (entity, old["Id"])):
        raise faults.duplicate_name(display)
    if entity == "Employee":
        return
    _party_currency(realm, rec, old)
    balance = optional_decimal(rec.get("Balance"), "Balance")
    if old is None:
        rec["Balance"] = balance if balance is not None else ZERO
    else:
        rec["Balance"] = old.get("Balance", ZERO)
        if rec["Active"] is False and old.get("Active") and rec["Balance"] != ZERO:
            raise faults.business(
                "Delete List Has Balance Error: The entity you are trying to delete has an open "
                f"balance. : This {entity.lower()} cannot be deleted because it has a non-zero "
                "balance"
            )
    if entity == "Customer":
        _hierarchy(realm, rec, old)
        if old is None:
            rec["BalanceWithJobs"] = rec["Balance"]
        else:
            rec["BalanceWithJobs"] = old.get("BalanceWithJobs", rec["Balance"])
        term = resolve(realm, "Term", rec.get("SalesTermRef"), "SalesTermRef", required=False)
        if term is not None:
            rec["SalesTermRef"] = named(term)
    else:
        term = resolve(realm, "Term", rec.get("TermRef"), "TermRef", required=False)
        if term is not None:
            rec["TermRef"] = named(term)


def _party_currency(realm: Realm, rec: Record, old: Record | None) -> None:
    """A customer's or vendor's currency is set once and never changes."""
    ref = rec.get("CurrencyRef")
    code = ref.get("value") if isinstance(ref, dict) else None
    if old is not None:
        current = old["CurrencyRef"]["value"]
        if code and code != current:
            raise faults.business(
                "You can't change the currency of a name that has already been set.",
                "CurrencyRef",
            )
        rec["CurrencyRef"] = old["CurrencyRef"]
        return
    code = str(code or realm.home_currency).upper()
    if code != realm.home_currency and not realm.multicurrency:
        raise faults.business(
            "Multicurrency is not enabled for this company; CurrencyRef must be the home currency.",
            "CurrencyRef",
        )
    if code not in CURRENCY_NAMES:
        raise faults.invalid_reference("CurrencyRef")
    rec["CurrencyRef"] = {"value": code, "name": CURRENCY_NAMES[code]}


def _hierarchy(realm: Realm, rec: Record, old: Record | None) -> None:
    parent_ref = rec.get("ParentRef")
    is_job = rec.get("Job") is True
    if is_job and not parent_ref:
        raise faults.required("ParentRef")
    if parent_ref:
        parent = resolve(realm, "Customer", parent_ref, "ParentRef", required=True)
        assert parent is not None
        if old is not None and parent["Id"] == old["Id"]:
            raise faults.invalid_reference("ParentRef")
        level = int(parent.get("Level", 0)) + 1
        if level > MAX_JOB_LEVEL:
            raise faults.business("Sub-customers can be nested at most 4 levels deep.")
        rec["Job"] = True
        rec["Level"] = level
        rec["ParentRef"] = {"value": parent["Id"]}
        rec["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{rec['DisplayName']}"
        rec.setdefault("BillWithParent", False)
    else:
        rec["Job"] = False
        rec["Level"] = 0
        rec.pop("ParentRef", None)
        rec["BillWithParent"] = False
        rec["FullyQualifiedName"] = rec["DisplayName"]


def _unique_list_name(realm: Realm, entity: str, rec: Record, old: Record | None) -> None:
    holder = realm.list_names[entity].get(_unique_key(entity, rec))
    if holder is not None and (old is None or holder != old["Id"]):
        raise faults.duplicate_list_name(entity, rec[LIST_NAME_FIELD[entity]])


def _item(realm: Realm, rec: Record, old: Record | None) -> None:
    name = _text(rec, "Name")
    if not name:
        raise faults.required("Name")
    if len(name) > 100 or ":" in name:
        raise faults.business("Item Name must be at most 100 characters without ':'.", "Name")
    kind = rec.get("Type") or (old or {}).get("Type")
    if not kind:
        raise faults.required("Type")
    if kind not in ITEM_TYPES:
        raise faults.validation(
            "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Type"
        )
    if old is not None and old.get("Type") == "Inventory" and kind != "Inventory":
        raise faults.business("You can't change the type of an inventory item.", "Type")
    rec["Type"] = kind
    rec["FullyQualifiedName"] = name
    needs_income = kind in ("Service", "Inventory")
    for key, required in (
        ("IncomeAccountRef", needs_income),
        ("ExpenseAccountRef", kind == "Inventory"),
        ("AssetAccountRef", kind == "Inventory"),
    ):
        account = resolve(realm, "Account", rec.get(key), key, required=required)
        if account is not None:
            rec[key] = named(account, "Name")
    if kind == "Inventory":
        if not rec.get("InvStartDate"):
            raise faults.required("InvStartDate")
        if rec.get("QtyOnHand") is None:
            raise faults.required("QtyOnHand")
        rec["TrackQtyOnHand"] = True
    for key in ("UnitPrice", "PurchaseCost", "QtyOnHand"):
        amount = optional_decimal(rec.get(key), key)
        if amount is not None:
            rec[key] = amount
    _unique_list_name(realm, "Item", rec, old)


def _term(realm: Realm, rec: Record, old: Record | None) -> None:
    name = _text(rec, "Name")
    if not name:
        raise faults.required("Name")
    if len(name) > 31:
        raise faults.business("Term Name must be at most 31 characters.", "Name")
    if rec.get("DayOfMonthDue") is not None:
        # shapes.check made these whole numbers; the calendar bounds them further.
        if not 1 <= rec["DayOfMonthDue"] <= 31:
            raise faults.invalid_property("DayOfMonthDue")
        rec["Type"] = "DATE_DRIVEN"
        rec["DueNextMonthDays"] = rec.get("DueNextMonthDays", 0)
        rec.pop("DueDays", None)
    else:
        rec["Type"] = "STANDARD"
        days = rec.get("DueDays", 0)
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise faults.invalid_property("DueDays")
        rec["DueDays"] = days
    _unique_list_name(realm, "Term", rec, old)


def _payment_method(realm: Realm, rec: Record, old: Record | None) -> None:
    name = _text(rec, "Name")
    if not name:
        raise faults.required("Name")
    if len(name) > 31:
        raise faults.business("PaymentMethod Name must be at most 31 characters.", "Name")
    kind = rec.get("Type") or (old or {}).get("Type") or "NON_CREDIT_CARD"
    if kind not in PAYMENT_METHOD_TYPES:
        raise faults.validation(
            "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Type"
        )
    rec["Type"] = kind
    _unique_list_name(realm, "PaymentMethod", rec, old)


def _account(realm: Realm, rec: Record, old: Record | None) -> None:
    name = _text(rec, "Name")
    if not name:
        raise faults.required("Name")
    if len(name) > 100 or '"' in name or ":" in name:
        raise faults.business('Account Name must be at most 100 characters without " or :.')
    if ":" in str(rec.get("AcctNum") or ""):
        raise faults.business("AcctNum cannot contain a colon.", "AcctNum")
    kind: Any = rec.get("AccountType") or (old or {}).get("AccountType")
    if not kind:
        raise faults.required("AccountType")
    if kind not in ACCOUNT_TYPES:
        raise faults.validation(
            "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "AccountType"
        )
    classification, subtype = ACCOUNT_TYPES[kind]
    rec["AccountType"] = kind
    rec["Classification"] = classification
    rec.setdefault("AccountSubType", subtype)
    rec["CurrentBalance"] = (old or {}).get("CurrentBalance", ZERO)
    rec["CurrentBalanceWithSubAccounts"] = rec["CurrentBalance"]
    if rec.get("ParentRef"):
        parent = resolve(realm, "Account", rec["ParentRef"], "ParentRef", required=True)
        assert parent is not None
        rec["SubAccount"] = True
        rec["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}"
    else:
        rec["SubAccount"] = False
        rec["FullyQualifiedName"] = name
    code = (
        rec.get("CurrencyRef", {}).get("value")
        if isinstance(rec.get("CurrencyRef"), dict)
        else None
    )
    code = (old or {}).get("CurrencyRef", {}).get("value") or code or realm.home_currency
    rec["CurrencyRef"] = {"value": code, "name": CURRENCY_NAMES.get(code, code)}
    _unique_list_name(realm, "Account", rec, old)


def _company_currency(realm: Realm, rec: Record, old: Record | None) -> None:
    if not realm.multicurrency:
        raise faults.business("Multicurrency is not enabled for this company.")
    code = _text(rec, "Code")
    if not code:
        raise faults.required("Code")
    code = code.upper()
    if code not in CURRENCY_NAMES:
        raise faults.invalid_reference("Code")
    if old is None and any(e.data["Code"] == code for e in realm.live("CompanyCurrency")):
        raise faults.business(f"The currency {code} is already in the currency list.")
    rec["Code"] = code
    rec["Name"] = CURRENCY_NAMES[code]
