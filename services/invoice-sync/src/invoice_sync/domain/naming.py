"""QBO item names from upstream line names, following the tenant's naming rule."""

from __future__ import annotations

import re

from invoice_sync.domain.policy import SyncPolicy

BALANCING_ITEM = "Balance adjustment"
# QBO Item.Name: at most 100 characters; ':' separates sub-items and tabs/newlines are refused.
_MAX = 100
_FORBIDDEN = re.compile(r"[:\t\r\n]")
_SPACES = re.compile(r"\s+")


def item_name(line_name: str | None, policy: SyncPolicy) -> str:
    """The QBO item a line is booked on; the balancing line has its own item."""
    if line_name is None:
        return BALANCING_ITEM
    raw = policy.fixed_item_name if policy.item_naming == "fixed" else line_name
    cleaned = _SPACES.sub(" ", _FORBIDDEN.sub("-", raw)).strip()[:_MAX].strip()
    return cleaned or policy.fixed_item_name
