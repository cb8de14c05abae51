"""The plumbing benchmark runs at a tiny scale and reports every rate, both paths included;
the numbers are not asserted (a shared 2-core machine), that each path delivered is."""

from __future__ import annotations

import pytest

from qbsync_dev import bench_plumbing

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_the_plumbing_benchmark_runs_every_path_and_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each path waits for all of its results (or times out): a rate means everything arrived.
    monkeypatch.setattr(bench_plumbing, "N", 150)
    rows = dict(await bench_plumbing.run())
    assert rows["events"] == "150"
    rates = {k: v for k, v in rows.items() if k.endswith("/s")}
    assert len(rates) == 6
    assert all(float(v.replace(",", "")) > 0 for v in rates.values()), rates
    # A verdict, whichever it is at this scale: the benchmark judges the target, not the reader.
    ratio, verdict = rows["plumbing (Batched) / raw publish+consume (target >= 25%)"].split()
    assert ratio.endswith("%")
    assert verdict == ("PASS" if int(ratio[:-1]) >= 25 else "FAIL")
