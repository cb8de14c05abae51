"""Unit tests of the token lifecycle (codes, rotation, grace, expiry, revoke) on a Clock."""

from __future__ import annotations

import pytest

from qbo_emulator.clock import Clock
from qbo_emulator.oauth import OAuthServer
from qbo_emulator.oauth.apps import App
from qbo_emulator.oauth.tokens import (
    ACCESS_TOKEN_SECONDS,
    CODE_SECONDS,
    HARD_EXPIRY_SECONDS,
    REFRESH_TOKEN_SECONDS,
    InvalidGrant,
    TokenService,
)

HOUR = 3600
DAY = 24 * HOUR
REDIRECT = "https://app.example/cb"


def _app(grace_hours: float = 0.0) -> App:
    return App("cid", "secret", [REDIRECT], rotation_grace_hours=grace_hours)


def _service() -> tuple[Clock, TokenService]:
    clock = Clock()
    return clock, TokenService(clock)


def test_code_is_single_use_even_when_the_second_call_is_correct() -> None:
    _, tokens = _service()
    app = _app()
    code = tokens.issue_code("cid", REDIRECT, "123", "com.intuit.quickbooks.accounting")
    first = tokens.exchange_code(app, code, REDIRECT)
    assert first.access_token != first.refresh_token
    with pytest.raises(InvalidGrant) as reused:
        tokens.exchange_code(app, code, REDIRECT)
    assert reused.value.body() == {"error": "invalid_grant"}


def test_code_expires_and_a_redirect_mismatch_burns_it() -> None:
    clock, tokens = _service()
    app = _app()
    late = tokens.issue_code("cid", REDIRECT, "1", "openid")
    clock.advance(CODE_SECONDS + 1)
    with pytest.raises(InvalidGrant):
        tokens.exchange_code(app, late, REDIRECT)
    wrong = tokens.issue_code("cid", REDIRECT, "1", "openid")
    with pytest.raises(InvalidGrant):
        tokens.exchange_code(app, wrong, "https://evil.example/cb")
    with pytest.raises(InvalidGrant):
        tokens.exchange_code(app, wrong, REDIRECT)


def test_code_of_another_client_is_invalid_grant() -> None:
    _, tokens = _service()
    code = tokens.issue_code("other", REDIRECT, "1", "openid")
    with pytest.raises(InvalidGrant):
        tokens.exchange_code(_app(), code, REDIRECT)


def test_refresh_keeps_the_value_for_24h_and_counts_the_window_down() -> None:
    clock, tokens = _service()
    app = _app()
    first = tokens.mint("cid", "1", "com.intuit.quickbooks.accounting")
    assert first.refresh_expires_in == REFRESH_TOKEN_SECONDS
    clock.advance(5 * HOUR)
    again = tokens.refresh(app, first.refresh_token)
    assert again.refresh_token == first.refresh_token
    assert again.access_token != first.access_token
    assert again.refresh_expires_in == REFRESH_TOKEN_SECONDS - 5 * HOUR


@pytest.mark.parametrize("grace_hours", [0, 24])
def test_rotation_after_24h_with_configurable_grace(grace_hours: int) -> None:
    clock, tokens = _service()
    app = _app(grace_hours)
    old = tokens.mint("cid", "1", "com.intuit.quickbooks.accounting").refresh_token
    clock.advance(DAY + 60)
    rotated = tokens.refresh(app, old)
    assert rotated.refresh_token != old
    assert rotated.refresh_expires_in == REFRESH_TOKEN_SECONDS
    clock.advance(60)
    # The new value is the one that keeps working, unchanged within its own first 24 h.
    assert tokens.refresh(app, rotated.refresh_token).refresh_token == rotated.refresh_token
    if grace_hours == 0:
        with pytest.raises(InvalidGrant) as dead:
            tokens.refresh(app, old)
        assert dead.value.body()["error_description"] == "Incorrect or invalid refresh token"
    else:
        # Inside the grace period the old value still works and hands out the newest one.
        assert tokens.refresh(app, old).refresh_token == rotated.refresh_token
        clock.advance(DAY)
        with pytest.raises(InvalidGrant):
            tokens.refresh(app, old)


