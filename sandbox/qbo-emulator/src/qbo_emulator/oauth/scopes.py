"""Scopes Intuit accepts on the authorize request (QBO.md §1.2) and which of them bind a company."""

from __future__ import annotations

KNOWN_SCOPES = frozenset(
    {
        "com.intuit.quickbooks.accounting",
        "com.intuit.quickbooks.payment",
        "openid",
        "profile",
        "email",
        "phone",
        "address",
        "com.intuit.quickbooks.payroll",
        "com.intuit.quickbooks.payroll.timetracking",
        "com.intuit.quickbooks.payroll.benefits",
        "com.intuit.quickbooks.payroll.payslip.read",
        "project-management.project",
        "app-foundations.custom-field-definitions",
        "app-foundations.custom-field-definitions.read",
        "app-foundations.custom-dimensions.read",
        "payroll.compensation.read",
        "indirect-tax.tax-calculation.quickbooks",
        "time-tracking.time-entry",
        "intuit_name",
    }
)

# realmId is sent on the callback only for these (intuit/oauth-pythonclient #28 quoting the docs).
COMPANY_SCOPES = frozenset({"com.intuit.quickbooks.accounting", "com.intuit.quickbooks.payment"})


def parse_scope(scope: str | None) -> list[str] | None:
    """The requested scopes, or None when empty or naming a scope Intuit does not know."""
    scopes = (scope or "").split()
    if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
        return None
    return scopes


def needs_company(scopes: list[str]) -> bool:
    return any(s in COMPANY_SCOPES for s in scopes)
