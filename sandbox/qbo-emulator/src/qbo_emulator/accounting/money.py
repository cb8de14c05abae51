"""Exact money: Decimal parsing of client input and JSON output without float rounding errors."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from qbo_emulator.accounting.faults import ApiFault, validation

CENT = Decimal("0.01")
ZERO = Decimal("0")
# QBO keeps amounts within 15 significant digits; beyond this an amount cannot be stored exactly.
MAX_AMOUNT = Decimal("1e13")


def to_decimal(value: Any, element: str) -> Decimal:
    """Accept what clients send for amounts: numbers (parsed as Decimal) or numeric strings."""
    if isinstance(value, bool):
        raise _bad_amount(element, value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str | float):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise _bad_amount(element, value) from None
    else:
        raise _bad_amount(element, value)
    if not result.is_finite() or abs(result) >= MAX_AMOUNT:
        raise _bad_amount(element, value)
    return result


def optional_decimal(value: Any, element: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return to_decimal(value, element)


def cents(value: Decimal) -> Decimal:
    """Round to cents; a computed amount too large to hold (qty x price, x rate) is a fault."""
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise _out_of_range()
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _out_of_range() -> ApiFault:
    return validation(
        "6000",
        "A business validation error has occurred while processing your request",
        "Business Validation Error: The amount is out of range.",
        "Amount",
    )


def _bad_amount(element: str, value: Any) -> ApiFault:
    return validation(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{element} specified is unsupported or invalid (value {value!r})",
        element,
    )


def json_default(value: Any) -> Any:
    """json.dumps hook: a Decimal becomes a float, whose shortest repr equals the decimal digits.

    Every amount the emulator stores has at most 15 significant digits, which a double holds
    exactly enough that repr() gives back the same digits; whole amounts are emitted as ints.
    """
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
