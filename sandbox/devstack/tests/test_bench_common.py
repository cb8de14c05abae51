"""What the benchmarks share: sizes from the environment refused by name when bad, and the
percentile (nearest rank, never past either end, 0.0 for no samples)."""

from __future__ import annotations

import pytest

from qbsync_dev.bench_common import pct, size_from_env


def test_nearest_rank_quantiles() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert pct(values, 0.0) == 1.0
    assert pct(values, 0.5) == 51.0  # round(0.5 * 99) = 50 -> the 51st
    assert pct(values, 0.99) == 99.0
    assert pct(values, 1.0) == 100.0


def test_one_sample_and_none() -> None:
    assert pct([7.0], 0.99) == 7.0
    assert pct([], 0.99) == 0.0


@pytest.mark.parametrize("raw", ["many", "0", "-5"])
def test_a_bad_size_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("QBSYNC_BENCH_IS_INVOICES", raw)
    with pytest.raises(
        ValueError, match=f"QBSYNC_BENCH_IS_INVOICES must be an integer >= 1, not '{raw}'"
    ):
        size_from_env("QBSYNC_BENCH_IS_INVOICES", 5000)


def test_a_size_from_the_environment_or_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QBSYNC_BENCH_IS_INVOICES", raising=False)
    assert size_from_env("QBSYNC_BENCH_IS_INVOICES", 5000) == 5000
    monkeypatch.setenv("QBSYNC_BENCH_IS_INVOICES", "42")
    assert size_from_env("QBSYNC_BENCH_IS_INVOICES", 5000) == 42
