"""The connect flow: links, Intuit redirect with a single-use state, callback, disconnect."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.model import TokenGrant
from oauth_gateway.tenants.events import TenantEventSink
from oauth_gateway.tenants.model import (
    HOLDS_REALM,
    ConnectRefused,
    Tenant,
    check_realm,
    expected_realm,
    is_realm_id,
)
from oauth_gateway.tenants.repository import TenantRepository
from oauth_gateway.tenants.signing import (
    STATE_TTL,
    digest,
    new_secret,
    same_digest,
    sign_link,
    verify_link,
)
from qbsync_common.logs import log_context

log = logging.getLogger(__name__)


class AuthorizeClient(Protocol):
    """The part of custody's IntuitOAuth the connect flow uses."""

    async def authorize_url(self, state: str) -> str: ...
    async def exchange_code(self, code: str) -> TokenGrant: ...
    async def revoke(self, token: str) -> None: ...


class TokenStore(Protocol):
    """The part of custody's TokenVault the connect flow uses."""

    async def store_initial(
        self, session: AsyncSession, tenant_id: str, realm_id: str, grant: TokenGrant
    ) -> None: ...
    async def revoke_and_delete(self, tenant_id: str) -> None: ...


class UnknownTenant(LookupError):
    pass


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the nonce that binds the callback to this browser."""

    authorize_url: str
    browser_nonce: str


@dataclass(frozen=True)
class Finished:
    """The callback's outcome: `code` is "connected" or an error code; `message` is for people."""

    code: str
    message: str
    tenant: Tenant | None
    redirect_to: str | None

    @property
    def ok(self) -> bool:
        return self.code == "connected"


