"""The B1 benchmark runs at a tiny scale: every poison message is accounted for (refused by the
shipped broker's size limit, or parked), every good event is committed, and a verdict is given.
The lags themselves are not asserted (timings on a shared machine)."""

from __future__ import annotations

import pytest

from qbsync_dev import bench_poison

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_schedule_mixes_one_percent_poison_of_every_kind() -> None:
    slots = bench_poison.schedule(1000, poison=True)
    assert sum(1 for s in slots if s) == 10
    assert {s for s in slots if s} == set(bench_poison.POISON_KINDS)
    # Rounds without poison send the same good events in the same slots.
    clean = bench_poison.schedule(1000, poison=False)
    assert [s is None for s in slots] == [s is None for s in clean]


async def test_the_poison_benchmark_accounts_for_every_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 500 slots, so each of the five kinds is sent once (the 10 MB body included).
    monkeypatch.setattr(bench_poison, "RATE", 250)
    monkeypatch.setattr(bench_poison, "SECONDS", 2.0)
    monkeypatch.setattr(bench_poison, "ROUNDS", 1)
    rows = dict(await bench_poison.run())
    sent, refused, parked = map(
        int, rows["poison sent / refused by the broker at publish / parked"].split(" / ")
    )
    assert sent == 5
    # The shipped broker configuration refuses the 10 MB body; the service parks the other four.
    assert (refused, parked) == (1, 4)
    verdict = rows["p99 over all rounds with poison vs without (target <= +10%)"].split()[-1]
    assert verdict in {"PASS", "FAIL"}
