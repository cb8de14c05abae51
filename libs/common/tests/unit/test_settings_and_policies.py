"""Pure plumbing rules: settings refuse placeholders, retry tiers grow, failures are classified."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qbsync_common.faults import CrashHook
from qbsync_common.messaging.errors import PermanentError, TransientError, is_transient
from qbsync_common.messaging.topology import ConsumerSpec
from qbsync_common.settings import DEV_BROKER_URL, DEV_DATABASE_URL, ServiceSettings


def test_placeholder_secrets_are_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QBSYNC_BROKER_URL", "changeme")
    assert ServiceSettings().broker_url.get_secret_value() == "changeme"  # development: allowed
    monkeypatch.setenv("QBSYNC_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="QBSYNC_BROKER_URL"):
        ServiceSettings()
    monkeypatch.setenv("QBSYNC_BROKER_URL", "amqp://qbsync:s3cr3t@rabbit:5672/")
    monkeypatch.setenv("QBSYNC_DATABASE_URL", "postgresql+asyncpg://qbsync:s3cr3t@db:5432/qbsync")
    assert ServiceSettings().environment == "production"


def test_the_local_development_broker_and_database_are_refused_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("QBSYNC_BROKER_URL", "QBSYNC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert ServiceSettings().broker_url.get_secret_value() == DEV_BROKER_URL  # development
    monkeypatch.setenv("QBSYNC_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match=r"QBSYNC_BROKER_URL .*development default") as unset:
        ServiceSettings()
    assert "guest:guest" not in str(unset.value)
    # Spelled out instead of defaulted, it is refused all the same.
    monkeypatch.setenv("QBSYNC_BROKER_URL", DEV_BROKER_URL)
    with pytest.raises(ValidationError, match="QBSYNC_BROKER_URL"):
        ServiceSettings()
    monkeypatch.setenv("QBSYNC_BROKER_URL", "amqp://qbsync:s3cr3t@rabbit:5672/")
    with pytest.raises(ValidationError, match=r"QBSYNC_DATABASE_URL .*development default"):
        ServiceSettings()
    monkeypatch.setenv("QBSYNC_DATABASE_URL", "postgresql+asyncpg://qbsync:s3cr3t@db:5432/qbsync")
    assert ServiceSettings().database_url.get_secret_value().endswith("@db:5432/qbsync")
    monkeypatch.setenv("QBSYNC_ENVIRONMENT", "test")
    monkeypatch.setenv("QBSYNC_DATABASE_URL", DEV_DATABASE_URL)
    with pytest.raises(ValidationError, match=r"QBSYNC_DATABASE_URL must be set .* in test"):
        ServiceSettings()


def test_settings_read_json_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QBSYNC_RETRY_DELAYS_MS", "[100, 200]")
    assert ServiceSettings().retry_delays_ms == (100, 200)


def test_retry_tiers_grow_and_the_last_tier_repeats() -> None:
    spec = ConsumerSpec("q", [], retry_delays_ms=(100, 500, 2000))
    assert [spec.retry_delay_ms(n) for n in (1, 2, 3, 4, 9)] == [100, 500, 2000, 2000, 2000]
    assert spec.retry_queue(2) == "q.retry.500"
    assert spec.parking_queue == "q.parking"


class _QboLike(Exception):
    def __init__(self, transient: bool) -> None:
        super().__init__("qbo")
        self.transient = transient


def test_failures_say_whether_they_are_transient() -> None:
    assert is_transient(TransientError("x"))
    assert not is_transient(PermanentError("bad-data"))
    assert not is_transient(_QboLike(transient=False))
    assert is_transient(_QboLike(transient=True))
    # Unknown errors are retried (bounded by max_attempts, then parked).
    assert is_transient(ValueError("surprise"))


def test_crash_hooks_are_inert_in_production_and_when_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QBSYNC_CRASH_AT", "before-commit,not-a-point")
    assert CrashHook.from_env("production").points == frozenset()
    hook = CrashHook.from_env("test")
    assert hook.points == frozenset({"before-commit"})
    monkeypatch.delenv("QBSYNC_CRASH_AT")
    assert CrashHook.from_env("development").points == frozenset()
