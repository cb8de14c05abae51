"""Payment and BillPayment rules: applying money to invoices, credit memos and bills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from qbo_emulator.accounting import faults
from qbo_emulator.accounting.money import ZERO, cents, optional_decimal
from qbo_emulator.accounting.refs import named, ref_id, resolve
from qbo_emulator.accounting.store import Realm, Record
from qbo_emulator.accounting.transactions import header, home_amounts

# What each payment may link to, and the LinkedTxn type it leaves on the target.
TARGETS = {
    "Payment": {"Invoice": "Payment", "CreditMemo": "Payment"},
    "BillPayment": {"Bill": "BillPaymentCheck"},
}


@dataclass(frozen=True)
class Application:
    target_entity: str
    target_id: str
    amount: Decimal


def applications(entity: str, rec: Record) -> list[Application]:
    """The (target, amount) pairs a stored payment record applies."""
    result: list[Application] = []
    for line in rec.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            result.append(Application(link["TxnType"], str(link["TxnId"]), line["Amount"]))
    return result


def prepare(realm: Realm, entity: str, rec: Record, old: Record | None, today: date) -> Record:
    """Validate a payment against the documents it pays; no state changes."""
    party = header(realm, entity, rec, today)
    party_field = "CustomerRef" if entity == "Payment" else "VendorRef"
    total = optional_decimal(rec.get("TotalAmt"), "TotalAmt")
    if total is None:
        raise faults.required("TotalAmt")
    if total < ZERO:
        raise faults.business("TotalAmt must not be negative.", "TotalAmt")
    rec["TotalAmt"] = cents(total)
    previously = {(a.target_entity, a.target_id): a.amount for a in applications(entity, old or {})}
    allowed = TARGETS[entity]
    lines = rec.get("Line") or []
    if not isinstance(lines, list):
        raise faults.invalid_property("Line")
    if entity == "BillPayment" and not lines:
        raise faults.required("Line")
    applied = ZERO
    for line in lines:
        if not isinstance(line, dict):
            raise faults.invalid_property("Line")
        amount = optional_decimal(line.get("Amount"), "Line.Amount")
        if amount is None:
            raise faults.required("Line.Amount")
        line["Amount"] = cents(amount)
        links = line.get("LinkedTxn") or []
        if not isinstance(links, list) or not links:
            raise faults.required("Line.LinkedTxn")
        for link in links:
            kind = link.get("TxnType") if isinstance(link, dict) else None
            if kind not in allowed:
                raise faults.validation(
                    "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "TxnType"
                )
            entry = realm.get(kind, str(link.get("TxnId")))
            if entry is None or entry.deleted:
                raise faults.invalid_reference("Line.LinkedTxn.TxnId")
            target = entry.data
            if target[party_field]["value"] != party["Id"]:
                raise faults.business(
                    f"The {kind} {target['Id']} belongs to another "
                    f"{'customer' if entity == 'Payment' else 'vendor'}.",
                    "Line.LinkedTxn",
                )
            open_field = "RemainingCredit" if "RemainingCredit" in target else "Balance"
            open_amount: Decimal = target[open_field]
            available = open_amount + previously.get((kind, target["Id"]), ZERO)
            if line["Amount"] > available:
                raise faults.business(
                    f"The payment amount {line['Amount']} exceeds the open balance {available} "
                    f"of {kind} {target['Id']}.",
                    "Line.Amount",
                )
            link["TxnId"] = target["Id"]
            applied += -line["Amount"] if kind == "CreditMemo" else line["Amount"]
    rec["Line"] = lines
    if applied > rec["TotalAmt"]:
        raise faults.business(
            "The amount applied to transactions is greater than the payment amount.", "TotalAmt"
        )
    if entity == "Payment":
        rec["UnappliedAmt"] = rec["TotalAmt"] - applied
        deposit = rec.get("DepositToAccountRef") or _undeposited(realm)
        account = resolve(realm, "Account", deposit, "DepositToAccountRef", required=False)
        if account is not None:
            rec["DepositToAccountRef"] = named(account, "Name")
        rec.setdefault("ProcessPayment", False)
        _payment_method(realm, rec, old)
    else:
        _pay_type(realm, rec)
    home_amounts(realm, rec, ("TotalAmt",))
    return rec


def _payment_method(realm: Realm, rec: Record, old: Record | None) -> None:
    target = ref_id(rec.get("PaymentMethodRef"), "PaymentMethodRef")
    if target is None:
        rec.pop("PaymentMethodRef", None)
        return
    kept = ((old or {}).get("PaymentMethodRef") or {}).get("value")
    if target != kept:
        # Checked only when it changes: deactivating a method must not lock old payments.
        resolve(realm, "PaymentMethod", rec["PaymentMethodRef"], "PaymentMethodRef", required=True)
    # QBO answers this ref with its id only (QBO.md's Payment example), unlike most refs.
    rec["PaymentMethodRef"] = {"value": target}


def _undeposited(realm: Realm) -> dict[str, str] | None:
    for entry in realm.live("Account"):
        if entry.data.get("AccountSubType") == "UndepositedFunds":
            return {"value": entry.data["Id"]}
    return None


def _pay_type(realm: Realm, rec: Record) -> None:
    kind = rec.get("PayType")
    if not kind:
        raise faults.required("PayType")
    if kind == "Check":
        detail = rec.get("CheckPayment") or {}
        element = "CheckPayment.BankAccountRef"
        bank = resolve(realm, "Account", detail.get("BankAccountRef"), element, required=True)
        assert bank is not None
        detail["BankAccountRef"] = named(bank, "Name")
        detail.setdefault("PrintStatus", "NotSet")
        rec["CheckPayment"] = detail
    elif kind == "CreditCard":
        detail = rec.get("CreditCardPayment") or {}
        element = "CreditCardPayment.CCAccountRef"
        card = resolve(realm, "Account", detail.get("CCAccountRef"), element, required=True)
        assert card is not None
        detail["CCAccountRef"] = named(card, "Name")
        rec["CreditCardPayment"] = detail
    else:
        raise faults.validation(
            "2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "PayType"
        )


def link_type(entity: str, rec: Record, target_entity: str) -> str:
    if entity == "BillPayment" and rec.get("PayType") == "CreditCard":
        return "BillPaymentCreditCard"
    return TARGETS[entity][target_entity]
