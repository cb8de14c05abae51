"""The gateway's crash point is switched on by the shared QBSYNC_CRASH_* variables, never in production."""

from __future__ import annotations

import os
import signal

import pytest

from oauth_gateway.custody.crash import AFTER_TOKEN_RESPONSE, crash_after_token_response
from qbsync_common.faults import CRASH_AT, CRASH_PROBABILITY, CrashHook


@pytest.fixture(autouse=True)
def no_crash_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (CRASH_AT, CRASH_PROBABILITY):
        monkeypatch.delenv(name, raising=False)


def test_the_gateway_point_joins_the_shared_points_with_the_given_probability(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CRASH_AT, f"before-commit, {AFTER_TOKEN_RESPONSE},no-such-point")
    monkeypatch.setenv(CRASH_PROBABILITY, "0.25")
    hook = CrashHook.from_env("development")
    assert hook.points == {"before-commit", AFTER_TOKEN_RESPONSE}
    assert hook.probability == 0.25


def test_production_and_an_unset_switch_never_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CrashHook.from_env("development").points == frozenset()
    monkeypatch.setenv(CRASH_AT, AFTER_TOKEN_RESPONSE)
    monkeypatch.setenv(CRASH_PROBABILITY, "1")
    assert CrashHook.from_env("production").points == frozenset()


def test_a_probability_that_is_no_number_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CRASH_AT, AFTER_TOKEN_RESPONSE)
    monkeypatch.setenv(CRASH_PROBABILITY, "often")
    with pytest.raises(ValueError, match=CRASH_PROBABILITY):
        CrashHook.from_env("development")


async def test_the_refresher_hook_fires_the_gateway_point() -> None:
    fired: list[str] = []
    await crash_after_token_response(fired.append)("t-1")
    assert fired == [AFTER_TOKEN_RESPONSE]


async def test_an_armed_point_kills_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    killed: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    monkeypatch.setenv(CRASH_AT, AFTER_TOKEN_RESPONSE)
    monkeypatch.setenv(CRASH_PROBABILITY, "1")
    await crash_after_token_response(CrashHook.from_env("development"))("t-1")
    assert killed == [(os.getpid(), signal.SIGKILL)]
