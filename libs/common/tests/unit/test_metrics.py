"""Prometheus metrics: names and labels per RELIABILITY §5.3, one registry per service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from qbsync_common.metrics import HANDLING_BUCKETS, ServiceMetrics


def samples(metrics: ServiceMetrics) -> list[Sample]:
    body, _ = metrics.render()
    return [s for family in text_string_to_metric_families(body.decode()) for s in family.samples]


def value(metrics: ServiceMetrics, name: str, **labels: str) -> float:
    matching = [s.value for s in samples(metrics) if s.name == name and s.labels == labels]
    assert len(matching) == 1, (name, labels, matching)
    return matching[0]


def test_consumer_outcomes_are_counted_by_queue_type_and_outcome() -> None:
    m = ServiceMetrics("partner-sync")
    m.events_consumed.labels(m.service, "partner", "partner.created", "ack").inc()
    m.events_consumed.labels(m.service, "partner", "partner.created", "ack").inc()
    m.events_consumed.labels(m.service, "partner", "partner.created", "duplicate").inc()
    m.retries.labels(m.service, "partner", "partner.created").inc(3)
    m.parked.labels(m.service, "partner", "malformed").inc()
    m.published.labels(m.service, "qbsync.results", "ok").inc(5)
    base = {"service": "partner-sync", "queue": "partner", "type": "partner.created"}
    assert value(m, "qbsync_events_consumed_total", **base, outcome="ack") == 2
    assert value(m, "qbsync_events_consumed_total", **base, outcome="duplicate") == 1
    assert value(m, "qbsync_event_retries_total", **base) == 3
    assert (
        value(
            m,
            "qbsync_events_parked_total",
            service="partner-sync",
            queue="partner",
            reason="malformed",
        )
        == 1
    )
    assert (
        value(
            m,
            "qbsync_events_published_total",
            service="partner-sync",
            exchange="qbsync.results",
            outcome="ok",
        )
        == 5
    )


def test_handling_histogram_uses_the_semconv_buckets() -> None:
    m = ServiceMetrics("invoice-sync")
    m.handling_seconds.labels(m.service, "invoice", "invoice.issued").observe(0.03)
    m.handling_seconds.labels(m.service, "invoice", "invoice.issued").observe(4.0)
    buckets = {
        s.labels["le"]: s.value
        for s in samples(m)
        if s.name == "qbsync_event_handling_seconds_bucket" and s.labels["queue"] == "invoice"
    }
    assert [float(le) for le in buckets if le != "+Inf"] == list(HANDLING_BUCKETS)
    assert buckets["0.025"] == 0
    assert buckets["0.05"] == 1
    assert buckets["5.0"] == 2
    labels = {"service": "invoice-sync", "queue": "invoice", "type": "invoice.issued"}
    assert value(m, "qbsync_event_handling_seconds_count", **labels) == 2
    assert value(m, "qbsync_event_handling_seconds_sum", **labels) == 4.03


def test_outbox_backlog_and_message_age() -> None:
    m = ServiceMetrics("payment-poller")
    m.observe_outbox(7, 12.5)
    m.observe_outbox(2, 1.5)  # gauges show the latest backlog, not a sum
    m.message_age_seconds.labels(m.service, "payments", "payment.received").observe(42)
    assert value(m, "qbsync_outbox_pending_rows", service="payment-poller") == 2
    assert value(m, "qbsync_outbox_oldest_pending_age_seconds", service="payment-poller") == 1.5
    assert (
        value(
            m,
            "qbsync_message_age_seconds_count",
            service="payment-poller",
            queue="payments",
            type="payment.received",
        )
        == 1
    )


def test_a_relay_that_stops_leading_withdraws_its_backlog() -> None:
    m = ServiceMetrics("partner-sync")
    m.observe_outbox_backlog((3, 4.0))
    assert value(m, "qbsync_outbox_pending_rows", service="partner-sync") == 3
    m.observe_outbox_backlog(None)
    m.observe_outbox_backlog(None)  # withdrawing twice is harmless
    names = {s.name for s in samples(m)}
    assert "qbsync_outbox_pending_rows" not in names
    assert "qbsync_outbox_oldest_pending_age_seconds" not in names


def test_each_service_has_its_own_registry_with_process_metrics() -> None:
    first, second = (
        ServiceMetrics("a"),
        ServiceMetrics("a"),
    )  # same names would clash in one registry
    first.retries.labels("a", "q", "t").inc()
    assert first.registry is not second.registry
    assert not [s for s in samples(second) if s.name == "qbsync_event_retries_total"]
    body, content_type = first.render()
    assert content_type.startswith("text/plain; version=")
    assert b"process_resident_memory_bytes" in body or b"python_gc_objects_collected_total" in body


def test_a_given_registry_is_used_as_is() -> None:
    registry = CollectorRegistry()
    m = ServiceMetrics("gateway", registry=registry)
    m.published.labels("gateway", "qbsync.results", "error").inc()
    assert m.registry is registry
    assert (
        registry.get_sample_value(
            "qbsync_events_published_total",
            {"service": "gateway", "exchange": "qbsync.results", "outcome": "error"},
        )
        == 1
    )
    # Nothing but our metrics: the caller owns the registry's other collectors.
    assert all(s.name.startswith("qbsync_") for s in samples(m))
