"""Turn QBO fault bodies (JSON envelopes, the lower-camel auth envelope, XML) into exceptions."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from qbo_client.errors import (
    AuthenticationError,
    AuthorizationError,
    DuplicateDocNumberError,
    DuplicateNameError,
    InvalidReferenceError,
    ObjectNotFoundError,
    QBOError,
    ServiceError,
    StaleObjectError,
    ThrottledError,
    ValidationError,
)

_XML_NS = "{http://schema.intuit.com/finance/v3}"


@dataclass(frozen=True)
class FaultEntry:
    """One ``Error`` element of a QBO fault."""

    code: str | None
    message: str
    detail: str | None = None
    element: str | None = None


def fault_entries(payload: Any) -> list[FaultEntry] | None:
    """The errors of a parsed JSON fault, or None if the payload holds no fault.

    Accepts ``{"Fault": {"Error": [...]}}`` and the auth envelope ``{"fault": {"error": [...]}}``.
    """
    if not isinstance(payload, dict):
        return None
    fault = payload.get("Fault") or payload.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or []
    entries = []
    for err in errors if isinstance(errors, list) else [errors]:
        if not isinstance(err, dict):
            continue
        code = err.get("code")
        entries.append(
            FaultEntry(
                code=str(code) if code is not None else None,
                message=str(err.get("Message") or err.get("message") or ""),
                detail=_opt_str(err.get("Detail") or err.get("detail")),
                element=_opt_str(err.get("element")),
            )
        )
    return entries or [FaultEntry(code=None, message=str(fault.get("type", "Fault")))]


def xml_fault_entries(body: bytes) -> list[FaultEntry] | None:
    """The errors of an ``<IntuitResponse><Fault>`` body, or None if it is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    fault = root if _local(root.tag) == "Fault" else root.find(f"{_XML_NS}Fault")
    if fault is None:
        fault = root.find("Fault")
    if fault is None:
        return None
    entries = []
    for err in fault:
        if _local(err.tag) != "Error":
            continue
        entries.append(
            FaultEntry(
                code=err.get("code"),
                message=_child_text(err, "Message") or "",
                detail=_child_text(err, "Detail"),
                element=err.get("element") or None,
            )
        )
    return entries or [FaultEntry(code=None, message=fault.get("type", "Fault"))]


def error_from_response(
    status: int,
    body: bytes,
    *,
    intuit_tid: str | None = None,
    payload: Any = None,
) -> QBOError:
    """Map an error response (any status; QBO may put a Fault in a 200) to an exception."""
    entries = fault_entries(payload) if payload is not None else None
    if entries is None:
        entries = _entries_from_raw(body)
    if not entries:
        # Load balancers answer 502/503 with HTML; anything unparseable is described by status.
        text = body[:200].decode("utf-8", "replace").strip()
        entry = FaultEntry(code=None, message=f"HTTP {status}", detail=text)
        return _build(status, entry, intuit_tid)
    return _build(status, entries[0], intuit_tid)


def error_from_entry(
    entry: FaultEntry, *, status: int = 400, intuit_tid: str | None = None
) -> QBOError:
    """Map one fault entry (a batch item's Fault, for example) to an exception."""
    return _build(status, entry, intuit_tid)


def _entries_from_raw(body: bytes) -> list[FaultEntry] | None:
    stripped = body.lstrip()
    if stripped.startswith(b"<"):
        return xml_fault_entries(stripped)
    try:
        return fault_entries(json.loads(stripped or b"null"))
    except ValueError:
        return None


def error_class(status: int, code: str | None, text: str) -> type[QBOError]:
    """Pick the exception class; codes win over statuses because QBO reuses statuses."""
    num = _code_number(code)
    if num == 3001 or status == 429 or "ThrottleExceeded" in text:
        return ThrottledError
    if num == 3200 or status == 401:
        return AuthenticationError
    if num == 3100 and status >= 500:
        return ServiceError
    if num == 3100 or status == 403:
        return AuthorizationError
    if num == 610:
        return ObjectNotFoundError
    if num == 5010:
        return StaleObjectError
    if num == 6240:
        return DuplicateNameError
    if num == 6140:
        return DuplicateDocNumberError
    if num == 2500:
        return InvalidReferenceError
    if num is not None and num >= 10000:
        return ServiceError
    if status >= 500:
        return ServiceError
    if num is not None and (num == 500 or 2000 <= num < 5000 or 6000 <= num < 7000):
        return ValidationError
    if status == 400:
        return ValidationError
    return QBOError


def _build(status: int, entry: FaultEntry, intuit_tid: str | None) -> QBOError:
    cls = error_class(status, entry.code, f"{entry.message} {entry.detail or ''}")
    return cls(
        entry.message or f"HTTP {status}",
        code=entry.code,
        status=status,
        detail=entry.detail,
        intuit_tid=intuit_tid,
        element=entry.element,
    )


def _code_number(code: str | None) -> int | None:
    if code is None:
        return None
    try:
        return int(code)
    except ValueError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(elem: ET.Element, name: str) -> str | None:
    for child in elem:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def _opt_str(value: object) -> str | None:
    return None if value in (None, "") else str(value)
