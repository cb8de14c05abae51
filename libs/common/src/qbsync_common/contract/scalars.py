"""Wire scalar types shared by every event: exact decimals as strings, currency codes, ids."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, StringConstraints, WithJsonSchema

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _to_decimal(value: Any) -> Decimal:
    # bool is an int subclass; True as an amount is always a bug upstream.
    if isinstance(value, bool):
        raise ValueError("a decimal must be a string or a number, not a boolean")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    elif isinstance(value, float):
        # str() gives the shortest repr that round-trips, so 12.34 stays 12.34, not 12.339999...
        number = Decimal(str(value))
    else:
        raise ValueError("a decimal must be a string or a number")
    if not number.is_finite():
        raise ValueError("a decimal must be finite")
    return number


def _to_wire(value: Decimal) -> str:
    # Fixed-point notation: upstream parsers should never have to understand "1E+2".
    return format(value, "f")


ExactDecimal = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(_to_wire, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}),
]
"""An exact decimal: a JSON string such as "1234.50" on the wire (numbers are accepted on input)."""

Money = ExactDecimal
"""An amount of money in the currency named next to it, exact, never a float."""

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 currency code such as "USD"."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""An id as a non-empty string (upstream ids and QBO ids alike)."""
