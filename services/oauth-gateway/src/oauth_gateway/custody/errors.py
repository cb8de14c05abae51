"""Why a service cannot have a token right now; the internal API maps each to a status code."""

from __future__ import annotations


class CustodyError(Exception):
    """Base of token custody refusals (messages never contain tokens)."""


class UnknownTenant(CustodyError):
    """No such tenant (404)."""


class NotConnected(CustodyError):
    """The tenant exists but holds no usable grant (409 with its state as code)."""

    def __init__(self, tenant_id: str, state: str) -> None:
        super().__init__(f"tenant {tenant_id} is {state}")
        self.state = state


class NeedsReauthorization(NotConnected):
    """Intuit refused the grant: an admin must reconnect (409 needs_reauthorization)."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__(tenant_id, "needs_reauthorization")


class TokenUnavailable(CustodyError):
    """Intuit is unreachable or failing and no usable access token is left (503, retry later)."""


class RevocationFailed(CustodyError):
    """Intuit did not confirm revoking the grant: nothing was deleted, the disconnect may be retried.

    Deleting first would leave a live grant at Intuit that nobody holds any more, so nothing could
    ever revoke it; keeping the tokens keeps the retry possible (503 to operators and tenants).
    """
