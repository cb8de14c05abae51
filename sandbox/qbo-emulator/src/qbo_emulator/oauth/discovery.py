"""The OpenID discovery document, pointing at this server's own base URL (any host, any port).

How to point the unmodified `intuit-oauth` library (package `intuitlib`) at the emulator:
`AuthClient.__init__` calls `intuitlib.utils.get_discovery_doc(environment)`, which maps only
"production"/"prod" and "sandbox"/"sand" to Intuit's URLs and uses *any other string verbatim as the
discovery URL*. So pass the emulator's discovery URL as `environment`::

    from intuitlib.client import AuthClient
    auth = AuthClient(client_id, client_secret, "http://localhost/cb",
                      "http://127.0.0.1:8090/.well-known/openid_configuration")

The constructor GETs that URL and reads the six keys below (a missing one raises KeyError), so every
later call (authorization URL, token, refresh, revoke, userinfo) goes to the emulator. Plain http
works because intuitlib uses a bare `requests.Session`. The document is served at
`/.well-known/openid_configuration`, `/.well-known/openid_sandbox_configuration` and the standard
`/.well-known/openid-configuration`, each with or without a trailing slash, under any path prefix.
"""

from __future__ import annotations

from typing import Any

AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
USERINFO_PATH = "/v1/openid_connect/userinfo"
JWKS_PATH = "/op/v1/jwks"
ISSUER_PATH = "/op/v1"

DISCOVERY_NAMES = (
    "openid_configuration",
    "openid_sandbox_configuration",
    "openid-configuration",
)


def discovery_document(base_url: str) -> dict[str, Any]:
    """Intuit's document (QBO.md §1.1) with every endpoint rebased onto `base_url`."""
    base = base_url.rstrip("/")
    return {
        "issuer": base + ISSUER_PATH,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + TOKEN_PATH,
        "userinfo_endpoint": base + USERINFO_PATH,
        "revocation_endpoint": base + REVOKE_PATH,
        "jwks_uri": base + JWKS_PATH,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }
