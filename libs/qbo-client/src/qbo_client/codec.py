"""JSON encoding and decoding that keeps money as Decimal in both directions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def loads(data: bytes | str) -> Any:
    """Parse JSON, turning every non-integer number into a Decimal (never a float)."""
    return json.loads(data, parse_float=Decimal)


def dumps(value: Any) -> bytes:
    """Serialize to JSON, writing Decimals as exact JSON numbers.

    The stdlib encoder cannot emit a Decimal as a number and pydantic's JSON mode turns it
    into a string, which QBO would reject for amounts; so this small writer does it.
    """
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode()


def _write(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool | int | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send non-finite amount {value!r} to QBO")
        # 'f' keeps the exact digits and avoids exponent notation such as 1E+2.
        out.append(format(value, "f"))
    elif isinstance(value, float):
        raise TypeError("floats are not accepted for QBO payloads; use Decimal")
    elif isinstance(value, Enum):
        _write(value.value, out)
    elif isinstance(value, datetime | date):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")
