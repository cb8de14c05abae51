"""Prometheus metrics of a service's event plumbing (RED for consumers, backlog for the outbox)."""

from __future__ import annotations

import contextlib

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# RELIABILITY §5.1: the messaging semantic conventions' duration buckets, 5 ms … 10 s.
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Lag spans retry delays (up to minutes) and outage backlogs (up to an hour), hence wider buckets.
AGE_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# Outcomes of one delivery; every label value the consumer may use is listed for dashboards.
OUTCOMES = ("ack", "retry", "parked", "duplicate", "requeued", "held")

# Labels never include tenant or realm ids: unbounded cardinality (RELIABILITY §5.3).
_QUEUE_LABELS = ("service", "queue", "type")


class ServiceMetrics:
    """Every metric a qbsync service exports; label values go positionally, service first."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        if registry is None:
            # A registry of our own (tests build many services in one process) with the
            # process/GC metrics the default registry would have given us (RSS growth, L1).
            registry = CollectorRegistry(auto_describe=True)
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = registry
        self.events_consumed = Counter(
            "qbsync_events_consumed",
            "Deliveries handled, by outcome (ack|retry|parked|duplicate|requeued|held)",
            (*_QUEUE_LABELS, "outcome"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "qbsync_event_handling_seconds",
            "Time from delivery to settlement (ack/retry/park) of one event",
            _QUEUE_LABELS,
            buckets=HANDLING_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "qbsync_event_retries",
            "Events sent to a retry delay queue after a transient failure",
            _QUEUE_LABELS,
            registry=registry,
        )
        self.parked = Counter(
            "qbsync_events_parked",
            "Events moved to a parking-lot queue, by reason class",
            ("service", "queue", "reason"),
            registry=registry,
        )
        self.tenants_holding = Gauge(
            "qbsync_tenants_holding",
            "Tenants whose surplus events wait in the held table (fairness), per consumer queue",
            ("service", "queue"),
            registry=registry,
        )
        self.held = Gauge(
            "qbsync_held_events",
            "Events waiting in the held table for their tenant's turn (refreshed every 2 s)",
            ("service", "queue"),
            registry=registry,
        )
        self.released = Counter(
            "qbsync_events_released",
            "Held events put back on their queue as their tenant got room",
            ("service", "queue"),
            registry=registry,
        )
        self.published = Counter(
            "qbsync_events_published",
            "Events published with broker confirmation (ok) or failed publishes (error)",
            ("service", "exchange", "outcome"),
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "qbsync_outbox_pending_rows",
            "Outbox rows committed but not yet published",
            ("service",),
            registry=registry,
        )
        self.outbox_oldest_age_seconds = Gauge(
            "qbsync_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox row (0 when empty)",
            ("service",),
            registry=registry,
        )
        self.message_age_seconds = Histogram(
            "qbsync_message_age_seconds",
            "Now minus the producer timestamp when the handler starts (consumer lag)",
            _QUEUE_LABELS,
            buckets=AGE_BUCKETS,
            registry=registry,
        )

    def observe_outbox(self, pending: int, oldest_age_seconds: float) -> None:
        """Record the relay's backlog (pending rows, age of the oldest)."""
        self.outbox_pending.labels(self.service).set(pending)
        self.outbox_oldest_age_seconds.labels(self.service).set(oldest_age_seconds)

    def observe_outbox_backlog(self, backlog: tuple[int, float] | None) -> None:
        """The relay's report: its backlog while it leads; None when it stopped leading, which
        withdraws the series (only the leading replica's count may enter a sum over pods)."""
        if backlog is not None:
            self.observe_outbox(*backlog)
            return
        for gauge in (self.outbox_pending, self.outbox_oldest_age_seconds):
            with contextlib.suppress(KeyError):
                gauge.remove(self.service)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for a /metrics endpoint."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
