"""The Grafana dashboard and its provisioning only query metrics qbsync really exports."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from workspace_facts import ROOT

from qbo_client.telemetry import ClientMetrics
from qbsync_common.metrics import ServiceMetrics

GRAFANA = ROOT / "deploy" / "observability" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "qbsync-red.json"
# Series names inside PromQL: identifiers followed by a selector, a range or a closing parenthesis.
SERIES = re.compile(r"\b((?:qbsync|qbo_client|rabbitmq)_[a-z0-9_]+)\b")
RED = {"qbsync_events_consumed_total", "qbsync_event_handling_seconds_bucket"}
PARKED = "qbsync_events_parked_total"


def _exported_series() -> set[str]:
    """Every series name a service's /metrics can contain, from the real metric objects."""
    registry = CollectorRegistry()
    families = [*ServiceMetrics("dashboard-test").registry.collect()]
    ClientMetrics(registry)
    families.extend(registry.collect())
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    return {
        family.name + suffix for family in families for suffix in suffixes.get(family.type, ("",))
    }


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def _expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_dashboard_covers_rate_errors_duration_parking_and_qbo_calls(
    dashboard: dict[str, Any],
) -> None:
    used = {name for expr in _expressions(dashboard) for name in SERIES.findall(expr)}
    assert RED | {PARKED} <= used
    assert any(name.startswith("qbo_client_calls") for name in used)
    assert any(name.startswith("qbo_client_call_duration_seconds") for name in used)


def test_every_qbsync_series_on_the_dashboard_is_exported(dashboard: dict[str, Any]) -> None:
    exported = _exported_series()
    used = {name for expr in _expressions(dashboard) for name in SERIES.findall(expr)}
    ours = {name for name in used if not name.startswith("rabbitmq_")}
    assert ours
    assert ours <= exported, sorted(ours - exported)


def test_panels_use_the_provisioned_datasource_and_do_not_overlap(
    dashboard: dict[str, Any],
) -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    uids = {source["uid"] for source in provisioned["datasources"]}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] in uids, panel["title"]
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not area & cells, panel["title"]
        cells |= area


def test_dashboard_provider_loads_the_directory_compose_mounts() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/qbsync.yaml").read_text())
    [entry] = provider["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(
        str(volume).split(":")[:2] for volume in compose["services"]["grafana"]["volumes"]
    )
    assert mounts["./deploy/observability/grafana/dashboards"] == entry["options"]["path"]
