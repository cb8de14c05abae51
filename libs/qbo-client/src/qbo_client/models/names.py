"""Name-list entities: Customer, Vendor, Item, Term, Account (deactivated, never deleted)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from qbo_client.models.base import (
    EmailAddress,
    EntityKind,
    PhysicalAddress,
    QBOEntity,
    Ref,
    TelephoneNumber,
)


class NameListEntity(QBOEntity):
    KIND: ClassVar[EntityKind] = EntityKind.NAME_LIST

    Active: bool | None = None


class Customer(NameListEntity):
    ENTITY: ClassVar[str] = "Customer"

    DisplayName: str | None = None
    Title: str | None = None
    GivenName: str | None = None
    MiddleName: str | None = None
    FamilyName: str | None = None
    Suffix: str | None = None
    CompanyName: str | None = None
    FullyQualifiedName: str | None = None
    PrimaryEmailAddr: EmailAddress | None = None
    PrimaryPhone: TelephoneNumber | None = None
    BillAddr: PhysicalAddress | None = None
    ShipAddr: PhysicalAddress | None = None
    CurrencyRef: Ref | None = None
    SalesTermRef: Ref | None = None
    ParentRef: Ref | None = None
    Job: bool | None = None
    BillWithParent: bool | None = None
    Taxable: bool | None = None
    Notes: str | None = None
    Balance: Decimal | None = None
    BalanceWithJobs: Decimal | None = None


class Vendor(NameListEntity):
    ENTITY: ClassVar[str] = "Vendor"

    DisplayName: str | None = None
    GivenName: str | None = None
    FamilyName: str | None = None
    CompanyName: str | None = None
    PrimaryEmailAddr: EmailAddress | None = None
    PrimaryPhone: TelephoneNumber | None = None
    BillAddr: PhysicalAddress | None = None
    CurrencyRef: Ref | None = None
    TermRef: Ref | None = None
    AcctNum: str | None = None
    Vendor1099: bool | None = None
    Balance: Decimal | None = None


class Item(NameListEntity):
    ENTITY: ClassVar[str] = "Item"

    Name: str | None = None
    Type: str | None = None
    Description: str | None = None
    PurchaseDesc: str | None = None
    FullyQualifiedName: str | None = None
    UnitPrice: Decimal | None = None
    PurchaseCost: Decimal | None = None
    IncomeAccountRef: Ref | None = None
    ExpenseAccountRef: Ref | None = None
    AssetAccountRef: Ref | None = None
    TrackQtyOnHand: bool | None = None
    QtyOnHand: Decimal | None = None
    InvStartDate: date | None = None
    Taxable: bool | None = None
    Sku: str | None = None
    SubItem: bool | None = None
    ParentRef: Ref | None = None


class Term(NameListEntity):
    ENTITY: ClassVar[str] = "Term"

    Name: str | None = None
    Type: str | None = None
    DueDays: int | None = None
    DayOfMonthDue: int | None = None
    DueNextMonthDays: int | None = None
    DiscountPercent: Decimal | None = None
    DiscountDays: int | None = None


class Account(NameListEntity):
    ENTITY: ClassVar[str] = "Account"

    Name: str | None = None
    AcctNum: str | None = None
    AccountType: str | None = None
    AccountSubType: str | None = None
    Classification: str | None = None
    FullyQualifiedName: str | None = None
    SubAccount: bool | None = None
    ParentRef: Ref | None = None
    CurrentBalance: Decimal | None = None
    CurrencyRef: Ref | None = None
