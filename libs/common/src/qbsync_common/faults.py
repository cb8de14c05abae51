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
    }
)


class CrashHook:
    def __init__(self, points: frozenset[str], probability: float) -> None:
        self.points = points
        self.probability = probability

    @classmethod
    def from_env(cls, environment: str) -> CrashHook:
        raw = os.environ.get("QBSYNC_CRASH_AT", "")
        if environment == "production" or not raw:
            return cls(frozenset(), 0.0)
        points = frozenset(p.strip() for p in raw.split(",") if p.strip()) & CRASH_POINTS
        return cls(points, float(os.environ.get("QBSYNC_CRASH_PROBABILITY", "0.05")))

    def __call__(self, point: str) -> None:
        if point in self.points and random.random() < self.probability:
            log_path = os.environ.get("QBSYNC_CRASH_LOG")
            if log_path:  # lets a test prove each point was really hit
                with open(log_path, "a") as log:
                    log.write(point + "\n")
            os.kill(os.getpid(), signal.SIGKILL)
