"""metrics_for hands each registry its own metric family, even when registries come and go."""

from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry

from qbo_client.telemetry import metrics_for


def test_one_family_per_live_registry() -> None:
    registry = CollectorRegistry()
    assert metrics_for(registry) is metrics_for(registry)
    assert metrics_for(CollectorRegistry()) is not metrics_for(registry)


def test_a_new_registry_never_inherits_a_collected_ones_metrics() -> None:
    # A registry allocated where a collected one lived used to get that one's metrics
    # (keyed by id()), so its counters stayed empty: the CI flake this guards against.
    for _ in range(50):
        registry = CollectorRegistry()
        metrics_for(registry).throttled.inc()
        assert registry.get_sample_value("qbo_client_throttled_total") == 1.0
        del registry
        gc.collect()
