"""Refresh policy decisions, token grant parsing, service credentials: pure logic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.custody.model import StoredTokens, TokenGrant, fingerprint
from oauth_gateway.custody.policy import RefreshPolicy

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GRANT = TokenGrant.from_json(
    {
        "token_type": "bearer",
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "expires_in": 3600,
        "x_refresh_token_expires_in": 8_640_000,
        "x_refresh_token_hard_expires_in": 157_680_000,
    }
)


def stored(**changes: object) -> StoredTokens:
    base = StoredTokens.initial("t1", "realm-1", GRANT, NOW)
    return StoredTokens(**{**base.__dict__, **changes})


def test_grant_parsing_and_repr_hide_tokens() -> None:
    assert GRANT.expires_in == 3600
    assert GRANT.x_refresh_token_hard_expires_in == 157_680_000
    assert "access-1" not in repr(GRANT)
    assert "refresh-1" not in repr(GRANT)
    assert "refresh-1" not in repr(stored())


def test_initial_and_refreshed_rows_compute_expiries_and_generation() -> None:
    first = stored()
    assert first.generation == 1
    assert first.access_expires_at == NOW + timedelta(hours=1)
    assert first.refresh_hard_expires_at == NOW + timedelta(seconds=157_680_000)
    later = NOW + timedelta(days=2)
    no_hard = TokenGrant("access-2", "refresh-2", 3600, 8_000_000, None)
    second = first.after_refresh(no_hard, later)
    assert second.generation == 2
    assert second.refresh_token == "refresh-2"
    assert second.refreshed_at == later
    # Intuit omitted the hard expiry this time: keep the one we knew.
    assert second.refresh_hard_expires_at == first.refresh_hard_expires_at


@pytest.mark.parametrize(
    ("minutes_left", "expected"), [(60, False), (6, False), (5, True), (1, True), (-3, True)]
)
def test_access_token_is_refreshed_within_five_minutes_of_expiry(
    minutes_left: int, expected: bool
) -> None:
    tokens = stored(access_expires_at=NOW + timedelta(minutes=minutes_left))
    assert RefreshPolicy().must_refresh(tokens, NOW, None) is expected


def test_failed_hash_forces_refresh_only_for_the_current_token() -> None:
    tokens = stored()
    policy = RefreshPolicy()
    assert policy.must_refresh(tokens, NOW, fingerprint("access-1"))
    assert not policy.must_refresh(tokens, NOW, fingerprint("an-older-token"))


def test_background_age_backoff_and_hard_expiry_thresholds() -> None:
    policy = RefreshPolicy(
        max_refresh_age=timedelta(days=30),
        hard_expiry_warning=timedelta(days=60),
        failure_backoff=timedelta(seconds=60),
    )
    tokens = stored()
    assert not policy.refresh_is_old(tokens, NOW + timedelta(days=29))
    assert policy.refresh_is_old(tokens, NOW + timedelta(days=30))
    hard = tokens.refresh_hard_expires_at
    assert hard is not None
    assert not policy.hard_expiry_near(tokens, hard - timedelta(days=61))
    assert policy.hard_expiry_near(tokens, hard - timedelta(days=59))
    failed = stored(last_failure_at=NOW)
    assert policy.backing_off(failed, NOW + timedelta(seconds=30))
    assert not policy.backing_off(failed, NOW + timedelta(seconds=61))
    assert not policy.backing_off(tokens, NOW)


def test_service_credentials_identify_only_exact_secrets() -> None:
    creds = ServiceCredentials.from_json(
        json.dumps({"partner-sync": "p" * 32, "invoice-sync": "i" * 32})
    )
    assert creds.identify("p" * 32) == "partner-sync"
    assert creds.identify("i" * 32) == "invoice-sync"
    assert creds.identify("p" * 31) is None
    assert creds.identify("") is None
    with pytest.raises(ValueError, match="shorter than 16"):
        ServiceCredentials({"weak": "short"})
    with pytest.raises(ValueError, match="not valid JSON"):
        ServiceCredentials.from_json("{nope")
