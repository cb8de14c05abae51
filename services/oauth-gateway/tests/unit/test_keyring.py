"""Key ring: AES-256-GCM round trips, key ids in ciphertexts, AAD binding, rotation, bad config."""

from __future__ import annotations

import base64
import json
import os

import pytest

from oauth_gateway.custody.keyring import (
    DecryptionError,
    KeyRing,
    KeyRingError,
    Sealed,
    generate_key,
    token_aad,
)


def ring_json(primary: str, *ids: str, keys: dict[str, str] | None = None) -> str:
    keys = keys or {i: generate_key() for i in ids}
    return json.dumps({"keys": keys, "primary": primary})


def test_round_trip_names_the_primary_key_and_hides_the_plaintext() -> None:
    ring = KeyRing.from_json(ring_json("k2", "k1", "k2"))
    secret = "AB11" + os.urandom(16).hex()
    sealed = ring.encrypt(secret, token_aad("tenant-1", "refresh"))
    assert sealed.startswith("v1:k2:")
    assert secret not in sealed
    assert ring.decrypt(sealed, token_aad("tenant-1", "refresh")) == secret


def test_each_encryption_uses_a_fresh_nonce() -> None:
    ring = KeyRing.from_json(ring_json("k1", "k1"))
    aad = token_aad("t", "access")
    first, second = (Sealed.parse(ring.encrypt("same", aad)) for _ in range(2))
    assert first.nonce != second.nonce
    assert len(first.nonce) == 12


@pytest.mark.parametrize(
    ("tenant", "kind"), [("tenant-2", "refresh"), ("tenant-1", "access"), ("tenant-10", "refresh")]
)
def test_ciphertext_moved_to_another_row_or_column_fails(tenant: str, kind: str) -> None:
    ring = KeyRing.from_json(ring_json("k1", "k1"))
    sealed = ring.encrypt("refresh-token-value", token_aad("tenant-1", "refresh"))
    with pytest.raises(DecryptionError) as info:
        ring.decrypt(sealed, token_aad(tenant, kind))
    assert "refresh-token-value" not in str(info.value)


def test_tampered_ciphertext_fails() -> None:
    ring = KeyRing.from_json(ring_json("k1", "k1"))
    aad = token_aad("t", "access")
    sealed = Sealed.parse(ring.encrypt("value", aad))
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(DecryptionError):
        ring.decrypt(Sealed(sealed.key_id, sealed.nonce, flipped).render(), aad)


def test_old_keys_still_decrypt_after_rotation_and_fail_once_removed() -> None:
    k1, k2 = generate_key(), generate_key()
    old = KeyRing.from_json(ring_json("k1", keys={"k1": k1}))
    aad = token_aad("t", "refresh")
    sealed = old.encrypt("value", aad)
    rotated = KeyRing.from_json(ring_json("k2", keys={"k1": k1, "k2": k2}))
    assert rotated.decrypt(sealed, aad) == "value"
    assert not rotated.is_current(sealed)
    assert rotated.is_current(rotated.encrypt("value", aad))
    only_new = KeyRing.from_json(ring_json("k2", keys={"k2": k2}))
    with pytest.raises(DecryptionError, match="'k1' is not in the key ring"):
        only_new.decrypt(sealed, aad)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        json.dumps({"keys": {"k1": "!!notbase64"}, "primary": "k1"}),
        json.dumps({"keys": {"k1": base64.b64encode(b"short").decode()}, "primary": "k1"}),
        json.dumps({"keys": {"k1": generate_key()}, "primary": "k9"}),
        json.dumps({"keys": {}, "primary": "k1"}),
        json.dumps({"keys": {"a:b": generate_key()}, "primary": "a:b"}),
    ],
)
def test_bad_configuration_is_refused_without_echoing_keys(raw: str) -> None:
    with pytest.raises(KeyRingError) as info:
        KeyRing.from_json(raw)
    assert "notbase64" not in str(info.value)


@pytest.mark.parametrize("text", ["plain-token", "v2:k1:AAAA:AAAA", "v1:k1:***:AAAA"])
def test_non_ciphertext_is_refused(text: str) -> None:
    ring = KeyRing.from_json(ring_json("k1", "k1"))
    with pytest.raises(DecryptionError):
        ring.decrypt(text, token_aad("t", "access"))
