"""The partner-sync benchmark runs end to end at a tiny scale and judges each of issue 6's targets;
the numbers themselves are not asserted (a shared 2-core machine), what came back is."""

from __future__ import annotations

import pytest

from qbsync_dev import bench_partner_sync

TINY = {
    "STEADY": "10",
    "EVENTS": "20",
    "TENANTS": "2",
    "BACKLOG": "10",
    "BACKFILL": "90",
    "SCALE": "4",
}


def test_the_backfill_minimum_counts_the_first_minutes_allowance() -> None:
    # 10,000 partners are 334 batches; at 160 batches a minute the first 160 leave at once, the
    # next 160 a minute later and the last 14 two minutes after the start.
    assert bench_partner_sync.backfill_minimum_s(10_000, 160, 2_000) == 120.0
    assert bench_partner_sync.backfill_minimum_s(10_000, 40, 500) == 480.0
    assert bench_partner_sync.backfill_minimum_s(4_800, 160, 2_000) == 0.0  # 160 batches
    assert bench_partner_sync.backfill_minimum_s(4_801, 160, 2_000) == 60.0
    # The request limit binds when it is the smaller allowance (each batch is a request).
    assert bench_partner_sync.backfill_minimum_s(3_000, 1_000, 50) == 60.0


def test_the_summary_counts_targets_met_and_names_the_missed_ones() -> None:
    rows = [
        ("calls per partner", "1.00 PASS"),
        ("events/s", "120"),
        ("fairness", "2500 ms FAIL"),
        ("backfill ratio", "n/a (fits the first minute's allowance)"),
    ]
    assert bench_partner_sync.summary(rows) == ("issue 6 targets", "1/2 met; missed: fairness")


@pytest.mark.parametrize("raw", ["many", "-5"])
def test_a_bad_sizing_variable_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("QBSYNC_BENCH_PS_BACKFILL", raw)
    with pytest.raises(
        ValueError, match=f"QBSYNC_BENCH_PS_BACKFILL must be an integer >= 0, not '{raw}'"
    ):
        bench_partner_sync.Config.from_env()


@pytest.mark.integration
@pytest.mark.slow
async def test_the_partner_sync_benchmark_runs_end_to_end_and_judges_its_targets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in TINY.items():
        monkeypatch.setenv(f"QBSYNC_BENCH_PS_{name}", value)

    rows = dict(await bench_partner_sync.run())

    judged = {m: v for m, v in rows.items() if v.endswith(("PASS", "FAIL"))}
    calls = next(v for m, v in judged.items() if m.startswith("steady state: QBO calls"))
    assert float(calls.split()[0]) > 0
    fairness = [m for m in judged if m.startswith("fairness:")]
    assert len(fairness) == 2  # behind a backlog and during a backfill
    assert rows["20 events over 2 tenants: events/s end to end"]
    assert rows["publish → partner.synced p99"].endswith(" ms")
    assert rows["backfill 90 partners, QBO limits x4: time"].endswith("state done)")
    # 3 batches fit the first minute's allowance: no ratio to judge at this size.
    [ratio] = [v for m, v in rows.items() if m.startswith("backfill: time / minimum")]
    assert ratio.startswith("n/a")
    assert rows["issue 6 targets"].startswith(
        f"{sum(v.endswith('PASS') for v in judged.values())}/3 met"
    )
