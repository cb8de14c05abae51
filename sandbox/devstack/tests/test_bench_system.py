"""The system benchmark (L1/L2) runs end to end at a tiny scale and reports its metrics; the
numbers themselves are not asserted (a shared 2-core machine), what came back is."""

from __future__ import annotations

import uuid

import pytest
from qbsync_dev import bench_system
from qbsync_dev.workload import Mix

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TINY = {
    "TENANTS": "3",
    "EVENTS": "30",
    "QUIET": "2",
    "QUIET_EVENTS": "3",
    "TRICKLE_S": "0.3",
    "NOISY": "20",
    "RAW": "200",
    "TIMEOUT_S": "90",
}


def test_a_workload_is_cut_to_the_default_mix_proportions() -> None:
    assert bench_system.mix_of(50).events == 50
    assert bench_system.mix_of(125) == Mix()
    assert bench_system.mix_of(1).clients == 1


async def test_the_system_benchmark_runs_end_to_end_and_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in TINY.items():
        monkeypatch.setenv(f"QBSYNC_BENCH_SYSTEM_{name}", value)
    database = f"qbsync_bench_system_test_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("QBSYNC_BENCH_SYSTEM_DATABASE", database)

    rows = dict(await bench_system.run())

    assert rows["L1 tenants / events"] == "3 / 30"
    assert rows["L1 results done"] == "30/30"
    # Correctness under load: every record exists exactly once in every company.
    assert rows["L1 census: companies with every record exactly once"] == "3/3"
    assert rows["L1 census: records missing / duplicated"] == "0 / 0"
    assert rows["L1 QBO 429s (limits off)"] == "0"
    assert rows["L2 baseline results done"] == "6/6"
    assert rows["L2 flooded results done"] == "6/6"
    for metric in (
        "raw aio-pika publish (confirmed) msg/s",
        "L1 end-to-end events/s (publish start to last result)",
        "L1 publish-to-result p99 s",
        "L1 QBO calls per record (all / without the poller's CDC)",
        "L2 worst quiet p99 / baseline p99 (target <= 2x)",
        "peak RSS (VmHWM) MiB partner-sync",
    ):
        assert rows[metric], metric
    peaks = [int(v) for k, v in rows.items() if k.startswith("peak RSS (VmHWM) MiB")]
    assert len(peaks) == 5 and all(peak > 0 for peak in peaks)


@pytest.mark.parametrize("raw", ["many", "-5"])
def test_a_bad_sizing_variable_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("QBSYNC_BENCH_SYSTEM_TENANTS", raw)
    with pytest.raises(
        ValueError, match=f"QBSYNC_BENCH_SYSTEM_TENANTS must be an integer >= 0, not '{raw}'"
    ):
        bench_system.Config.from_env()
