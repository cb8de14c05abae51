"""Prometheus metrics of token custody (names per RELIABILITY §5.3, prefix qbsync_)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class CustodyMetrics:
    """Refreshes by outcome: ok | invalid_grant | unavailable | backoff | lost_race | crashed."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry()
        self.refreshes = Counter(
            "qbsync_token_refreshes_total",
            "Refreshes of tenant access tokens at Intuit, by trigger and outcome",
            ["service", "trigger", "outcome"],
            registry=self.registry,
        )
        self.issued = Counter(
            "qbsync_tokens_issued_total",
            "Access tokens handed to qbsync services, by source (cache or database)",
            ["service", "source"],
            registry=self.registry,
        )

    def refreshed(self, trigger: str, outcome: str) -> None:
        self.refreshes.labels(self.service, trigger, outcome).inc()

    def issued_from(self, source: str) -> None:
        self.issued.labels(self.service, source).inc()
