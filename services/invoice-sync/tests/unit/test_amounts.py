"""Balancing line, both currency modes, half-even rounding and the variance rule."""

from __future__ import annotations

from decimal import Decimal

from invoice_sync.domain.amounts import CompanyCurrency, has_total_variance, plan_amounts, to_cents
from qbsync_common.contract.values import DocumentLine

USD_ONLY = CompanyCurrency("USD", multicurrency=False)
USD_MULTI = CompanyCurrency("USD", multicurrency=True)


def line(amount: str, qty: str = "1", price: str | None = None) -> DocumentLine:
    return DocumentLine(
        name="Work",
        quantity=Decimal(qty),
        unit_price=Decimal(price or amount),
        amount=Decimal(amount),
    )


def test_lines_short_of_the_total_get_a_balancing_line() -> None:
    plan = plan_amounts(
        [line("100"), line("200")],
        Decimal(400),
        currency="USD",
        exchange_rate=Decimal(1),
        company=USD_ONLY,
    )
    assert [pl.amount for pl in plan.lines] == [Decimal(100), Decimal(200), Decimal(100)]
    assert plan.balancing is not None
    assert plan.balancing.amount == Decimal(100)
    assert plan.total == Decimal("400.00")


def test_lines_over_the_total_get_a_negative_balancing_line() -> None:
    plan = plan_amounts(
        [line("300")], Decimal(250), currency="USD", exchange_rate=Decimal(1), company=USD_ONLY
    )
    assert plan.balancing is not None
    assert plan.balancing.amount == Decimal(-50)


def test_matching_lines_need_no_balancing_line() -> None:
    plan = plan_amounts(
        [line("1440.00", "12000", "0.12"), line("260.00", "6.5", "40.00")],
        Decimal("1700.00"),
        currency="USD",
        exchange_rate=Decimal(1),
        company=USD_ONLY,
    )
    assert plan.balancing is None
    assert plan.currency == "USD"
    assert plan.exchange_rate is None
    assert plan.lines[0].quantity == Decimal(12000)
    assert plan.lines[0].unit_price == Decimal("0.12")


def test_single_currency_converts_half_even_and_rounding_goes_on_the_balancing_line() -> None:
    # 3 x 0.05 EUR at 1.1: each line 0.055 -> 0.06 (half-even of 0.055 is 0.06); total 0.165 -> 0.16.
    plan = plan_amounts(
        [line("0.05"), line("0.05"), line("0.05")],
        Decimal("0.15"),
        currency="EUR",
        exchange_rate=Decimal("1.1"),
        company=USD_ONLY,
    )
    assert plan.currency == "USD"
    assert plan.exchange_rate is None
    assert [pl.amount for pl in plan.lines[:3]] == [Decimal("0.06")] * 3
    assert plan.total == Decimal("0.16")
    assert plan.balancing is not None
    assert plan.balancing.amount == Decimal("-0.02")
    assert sum(pl.amount for pl in plan.lines) == plan.total


def test_half_even_rounding() -> None:
    assert to_cents(Decimal("0.125")) == Decimal("0.12")
    assert to_cents(Decimal("0.135")) == Decimal("0.14")


def test_multi_currency_keeps_the_document_currency_and_sets_the_rate() -> None:
    plan = plan_amounts(
        [line("100.00")],
        Decimal("100.00"),
        currency="EUR",
        exchange_rate=Decimal("1.0825"),
        company=USD_MULTI,
    )
    assert plan.currency == "EUR"
    assert plan.exchange_rate == Decimal("1.0825")
    assert plan.total == Decimal("100.00")
    assert plan.balancing is None


def test_home_currency_document_ignores_the_rate() -> None:
    plan = plan_amounts(
        [line("100.00")],
        Decimal("100.00"),
        currency="USD",
        exchange_rate=Decimal("7"),
        company=USD_MULTI,
    )
    assert plan.exchange_rate is None
    assert plan.total == Decimal("100.00")


def test_converted_unit_price_stays_consistent_with_amount() -> None:
    plan = plan_amounts(
        [line("1440.00", "12000", "0.12")],
        Decimal("1440.00"),
        currency="EUR",
        exchange_rate=Decimal("1.0825"),
        company=USD_ONLY,
    )
    first = plan.lines[0]
    assert first.amount == Decimal("1558.80")
    assert first.unit_price is not None
    assert first.quantity is not None
    assert (first.quantity * first.unit_price).quantize(Decimal("0.01")) == first.amount


def test_total_variance_is_more_than_one_cent() -> None:
    assert not has_total_variance(Decimal("10.00"), Decimal("10.01"))
    assert has_total_variance(Decimal("10.00"), Decimal("10.02"))
    assert has_total_variance(Decimal("10.00"), Decimal("9.98"))
