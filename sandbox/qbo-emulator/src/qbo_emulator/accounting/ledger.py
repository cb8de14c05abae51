"""Create, read, update, delete and void on one realm: SyncToken, indexes, balances, links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from qbo_emulator.accounting import faults, names, payments, shapes, transactions
from qbo_emulator.accounting.catalogue import CURRENCY_NAMES, PEOPLE, SPECS, EntitySpec, Kind
from qbo_emulator.accounting.money import ZERO, cents, optional_decimal
from qbo_emulator.accounting.payments import Application, applications
from qbo_emulator.accounting.store import Entry, Realm, Record
from qbo_emulator.clock import Clock

# notify(realm_id, entity, entity_id, operation, at): the webhook dispatcher's hook.
Notify = Callable[[str, str, str, str, datetime], None]

PAYMENTS = frozenset({"Payment", "BillPayment"})
# Where a transaction's open amount shows up on its customer's or vendor's Balance.
_BALANCE_SIGN = {"Invoice": 1, "Bill": 1, "CreditMemo": -1, "Payment": -1}


def clean(value: Any) -> Any:
    """Treat "" as absent everywhere, as QBO does with python-quickbooks' empty fields."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v != "" and v is not None}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _sync_token(body: Record) -> str:
    token = body.get("SyncToken")
    if token is None or token == "":
        raise faults.required("SyncToken")
    return str(token)


