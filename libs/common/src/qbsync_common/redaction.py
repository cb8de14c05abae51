"""Scrubbing of tokens and secrets from text and key/value pairs before logs or traces see them."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

# A key whose *name* says it holds a secret: its value is never emitted (RELIABILITY §8 S4).
_SENSITIVE_KEY = re.compile(
    r"token|secret|password|passwd|authorization|api_?key|code_verifier|cookie", re.IGNORECASE
)
_KEY_WORDS = r"token|secret|password|passwd|api_?key|code_verifier"

# Order matters: header forms first, so "Authorization: Bearer x" is not redacted twice.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer abc / Proxy-Authorization=Basic abc (header or log-line form).
    (
        re.compile(
            r"\b((?:proxy-)?authorization)(\s*[:=]\s*)(?![\"'\[])"
            r"(?:(?:bearer|basic|digest|token)\s+)?[^\s,;\"']+",
            re.IGNORECASE,
        ),
        rf"\1\2{REDACTED}",
    ),
    # Bare credentials after an auth scheme, wherever they appear (exception text, reprs).
    (
        re.compile(r"\b(bearer|basic)\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE),
        rf"\1 {REDACTED}",
    ),
    # scheme://user:password@host (amqp, postgresql+asyncpg, https...): keep the user and host.
    (
        re.compile(r"\b([a-z][a-z0-9+.\-]*://[^:/@\s]*):([^@\s/]+)@", re.IGNORECASE),
        rf"\1:{REDACTED}@",
    ),
    # JSON or Python-repr pairs: "access_token": "abc", 'client_secret': 'abc'.
    (
        re.compile(
            rf"([\"'])([\w\-]*(?:{_KEY_WORDS}|authorization)[\w\-]*)\1(\s*:\s*)([\"'])"
            r"(?:\\.|(?!\4).)*\4",
            re.IGNORECASE,
        ),
        rf"\1\2\1\3\4{REDACTED}\4",
    ),
    # Query strings and form bodies: ?code=abc&state=..., refresh_token=abc, password="abc".
    # `\bcode` does not match inside "status_code" because "_" is a word character.
    (
        re.compile(
            rf"(\b[\w\-]*(?:{_KEY_WORDS})[\w\-]*|\bcode)(\s*=\s*)([\"']?)(?!\[REDACTED\])"
            r"[^&\s#\"',;]+",
            re.IGNORECASE,
        ),
        rf"\1\2\3{REDACTED}",
    ),
)

# Every pattern above needs one of these words; most log lines have none, and one scan for them
# is several times cheaper than running the patterns (logging sits on the per-event hot path).
_TRIGGERS = ("token", "secret", "passw", "authoriz", "key", "code", "bearer", "basic", "://")

_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a literal secret (e.g. a client secret from settings) so it is scrubbed anywhere.

    Short values are ignored: redacting every occurrence of a 4-letter word would mangle logs
    without protecting anything worth protecting.
    """
    if value is not None and len(value) >= 8:
        _known_secrets.add(value)


def is_sensitive_key(key: str) -> bool:
    return _SENSITIVE_KEY.search(key) is not None


def redact_text(text: str) -> str:
    """The text with every recognisable credential replaced by `[REDACTED]`."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    if not any(word in lowered for word in _TRIGGERS):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(key: str, value: object) -> object:
    """A value for emission under `key`: hidden entirely if the key names a secret."""
    if is_sensitive_key(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, (list, tuple)):
        return [redact_value("", v) for v in value]
    if isinstance(value, dict):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    return value


def redact_sequence(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(redact_text(v) for v in values)
