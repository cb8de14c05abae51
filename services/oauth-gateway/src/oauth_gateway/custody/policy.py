"""When to refresh, when to warn: pure decisions on token timestamps, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from oauth_gateway.custody.model import StoredTokens, fingerprint


@dataclass(frozen=True)
class RefreshPolicy:
    """Tunable thresholds (from Settings) for on-demand and background refreshes."""

    # Refresh an access token this close to expiry (issue 5: 5 minutes).
    access_margin: timedelta = timedelta(minutes=5)
    # A quiet tenant is refreshed once its refresh token is this old, well inside Intuit's 100 days.
    max_refresh_age: timedelta = timedelta(days=30)
    # Warn upstream this long before the 5-year hard expiry so the tenant can reconnect in time.
    hard_expiry_warning: timedelta = timedelta(days=60)
    # After a transient failure, callers get "unavailable", not another Intuit call.
    failure_backoff: timedelta = timedelta(seconds=60)

    def access_usable(self, tokens: StoredTokens, now: datetime) -> bool:
        return tokens.access_expires_at - self.access_margin > now

    def must_refresh(
        self, tokens: StoredTokens, now: datetime, failed_token_sha256: str | None
    ) -> bool:
        """True when the current access token is near expiry or is the one a service saw fail.

        A hash naming an older token means someone else already refreshed: the current one is fine.
        """
        if failed_token_sha256 is not None and failed_token_sha256 == fingerprint(
            tokens.access_token
        ):
            return True
        return not self.access_usable(tokens, now)

    def backing_off(self, tokens: StoredTokens, now: datetime) -> bool:
        return tokens.last_failure_at is not None and now - tokens.last_failure_at < (
            self.failure_backoff
        )

    def refresh_is_old(self, tokens: StoredTokens, now: datetime) -> bool:
        return now - tokens.refreshed_at >= self.max_refresh_age

    def hard_expiry_near(self, tokens: StoredTokens, now: datetime) -> bool:
        hard = tokens.refresh_hard_expires_at
        return hard is not None and hard - now <= self.hard_expiry_warning
