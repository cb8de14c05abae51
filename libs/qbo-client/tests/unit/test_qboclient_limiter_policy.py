"""The pure grant decision: sliding windows, concurrency, batches, backoff and lanes."""

from __future__ import annotations

import pytest

from qbo_client.limiter import RealmLimits, RealmUsage, decide

LIMITS = RealmLimits(per_minute=5, per_second=2, concurrent=3, batch_per_minute=1)


def usage(
    grants: list[float] | None = None,
    batches: list[float] | None = None,
    in_flight: int = 0,
    backoff_until: float = 0.0,
    ahead: int = 0,
) -> RealmUsage:
    return RealmUsage(grants or [], batches or [], in_flight, backoff_until, ahead)


def test_empty_realm_grants() -> None:
    assert decide(LIMITS, usage(), 100.0, batch=False) == 0.0


def test_per_second_window_waits_for_oldest_to_leave() -> None:
    wait = decide(LIMITS, usage([99.5, 99.9]), 100.0, batch=False)
    assert wait == pytest.approx(99.5 + LIMITS.second_window - 100.0)


def test_per_minute_window_counts_the_whole_minute() -> None:
    grants = [50.0, 60.0, 70.0, 80.0, 90.0]
    wait = decide(LIMITS, usage(grants), 100.0, batch=False)
    assert wait == pytest.approx(50.0 + LIMITS.minute_window - 100.0)
    # Once the oldest grant is out of the window there is room again.
    assert decide(LIMITS, usage(grants), 50.0 + LIMITS.minute_window + 0.01, batch=False) == 0.0


def test_concurrency_full_polls_less_often_further_back() -> None:
    assert decide(LIMITS, usage(in_flight=3), 100.0, batch=False) == LIMITS.poll_interval
    roomy = RealmLimits(per_minute=100, per_second=100, concurrent=3)
    behind = decide(roomy, usage(in_flight=3, ahead=4), 100.0, batch=False)
    assert behind == pytest.approx(roomy.poll_interval * 5)


def test_batch_budget_only_applies_to_batches() -> None:
    assert decide(LIMITS, usage([90.0], batches=[90.0]), 100.0, batch=False) == 0.0
    wait = decide(LIMITS, usage([90.0], batches=[90.0]), 100.0, batch=True)
    assert wait == pytest.approx(90.0 + LIMITS.minute_window - 100.0)


def test_backoff_blocks_everything_until_it_ends() -> None:
    assert decide(LIMITS, usage(backoff_until=130.0), 100.0, batch=False) == 30.0
    assert decide(LIMITS, usage(backoff_until=99.0), 100.0, batch=False) == 0.0


def test_waiters_ahead_reserve_their_slots() -> None:
    # One slot left in the second: the caller behind an interactive waiter must not take it.
    assert decide(LIMITS, usage([99.9]), 100.0, batch=False) == 0.0
    assert decide(LIMITS, usage([99.9], ahead=1), 100.0, batch=False) > 0.0
    # Two free slots, one waiter ahead: room for both.
    assert decide(LIMITS, usage([], ahead=1), 100.0, batch=False) == 0.0
