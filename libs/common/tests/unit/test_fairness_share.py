"""TenantShare: the bookkeeping that decides whether a tenant's event is held."""

from __future__ import annotations

from qbsync_common.messaging.fairness import RELEASE_CLAIM_S, TenantShare


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_tenant_at_its_cap_is_held_and_stays_held_until_released() -> None:
    share = TenantShare(2)
    for _ in range(2):
        assert not share.must_hold("a", exempt=False)
        share.started("a")
    assert share.must_hold("a", exempt=False)
    assert not share.must_hold("b", exempt=False), "other tenants are not affected"
    share.finished("a")
    # Room again, but "a" has held events: new ones queue behind them (order is kept).
    assert share.must_hold("a", exempt=False)
    assert share.room("a") == 1
    assert share.wake.is_set()


def test_released_and_retried_events_are_never_held() -> None:
    share = TenantShare(1)
    share.started("a")
    assert share.must_hold("a", exempt=False)
    assert not share.must_hold("a", exempt=True)


def test_released_events_claim_room_until_they_come_back_or_the_claim_lapses() -> None:
    clock = Clock()
    share = TenantShare(3, clock=clock)
    share.holding.add("a")
    share.released("a", 2)
    assert share.room("a") == 1
    share.came_back("a")
    share.started("a")
    assert share.room("a") == 1
    # The other released event went to another replica: after the claim lapses, room returns.
    clock.now = RELEASE_CLAIM_S + 1
    assert share.room("a") == 2


def test_cap_zero_disables_holding() -> None:
    share = TenantShare(0)
    for _ in range(100):
        share.started("a")
    assert not share.enabled
    assert not share.must_hold("a", exempt=False)
