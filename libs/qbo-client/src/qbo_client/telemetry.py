"""Prometheus metrics and OpenTelemetry spans for QBO calls (never tokens or payloads)."""

from __future__ import annotations

import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)


class ClientMetrics:
    """The client's metric family. Realm ids are not labels: one label value per tenant would
    grow without bound; the realm goes on spans instead."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.calls = Counter(
            "qbo_client_calls_total",
            "QBO API calls by operation, entity and outcome.",
            ["method", "entity", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "qbo_client_call_duration_seconds",
            "Time from sending a QBO request to its answer.",
            ["method", "entity"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.throttle_wait = Histogram(
            "qbo_client_throttle_wait_seconds",
            "Time spent waiting for the realm's shared rate-limit budget.",
            ["priority"],
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.throttled = Counter(
            "qbo_client_throttled_total",
            "429 ThrottleExceeded answers from QBO.",
            registry=registry,
        )
        self.token_refreshes = Counter(
            "qbo_client_token_refreshes_total",
            "Fresh tokens requested after a 401.",
            registry=registry,
        )


# Keyed by the registry itself, weakly: keying by id() handed a new registry the metrics of
# a collected one whose address it reused, so its counters silently stayed empty.
_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, ClientMetrics] = (
    weakref.WeakKeyDictionary()
)


def metrics_for(registry: CollectorRegistry = REGISTRY) -> ClientMetrics:
    """One ClientMetrics per registry: Prometheus refuses to register a name twice, and
    tests and workers may build several clients in one process."""
    metrics = _BY_REGISTRY.get(registry)
    if metrics is None:
        metrics = _BY_REGISTRY[registry] = ClientMetrics(registry)
    return metrics
