"""Automatch: how likely an unlinked upstream partner and an unlinked QBO record are the same.

The score starts from name similarity and is strengthened by independent evidence (e-mail,
e-mail domain, tax id, address). Exact evidence matters more than fuzzy names: two "Acme" rows
with different tax ids stay below an operator's threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from partner_sync.domain.names import clean_display_name

# Domains many unrelated partners share: equal domains there prove nothing.
FREE_MAIL = frozenset(
    {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com", "gmx.de"}
)
NAME_WEIGHT = 0.75
MIN_PROPOSAL = 0.6


@dataclass(frozen=True)
class Party:
    """The comparable facts of either side."""

    ref: str  # upstream partner id or QBO id
    name: str
    email: str | None = None
    tax_id: str | None = None
    postal_code: str | None = None
    line1: str | None = None


@dataclass(frozen=True)
class Match:
    partner: str
    qbo_id: str
    qbo_name: str
    score: float
    evidence: dict[str, float] = field(default_factory=dict)


def _norm(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def score(upstream: Party, record: Party) -> tuple[float, dict[str, float]]:
    a, b = _norm(clean_display_name(upstream.name)), _norm(clean_display_name(record.name))
    similarity = fuzz.token_sort_ratio(a, b) / 100.0 if a and b else 0.0
    evidence = {"name": round(similarity, 3)}
    total = similarity * NAME_WEIGHT
    if upstream.email and record.email:
        if _norm(upstream.email) == _norm(record.email):
            evidence["email"] = 0.2
        else:
            domain_a = _norm(upstream.email).rpartition("@")[2]
            domain_b = _norm(record.email).rpartition("@")[2]
            if domain_a and domain_a == domain_b and domain_a not in FREE_MAIL:
                evidence["email_domain"] = 0.1
    if upstream.tax_id and record.tax_id:
        same = _norm(upstream.tax_id).replace(" ", "") == _norm(record.tax_id).replace(" ", "")
        # A different tax id is strong evidence of two different businesses.
        evidence["tax_id"] = 0.25 if same else -0.3
    if (
        upstream.postal_code
        and record.postal_code
        and _norm(upstream.postal_code) == _norm(record.postal_code)
    ):
        line_similarity = (
            fuzz.ratio(_norm(upstream.line1), _norm(record.line1)) / 100.0
            if upstream.line1 and record.line1
            else 0.5
        )
        evidence["address"] = round(0.1 * line_similarity, 3)
    # An exact name alone is a full match (the same rule the sync itself adopts by).
    if a and a == b:
        total = 1.0
    total += sum(v for k, v in evidence.items() if k != "name")
    return max(0.0, min(1.0, round(total, 4))), evidence


def propose(
    upstream: Iterable[Party], records: Iterable[Party], *, minimum: float = MIN_PROPOSAL
) -> list[Match]:
    """Best record per partner, each record proposed for at most one partner (best score wins)."""
    candidates: list[Match] = []
    pool = list(records)
    for partner in upstream:
        best: Match | None = None
        for record in pool:
            value, evidence = score(partner, record)
            if value >= minimum and (best is None or value > best.score):
                best = Match(partner.ref, record.ref, record.name, value, evidence)
        if best is not None:
            candidates.append(best)
    candidates.sort(key=lambda m: -m.score)
    taken: set[str] = set()
    chosen: list[Match] = []
    for match in candidates:
        if match.qbo_id not in taken:
            taken.add(match.qbo_id)
            chosen.append(match)
    return chosen
