"""Admin routes under /_emulator/ for companies, records, user payments, limits, faults, clock."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from starlette.responses import Response

from qbo_emulator.accounting import faults
from qbo_emulator.accounting.api import AccountingApi
from qbo_emulator.accounting.catalogue import BY_LOWER
from qbo_emulator.accounting.faults import ApiFault
from qbo_emulator.accounting.limits import FaultSettings, LimitSettings
from qbo_emulator.accounting.render import to_json
from qbo_emulator.accounting.seed import COUNTRIES, create_realm
from qbo_emulator.accounting.store import Realm


class NewCompany(BaseModel):
    realm_id: str | None = None
    company_name: str = "Sandbox Company US"
    country: str = "US"
    multicurrency: bool = False
    seeded: bool = True


class UserPayment(BaseModel):
    """A payment keyed in by a QuickBooks user: pays one invoice (or bill) in full or in part."""

    invoice_id: str | None = None
    bill_id: str | None = None
    amount: Decimal | None = Field(default=None, gt=0)
    bank_account_id: str | None = None


class ClockAdvance(BaseModel):
    seconds: float


def _json(body: Any, status: int = 200) -> Response:
    return Response(to_json(body), status_code=status, media_type="application/json")


def admin_router(api: AccountingApi, on_reset: Callable[[], None]) -> APIRouter:
    router = APIRouter(prefix="/_emulator", tags=["emulator admin"])
    store, clock, ledger = api.store, api.clock, api.ledger

    def realm_of(realm_id: str) -> Realm:
        realm = store.realms.get(realm_id)
        if realm is None:
            raise HTTPException(404, f"unknown realm {realm_id}")
        return realm

    @router.post("/companies", status_code=201)
    async def create_company(spec: NewCompany) -> dict[str, Any]:
        """Create a company (realm), empty or seeded like an Intuit sandbox company."""
        if spec.country.upper() not in COUNTRIES:
            raise HTTPException(422, f"country must be one of {sorted(COUNTRIES)}")
        realm_id = spec.realm_id or str(9130350000000000 + secrets.randbelow(10**9))
        if realm_id in store.realms:
            raise HTTPException(409, f"realm {realm_id} exists")
        realm = create_realm(
            clock,
            realm_id,
            spec.company_name,
            country=spec.country,
            multicurrency=spec.multicurrency,
            seeded=spec.seeded,
        )
        store.add(realm)
        return _summary(realm)

    @router.get("/companies")
    async def list_companies() -> list[dict[str, Any]]:
        return [_summary(r) for r in store.realms.values()]

    @router.get("/companies/{realm_id}/records/{entity}")
    async def records(realm_id: str, entity: str) -> Response:
        """Every record of an entity, inactive and deleted ones included."""
        spec = BY_LOWER.get(entity.lower())
        if spec is None:
            raise HTTPException(404, f"unknown entity {entity}")
        realm = realm_of(realm_id)
        rows = [
            {**e.data, "MetaData": {"LastUpdatedTime": realm.stamp(e.updated)}}
            if e.deleted
            else e.data
            for e in realm.entries[spec.name].values()
        ]
        return _json({"entity": spec.name, "records": rows})

    @router.get("/companies/{realm_id}/records/{entity}/{entity_id}")
    async def record(realm_id: str, entity: str, entity_id: str) -> Response:
        spec = BY_LOWER.get(entity.lower())
        entry = realm_of(realm_id).entries[spec.name].get(entity_id) if spec else None
        if entry is None:
            raise HTTPException(404, f"no {entity} {entity_id}")
        return _json({"deleted": entry.deleted, "record": entry.data})

    @router.post("/companies/{realm_id}/payments", status_code=201)
    async def user_payment(realm_id: str, spec: UserPayment) -> Response:
        """Record a customer payment or a bill payment the way a QuickBooks user would."""
        realm = realm_of(realm_id)
        if bool(spec.invoice_id) == bool(spec.bill_id):
            raise HTTPException(422, "give exactly one of invoice_id and bill_id")
        try:
            if spec.invoice_id:
                invoice = ledger.read(realm, "Invoice", spec.invoice_id)
                amount = spec.amount or _open_balance(invoice, "invoice")
                body: dict[str, Any] = {
                    "CustomerRef": {"value": invoice["CustomerRef"]["value"]},
                    "CurrencyRef": invoice["CurrencyRef"],
                    "TotalAmt": amount,
                    "Line": [
                        {
                            "Amount": amount,
                            "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                        }
                    ],
                }
                return _json({"Payment": ledger.write(realm, "Payment", body, "create")}, 201)
            bill = ledger.read(realm, "Bill", str(spec.bill_id))
            amount = spec.amount or _open_balance(bill, "bill")
            bank = spec.bank_account_id or _first_bank(realm)
            body = {
                "VendorRef": {"value": bill["VendorRef"]["value"]},
                "CurrencyRef": bill["CurrencyRef"],
                "PayType": "Check",
                "CheckPayment": {"BankAccountRef": {"value": bank}},
                "TotalAmt": amount,
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}
                ],
            }
            return _json({"BillPayment": ledger.write(realm, "BillPayment", body, "create")}, 201)
        except ApiFault as fault:
            return _json({"Fault": fault.body()}, fault.status)

    @router.get("/companies/{realm_id}/limits")
    async def get_limits(realm_id: str) -> dict[str, Any]:
        gov = api.governor(realm_id)
        return {"limits": gov.limits.model_dump(), "faults": gov.faults.model_dump()}

    @router.put("/companies/{realm_id}/limits")
    async def set_limits(realm_id: str, limits: LimitSettings) -> dict[str, Any]:
        """Set throttling for a realm; `LimitSettings.qbo()` values are QBO's published limits."""
        api.governor(realm_id).limits = limits
        return limits.model_dump()

    @router.put("/companies/{realm_id}/faults")
    async def set_faults(realm_id: str, settings: FaultSettings) -> dict[str, Any]:
        api.governor(realm_id).configure_faults(settings)
        return settings.model_dump()

    @router.get("/companies/{realm_id}/stats")
    async def stats(realm_id: str) -> dict[str, Any]:
        return api.stats.of(realm_id).snapshot()

    @router.get("/clock")
    async def get_clock() -> dict[str, str]:
        return {"now": clock.now().isoformat()}

    @router.post("/clock/advance")
    async def advance(step: ClockAdvance) -> dict[str, str]:
        return {"now": clock.advance(step.seconds).isoformat()}

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        """Forget every realm, limit, statistic and OAuth app; put the clock back to real time."""
        store.reset()
        api.reset()
        clock.reset()
        on_reset()
        return {"reset": True}

    return router


def _open_balance(document: dict[str, Any], kind: str) -> Decimal:
    """What a user paying "the balance" pays; a paid document has nothing to receive."""
    balance = Decimal(document["Balance"])
    if balance <= 0:
        raise faults.business(f"The {kind} {document['Id']} has no open balance to pay.")
    return balance


def _first_bank(realm: Realm) -> str:
    for entry in realm.live("Account"):
        if entry.data.get("AccountType") == "Bank":
            return str(entry.data["Id"])
    return ""


def _summary(realm: Realm) -> dict[str, Any]:
    return {
        "realm_id": realm.realm_id,
        "company_name": realm.company_name,
        "country": realm.country,
        "home_currency": realm.home_currency,
        "multicurrency": realm.multicurrency,
        "counts": {name: len(entries) for name, entries in realm.entries.items() if entries},
    }
