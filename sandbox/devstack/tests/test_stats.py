"""The benchmarks' percentile: nearest rank, never past either end, 0.0 for no samples."""

from __future__ import annotations

from qbsync_dev.stats import pct


def test_nearest_rank_quantiles() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert pct(values, 0.0) == 1.0
    assert pct(values, 0.5) == 51.0  # round(0.5 * 99) = 50 -> the 51st
    assert pct(values, 0.99) == 99.0
    assert pct(values, 1.0) == 100.0


def test_one_sample_and_none() -> None:
    assert pct([7.0], 0.99) == 7.0
    assert pct([], 0.99) == 0.0
