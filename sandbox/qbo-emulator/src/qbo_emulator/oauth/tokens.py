"""Authorization codes, grants and the refresh-token lifecycle of Intuit OAuth (QBO.md §1)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from qbo_emulator.clock import Clock
from qbo_emulator.oauth.apps import App

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 100 * 24 * 3600  # docs table: "100 days (8,640,000 s)"
HARD_EXPIRY_SECONDS = 5 * 365 * 24 * 3600  # 157,680,000 s, the value seen in third-party fixtures
CODE_SECONDS = 600  # Intuit does not document it (QBO.md §9); 10 min is what most providers use

# A compact JWE header ({"enc":"A128CBC-HS256","alg":"dir"}) so tokens look like Intuit's.
_JWE_HEADER = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0"
_ALNUM = string.ascii_letters + string.digits


class InvalidGrant(Exception):
    """The grant, code or refresh token cannot be used; carries the body Intuit answers with."""

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description or "invalid_grant")
        self.description = description

    def body(self) -> dict[str, str]:
        if self.description is None:
            return {"error": "invalid_grant"}
        return {"error_description": self.description, "error": "invalid_grant"}


BAD_REFRESH = "Incorrect or invalid refresh token"


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    realm_id: str | None
    scope: str
    expires_at: datetime
    used: bool = False


@dataclass
class Grant:
    """One connection of an app to a company: what revoke kills and a refresh token renews."""

    grant_id: str
    client_id: str
    realm_id: str | None
    scope: str
    created_at: datetime
    hard_expires_at: datetime
    refresh_token: str
    refresh_issued_at: datetime
    # Rotated-out refresh token values and the moment each stops working (the grace period).
    retired: dict[str, datetime] = field(default_factory=dict)
    revoked: bool = False

    def refresh_expires_at(self) -> datetime:
        # Each value lives 100 days from its issue: Intuit reports a decreasing
        # x_refresh_token_expires_in while it returns the same value (oauth-jsclient #74).
        return min(
            self.refresh_issued_at + timedelta(seconds=REFRESH_TOKEN_SECONDS), self.hard_expires_at
        )

    def is_live(self, now: datetime) -> bool:
        return not self.revoked and now < self.refresh_expires_at()


@dataclass(frozen=True)
class AccessToken:
    token: str
    grant_id: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    refresh_token: str
    refresh_expires_in: int
    hard_expires_in: int

    def body(self, include_hard_expiry: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "x_refresh_token_expires_in": self.refresh_expires_in,
        }
        if include_hard_expiry:
            body["x_refresh_token_hard_expires_in"] = self.hard_expires_in
        return body


def _access_token_value() -> str:
    parts = (secrets.token_urlsafe(24), secrets.token_urlsafe(96), secrets.token_urlsafe(16))
    return f"{_JWE_HEADER}.." + ".".join(parts)


def _refresh_token_value(expires_at: datetime) -> str:
    # Real ones look like "AB11570127472xkApQ...": "AB11", the expiry epoch, then random text.
    return (
        "AB11"
        + str(int(expires_at.timestamp()))
        + "".join(secrets.choice(_ALNUM) for _ in range(34))
    )


class TokenService:
    """All token state; every decision reads the Clock, so tests expire things with advance()."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._codes: dict[str, AuthCode] = {}
        self._grants: dict[str, Grant] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh_index: dict[str, str] = {}  # current and retired refresh values -> grant_id
        self._by_realm: dict[
            str, list[str]
        ] = {}  # webhooks look grants up per realm on every change

    # ----- authorization codes -------------------------------------------------------------------
    def issue_code(
        self, client_id: str, redirect_uri: str, realm_id: str | None, scope: str
    ) -> str:
        self._drop_expired_codes()
        code = "AB11" + secrets.token_urlsafe(36)
        expires = self._clock.now() + timedelta(seconds=CODE_SECONDS)
        self._codes[code] = AuthCode(code, client_id, redirect_uri, realm_id, scope, expires)
        return code

    def exchange_code(self, app: App, code: str, redirect_uri: str | None) -> TokenResponse:
        entry = self._codes.get(code)
        if entry is None or entry.used or entry.client_id != app.client_id:
            raise InvalidGrant()
        # Spent even if the exchange fails below ("Only send one request to exchange the code").
        entry.used = True
        if self._clock.now() >= entry.expires_at or redirect_uri != entry.redirect_uri:
            raise InvalidGrant()
        grant = self.create_grant(app.client_id, entry.realm_id, entry.scope)
        return self._respond(grant)

    # ----- grants --------------------------------------------------------------------------------
    def create_grant(self, client_id: str, realm_id: str | None, scope: str) -> Grant:
        now = self._clock.now()
        hard = now + timedelta(seconds=HARD_EXPIRY_SECONDS)
        grant = Grant(
            grant_id=secrets.token_hex(8),
            client_id=client_id,
            realm_id=realm_id,
            scope=scope,
            created_at=now,
            hard_expires_at=hard,
            refresh_token="",
            refresh_issued_at=now,
        )
        self._set_refresh_value(grant, now)
        self._grants[grant.grant_id] = grant
        if realm_id is not None:
            self._by_realm.setdefault(realm_id, []).append(grant.grant_id)
        return grant

    def mint(self, client_id: str, realm_id: str | None, scope: str) -> TokenResponse:
        """A connected grant without the browser flow (admin shortcut for other services' tests)."""
        return self._respond(self.create_grant(client_id, realm_id, scope))

    def refresh(self, app: App, refresh_token: str) -> TokenResponse:
        now = self._clock.now()
        grant_id = self._refresh_index.get(refresh_token)
        grant = self._grants.get(grant_id) if grant_id else None
        if grant is None or grant.client_id != app.client_id or not grant.is_live(now):
            raise InvalidGrant(BAD_REFRESH)
        if refresh_token != grant.refresh_token:
            retired_until = grant.retired.get(refresh_token)
            if retired_until is None or now >= retired_until:
                raise InvalidGrant(BAD_REFRESH)
        elif now - grant.refresh_issued_at >= timedelta(hours=app.rotation_after_hours):
            grant.retired[grant.refresh_token] = now + timedelta(hours=app.rotation_grace_hours)
            self._set_refresh_value(grant, now)
        return self._respond(grant)

    def revoke(self, client_id: str, token: str) -> bool:
        """Revokes the connection the token belongs to; False when this client does not own it."""
        grant = self._grant_of_token(token)
        if grant is None or grant.client_id != client_id:
            return False
        # Revoking disconnects the app from the company (QBO.md §1.5): every grant of the pair dies.
        self.disconnect(client_id, grant.realm_id)
        return True

    def disconnect(self, client_id: str, realm_id: str | None) -> int:
        """The app loses its connection to the company, as when an admin of the company clicks
        Disconnect in QuickBooks: every grant of the pair is revoked, so its refresh tokens answer
        invalid_grant and its access tokens 401. Returns how many live grants were revoked."""
        revoked = 0
        for grant in self._grants.values():
            if grant.client_id == client_id and grant.realm_id == realm_id and not grant.revoked:
                grant.revoked = True
                revoked += 1
        return revoked

    def revoke_client(self, client_id: str) -> None:
        for grant in self._grants.values():
            if grant.client_id == client_id:
                grant.revoked = True

    def access(self, token: str) -> Grant | str:
        """The grant of a live access token, else why not: "unknown", "expired" or "revoked"."""
        entry = self._access.get(token)
        if entry is None:
            return "unknown"
        grant = self._grants[entry.grant_id]
        if grant.revoked:
            return "revoked"
        if self._clock.now() >= entry.expires_at:
            return "expired"
        return grant

    def grants(self) -> list[Grant]:
        return list(self._grants.values())

    def live_grants_for_realm(self, realm_id: str) -> list[Grant]:
        now = self._clock.now()
        grants = (self._grants[g] for g in self._by_realm.get(realm_id, ()))
        return [g for g in grants if g.is_live(now)]

    def export_state(self) -> dict[str, Any]:
        """Plain picklable data (no Clock) for the CLI's --state-file."""
        return {
            "grants": dict(self._grants),
            "access": dict(self._access),
            "refresh_index": dict(self._refresh_index),
            "by_realm": {realm: list(ids) for realm, ids in self._by_realm.items()},
        }

    def import_state(self, state: dict[str, Any]) -> None:
        self.clear()
        self._grants.update(state["grants"])
        self._access.update(state["access"])
        self._refresh_index.update(state["refresh_index"])
        self._by_realm.update(state["by_realm"])

    def clear(self) -> None:
        self._codes.clear()
        self._grants.clear()
        self._access.clear()
        self._refresh_index.clear()
        self._by_realm.clear()

    # ----- internals -----------------------------------------------------------------------------
    def _set_refresh_value(self, grant: Grant, now: datetime) -> None:
        grant.refresh_issued_at = now
        grant.refresh_token = _refresh_token_value(grant.refresh_expires_at())
        self._refresh_index[grant.refresh_token] = grant.grant_id

    def _respond(self, grant: Grant) -> TokenResponse:
        now = self._clock.now()
        self._drop_expired_access(now)
        value = _access_token_value()
        self._access[value] = AccessToken(
            value, grant.grant_id, now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
        )
        return TokenResponse(
            access_token=value,
            refresh_token=grant.refresh_token,
            refresh_expires_in=round((grant.refresh_expires_at() - now).total_seconds()),
            hard_expires_in=round((grant.hard_expires_at - now).total_seconds()),
        )

    def _grant_of_token(self, token: str) -> Grant | None:
        grant_id = self._refresh_index.get(token)
        if grant_id is None and token in self._access:
            grant_id = self._access[token].grant_id
        return self._grants.get(grant_id) if grant_id else None

    def _drop_expired_codes(self) -> None:
        now = self._clock.now()
        for code in [c for c, e in self._codes.items() if e.expires_at <= now - timedelta(hours=1)]:
            del self._codes[code]

    def _drop_expired_access(self, now: datetime) -> None:
        # Keep expired tokens a day so authenticate can still tell "expired" from "never issued".
        if len(self._access) < 10_000:
            return
        horizon = now - timedelta(days=1)
        for token in [t for t, e in self._access.items() if e.expires_at < horizon]:
            del self._access[token]
