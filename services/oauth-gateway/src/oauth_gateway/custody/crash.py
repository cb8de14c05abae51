"""The gateway's crash point for fault-injection tests (RELIABILITY §8 F12), on the shared switch.

`gateway-after-token-response` fires after Intuit answered a refresh and before our transaction
stores the answer: the window in which a SIGKILLed gateway loses a rotated refresh token. The
point is listed in qbsync_common.faults with the others, so the service's one CrashHook arms it.
"""

from __future__ import annotations

from collections.abc import Callable

from oauth_gateway.custody.refresher import AfterTokenResponse

AFTER_TOKEN_RESPONSE = "gateway-after-token-response"

Crash = Callable[[str], None]


def crash_after_token_response(crash: Crash) -> AfterTokenResponse:
    """The refresher's after-token-response hook, firing `crash` at the gateway's crash point."""

    async def hook(_tenant_id: str) -> None:
        crash(AFTER_TOKEN_RESPONSE)

    return hook
