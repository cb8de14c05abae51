"""The system benchmark (L1/L2) runs end to end at a tiny scale and reports its metrics; the
numbers themselves are not asserted (a shared 2-core machine), what came back is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from qbsync_dev import bench_system
from qbsync_dev.workload import Mix, build_load, qbo_record, result_key

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
    "L2_REPEAT": "2",
    "L2_SETTLE_S": "90",
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
    # Two L2 runs of 2 quiet tenants x 3 events, alone and during the flood.
    assert rows["L2 baseline results done"] == "12/12"
    assert rows["L2 flooded results done"] == "12/12"
    assert rows["L2 #1 noisy flood finished before the next run"] == "yes"
    assert "L2 #2 worst quiet p99 / baseline p99 (target <= 2x)" in rows
    assert "worst of 2 runs" in rows["L2 worst quiet p99 / baseline p99 (target <= 2x)"]
    assert rows["L1 scale: this run vs RELIABILITY §8"].endswith("(REDUCED)")
    assert rows["L2 scale: this run vs RELIABILITY §8"] == (
        "noisy 20 events, 2 quiet tenants at 200/min, 2 run(s) vs noisy 50,000, 199 quiet at "
        "10/min (REDUCED)"
    )
    # Every record the census found was timed from its publish to its CreateTime.
    assert rows["L1 publish-to-QBO records timed"] == "30/30"
    p50 = float(rows["L1 publish-to-QBO p50 s (record CreateTime, +-0.5 s)"])
    p99 = float(rows["L1 publish-to-QBO p99 s (record CreateTime, +-0.5 s)"])
    assert p50 <= p99
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


def test_publish_to_qbo_pairs_each_event_with_its_records_create_time() -> None:
    load = build_load("t1", "ab12", Mix(clients=2, vendors=1, invoices=2, bills=1, payments=1),
                      "sent", "approved")  # fmt: skip
    published = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC).timestamp()
    wall = {(load.tenant_id, result_key(e)): published for e in load.events}
    # QBO's CreateTime is to the second and in the company's time zone.
    stamps = {
        qbo_record(e): f"2026-03-02T01:00:0{i}-08:00" for i, e in enumerate(load.events) if i < 5
    }
    latencies = bench_system.publish_to_qbo(wall, [load], {"t1": stamps})
    # Records not found yet are left out; each value is the middle of its CreateTime's second.
    assert sorted(latencies) == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert len(load.events) == 7
    assert {entity for entity, _ in map(qbo_record, load.events)} == {
        "Customer", "Vendor", "Invoice", "Bill", "Payment",
    }  # fmt: skip


def test_scale_rows_say_when_a_run_is_smaller_than_section_8(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("QUIET", "NOISY", "EVENTS", "TENANTS", "TRICKLE_S", "L2_REPEAT"):
        monkeypatch.delenv(f"QBSYNC_BENCH_SYSTEM_{name}", raising=False)
    defaults = dict(bench_system.scale_rows(bench_system.Config.from_env(), 200))
    assert not defaults["L1 scale: this run vs RELIABILITY §8"].endswith("(REDUCED)")
    assert defaults["L2 scale: this run vs RELIABILITY §8"].endswith("(REDUCED)")
    monkeypatch.setenv("QBSYNC_BENCH_SYSTEM_QUIET", "199")
    monkeypatch.setenv("QBSYNC_BENCH_SYSTEM_NOISY", "50000")
    full = bench_system.Config.from_env()
    assert full.l2_repeat == 2
    assert dict(bench_system.scale_rows(full, 200))["L2 scale: this run vs RELIABILITY §8"] == (
        "noisy 50,000 events, 199 quiet tenants at 10/min, 2 run(s) vs noisy 50,000, "
        "199 quiet at 10/min"
    )


@pytest.mark.parametrize("raw", ["many", "-5"])
def test_a_bad_sizing_variable_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("QBSYNC_BENCH_SYSTEM_TENANTS", raw)
    with pytest.raises(
        ValueError, match=f"QBSYNC_BENCH_SYSTEM_TENANTS must be an integer >= 0, not '{raw}'"
    ):
        bench_system.Config.from_env()