def with_outcome(return_url: str, tenant_id: str, code: str) -> str:
    """The tenant's return URL with the outcome appended to whatever query it already has."""
    parts = urlsplit(return_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("qbsync_tenant_id", tenant_id), ("qbsync_outcome", code)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class ConnectFlow:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repository: TenantRepository,
        oauth: AuthorizeClient,
        vault: TokenStore,
        events: TenantEventSink,
        *,
        link_key: bytes,
        public_base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._repo = repository
        self._oauth = oauth
        self._vault = vault
        self._events = events
        self._link_key = link_key
        self._base = public_base_url.rstrip("/")
        self._clock = clock

    # -- links ---------------------------------------------------------------------------------
    async def create_link(
        self, tenant_id: str, purpose: str, ttl: timedelta
    ) -> tuple[str, datetime]:
        """A signed single-use URL for the tenant's admin, and when it expires."""
        now = self._clock()
        expires_at = (now + ttl).replace(microsecond=0)
        link_id = new_secret()
        async with self._sessions.begin() as session:
            if await self._repo.get(session, tenant_id) is None:
                raise UnknownTenant(tenant_id)
            await self._repo.add_link(session, link_id, tenant_id, purpose, expires_at, now)
        token = sign_link(self._link_key, link_id, purpose, expires_at)
        return f"{self._base}/{purpose}/{token}", expires_at

    async def link_tenant(self, token: str, purpose: str) -> Tenant:
        """The tenant a valid, unused link belongs to (viewing a link does not use it up)."""
        link = self._verified(token, purpose)
        async with self._sessions() as session:
            tenant_id = await self._repo.link_tenant(session, link, purpose, self._clock())
            tenant = await self._repo.get(session, tenant_id) if tenant_id else None
        if tenant is None:
            raise _link_refused()
        return tenant

    def _verified(self, token: str, purpose: str) -> str:
        link = verify_link(self._link_key, token, self._clock())
        if link is None or link.purpose != purpose:
            raise _link_refused()
        return link.link_id

    # -- starting ------------------------------------------------------------------------------
    async def start_from_link(self, token: str) -> Started:
        link_id = self._verified(token, "connect")
        async with self._sessions.begin() as session:
            tenant_id = await self._repo.use_link(session, link_id, "connect", self._clock())
            tenant = await self._repo.get(session, tenant_id) if tenant_id else None
            if tenant is None:
                raise _link_refused()
            state, nonce = await self._new_state(session, tenant)
        return Started(await self._oauth.authorize_url(state), nonce)

    async def start_reconnect(self, realm_id: str) -> Started:
        """Re-run the flow for the tenant bound to `realm_id` (Intuit's "Reconnect URL").

        Safe without a link: only someone who can authorize this very company at Intuit can
        finish, and the callback accepts nothing but the same realm for the same tenant.
        """
        if not is_realm_id(realm_id):
            raise ConnectRefused(
                "unknown-company", "This QuickBooks company is not connected to any account."
            )
        async with self._sessions.begin() as session:
            holders = await self._repo.by_realm(session, [realm_id])
            tenant = await self._repo.get(session, holders[realm_id]) if holders else None
            if tenant is None:
                raise ConnectRefused(
                    "unknown-company", "This QuickBooks company is not connected to any account."
                )
            state, nonce = await self._new_state(session, tenant)
        return Started(await self._oauth.authorize_url(state), nonce)

    async def _new_state(self, session: AsyncSession, tenant: Tenant) -> tuple[str, str]:
        now = self._clock()
        state, nonce = new_secret(), new_secret()
        await self._repo.add_state(
            session,
            digest(state),
            digest(nonce),
            tenant.tenant_id,
            expected_realm(tenant),
            now + STATE_TTL,
            now,
        )
        return state, nonce

    # -- callback ------------------------------------------------------------------------------
    async def callback(self, params: Mapping[str, str], browser_nonce: str | None) -> Finished:
        state = params.get("state")
        if not state:
            return _failed("missing-state", "The sign-in answer is incomplete. Start again.")
        # Its own committed transaction: the state is spent even if anything below fails.
        async with self._sessions.begin() as session:
            row = await self._repo.take_state(session, digest(state), self._clock())
            tenant = await self._repo.get(session, row["tenant_id"]) if row else None
        if row is None or tenant is None:
            return _failed(
                "invalid-state", "This sign-in link has expired or was already used. Start again."
            )
        if not browser_nonce or not same_digest(browser_nonce, row["browser_sha256"]):
            return self._finish(
                tenant, "browser-mismatch", "Finish connecting in the browser you started in."
            )
        if params.get("error"):
            return self._intuit_error(tenant, params["error"])
        code, realm_id = params.get("code"), params.get("realmId")
        if not code or not realm_id:
            return self._finish(tenant, "missing-code", "QuickBooks did not send a company.")
        if not is_realm_id(realm_id):
            _audit_refusal(tenant, "invalid-company", realm_id)
            return self._finish(tenant, "invalid-company", "QuickBooks sent an unusable company.")
        expected = row["expected_realm_id"]
        try:
            async with self._sessions() as session:
                holder = (await self._repo.by_realm(session, [realm_id])).get(realm_id)
            # Refuse before the exchange: a refused realm never gets a token stored or issued.
            check_realm(tenant.tenant_id, realm_id, expected, holder)
        except ConnectRefused as refused:
            _audit_refusal(tenant, refused.code, realm_id)
            return self._finish(tenant, refused.code, refused.message)
        try:
            grant = await self._oauth.exchange_code(code)
        except Exception as exc:
            # The exception names an error code only; Intuit's answer is never logged in full.
            log.warning(
                "code exchange failed for tenant %s: %s", tenant.tenant_id, type(exc).__name__
            )
            return self._finish(
                tenant, "exchange-failed", "QuickBooks did not confirm the connection. Start again."
            )
        return await self._bind(tenant, realm_id, expected, grant)

    async def _bind(
        self, tenant: Tenant, realm_id: str, expected: str | None, grant: TokenGrant
    ) -> Finished:
        try:
            async with self._sessions.begin() as session:
                locked = await self._repo.get(session, tenant.tenant_id, lock=True)
                holder = (await self._repo.by_realm(session, [realm_id])).get(realm_id)
                check_realm(tenant.tenant_id, realm_id, expected, holder)
                now = self._clock()
                await self._repo.set_connected(session, tenant.tenant_id, realm_id, now)
                await self._vault.store_initial(session, tenant.tenant_id, realm_id, grant)
                await self._events.connected(session, tenant.tenant_id, realm_id, now)
                tenant = locked or tenant
        except (ConnectRefused, IntegrityError) as exc:
            # Lost a race for the realm after exchanging: give the grant back to Intuit.
            await self._revoke_quietly(grant)
            refused = (
                exc
                if isinstance(exc, ConnectRefused)
                else ConnectRefused(
                    "realm-already-bound",
                    "This QuickBooks company is already connected to another account.",
                )
            )
            _audit_refusal(tenant, refused.code, realm_id)
            return self._finish(tenant, refused.code, refused.message)
        log.info("tenant %s connected to realm %s", tenant.tenant_id, realm_id)
        return self._finish(tenant, "connected", f"{tenant.name} is now connected to QuickBooks.")

    async def _revoke_quietly(self, grant: TokenGrant) -> None:
        try:
            await self._oauth.revoke(grant.refresh_token)
        except Exception as exc:
            log.warning("revoking an unused grant failed: %s", type(exc).__name__)

    def _intuit_error(self, tenant: Tenant, error: str) -> Finished:
        if error == "access_denied":
            return self._finish(
                tenant, "access-denied", "Connecting was cancelled: QuickBooks access was declined."
            )
        code = "".join(ch for ch in error if ch.isalnum() or ch in "_-")[:40] or "error"
        return self._finish(tenant, f"intuit-{code}", "QuickBooks could not connect this company.")

    def _finish(self, tenant: Tenant, code: str, message: str) -> Finished:
        redirect = (
            with_outcome(tenant.return_url, tenant.tenant_id, code) if tenant.return_url else None
        )
        return Finished(code=code, message=message, tenant=tenant, redirect_to=redirect)

    # -- disconnecting -------------------------------------------------------------------------
    async def disconnect(
        self, tenant_id: str, initiated_by: Literal["operator", "tenant"] = "operator"
    ) -> Tenant:
        """Revoke at Intuit, delete tokens, free the realm and emit TenantDisconnected."""
        async with self._sessions() as session:
            if await self._repo.get(session, tenant_id) is None:
                raise UnknownTenant(tenant_id)
        await self._vault.revoke_and_delete(tenant_id)
        async with self._sessions.begin() as session:
            tenant = await self._repo.get(session, tenant_id, lock=True)
            if tenant is None:
                raise UnknownTenant(tenant_id)
            if tenant.state not in HOLDS_REALM or tenant.realm_id is None:
                return tenant  # nothing to disconnect: repeating a disconnect has no effect
            now = self._clock()
            await self._repo.set_disconnected(session, tenant_id, now)
            await self._events.disconnected(session, tenant_id, tenant.realm_id, now, initiated_by)
            after = await self._repo.get(session, tenant_id)
        assert after is not None
        return after

    async def disconnect_from_link(self, token: str) -> Tenant:
        """Disconnect the link's tenant; the link is used up only once the disconnect happened.

        `RevocationFailed` leaves the link usable, so the admin can press the button again.
        """
        link_id = self._verified(token, "disconnect")
        async with self._sessions() as session:
            tenant_id = await self._repo.link_tenant(session, link_id, "disconnect", self._clock())
        if tenant_id is None:
            raise _link_refused()
        tenant = await self.disconnect(tenant_id, "tenant")
        async with self._sessions.begin() as session:
            await self._repo.use_link(session, link_id, "disconnect", self._clock())
        return tenant


def _audit_refusal(tenant: Tenant, code: str, realm_id: str) -> None:
    """A callback that tried to bind a company this tenant may not have: kept for the audit trail.

    The realm id is logged only when it is well-formed (a forged one may carry anything).
    """
    with log_context(tenant_id=tenant.tenant_id):
        log.warning(
            "connect refused for tenant %s: %s",
            tenant.tenant_id,
            code,
            extra={
                "audit": "connect-refused",
                "refusal": code,
                "realm_id": realm_id if is_realm_id(realm_id) else "<malformed>",
            },
        )


def _link_refused() -> ConnectRefused:
    return ConnectRefused(
        "invalid-link", "This link has expired or was already used. Ask for a new one."
    )


def _failed(code: str, message: str) -> Finished:
    return Finished(code=code, message=message, tenant=None, redirect_to=None)
