"""Exact money of a document: lines in cents, currency conversion and the balancing line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from qbsync_common.contract.values import DocumentLine

CENT = Decimal("0.01")
# QBO keeps unit prices to 7 decimal places; more would be cut by QBO and break Qty * UnitPrice.
PRICE_STEP = Decimal("1E-7")
ZERO = Decimal(0)


@dataclass(frozen=True)
class CompanyCurrency:
    """The currency set-up of a QBO company, read by the preflight."""

    home_currency: str
    multicurrency: bool


@dataclass(frozen=True)
class PlannedLine:
    """A line as it will be sent to QBO; `name` is None for the balancing line."""

    name: str | None
    description: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class AmountPlan:
    """The amounts of one QBO document; `total` is exactly what QBO must compute from the lines."""

    currency: str
    exchange_rate: Decimal | None
    lines: tuple[PlannedLine, ...]
    total: Decimal

    @property
    def balancing(self) -> PlannedLine | None:
        return next((line for line in self.lines if line.name is None), None)


def to_cents(value: Decimal) -> Decimal:
    """Our rounding: half-even (banker's), so conversions do not drift upwards over many lines."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def plan_amounts(
    lines: Sequence[DocumentLine],
    net_total: Decimal,
    *,
    currency: str,
    exchange_rate: Decimal,
    company: CompanyCurrency,
) -> AmountPlan:
    """Lines and total in the currency the QBO document will carry.

    Multi-currency company: amounts stay in the document's currency and the rate goes on the
    document. Single-currency company: every amount is converted with the upstream rate. Either
    way the total is the (converted) net total in cents, and a balancing line carries whatever
    the rounded lines do not add up to, so QBO's total equals it exactly.
    """
    foreign = currency != company.home_currency
    if company.multicurrency:
        factor, doc_currency = Decimal(1), currency
        rate: Decimal | None = exchange_rate if foreign else None
    else:
        factor, doc_currency, rate = (
            (exchange_rate if foreign else Decimal(1)),
            company.home_currency,
            None,
        )
    planned = [_line(line, factor) for line in lines]
    total = to_cents(net_total * factor)
    difference = total - sum((line.amount for line in planned), ZERO)
    if difference != ZERO:
        planned.append(PlannedLine(None, "Balance adjustment", Decimal(1), difference, difference))
    return AmountPlan(doc_currency, rate, tuple(planned), total)


def _line(line: DocumentLine, factor: Decimal) -> PlannedLine:
    amount = to_cents(line.amount * factor)
    return PlannedLine(
        line.name, line.description, *_quantity_and_price(line, factor, amount), amount
    )


def _quantity_and_price(
    line: DocumentLine, factor: Decimal, amount: Decimal
) -> tuple[Decimal | None, Decimal | None]:
    """Qty and UnitPrice that QBO accepts with `amount`: it refuses Amount != Qty * UnitPrice."""
    quantity = line.quantity
    if quantity == ZERO:
        return None, None
    for price in (line.unit_price * factor, amount / quantity):
        price = price.quantize(PRICE_STEP, rounding=ROUND_HALF_EVEN).normalize()
        if _qbo_product(quantity, price) == amount:
            return quantity, price
    # No 7-decimal price fits (odd quantities): QBO then takes the amount with the quantity alone.
    return quantity, None


def _qbo_product(quantity: Decimal, price: Decimal) -> Decimal:
    # QBO's own check rounds half-up; this mirrors it and is not our rounding rule.
    return (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP)


def has_total_variance(expected: Decimal, qbo_total: Decimal) -> bool:
    """More than a cent apart: QBO added tax or rounded differently, an operator must look."""
    return abs(expected - qbo_total) > CENT
