"""The event loop every qbsync process runs on."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop where it is installed (a dependency on Linux and macOS).

    Our services are CPU-bound in the event loop itself at load (socket writes to RabbitMQ and
    PostgreSQL, scheduling thousands of small tasks); uvloop does that work in C and raised the
    plumbing benchmark by 11-27% on our 2-core machines. The stdlib loop stays the fallback.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop wheels (Windows)
        return asyncio.run(main)
    return uvloop.run(main)
