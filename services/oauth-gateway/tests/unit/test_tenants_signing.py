"""Connect links, digests and the realm rules of connecting (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oauth_gateway.tenants.model import ConnectRefused, check_realm
from oauth_gateway.tenants.signing import digest, new_secret, same_digest, sign_link, verify_link

KEY = b"k" * 32
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_signed_link_verifies_until_it_expires() -> None:
    link_id = new_secret()
    token = sign_link(KEY, link_id, "connect", NOW + timedelta(minutes=30))
    link = verify_link(KEY, token, NOW)
    assert link is not None
    assert link.link_id == link_id
    assert link.purpose == "connect"
    assert verify_link(KEY, token, NOW + timedelta(minutes=31)) is None


@pytest.mark.parametrize("tamper", ["purpose", "expiry", "id", "signature", "key", "shape"])
def test_tampered_links_are_refused(tamper: str) -> None:
    token = sign_link(KEY, "abc", "disconnect", NOW + timedelta(hours=1))
    link_id, purpose, expiry, signature = token.split(".")
    forged = {
        "purpose": f"{link_id}.connect.{expiry}.{signature}",
        "expiry": f"{link_id}.{purpose}.{int(expiry) + 3600}.{signature}",
        "id": f"abd.{purpose}.{expiry}.{signature}",
        "signature": f"{link_id}.{purpose}.{expiry}.{signature[:-2]}AA",
        "key": sign_link(b"other" * 8, "abc", "disconnect", NOW + timedelta(hours=1)),
        "shape": f"{link_id}.{purpose}.{expiry}",
    }[tamper]
    assert verify_link(KEY, forged, NOW) is None


def test_digests_hide_the_secret_and_compare_exactly() -> None:
    secret = new_secret()
    stored = digest(secret)
    assert secret not in stored
    assert len(stored) == 64
    assert same_digest(secret, stored)
    assert not same_digest(secret + "x", stored)
    assert new_secret() != new_secret()


def test_realm_rules() -> None:
    check_realm("t1", "r1", None, None)  # a free realm
    check_realm("t1", "r1", "r1", "t1")  # reconnecting the same company
    with pytest.raises(ConnectRefused) as bound:
        check_realm("t1", "r1", None, "t2")
    assert bound.value.code == "realm-already-bound"
    with pytest.raises(ConnectRefused) as mismatch:
        check_realm("t1", "r2", "r1", None)
    assert mismatch.value.code == "realm-mismatch"
