"""Prometheus metrics of part A: tenants by state and webhook deliveries by outcome."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge

from oauth_gateway.tenants.model import TenantState


class TenantMetrics:
    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry()
        self.tenants = Gauge(
            "qbsync_tenants",
            "Tenants by connection state (refreshed periodically from the database)",
            ["service", "state"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "qbsync_webhook_deliveries_total",
            "Intuit webhook deliveries by outcome: accepted | duplicate | bad_signature | "
            "malformed | too_large",
            ["service", "outcome"],
            registry=self.registry,
        )

    def tenant_counts(self, counts: Mapping[str, int]) -> None:
        # Every state is set, so a state that emptied drops to 0 instead of keeping its old value.
        for state in TenantState:
            self.tenants.labels(self.service, state.value).set(counts.get(state.value, 0))

    def webhook(self, outcome: str) -> None:
        self.webhooks.labels(self.service, outcome).inc()
