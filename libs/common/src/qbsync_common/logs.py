"""JSON-lines logging on stdout that carries trace, tenant and event ids and never a secret."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from opentelemetry import trace
from pydantic import SecretStr

from qbsync_common.redaction import redact_text, redact_value, register_secret
from qbsync_common.settings import ServiceSettings

# Fields set by `log_context`; a ContextVar so each asyncio task (each delivery) sees its own.
_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("qbsync_log_context", default=_EMPTY)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
# Our own keys win over `extra=` keys of the same name, so a caller cannot forge a trace id.
_OWN_KEYS = (
    "ts",
    "level",
    "logger",
    "msg",
    "service",
    "trace_id",
    "span_id",
    "tenant_id",
    "event_id",
)


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add fields (tenant_id=..., event_id=...) to every record logged inside the block.

    Nested blocks add to (and may override) the outer fields; None clears a field for the block.
    """
    merged = dict(_context.get())
    for key, value in fields.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> Mapping[str, str]:
    return _context.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values are scrubbed of credentials before they are written."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        span_context = trace.get_current_span().get_span_context()
        context = _context.get()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
            "service": self.service,
            "trace_id": format(span_context.trace_id, "032x") if span_context.is_valid else "",
            "span_id": format(span_context.span_id, "016x") if span_context.is_valid else "",
            "tenant_id": context.get("tenant_id", ""),
            "event_id": context.get("event_id", ""),
        }
        for key, value in context.items():
            entry.setdefault(key, redact_value(key, value))
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in _OWN_KEYS:
                entry[key] = redact_value(key, value)
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = redact_text(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact_text(self.formatStack(record.stack_info))
        return json.dumps(entry, default=lambda v: redact_text(str(v)), ensure_ascii=False)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stdout` is at emit time (pytest's capture swaps it per test)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(settings: ServiceSettings) -> None:
    """Send every log record as a JSON line to stdout; calling it again replaces our handler."""
    for _, value in settings:
        # URLs are handled by the pattern that keeps user and host; other secrets are literals.
        if isinstance(value, SecretStr) and "://" not in value.get_secret_value():
            register_secret(value.get_secret_value())
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StdoutHandler):
            root.removeHandler(handler)
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter(settings.service_name))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # uvicorn configures its own handlers unless told not to; route its records through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
