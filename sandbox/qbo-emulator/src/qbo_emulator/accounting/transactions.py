"""Rules of sales and purchase documents: Invoice, CreditMemo, Bill (lines, totals, currency)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from qbo_emulator.accounting import faults
from qbo_emulator.accounting.catalogue import CURRENCY_NAMES
from qbo_emulator.accounting.money import ZERO, cents, optional_decimal
from qbo_emulator.accounting.refs import named, resolve
from qbo_emulator.accounting.store import Realm, Record

SALES = frozenset({"Invoice", "CreditMemo"})
PARTY = {
    "Invoice": "Customer",
    "CreditMemo": "Customer",
    "Payment": "Customer",
    "Bill": "Vendor",
    "BillPayment": "Vendor",
}


def party_ref_field(entity: str) -> str:
    return f"{PARTY[entity]}Ref"


def parse_date(value: Any, element: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise faults.invalid_property(element) from None


def header(realm: Realm, entity: str, rec: Record, today: date) -> Record:
    """Party, dates and currency shared by every transaction; returns the party record."""
    field = party_ref_field(entity)
    party = resolve(realm, PARTY[entity], rec.get(field), field, required=True)
    assert party is not None
    rec[field] = named(party)
    rec["TxnDate"] = parse_date(rec.get("TxnDate") or today, "TxnDate").isoformat()
    _currency(realm, rec, party)
    return party


def _currency(realm: Realm, rec: Record, party: Record) -> None:
    party_code = party["CurrencyRef"]["value"]
    ref = rec.get("CurrencyRef")
    code = ref.get("value") if isinstance(ref, dict) else None
    if not code:
        if realm.multicurrency:
            # QBO.md §3.6-3.8, §7.2: once multicurrency is on, every transaction names its
            # currency, even one in the home currency.
            raise faults.required("CurrencyRef")
        code = party_code
    code = str(code).upper()
    if code != party_code:
        raise faults.business(
            f"The currency of the transaction ({code}) must match the currency of the "
            f"{'customer' if 'CustomerRef' in rec else 'vendor'} ({party_code}).",
            "CurrencyRef",
        )
    rec["CurrencyRef"] = {"value": code, "name": CURRENCY_NAMES.get(code, code)}
    if code == realm.home_currency:
        rec["ExchangeRate"] = Decimal(1)
        return
    rate = optional_decimal(rec.get("ExchangeRate"), "ExchangeRate")
    if rate is None or rate <= ZERO:
        rate = realm_rate(realm, code, rec["TxnDate"])
    rec["ExchangeRate"] = rate


def latest_rate(realm: Realm, code: str, as_of: str) -> Record | None:
    """The stored ExchangeRate for a currency on, or most recently before, a date."""
    best: Record | None = None
    for entry in realm.live("ExchangeRate"):
        data = entry.data
        eligible = data["SourceCurrencyCode"] == code and data["AsOfDate"] <= as_of
        if eligible and (best is None or data["AsOfDate"] > best["AsOfDate"]):
            best = data
    return best


def realm_rate(realm: Realm, code: str, as_of: str) -> Decimal:
    """The company's rate for a date; 1 when it has none (QBO would use its own feed)."""
    best = latest_rate(realm, code, as_of)
    return Decimal(best["Rate"]) if best else Decimal(1)


def home_amounts(realm: Realm, rec: Record, fields: tuple[str, ...]) -> None:
    if not realm.multicurrency:
        rec.pop("ExchangeRate", None)
        return
    rate: Decimal = rec.get("ExchangeRate", Decimal(1))
    for key in fields:
        if key in rec:
            rec[f"Home{key}"] = cents(rec[key] * rate)


def document(realm: Realm, entity: str, rec: Record, old: Record | None, today: date) -> Record:
    """Validate an Invoice, CreditMemo or Bill and compute lines, totals and balances."""
    header(realm, entity, rec, today)
    lines = rec.get("Line")
    if not isinstance(lines, list) or not lines:
        raise faults.required("Line")
    if entity in SALES:
        total = _sales_lines(realm, rec, lines)
    else:
        total = _expense_lines(realm, rec, lines)
    tax_detail = rec.get("TxnTaxDetail") or {}
    tax = optional_decimal(tax_detail.get("TotalTax"), "TxnTaxDetail.TotalTax")
    if tax:
        total += tax
    rec["TotalAmt"] = cents(total)
    _due_date(realm, entity, rec)
    if entity == "Bill":
        ap = resolve(realm, "Account", rec.get("APAccountRef"), "APAccountRef", required=False)
        if ap is not None:
            if ap["AccountType"] != "Accounts Payable":
                raise faults.invalid_reference("APAccountRef")
            rec["APAccountRef"] = named(ap, "Name")
    paid = _applied(old) if old is not None else ZERO
    if rec["TotalAmt"] < paid:
        raise faults.business(
            "The transaction total is less than the amount already paid on it.", "Line"
        )
    if entity == "CreditMemo":
        rec["RemainingCredit"] = rec["TotalAmt"] - paid
        rec["Balance"] = rec["RemainingCredit"]
    else:
        rec["Balance"] = rec["TotalAmt"] - paid
    # Payment links are owned by the payment; estimate links could be kept but are not modelled.
    rec["LinkedTxn"] = list((old or {}).get("LinkedTxn", []))
    home_amounts(realm, rec, ("TotalAmt", "Balance"))
    if entity == "Invoice":
        rec.setdefault("EmailStatus", "NotSet")
        rec.setdefault("PrintStatus", "NotSet")
    return rec


def _applied(old: Record) -> Decimal:
    if "RemainingCredit" in old:
        return Decimal(old["TotalAmt"] - old["RemainingCredit"])
    return Decimal(old["TotalAmt"] - old["Balance"])


