"""New companies (realms): empty or seeded like Intuit's sandbox companies."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

from qbo_emulator.accounting.catalogue import CURRENCY_NAMES, SPECS
from qbo_emulator.accounting.ledger import Ledger
from qbo_emulator.accounting.store import Entry, Realm, Record
from qbo_emulator.clock import Clock

# country -> (home currency, UTC offset hours, ISO-3 country code)
COUNTRIES: dict[str, tuple[str, int, str]] = {
    "US": ("USD", -8, "USA"),
    "CA": ("CAD", -5, "CAN"),
    "GB": ("GBP", 0, "GBR"),
    "AU": ("AUD", 10, "AUS"),
    "FR": ("EUR", 1, "FRA"),
    "DE": ("EUR", 1, "DEU"),
    "IN": ("INR", 5, "IND"),
}

_ACCOUNTS = (
    ("Checking", "Bank", "Checking"),
    ("Savings", "Bank", "Savings"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Inventory Asset", "Other Current Asset", "Inventory"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("Mastercard", "Credit Card", "CreditCard"),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity"),
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses"),
    ("Utilities", "Expense", "Utilities"),
)
_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))
_PAYMENT_METHODS = (
    ("Cash", "NON_CREDIT_CARD"),
    ("Check", "NON_CREDIT_CARD"),
    ("Visa", "CREDIT_CARD"),
    ("MasterCard", "CREDIT_CARD"),
    ("American Express", "CREDIT_CARD"),
    ("Discover", "CREDIT_CARD"),
    ("Diners Club", "CREDIT_CARD"),
)
_CUSTOMERS = ("Amy's Bird Sanctuary", "Bill's Windsurf Shop", "Cool Cars", "Dukes Basketball Camp")
_VENDORS = ("Books by Bessie", "Brosnahan Insurance Agency", "Cal Telephone", "Hicks Hardware")
_EMPLOYEES = (("Emily", "Platt"), ("John", "Johnson"))


def create_realm(
    clock: Clock,
    realm_id: str,
    company_name: str,
    *,
    country: str = "US",
    multicurrency: bool = False,
    seeded: bool = True,
) -> Realm:
    """Build a realm with CompanyInfo/Preferences and, when seeded, a sample chart of accounts."""
    currency, offset, iso3 = COUNTRIES.get(country.upper(), COUNTRIES["US"])
    realm = Realm(
        realm_id=realm_id,
        company_name=company_name,
        country=country.upper(),
        home_currency=currency,
        multicurrency=multicurrency,
        tz=timezone(timedelta(hours=offset)),
    )
    now = clock.now()
    stamp = realm.stamp(now)
    meta = {"CreateTime": stamp, "LastUpdatedTime": stamp}
    address = {"Id": "1", "Line1": "123 Sierra Way", "City": "San Pablo", "Country": iso3}
    info: Record = {
        "Id": "1",
        "SyncToken": "0",
        "CompanyName": company_name,
        "LegalName": company_name,
        "CompanyAddr": address,
        "LegalAddr": dict(address),
        "Country": country.upper(),
        "FiscalYearStartMonth": "January",
        "SupportedLanguages": "en",
        "CompanyStartDate": now.date().isoformat(),
        "NameValue": [
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "SubscriptionStatus", "Value": "PAID"},
        ],
        "domain": "QBO",
        "sparse": False,
        "MetaData": dict(meta),
    }
    prefs: Record = {
        "Id": "1",
        "SyncToken": "0",
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": multicurrency,
            "HomeCurrency": {"value": currency},
        },
        "SalesFormsPrefs": {"CustomTxnNumbers": False, "AllowDiscount": True},
        "AccountingInfoPrefs": {"ClassTrackingPerTxnLine": False},
        "TaxPrefs": {"UsingSalesTax": False, "PartnerTaxEnabled": False},
        "ReportPrefs": {"ReportBasis": "Accrual"},
        "domain": "QBO",
        "sparse": False,
        "MetaData": dict(meta),
    }
    realm.entries["CompanyInfo"]["1"] = Entry(info, now)
    realm.entries["Preferences"]["1"] = Entry(prefs, now)
    realm.next_id = 2
    if seeded:
        _sample_data(realm, Ledger(clock), currency, multicurrency)
    return realm


def _add(ledger: Ledger, realm: Realm, entity: str, body: dict[str, Any]) -> Record:
    return ledger.create(realm, SPECS[entity], body, False)


def _sample_data(realm: Realm, ledger: Ledger, currency: str, multicurrency: bool) -> None:
    accounts = {
        name: _add(
            ledger, realm, "Account", {"Name": name, "AccountType": kind, "AccountSubType": sub}
        )
        for name, kind, sub in _ACCOUNTS
    }
    for name, days in _TERMS:
        _add(ledger, realm, "Term", {"Name": name, "DueDays": days})
    for name, kind in _PAYMENT_METHODS:
        _add(ledger, realm, "PaymentMethod", {"Name": name, "Type": kind})
    income = {"value": accounts["Services"]["Id"]}
    _add(ledger, realm, "Item", {"Name": "Services", "Type": "Service", "IncomeAccountRef": income})
    _add(
        ledger,
        realm,
        "Item",
        {"Name": "Hours", "Type": "Service", "IncomeAccountRef": income, "UnitPrice": Decimal(50)},
    )
    _add(
        ledger,
        realm,
        "Item",
        {
            "Name": "Design",
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": accounts["Sales of Product Income"]["Id"]},
            "UnitPrice": Decimal(75),
        },
    )
    for name in _CUSTOMERS:
        _add(ledger, realm, "Customer", {"DisplayName": name, "CompanyName": name})
    for name in _VENDORS:
        _add(ledger, realm, "Vendor", {"DisplayName": name, "CompanyName": name})
    for given, family in _EMPLOYEES:
        _add(ledger, realm, "Employee", {"GivenName": given, "FamilyName": family})
    if multicurrency:
        foreign = "EUR" if currency != "EUR" else "USD"
        _add(ledger, realm, "CompanyCurrency", {"Code": foreign})
        _add(
            ledger,
            realm,
            "Customer",
            {
                "DisplayName": f"{CURRENCY_NAMES[foreign]} Customer",
                "CurrencyRef": {"value": foreign},
            },
        )
