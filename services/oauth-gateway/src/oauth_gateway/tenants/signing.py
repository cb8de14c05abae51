"""Single-use secrets of connecting: OAuth `state`, connect links and operator API keys (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

STATE_TTL = timedelta(minutes=10)
LINK_PURPOSES = ("connect", "disconnect")


def new_secret() -> str:
    """256 random bits, URL-safe: OAuth states, link ids, browser nonces, API keys."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What we store instead of a secret: a database dump must not let anyone replay it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(presented: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    return hmac.compare_digest(digest(presented).encode(), stored_digest.encode())


@dataclass(frozen=True)
class SignedLink:
    """A connect/disconnect link token: `<link id>.<purpose>.<expiry unix>.<signature>`."""

    link_id: str
    purpose: str
    expires_at: datetime


def _signature(key: bytes, payload: str) -> str:
    mac = hmac.new(key, b"qbsync-link:" + payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def sign_link(key: bytes, link_id: str, purpose: str, expires_at: datetime) -> str:
    if purpose not in LINK_PURPOSES or "." in link_id:
        raise ValueError("bad link purpose or id")
    payload = f"{link_id}.{purpose}.{int(expires_at.timestamp())}"
    return f"{payload}.{_signature(key, payload)}"


def verify_link(key: bytes, token: str, now: datetime) -> SignedLink | None:
    """The link a token names if its signature is ours and it has not expired, else None."""
    parts = token.split(".")
    if len(parts) != 4:
        return None
    link_id, purpose, expiry, signature = parts
    payload = f"{link_id}.{purpose}.{expiry}"
    if not hmac.compare_digest(_signature(key, payload), signature):
        return None
    if purpose not in LINK_PURPOSES or not expiry.isdigit():
        return None
    expires_at = datetime.fromtimestamp(int(expiry), tz=now.tzinfo)
    if expires_at <= now:
        return None
    return SignedLink(link_id=link_id, purpose=purpose, expires_at=expires_at)