def _line_amount(line: dict[str, Any], index: int) -> Decimal:
    amount = optional_decimal(line.get("Amount"), "Line.Amount")
    if amount is None:
        raise faults.required(f"Line[{index}].Amount")
    return cents(amount)


def _sales_lines(realm: Realm, rec: Record, lines: list[Any]) -> Decimal:
    subtotal = ZERO
    discount = ZERO
    kept: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise faults.invalid_property("Line")
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # recomputed below, as QBO does
        if kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            if not isinstance(detail, dict):
                raise faults.invalid_property("Line.SalesItemLineDetail")
            element = "Line.SalesItemLineDetail.ItemRef"
            item = resolve(realm, "Item", detail.get("ItemRef"), element, required=True)
            assert item is not None
            if item.get("Type") == "Category":
                raise faults.invalid_reference(
                    element, "Categories cannot be used in transactions."
                )
            amount = _line_amount(line, index)
            qty = optional_decimal(detail.get("Qty"), "Qty")
            price = optional_decimal(detail.get("UnitPrice"), "UnitPrice")
            if qty and price and cents(qty * price) != amount:
                raise faults.business(
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                    "Line.Amount",
                )
            if item.get("Type") == "Inventory" and not qty:
                raise faults.validation(
                    "6520",
                    "Missing Inventory Item Quantity",
                    "Quantity required for inventory item",
                )
            detail["ItemRef"] = named(item, "Name")
            line["SalesItemLineDetail"] = detail
            line["Amount"] = amount
            subtotal += amount
        elif kind == "DiscountLineDetail":
            amount = _line_amount(line, index)
            detail = line.get("DiscountLineDetail") or {}
            percent = optional_decimal(detail.get("DiscountPercent"), "DiscountPercent")
            if detail.get("PercentBased") and percent is not None:
                amount = cents(subtotal * percent / 100)
            line["Amount"] = amount
            discount += amount
        elif kind == "DescriptionOnly":
            line["Amount"] = optional_decimal(line.get("Amount"), "Line.Amount") or ZERO
        elif kind is None:
            raise faults.required("Line.DetailType")
        else:
            raise faults.validation(
                "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Line.DetailType"
            )
        kept.append(line)
    _number_lines(kept)
    kept.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    rec["Line"] = kept
    return subtotal - discount


def _expense_lines(realm: Realm, rec: Record, lines: list[Any]) -> Decimal:
    total = ZERO
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise faults.invalid_property("Line")
        kind = line.get("DetailType")
        if kind == "AccountBasedExpenseLineDetail":
            detail = line.get("AccountBasedExpenseLineDetail") or {}
            element = "Line.AccountBasedExpenseLineDetail.AccountRef"
            account = resolve(realm, "Account", detail.get("AccountRef"), element, required=True)
            assert account is not None
            detail["AccountRef"] = named(account, "Name")
        elif kind == "ItemBasedExpenseLineDetail":
            detail = line.get("ItemBasedExpenseLineDetail") or {}
            element = "Line.ItemBasedExpenseLineDetail.ItemRef"
            item = resolve(realm, "Item", detail.get("ItemRef"), element, required=True)
            assert item is not None
            detail["ItemRef"] = named(item, "Name")
        elif kind is None:
            raise faults.required("Line.DetailType")
        else:
            raise faults.validation(
                "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Line.DetailType"
            )
        status = detail.get("BillableStatus")
        if status is not None and status not in ("Billable", "NotBillable", "HasBeenBilled"):
            raise faults.validation(
                "2170", "Invalid Enumeration", f"Invalid Enumeration: {status}", "BillableStatus"
            )
        line[kind] = detail
        line["Amount"] = _line_amount(line, index)
        total += line["Amount"]
    _number_lines(lines)
    return total


def _number_lines(lines: list[dict[str, Any]]) -> None:
    used = {str(line["Id"]) for line in lines if line.get("Id")}
    next_id = 1
    for number, line in enumerate(lines, start=1):
        if not line.get("Id"):
            while str(next_id) in used:
                next_id += 1
            line["Id"] = str(next_id)
            used.add(line["Id"])
        line["Id"] = str(line["Id"])
        line["LineNum"] = number
        if line.get("LinkedTxn") == []:
            del line["LinkedTxn"]


def _due_date(realm: Realm, entity: str, rec: Record) -> None:
    if rec.get("DueDate"):
        rec["DueDate"] = parse_date(rec["DueDate"], "DueDate").isoformat()
        return
    term = resolve(realm, "Term", rec.get("SalesTermRef"), "SalesTermRef", required=False)
    txn_date = date.fromisoformat(rec["TxnDate"])
    if term is None:
        rec["DueDate"] = txn_date.isoformat()
        return
    rec["SalesTermRef"] = named(term, "Name")
    if term.get("Type") == "DATE_DRIVEN":
        due = date_driven_due(
            txn_date, int(term["DayOfMonthDue"]), int(term.get("DueNextMonthDays") or 0)
        )
        rec["DueDate"] = due.isoformat()
    else:
        rec["DueDate"] = (txn_date + timedelta(days=int(term.get("DueDays") or 0))).isoformat()


def date_driven_due(txn_date: date, day_of_month: int, next_month_days: int) -> date:
    """Due on `day_of_month` (or the month's last day); moved a month on when the document is
    dated after that day or fewer than `next_month_days` days before it."""
    due = _day_in_month(txn_date.year, txn_date.month, day_of_month)
    if txn_date > due or (due - txn_date).days < next_month_days:
        year, month = divmod(txn_date.year * 12 + txn_date.month, 12)
        due = _day_in_month(year, month + 1, day_of_month)
    return due


def _day_in_month(year: int, month: int, day: int) -> date:
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day, last))
