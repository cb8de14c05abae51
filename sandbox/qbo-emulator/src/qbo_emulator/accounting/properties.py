"""Which property names a query may name, per entity.

QBO's parser knows each entity's schema and refuses a property the entity does not have (a 4001
"Invalid query", the fault it gives for names it has no metadata for). The sets below are each
entity's top-level attributes in QBO's entity reference, a superset of what the emulator stores
and serializes (a test holds them to that), so a query naming a real property is never refused
here even when the emulator does not model it. Whether QBO marks a property filterable or
sortable is not checked: refusing those would need the reference's per-field flags, and a wrong
flag would refuse queries real clients send.
"""

from __future__ import annotations

_COMMON = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})
# MetaData is the one object whose members queries name (MetaData.LastUpdatedTime).
METADATA_MEMBERS = frozenset({"createtime", "lastupdatedtime"})

_CONTACT = frozenset(
    {
        "DisplayName",
        "Title",
        "GivenName",
        "MiddleName",
        "FamilyName",
        "Suffix",
        "FullyQualifiedName",
        "CompanyName",
        "PrintOnCheckName",
        "Active",
        "PrimaryPhone",
        "AlternatePhone",
        "Mobile",
        "Fax",
        "PrimaryEmailAddr",
        "WebAddr",
        "OtherContactInfo",
        "Source",
        "V4IDPseudonym",
    }
)

_TXN = frozenset(
    {
        "DocNumber",
        "TxnDate",
        "DepartmentRef",
        "CurrencyRef",
        "ExchangeRate",
        "PrivateNote",
        "TxnStatus",
        "LinkedTxn",
        "Line",
        "TxnTaxDetail",
        "TotalAmt",
        "HomeTotalAmt",
        "TransactionLocationType",
        "TxnSource",
        "GlobalTaxCalculation",
        "ProjectRef",
        "TaxExemptionRef",
        "RecurDataRef",
        "CustomField",
        "AttachableRef",
    }
)

_SALES = frozenset(
    {
        "CustomerRef",
        "CustomerMemo",
        "BillAddr",
        "ShipAddr",
        "ShipFromAddr",
        "FreeFormAddress",
        "ClassRef",
        "SalesTermRef",
        "DueDate",
        "ShipMethodRef",
        "ShipDate",
        "TrackingNum",
        "Balance",
        "HomeBalance",
        "ApplyTaxAfterDiscount",
        "PrintStatus",
        "EmailStatus",
        "BillEmail",
        "BillEmailCc",
        "BillEmailBcc",
        "DeliveryInfo",
        "DepositToAccountRef",
        "PaymentMethodRef",
        "PaymentRefNum",
        "TaxCodeRef",
    }
)