class Ledger:
    """The write path shared by single requests and batch items."""

    def __init__(self, clock: Clock, notify: Notify | None = None) -> None:
        self.clock = clock
        self.notify: Notify = notify or (lambda *_: None)

    # ---- reads -----------------------------------------------------------------------------
    def read(self, realm: Realm, entity: str, entity_id: str) -> Record:
        entry = realm.get(entity, entity_id)
        if entry is None:
            raise faults.not_found(entity, entity_id)
        if entry.deleted:
            raise faults.deleted_object()
        return entry.data

    # ---- writes ----------------------------------------------------------------------------
    def write(
        self, realm: Realm, entity: str, body: Any, operation: str, include: str = ""
    ) -> Record:
        """Dispatch one POST on an entity endpoint the way QBO reads operation/include."""
        spec = SPECS[entity]
        if not isinstance(body, dict):
            raise faults.malformed(f"the {entity} body must be a JSON object")
        shapes.check(body, "")
        operation = operation.lower()
        include = include.lower()
        if operation == "delete":
            return self.delete(realm, spec, body)
        if operation == "void" or (operation == "update" and include == "void"):
            return self.void(realm, spec, body, operation)
        if operation not in ("", "create", "update"):
            raise faults.unsupported_operation(f"{operation} on {entity}")
        allow_dup = include == "allowduplicatedocnum"
        if body.get("Id") not in (None, "") or spec.kind is Kind.SINGLETON:
            return self.update(realm, spec, body, allow_dup)
        if operation == "update":
            raise faults.required("Id")
        return self.create(realm, spec, body, allow_dup)

    def create(self, realm: Realm, spec: EntitySpec, body: Record, allow_dup: bool) -> Record:
        if spec.kind is Kind.SINGLETON:
            raise faults.unsupported_operation(f"create on {spec.name}")
        rec = self._input(spec, body)
        rec = self._prepare(realm, spec, rec, None, allow_dup)
        now = self.clock.now()
        rec["Id"] = realm.new_id()
        rec["SyncToken"] = "0"
        stamp = realm.stamp(now)
        rec["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
        rec["domain"] = "QBO"
        rec["sparse"] = False
        self._commit(realm, spec, rec, None, now)
        realm.entries[spec.name][rec["Id"]] = Entry(rec, now)
        self.notify(realm.realm_id, spec.name, rec["Id"], "Create", now)
        return rec

    def update(self, realm: Realm, spec: EntitySpec, body: Record, allow_dup: bool) -> Record:
        entity_id = str(body.get("Id") or "1")
        entry = realm.get(spec.name, entity_id)
        if entry is None:
            raise faults.not_found(spec.name, entity_id)
        if entry.deleted:
            raise faults.deleted_object()
        old = entry.data
        if _sync_token(body) != old["SyncToken"]:
            raise faults.stale(entity_id)
        changes = self._input(spec, body)
        if body.get("sparse") is True or spec.kind is Kind.SINGLETON:
            rec = _copy(old)
            rec.update(changes)
        else:
            # A full update sets omitted writable fields to null; identity fields survive.
            rec = changes
            for key in ("Active", "CurrencyRef"):
                if key not in rec and key in old:
                    rec[key] = old[key]
        rec = self._prepare(realm, spec, rec, old, allow_dup)
        now = self.clock.now()
        rec["Id"] = old["Id"]
        rec["SyncToken"] = str(int(old["SyncToken"]) + 1)
        rec["MetaData"] = {
            "CreateTime": old["MetaData"]["CreateTime"],
            "LastUpdatedTime": realm.stamp(now),
        }
        rec["domain"] = "QBO"
        rec["sparse"] = False
        self._commit(realm, spec, rec, old, now)
        entry.data = rec
        entry.updated = now
        self.notify(realm.realm_id, spec.name, rec["Id"], "Update", now)
        return rec

    def delete(self, realm: Realm, spec: EntitySpec, body: Record) -> Record:
        if spec.kind is not Kind.TRANSACTION:
            raise faults.unsupported_operation(
                f"delete on {spec.name}; name-list entities are deactivated with Active=false"
            )
        entry, old = self._current(realm, spec, body)
        self._refuse_if_paid(spec, old, "deleted")
        now = self.clock.now()
        self._commit(realm, spec, None, old, now)
        stub = {"domain": "QBO", "status": "Deleted", "Id": old["Id"]}
        entry.data = stub
        entry.updated = now
        entry.deleted = True
        self.notify(realm.realm_id, spec.name, old["Id"], "Delete", now)
        return stub

    def void(self, realm: Realm, spec: EntitySpec, body: Record, operation: str) -> Record:
        expected = "void" if spec.name == "Invoice" else "update"
        if not spec.voidable or operation != expected:
            raise faults.unsupported_operation(f"void on {spec.name}")
        entry, old = self._current(realm, spec, body)
        self._refuse_if_paid(spec, old, "voided")
        rec = _copy(old)
        note = str(old.get("PrivateNote") or "")
        rec["PrivateNote"] = f"Voided{' - ' + note if note else ''}"
        rec["TotalAmt"] = ZERO
        if spec.name == "Invoice":
            for line in rec["Line"]:
                line["Amount"] = ZERO
                detail = line.get("SalesItemLineDetail")
                if isinstance(detail, dict) and "Qty" in detail:
                    detail["Qty"] = ZERO
            rec["Balance"] = ZERO
            rec["LinkedTxn"] = []
        else:
            rec["Line"] = []
            if spec.name == "Payment":
                rec["UnappliedAmt"] = ZERO
        transactions.home_amounts(realm, rec, ("TotalAmt", "Balance"))
        now = self.clock.now()
        rec["SyncToken"] = str(int(old["SyncToken"]) + 1)
        rec["MetaData"] = {**old["MetaData"], "LastUpdatedTime": realm.stamp(now)}
        self._commit(realm, spec, rec, old, now)
        entry.data = rec
        entry.updated = now
        self.notify(realm.realm_id, spec.name, rec["Id"], "Void", now)
        return rec

    # ---- internals -------------------------------------------------------------------------
    def _current(self, realm: Realm, spec: EntitySpec, body: Record) -> tuple[Entry, Record]:
        entity_id = body.get("Id")
        if entity_id in (None, ""):
            raise faults.required("Id")
        entry = realm.get(spec.name, str(entity_id))
        if entry is None:
            raise faults.not_found(spec.name, str(entity_id))
        if entry.deleted:
            raise faults.deleted_object()
        if _sync_token(body) != entry.data["SyncToken"]:
            raise faults.stale(str(entity_id))
        return entry, entry.data

    @staticmethod
    def _refuse_if_paid(spec: EntitySpec, old: Record, verb: str) -> None:
        if spec.name in PAYMENTS:
            return
        if old.get("LinkedTxn"):
            raise faults.business(
                f"This transaction is linked to other transactions and cannot be {verb}. "
                "Unlink the payments first.",
                "LinkedTxn",
            )

    @staticmethod
    def _input(spec: EntitySpec, body: Record) -> Record:
        rec: Record = clean(body)
        for key in spec.read_only:
            rec.pop(key, None)
        return rec

    def _prepare(
        self, realm: Realm, spec: EntitySpec, rec: Record, old: Record | None, allow_dup: bool
    ) -> Record:
        today = self.clock.now().astimezone(realm.tz).date()
        if spec.kind is Kind.NAME_LIST or spec.name == "CompanyCurrency":
            return names.prepare(realm, spec.name, rec, old)
        if spec.name in PAYMENTS:
            rec = payments.prepare(realm, spec.name, rec, old, today)
        elif spec.kind is Kind.TRANSACTION:
            rec = transactions.document(realm, spec.name, rec, old, today)
        elif spec.name == "CompanyInfo":
            if not rec.get("CompanyName"):
                raise faults.required("CompanyName")
        elif spec.name == "Preferences":
            _preferences(realm, rec)
        elif spec.name == "ExchangeRate":
            _exchange_rate(rec)
        if spec.kind is Kind.TRANSACTION:
            _doc_number(realm, spec.name, rec, old, allow_dup)
        return rec

    def _commit(
        self, realm: Realm, spec: EntitySpec, rec: Record | None, old: Record | None, now: datetime
    ) -> None:
        """Apply the side effects of a validated change (rec None = deleted)."""
        entity = spec.name
        if spec.kind is Kind.NAME_LIST and rec is not None:
            names.commit(realm, entity, rec, old)
            if entity in PEOPLE and entity != "Employee":
                self._ensure_currency(realm, rec["CurrencyRef"]["value"], now)
            return
        if spec.kind is not Kind.TRANSACTION:
            return
        docs = realm.doc_numbers[entity]
        if old is not None and old.get("DocNumber"):
            docs.pop(old["DocNumber"], None)
        if rec is not None and rec.get("DocNumber"):
            docs.setdefault(rec["DocNumber"], rec["Id"])
        if entity in PAYMENTS:
            before = applications(entity, old) if old is not None else []
            after = applications(entity, rec) if rec is not None else []
            for app in before:
                self._apply(realm, entity, old or {}, app, -1, now)
            for app in after:
                self._apply(realm, entity, rec or {}, app, 1, now)
        self._party_balance(realm, entity, old, -1)
        self._party_balance(realm, entity, rec, 1)

    def _apply(
        self, realm: Realm, entity: str, pay: Record, app: Application, sign: int, now: datetime
    ) -> None:
        entry = realm.get(app.target_entity, app.target_id)
        if entry is None or entry.deleted:
            return
        target = entry.data
        self._party_balance(realm, app.target_entity, target, -1)
        field = "RemainingCredit" if app.target_entity == "CreditMemo" else "Balance"
        target[field] = target[field] - sign * app.amount
        if field == "RemainingCredit":
            target["Balance"] = target["RemainingCredit"]
        link = {"TxnId": pay["Id"], "TxnType": payments.link_type(entity, pay, app.target_entity)}
        links = [x for x in target.get("LinkedTxn", []) if x.get("TxnId") != pay["Id"]]
        if sign > 0:
            links.append(link)
        target["LinkedTxn"] = links
        if "HomeBalance" in target:
            target["HomeBalance"] = cents(target["Balance"] * target.get("ExchangeRate", 1))
        self._party_balance(realm, app.target_entity, target, 1)
        target["SyncToken"] = str(int(target["SyncToken"]) + 1)
        target["MetaData"] = {**target["MetaData"], "LastUpdatedTime": realm.stamp(now)}
        entry.updated = now
        self.notify(realm.realm_id, app.target_entity, target["Id"], "Update", now)

    @staticmethod
    def _party_balance(realm: Realm, entity: str, rec: Record | None, sign: int) -> None:
        if rec is None or entity not in _BALANCE_SIGN:
            return
        field = transactions.party_ref_field(entity)
        open_field = "UnappliedAmt" if "UnappliedAmt" in rec else "Balance"
        open_amount = Decimal(rec.get(open_field) or ZERO)
        delta = sign * _BALANCE_SIGN[entity] * open_amount
        party_entity = transactions.PARTY[entity]
        entry = realm.get(party_entity, rec[field]["value"])
        if entry is None or not delta:
            return
        entry.data["Balance"] = entry.data.get("Balance", ZERO) + delta
        # BalanceWithJobs rolls up through the job hierarchy.
        while entry is not None:
            if "BalanceWithJobs" in entry.data:
                entry.data["BalanceWithJobs"] = entry.data["BalanceWithJobs"] + delta
            parent = entry.data.get("ParentRef")
            entry = realm.get(party_entity, parent["value"]) if parent else None

    def _ensure_currency(self, realm: Realm, code: str, now: datetime) -> None:
        """QBO adds a name's currency to the company's currency list when it is first used."""
        if code == realm.home_currency:
            return
        if any(e.data.get("Code") == code for e in realm.live("CompanyCurrency")):
            return
        self.create(realm, SPECS["CompanyCurrency"], {"Code": code}, False)


def _copy(rec: Record) -> Record:
    import copy

    return copy.deepcopy(rec)


def _doc_number(
    realm: Realm, entity: str, rec: Record, old: Record | None, allow_dup: bool
) -> None:
    number = rec.get("DocNumber")
    if number is None:
        if entity == "Invoice" or entity == "CreditMemo":
            # Auto-numbering, as with Preferences.SalesFormsPrefs.CustomTxnNumbers off.
            while str(realm.next_doc_number) in realm.doc_numbers[entity]:
                realm.next_doc_number += 1
            rec["DocNumber"] = str(realm.next_doc_number)
            realm.next_doc_number += 1
        return
    number = str(number)
    if len(number) > 21:
        raise faults.business("DocNumber must be at most 21 characters.", "DocNumber")
    rec["DocNumber"] = number
    holder = realm.doc_numbers[entity].get(number)
    if holder is not None and not allow_dup and (old is None or holder != old["Id"]):
        raise faults.duplicate_doc_number(number)


def _preferences(realm: Realm, rec: Record) -> None:
    prefs = rec.get("CurrencyPrefs") or {}
    enabled = prefs.get("MultiCurrencyEnabled")
    if enabled is False and realm.multicurrency:
        raise faults.business("Multicurrency cannot be turned off once it is enabled.")
    home = (prefs.get("HomeCurrency") or {}).get("value")
    if home and home != realm.home_currency:
        raise faults.business("The home currency cannot be changed.")
    if enabled is True:
        realm.multicurrency = True
    rec["CurrencyPrefs"] = {
        "MultiCurrencyEnabled": realm.multicurrency,
        "HomeCurrency": {"value": realm.home_currency},
    }


def _exchange_rate(rec: Record) -> None:
    for key in ("SourceCurrencyCode", "Rate", "AsOfDate"):
        if rec.get(key) in (None, ""):
            raise faults.required(key)
    if rec["SourceCurrencyCode"] not in CURRENCY_NAMES:
        raise faults.invalid_reference("SourceCurrencyCode")
    rec["AsOfDate"] = rec["AsOfDate"][:10]
    rate = optional_decimal(rec["Rate"], "Rate")
    if rate is None or rate <= ZERO:
        raise faults.business("Rate must be positive.", "Rate")
    rec["Rate"] = rate
