"""Per-realm throttling (QBO's published limits) and injected faults; all off by default."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field


class LimitSettings(BaseModel):
    """QBO's values are 500/min, 10/s, 10 concurrent, 40 batch/min; None switches a limit off."""

    per_minute: int | None = Field(default=None, ge=1)
    per_second: int | None = Field(default=None, ge=1)
    concurrent: int | None = Field(default=None, ge=1)
    batch_per_minute: int | None = Field(default=None, ge=1)

    @classmethod
    def qbo(cls) -> LimitSettings:
        return cls(per_minute=500, per_second=10, concurrent=10, batch_per_minute=40)


class FaultSettings(BaseModel):
    latency_ms: float = Field(default=0, ge=0)
    jitter_ms: float = Field(default=0, ge=0)
    error_rate: float = Field(default=0, ge=0, le=1)
    error_status: Literal[500, 503] = 503
    html_503: bool = False
    timeout_rate: float = Field(default=0, ge=0, le=1)
    timeout_seconds: float = Field(default=5, ge=0, le=300)
    drop_after_commit_rate: float = Field(default=0, ge=0, le=1)
    xml_errors: bool = False
    seed: int | None = None


@dataclass
class Decision:
    latency: float = 0.0
    error: bool = False
    timeout: bool = False
    drop_after_commit: bool = False


@dataclass
class Governor:
    """The limit and fault state of one realm; windows follow the emulator clock."""

    limits: LimitSettings = field(default_factory=LimitSettings)
    faults: FaultSettings = field(default_factory=FaultSettings)
    in_flight: int = 0
    _minute: deque[float] = field(default_factory=deque)
    _second: deque[float] = field(default_factory=deque)
    _batch: deque[float] = field(default_factory=deque)
    _random: random.Random = field(default_factory=random.Random)

    def configure_faults(self, settings: FaultSettings) -> None:
        self.faults = settings
        self._random = random.Random(settings.seed)

    @property
    def active(self) -> bool:
        limits = self.limits
        return (
            limits.per_minute is not None
            or limits.per_second is not None
            or limits.concurrent is not None
            or limits.batch_per_minute is not None
        )

    def admit(self, now: float, is_batch: bool) -> bool:
        """Count one request; False means answer 429. Throttled calls still count, as in QBO."""
        limits = self.limits
        if limits.concurrent is not None and self.in_flight >= limits.concurrent:
            return False
        ok = _window(self._minute, now, 60.0, limits.per_minute)
        ok = _window(self._second, now, 1.0, limits.per_second) and ok
        if is_batch:
            ok = _window(self._batch, now, 60.0, limits.batch_per_minute) and ok
        return ok

    def decide(self) -> Decision:
        settings = self.faults
        rng = self._random
        latency = settings.latency_ms / 1000
        if settings.jitter_ms:
            latency += rng.uniform(0, settings.jitter_ms) / 1000
        return Decision(
            latency=latency,
            error=bool(settings.error_rate) and rng.random() < settings.error_rate,
            timeout=bool(settings.timeout_rate) and rng.random() < settings.timeout_rate,
            drop_after_commit=bool(settings.drop_after_commit_rate)
            and rng.random() < settings.drop_after_commit_rate,
        )


def _window(times: deque[float], now: float, span: float, limit: int | None) -> bool:
    if limit is None:
        return True
    while times and times[0] <= now - span:
        times.popleft()
    times.append(now)
    return len(times) <= limit
