"""The preflight's verdicts from plain company facts: accounts, currency, sales tax, notes."""

from __future__ import annotations

from invoice_sync.domain.policy import SyncPolicy
from invoice_sync.domain.preflight import AccountFact, CompanyFacts, assess

ACCOUNTS = (
    AccountFact("10", "Checking", "Bank", "Checking", active=True),
    AccountFact("11", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", active=True),
    AccountFact("12", "Old income", "Income", "ServiceFeeIncome", active=False),
    AccountFact("13", "Services", "Income", "ServiceFeeIncome", active=True),
    AccountFact("14", "Office", "Expense", "Office", active=True),
)


def facts(**changes: object) -> CompanyFacts:
    values: dict[str, object] = {
        "home_currency": "USD",
        "multicurrency": False,
        "custom_txn_numbers": True,
        "automated_sales_tax": False,
        "accounts": ACCOUNTS,
    }
    values.update(changes)
    return CompanyFacts(**values)  # type: ignore[arg-type]


def test_defaults_pick_active_accounts_and_undeposited_funds() -> None:
    profile = assess(facts(), SyncPolicy())
    assert profile.ready
    assert profile.income_account_id == "13"
    assert profile.expense_account_id == "14"
    assert profile.deposit_account_id == "11"
    assert profile.notes == ()


def test_inactive_configured_account_is_refused_with_what_to_do() -> None:
    profile = assess(facts(), SyncPolicy(income_account_id="12"))
    assert not profile.ready
    assert "'Old income' (12) is inactive" in profile.problems[0]
    assert "make it active" in profile.problems[0]


def test_configured_account_of_the_wrong_type_is_refused() -> None:
    profile = assess(facts(), SyncPolicy(deposit_account_id="14"))
    assert not profile.ready
    assert "is a Expense account" in profile.problems[0]


def test_company_without_income_account_cannot_take_invoices() -> None:
    only_bank = tuple(a for a in ACCOUNTS if a.account_type != "Income")
    profile = assess(facts(accounts=only_bank), SyncPolicy())
    assert not profile.ready
    assert "no active income account" in profile.problems[0]


def test_currency_comes_from_preferences_and_custom_numbers_off_is_only_a_note() -> None:
    profile = assess(
        facts(home_currency="GBP", multicurrency=True, custom_txn_numbers=False),
        SyncPolicy(),
    )
    assert profile.ready
    assert profile.currency.home_currency == "GBP"
    assert profile.currency.multicurrency
    assert profile.problems_for("invoice") == ()
    [note] = profile.notes
    assert "custom transaction numbers off" in note


def test_automated_sales_tax_refuses_sales_forms_with_what_to_do() -> None:
    profile = assess(facts(automated_sales_tax=True, company_name="Acme Books"), SyncPolicy())
    for kind in ("invoice", "credit_memo"):
        [problem] = profile.problems_for(kind)
        assert problem.startswith("The QuickBooks company 'Acme Books' has automated sales tax on")
        assert "Turn automated sales tax off" in problem
    # Automated sales tax applies to sales forms only: bills can still be posted.
    assert profile.problems_for("bill") == ()


def test_account_problems_stop_every_kind_of_document() -> None:
    profile = assess(facts(automated_sales_tax=True), SyncPolicy(income_account_id="12"))
    assert len(profile.problems_for("bill")) == 1
    assert len(profile.problems_for("invoice")) == 2
    assert profile.problems_for("invoice")[1].startswith("The QuickBooks company has automated")
