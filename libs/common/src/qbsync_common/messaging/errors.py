"""How a handler's failure is classified: retry later, or park now with the reason."""

from __future__ import annotations


class TransientError(Exception):
    """Raise from a handler to ask for a delayed retry (e.g. a dependency is briefly unavailable)."""

    transient = True


class PermanentError(Exception):
    """Raise from a handler when retrying cannot help; the event is parked with `reason`."""

    transient = False

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason


class DuplicateEvent(Exception):
    """The inbox already holds this event id for this consumer: acknowledge, do nothing."""


def is_transient(exc: BaseException) -> bool:
    """An error that says whether it is transient (QBO client errors do) is taken at its word.
    Anything else (database or network blips, but also bugs) is retried a bounded number of times:
    the retry limit parks it with its reason, so a bug costs delay, never a lost event."""
    flag = getattr(exc, "transient", None)
    return flag if isinstance(flag, bool) else True