_PROPERTIES: dict[str, frozenset[str]] = {
    "Customer": _CONTACT
    | {
        "Taxable",
        "DefaultTaxCodeRef",
        "BillAddr",
        "ShipAddr",
        "Notes",
        "Job",
        "BillWithParent",
        "ParentRef",
        "Level",
        "SalesTermRef",
        "PaymentMethodRef",
        "Balance",
        "OpenBalanceDate",
        "BalanceWithJobs",
        "CurrencyRef",
        "PreferredDeliveryMethod",
        "ResaleNum",
        "ARAccountRef",
        "TaxExemptionReasonId",
        "PrimaryTaxIdentifier",
        "SecondaryTaxIdentifier",
        "BusinessNumber",
        "GSTIN",
        "GSTRegistrationType",
        "IsProject",
        "ClientEntityId",
        "CustomerTypeRef",
        "TaxRegimeCode",
    },
    "Vendor": _CONTACT
    | {
        "BillAddr",
        "TaxIdentifier",
        "TermRef",
        "Balance",
        "AcctNum",
        "Vendor1099",
        "CurrencyRef",
        "APAccountRef",
        "BillRate",
        "CostRate",
        "GSTIN",
        "GSTRegistrationType",
        "BusinessNumber",
        "HasTPAR",
        "TaxReportingBasis",
        "T4AEligible",
        "T5018Eligible",
        "VendorPaymentBankDetail",
        "Notes",
    },
    "Employee": _CONTACT
    | {
        "PrimaryAddr",
        "EmployeeNumber",
        "SSN",
        "BillableTime",
        "BillRate",
        "CostRate",
        "BirthDate",
        "Gender",
        "HiredDate",
        "ReleasedDate",
        "Organization",
        # Older schema name, still modelled by python-quickbooks.
        "EmailAddress",
    },
    "Item": frozenset(
        {
            "Name",
            "Sku",
            "Description",
            "Active",
            "SubItem",
            "ParentRef",
            "Level",
            "FullyQualifiedName",
            "Taxable",
            "SalesTaxIncluded",
            "UnitPrice",
            "Type",
            "IncomeAccountRef",
            "PurchaseDesc",
            "PurchaseTaxIncluded",
            "PurchaseCost",
            "ExpenseAccountRef",
            "AssetAccountRef",
            "TrackQtyOnHand",
            "QtyOnHand",
            "InvStartDate",
            "SalesTaxCodeRef",
            "PurchaseTaxCodeRef",
            "ClassRef",
            "PrefVendorRef",
            "ReorderPoint",
            "AbatementRate",
            "ReverseChargeRate",
            "ServiceType",
            "ItemCategoryType",
            "TaxClassificationRef",
            "UQCDisplayText",
            "UQCId",
            "Source",
            "PrintGroupedItems",
            "ItemGroupDetail",
            "ItemAssemblyDetail",
        }
    ),
    "Term": frozenset(
        {
            "Name",
            "Active",
            "Type",
            "DueDays",
            "DiscountPercent",
            "DiscountDays",
            "DayOfMonthDue",
            "DueNextMonthDays",
            "DiscountDayOfMonth",
        }
    ),
    "PaymentMethod": frozenset({"Name", "Active", "Type"}),
    "Account": frozenset(
        {
            "Name",
            "SubAccount",
            "ParentRef",
            "Description",
            "FullyQualifiedName",
            "Active",
            "Classification",
            "AccountType",
            "AccountSubType",
            "AcctNum",
            "AccountAlias",
            "CurrentBalance",
            "CurrentBalanceWithSubAccounts",
            "CurrencyRef",
            "TaxCodeRef",
            "TxnLocationType",
            "OpeningBalance",
            "OpeningBalanceDate",
        }
    ),
    "Invoice": _TXN
    | _SALES
    | {
        "Deposit",
        "AllowIPNPayment",
        "AllowOnlinePayment",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
        "InvoiceLink",
        "EInvoiceStatus",
    },
    "CreditMemo": _TXN | _SALES | {"RemainingCredit", "InvoiceRef"},
    "Bill": _TXN
    | {
        "VendorRef",
        "VendorAddr",
        "APAccountRef",
        "SalesTermRef",
        "DueDate",
        "Balance",
        "HomeBalance",
        "IncludeInAnnualTPAR",
    },
    "Payment": _TXN
    | {
        "CustomerRef",
        "ARAccountRef",
        "DepositToAccountRef",
        "PaymentMethodRef",
        "PaymentRefNum",
        "CreditCardPayment",
        "ProcessPayment",
        "UnappliedAmt",
    },
    "BillPayment": _TXN
    | {
        "VendorRef",
        "APAccountRef",
        "PayType",
        "CheckPayment",
        "CreditCardPayment",
        "ProcessBillPayment",
    },
    "CompanyInfo": frozenset(
        {
            "CompanyName",
            "LegalName",
            "CompanyAddr",
            "CustomerCommunicationAddr",
            "LegalAddr",
            "CustomerCommunicationEmailAddr",
            "PrimaryPhone",
            "CompanyStartDate",
            "FiscalYearStartMonth",
            "Country",
            "Email",
            "WebAddr",
            "SupportedLanguages",
            "NameValue",
            "EmployerId",
            "DefaultTimeZone",
        }
    ),
    "Preferences": frozenset(
        {
            "AccountingInfoPrefs",
            "ProductAndServicesPrefs",
            "SalesFormsPrefs",
            "EmailMessagesPrefs",
            "VendorAndPurchasesPrefs",
            "TimeTrackingPrefs",
            "TaxPrefs",
            "CurrencyPrefs",
            "ReportPrefs",
            "OtherPrefs",
        }
    ),
    "CompanyCurrency": frozenset({"Code", "Name", "Active", "CustomField"}),
    "ExchangeRate": frozenset(
        {"SourceCurrencyCode", "TargetCurrencyCode", "Rate", "AsOfDate", "CustomField"}
    ),
}

# Property names are case-insensitive in queries (QBO.md §2.4).
KNOWN: dict[str, frozenset[str]] = {
    entity: frozenset(name.lower() for name in names | _COMMON)
    for entity, names in _PROPERTIES.items()
}


def unknown(entity: str, path: tuple[str, ...]) -> str | None:
    """The first name in a lower-cased property path that the entity lacks, or None.

    Only MetaData's members are checked below the top level: other objects (refs, addresses) are
    compared by their value, and QBO's acceptance of deeper paths into them is undocumented.
    """
    head = path[0]
    if head not in KNOWN[entity]:
        return head
    if head == "metadata" and len(path) > 1 and (len(path) > 2 or path[1] not in METADATA_MEMBERS):
        return ".".join(path)
    return None
