"""Payment method names: which refs need a lookup, and filling the names in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from payment_poller.domain.model import QboPayment


def unnamed_method_ids(payments: Iterable[QboPayment], known: Iterable[str]) -> set[str]:
    """PaymentMethod ids that payments cite without a name and that no earlier lookup answered."""
    seen = set(known)
    return {
        p.method_id
        for p in payments
        if p.method_id is not None and p.method is None and p.method_id not in seen
    }


def with_method_names(
    payments: Iterable[QboPayment], names: Mapping[str, str | None]
) -> list[QboPayment]:
    """Payments with `method` filled from `names`; an id without a name leaves `method` empty."""
    out = []
    for p in payments:
        if p.method is None and p.method_id is not None and names.get(p.method_id):
            p = replace(p, method=names[p.method_id])
        out.append(p)
    return out
