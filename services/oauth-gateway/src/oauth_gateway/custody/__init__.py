"""Token custody: encrypted storage, one refresher per tenant at a time, the internal token API."""

from oauth_gateway.custody.errors import (
    CustodyError,
    NeedsReauthorization,
    NotConnected,
    TokenUnavailable,
    UnknownTenant,
)
from oauth_gateway.custody.intuit import (
    IntuitError,
    IntuitOAuth,
    IntuitUnavailable,
    InvalidClient,
    InvalidGrant,
)
from oauth_gateway.custody.model import IssuedToken, TokenGrant
from oauth_gateway.custody.vault import TokenVault

__all__ = [
    "CustodyError",
    "IntuitError",
    "IntuitOAuth",
    "IntuitUnavailable",
    "InvalidClient",
    "InvalidGrant",
    "IssuedToken",
    "NeedsReauthorization",
    "NotConnected",
    "TokenGrant",
    "TokenUnavailable",
    "TokenVault",
    "UnknownTenant",
]
