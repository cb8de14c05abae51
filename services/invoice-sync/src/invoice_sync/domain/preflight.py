"""Can this QBO company take our documents as the tenant configured them? Decided from read facts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from invoice_sync.domain.amounts import CompanyCurrency
from invoice_sync.domain.policy import SyncPolicy
from qbsync_common.contract.values import DocumentKind

INCOME_TYPES = frozenset({"Income", "Other Income"})
EXPENSE_TYPES = frozenset({"Expense", "Other Expense", "Cost of Goods Sold"})
DEPOSIT_TYPES = frozenset({"Bank", "Other Current Asset"})
SALES_FORMS: frozenset[DocumentKind] = frozenset({"invoice", "credit_memo"})


@dataclass(frozen=True)
class AccountFact:
    """One QBO account as the preflight needs it (inactive ones included)."""

    id: str
    name: str
    account_type: str
    sub_type: str | None
    active: bool


@dataclass(frozen=True)
class CompanyFacts:
    """What Preferences, CompanyInfo and the chart of accounts say about the company."""

    home_currency: str
    multicurrency: bool
    custom_txn_numbers: bool
    automated_sales_tax: bool
    accounts: tuple[AccountFact, ...]
    # From CompanyInfo: messages name the company, so a tenant with several knows which one.
    company_name: str = ""


@dataclass(frozen=True)
class CompanyProfile:
    """The preflight's verdict; problems are shown to humans as they are, so they say what to do.
    `problems` stop every document, `sales_problems` only sales forms (invoices, credit memos)."""

    currency: CompanyCurrency
    income_account_id: str | None
    expense_account_id: str | None
    deposit_account_id: str | None
    bank_account_id: str | None
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    sales_problems: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return not self.problems

    def problems_for(self, kind: DocumentKind) -> tuple[str, ...]:
        """Why a document of `kind` cannot be posted; empty when it can."""
        return self.problems + (self.sales_problems if kind in SALES_FORMS else ())


def assess(facts: CompanyFacts, policy: SyncPolicy) -> CompanyProfile:
    problems: list[str] = []
    notes: list[str] = []
    accounts = {a.id: a for a in facts.accounts}
    income = _account(accounts, policy.income_account_id, INCOME_TYPES, "income", problems)
    if income is None and policy.income_account_id is None:
        income = _first(facts.accounts, INCOME_TYPES)
        if income is None:
            problems.append(
                "The QuickBooks company has no active income account for invoice lines; "
                "create one or choose one in the tenant settings."
            )
    expense = _account(accounts, policy.expense_account_id, EXPENSE_TYPES, "expense", problems)
    if expense is None and policy.expense_account_id is None:
        expense = _first(facts.accounts, EXPENSE_TYPES)
    deposit = _account(accounts, policy.deposit_account_id, DEPOSIT_TYPES, "deposit", problems)
    if deposit is None and policy.deposit_account_id is None:
        deposit = next(
            (a for a in facts.accounts if a.active and a.sub_type == "UndepositedFunds"), None
        )
    # Bill payments are paid from a bank account: the deposit account if it is one, else the first.
    bank = deposit if deposit is not None and deposit.account_type == "Bank" else None
    bank = bank or next((a for a in facts.accounts if a.active and a.account_type == "Bank"), None)
    sales_problems: list[str] = []
    company = "The QuickBooks company" + (f" {facts.company_name!r}" if facts.company_name else "")
    if not facts.custom_txn_numbers:
        # QBO keeps a DocNumber it is sent even with the preference off (it only numbers forms
        # that come without one), so our numbers, adoption and look-ups still hold.
        notes.append(
            f"{company} has custom transaction numbers off; qbsync still sends upstream numbers."
        )
    if facts.automated_sales_tax:
        # Upstream totals are net and carry no tax codes: QBO would add tax nobody invoiced.
        sales_problems.append(
            f"{company} has automated sales tax on, so QuickBooks would add sales tax to "
            "invoices and credit memos whose upstream totals have none; qbsync does not post "
            "them. Turn automated sales tax off in QuickBooks (Taxes, Sales tax settings), "
            "then resync the document. Bills are not affected."
        )
    return CompanyProfile(
        currency=CompanyCurrency(facts.home_currency, facts.multicurrency),
        income_account_id=income.id if income else None,
        expense_account_id=expense.id if expense else None,
        deposit_account_id=deposit.id if deposit else None,
        bank_account_id=bank.id if bank else None,
        problems=tuple(problems),
        notes=tuple(notes),
        sales_problems=tuple(sales_problems),
    )


def _account(
    accounts: dict[str, AccountFact],
    wanted: str | None,
    types: frozenset[str],
    role: str,
    problems: list[str],
) -> AccountFact | None:
    if wanted is None:
        return None
    account = accounts.get(wanted)
    if account is None:
        problems.append(
            f"The {role} account {wanted} chosen in the tenant settings does not exist "
            "in QuickBooks; choose another one."
        )
    elif not account.active:
        problems.append(
            f"The {role} account {account.name!r} ({wanted}) is inactive in "
            "QuickBooks; make it active or choose another one."
        )
    elif account.account_type not in types:
        problems.append(
            f"The {role} account {account.name!r} ({wanted}) is a "
            f"{account.account_type} account; choose one of type "
            f"{', '.join(sorted(types))}."
        )
    else:
        return account
    return None


def _first(accounts: Iterable[AccountFact], types: frozenset[str]) -> AccountFact | None:
    return next((a for a in accounts if a.active and a.account_type in types), None)
