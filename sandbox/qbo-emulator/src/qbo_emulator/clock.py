"""A controllable clock: real time plus an offset that tests advance to expire tokens and windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Every timestamp the emulator uses comes from here, so `advance` moves the whole world."""

    def __init__(self) -> None:
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        self._offset = timedelta()
