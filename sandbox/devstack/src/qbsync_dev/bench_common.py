"""What the benchmarks share: their sizes from the environment, and the one percentile."""

from __future__ import annotations

import os
from collections.abc import Sequence


def size_from_env(name: str, default: int) -> int:
    """A positive size from the environment, or an error naming the variable."""
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, not {raw!r}")
    return value


def pct(values: Sequence[float], q: float) -> float:
    """The nearest-rank `q` quantile (0..1) of `values`; 0.0 for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0
