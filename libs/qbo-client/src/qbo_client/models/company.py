"""Company-level objects: CompanyInfo, Preferences and ExchangeRate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from qbo_client.models.base import EmailAddress, EntityKind, PhysicalAddress, QBOEntity, QBOModel


class NameValue(QBOModel):
    Name: str
    Value: str | None = None


# Fields carry QBO's names, which equal their type names; the alias keeps the type resolvable.
_NameValue = NameValue


class CompanyInfo(QBOEntity):
    ENTITY: ClassVar[str] = "CompanyInfo"
    KIND: ClassVar[EntityKind] = EntityKind.SINGLETON

    CompanyName: str | None = None
    LegalName: str | None = None
    CompanyAddr: PhysicalAddress | None = None
    LegalAddr: PhysicalAddress | None = None
    Country: str | None = None
    Email: EmailAddress | None = None
    FiscalYearStartMonth: str | None = None
    CompanyStartDate: date | None = None
    DefaultTimeZone: str | None = None
    NameValue: list[_NameValue] | None = None


class CurrencyPrefs(QBOModel):
    MultiCurrencyEnabled: bool | None = None
    HomeCurrency: dict[str, str] | None = None

    @property
    def home_currency(self) -> str | None:
        return (self.HomeCurrency or {}).get("value")


class SalesFormsPrefs(QBOModel):
    CustomTxnNumbers: bool | None = None


_CurrencyPrefs = CurrencyPrefs
_SalesFormsPrefs = SalesFormsPrefs


class Preferences(QBOEntity):
    ENTITY: ClassVar[str] = "Preferences"
    KIND: ClassVar[EntityKind] = EntityKind.SINGLETON

    CurrencyPrefs: _CurrencyPrefs | None = None
    SalesFormsPrefs: _SalesFormsPrefs | None = None


class ExchangeRate(QBOEntity):
    ENTITY: ClassVar[str] = "ExchangeRate"
    KIND: ClassVar[EntityKind] = EntityKind.SINGLETON
    CDC_SUPPORTED: ClassVar[bool] = False

    SourceCurrencyCode: str | None = None
    TargetCurrencyCode: str | None = None
    Rate: Decimal | None = None
    AsOfDate: date | None = None
