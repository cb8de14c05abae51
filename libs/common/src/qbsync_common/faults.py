"""Crash hooks for fault-injection tests (RELIABILITY §6): SIGKILL ourselves at a named point.

Enabled only by QBSYNC_CRASH_AT (comma-separated points) outside production; a no-op otherwise.
"""

from __future__ import annotations

import os
import random
import signal

CRASH_POINTS = frozenset(
    {
        "before-handler",
        "before-commit",
        "after-commit-before-ack",
        "relay-after-confirm",
        # partner-sync: QBO accepted a write, our transaction has not committed yet.
        "after-qbo-call",
        # payment-poller: a poll's events are written, its transaction (and cursor) not committed.
        "poll-before-commit",
        # oauth-gateway (F12): Intuit answered a refresh, the rotated token is not stored yet.
        "gateway-after-token-response",
    }
)


CRASH_AT = "QBSYNC_CRASH_AT"
CRASH_PROBABILITY = "QBSYNC_CRASH_PROBABILITY"
CRASH_LOG = "QBSYNC_CRASH_LOG"
DEFAULT_PROBABILITY = 0.05

# (variable, default, meaning) for the README's configuration reference.
VARIABLES = (
    (
        CRASH_AT,
        "",
        "Test-only fault injection, ignored in production: comma-separated crash points where "
        f"the process SIGKILLs itself ({', '.join(sorted(CRASH_POINTS))}); unset = none",
    ),
    (
        CRASH_PROBABILITY,
        str(DEFAULT_PROBABILITY),
        f"Test-only: chance of the kill each time a point of {CRASH_AT} is passed (0-1)",
    ),
    (
        CRASH_LOG,
        "",
        "Test-only: file each fired crash point is appended to, so a test can count the hits",
    ),
)


class CrashHook:
    def __init__(self, points: frozenset[str], probability: float) -> None:
        self.points = points
        self.probability = probability

    @classmethod
    def from_env(cls, environment: str) -> CrashHook:
        raw = os.environ.get(CRASH_AT, "")
        if environment == "production" or not raw:
            return cls(frozenset(), 0.0)
        points = frozenset(p.strip() for p in raw.split(",") if p.strip()) & CRASH_POINTS
        probability = os.environ.get(CRASH_PROBABILITY, str(DEFAULT_PROBABILITY))
        try:
            return cls(points, float(probability))
        except ValueError:
            raise ValueError(
                f"{CRASH_PROBABILITY} must be a number from 0 to 1, not {probability!r}"
            ) from None

    def __call__(self, point: str) -> None:
        if point in self.points and random.random() < self.probability:
            log_path = os.environ.get(CRASH_LOG)
            if log_path:  # lets a test prove each point was really hit
                with open(log_path, "a") as log:
                    log.write(point + "\n")
            os.kill(os.getpid(), signal.SIGKILL)
