"""The gateway's crash point for fault-injection tests (RELIABILITY §8 F12), on the shared switch.

`gateway-after-token-response` fires after Intuit answered a refresh and before our transaction
stores the answer: the window in which a SIGKILLed gateway loses a rotated refresh token.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from oauth_gateway.custody.refresher import AfterTokenResponse
from qbsync_common.faults import CRASH_AT, CRASH_PROBABILITY, DEFAULT_PROBABILITY, CrashHook

AFTER_TOKEN_RESPONSE = "gateway-after-token-response"
GATEWAY_CRASH_POINTS = frozenset({AFTER_TOKEN_RESPONSE})

Crash = Callable[[str], None]


def gateway_crash_hook(environment: str) -> CrashHook:
    """`CrashHook.from_env` plus the gateway's own points, under the same variables and rules.

    The shared hook keeps only the points qbsync_common lists, so the gateway's are added here
    the same way: QBSYNC_CRASH_AT names them, QBSYNC_CRASH_PROBABILITY is the chance, and
    production never crashes.
    """
    if environment == "production" or not os.environ.get(CRASH_AT, "").strip():
        return CrashHook(frozenset(), 0.0)
    raw = os.environ.get(CRASH_PROBABILITY, str(DEFAULT_PROBABILITY))
    try:
        probability = float(raw)
    except ValueError:
        raise ValueError(f"{CRASH_PROBABILITY} must be a number from 0 to 1, not {raw!r}") from None
    shared = CrashHook.from_env(environment)
    requested = {p.strip() for p in os.environ[CRASH_AT].split(",")}
    own = frozenset(requested) & GATEWAY_CRASH_POINTS
    return CrashHook(shared.points | own, probability)


def crash_after_token_response(crash: Crash) -> AfterTokenResponse:
    """The refresher's after-token-response hook, firing `crash` at the gateway's crash point."""

    async def hook(_tenant_id: str) -> None:
        crash(AFTER_TOKEN_RESPONSE)

    return hook