def test_refresh_token_dies_after_100_idle_days_but_not_before() -> None:
    clock, tokens = _service()
    app = _app()
    alive = tokens.mint("cid", "1", "openid").refresh_token
    idle = tokens.mint("cid", "2", "openid").refresh_token
    clock.advance(REFRESH_TOKEN_SECONDS - 10)
    renewed = tokens.refresh(app, alive)
    assert renewed.refresh_token != alive  # older than 24 h: a new value, a fresh 100-day window
    assert renewed.refresh_expires_in == REFRESH_TOKEN_SECONDS
    clock.advance(20)
    with pytest.raises(InvalidGrant):
        tokens.refresh(app, idle)


def test_hard_expiry_caps_the_rolling_window() -> None:
    clock, tokens = _service()
    app = _app()
    token = tokens.mint("cid", "1", "openid").refresh_token
    for _ in range(HARD_EXPIRY_SECONDS // (50 * DAY)):
        clock.advance(50 * DAY)
        response = tokens.refresh(app, token)
        token = response.refresh_token
    assert response.hard_expires_in < 50 * DAY
    assert response.refresh_expires_in == response.hard_expires_in
    clock.advance(response.hard_expires_in + 1)
    with pytest.raises(InvalidGrant):
        tokens.refresh(app, token)


def test_revoke_by_access_token_kills_every_grant_of_the_pair_only() -> None:
    _, tokens = _service()
    app = _app()
    a1 = tokens.mint("cid", "1", "openid")
    a2 = tokens.mint("cid", "1", "openid")
    other_realm = tokens.mint("cid", "2", "openid")
    assert not tokens.revoke("someone-else", a1.access_token)
    assert tokens.revoke("cid", a1.access_token)
    assert tokens.access(a1.access_token) == "revoked"
    assert tokens.access(a2.access_token) == "revoked"
    with pytest.raises(InvalidGrant):
        tokens.refresh(app, a2.refresh_token)
    assert tokens.refresh(app, other_realm.refresh_token).refresh_token == other_realm.refresh_token


def test_disconnect_revokes_the_pair_and_counts_live_grants_once() -> None:
    _, tokens = _service()
    app = _app()
    first = tokens.mint("cid", "1", "openid")
    tokens.mint("cid", "1", "openid")
    other_app = tokens.mint("other", "1", "openid")
    assert tokens.disconnect("cid", "1") == 2
    assert tokens.disconnect("cid", "1") == 0
    assert tokens.access(first.access_token) == "revoked"
    with pytest.raises(InvalidGrant):
        tokens.refresh(app, first.refresh_token)
    assert tokens.access(other_app.access_token) != "revoked"


def test_authenticate_maps_every_failure_to_qbo_codes() -> None:
    clock = Clock()
    server = OAuthServer(clock, realms=lambda: [("1", "Co")])
    issued = server.tokens.mint("cid", "1", "com.intuit.quickbooks.accounting")
    bearer = f"Bearer {issued.access_token}"
    assert server.authenticate(bearer, "1").ok
    wrong_realm = server.authenticate(bearer, "2")
    assert (wrong_realm.status, wrong_realm.code) == (403, "3100")
    for header in (None, "", "Basic abc", "Bearer ", "Bearer nope"):
        outcome = server.authenticate(header, "1")
        assert (outcome.ok, outcome.status, outcome.code) == (False, 401, "3200")
        assert "AuthenticationFailed" in outcome.message
    clock.advance(ACCESS_TOKEN_SECONDS)
    expired = server.authenticate(bearer, "1")
    assert (expired.status, expired.code) == (401, "3200")
    assert expired.detail.startswith("Token expired")
