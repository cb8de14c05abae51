"""Exception hierarchy for QuickBooks Online faults, transport failures and token problems."""

from __future__ import annotations

from typing import Self


class QBOError(Exception):
    """Base of every error the client raises.

    Sync services decide whether to retry from ``transient``, never from status codes,
    so every subclass states it explicitly.
    """

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        detail: str | None = None,
        intuit_tid: str | None = None,
        element: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.detail = detail
        self.intuit_tid = intuit_tid
        self.element = element

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.detail:
            parts.append(f"detail={self.detail}")
        if self.intuit_tid:
            parts.append(f"intuit_tid={self.intuit_tid}")
        return " ".join(parts)


class AuthenticationError(QBOError):
    """401 / 3200: the access token was rejected even after one refresh."""


class AuthorizationError(QBOError):
    """403 / 3100: the app may not access this company (scope, environment mismatch)."""


class ThrottledError(QBOError):
    """429 / 3001: QBO (or the local limiter) says to slow down for this realm."""

    transient = True

    # Intuit: "wait 60 seconds before retrying"; QBO sends no Retry-After we can rely on.
    retry_after: float = 60.0

    def with_retry_after(self, seconds: float) -> Self:
        self.retry_after = seconds
        return self


class LimiterTimeout(ThrottledError):
    """The realm's shared budget would not allow the call within the caller's max wait."""


class ObjectNotFoundError(QBOError):
    """610: the object was deleted, or a referenced name-list entity is inactive."""


class StaleObjectError(QBOError):
    """5010: the SyncToken is old; re-read, re-apply and retry (a blind retry fails again)."""


class ValidationError(QBOError):
    """2xxx, 4xxx, 6xxx business and request validation faults."""


class DuplicateNameError(ValidationError):
    """6240: DisplayName/Name already used (across Customer, Vendor and Employee)."""

    # QBO's Detail text does not carry the name; the client fills it from the request.
    name: str | None = None


class DuplicateDocNumberError(ValidationError):
    """6140: the DocNumber is already used by another transaction."""


class InvalidReferenceError(ValidationError):
    """2500: a reference points at an unknown, inactive or unusable object."""


class ServiceError(QBOError):
    """5xx / 10000: QBO failed; Intuit says to resubmit."""

    transient = True


class TransportError(QBOError):
    """Timeout or connection failure before a complete answer arrived.

    ``uncertain`` is True for writes that may have been applied: retry them with the same
    requestid so QBO replays the original answer instead of writing twice.
    """

    transient = True

    uncertain: bool = False


class UnknownTenant(QBOError):
    """The token provider does not know this tenant."""


class TenantNeedsReauthorization(QBOError):
    """The tenant's QBO connection must be re-authorized by a person; retrying cannot help."""


class TokenUnavailable(QBOError):
    """The token provider failed temporarily (gateway 5xx, timeout)."""

    transient = True
