"""Encoding response bodies: JSON (exact decimals) or QBO's IntuitResponse XML."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from qbo_emulator.accounting.faults import XML_NS
from qbo_emulator.accounting.money import json_default

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
# In XML these keys are attributes of their element rather than child elements.
_ATTRIBUTES = frozenset({"startPosition", "maxResults", "totalCount", "domain", "sparse", "bId"})
_REF_NAME = "name"


def wants_json(accept: str | None, fmt: str | None) -> bool:
    if fmt:
        return fmt.lower() == "json"
    return accept is not None and "json" in accept.lower()


def to_json(body: Any) -> bytes:
    return json.dumps(body, default=json_default, separators=(",", ":")).encode()


def to_xml(body: dict[str, Any]) -> bytes:
    """Render a JSON-shaped response as <IntuitResponse>; `time` becomes its attribute."""
    time = body.get("time", "")
    inner = "".join(_element(k, v) for k, v in body.items() if k != "time")
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse xmlns="{XML_NS}" time="{escape(str(time))}">{inner}</IntuitResponse>'
    ).encode()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return escape(str(value))


def _element(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_element(name, item) for item in value)
    if isinstance(value, dict):
        attrs = "".join(
            f" {k}={quoteattr(_scalar(v))}" for k, v in value.items() if k in _ATTRIBUTES
        )
        if "value" in value and set(value) <= {"value", _REF_NAME, "type"}:
            # References are <CustomerRef name="…">1</CustomerRef> in QBO's XML.
            label = value.get(_REF_NAME)
            name_attr = f" name={quoteattr(str(label))}" if label else ""
            return f"<{name}{name_attr}>{_scalar(value['value'])}</{name}>"
        children = "".join(_element(k, v) for k, v in value.items() if k not in _ATTRIBUTES)
        return f"<{name}{attrs}>{children}</{name}>"
    if value is None:
        return ""
    return f"<{name}>{_scalar(value)}</{name}>"
