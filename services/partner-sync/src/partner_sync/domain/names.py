"""QBO display names: cleaned deterministically and disambiguated between clients and vendors.

QBO forbids `:`, tabs and newlines in DisplayName, caps it at 500 characters, and requires it to be
unique across Customers, Vendors and Employees (inactive ones included).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

MAX_DISPLAY_NAME = 500
_WHITESPACE = re.compile(r"\s+")

PartnerKind = Literal["client", "vendor"]


def clean_display_name(raw: str) -> str:
    """The same input always gives the same name, so a re-sync never renames a record."""
    text = unicodedata.normalize("NFC", raw)
    # ':' is QBO's sub-customer separator; a dash keeps the name readable.
    text = text.replace(":", " - ")
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = _WHITESPACE.sub(" ", text).strip()
    return text[:MAX_DISPLAY_NAME].rstrip()


@dataclass(frozen=True)
class DisambiguationRule:
    """Suffixes added when a client and a vendor would share a display name (tenant setting)."""

    client_suffix: str = ""
    vendor_suffix: str = " (Vendor)"

    def suffix_for(self, kind: PartnerKind) -> str:
        return self.client_suffix if kind == "client" else self.vendor_suffix


def disambiguate(name: str, kind: PartnerKind, rule: DisambiguationRule) -> str:
    """The name a partner of `kind` takes when the other kind already holds `name`."""
    suffix = rule.suffix_for(kind)
    if not suffix:
        return name
    return name[: MAX_DISPLAY_NAME - len(suffix)].rstrip() + suffix
