"""The gateway's Prometheus alert rules are well-formed and query only series the gateway exports.

No promtool here: the checks are the rule-file schema Prometheus enforces, balanced PromQL, and
every series and label value in a selector being one the real metric objects can produce (an
alert on a misspelt series never fires, and nothing tells you).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from oauth_gateway.custody.metrics import CustodyMetrics
from oauth_gateway.tenants.metrics import TenantMetrics
from oauth_gateway.tenants.model import TenantState

ROOT = Path(__file__).resolve().parents[4]
RULES = ROOT / "deploy" / "observability" / "alerts" / "oauth-gateway.rules.yml"
PROMETHEUS = ROOT / "deploy" / "observability" / "prometheus.yml"
SELECTOR = re.compile(r"\b(qbsync_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
DURATION = re.compile(r"^\d+[smhdwy]$")
# What the code can put in each label (custody/refresher.py, webhooks/receiver.py, TenantState).
LABEL_VALUES = {
    "service": {"oauth-gateway"},
    "state": {s.value for s in TenantState},
    "outcome": {"ok", "invalid_grant", "unavailable", "backoff", "lost_race"},
    "trigger": {"demand", "background"},
}


def _exported() -> dict[str, set[str]]:
    """Series name -> label names, from the gateway's real metric objects."""
    tenants, custody = TenantMetrics("oauth-gateway"), CustodyMetrics("oauth-gateway")
    series: dict[str, set[str]] = {}
    for metric in (tenants.tenants, tenants.webhooks, custody.refreshes, custody.issued):
        suffix = "_total" if metric._type == "counter" else ""
        series[metric._name + suffix] = set(metric._labelnames)
    return series


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    assert set(data) == {"groups"}
    found: list[dict[str, Any]] = []
    for group in data["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"]
        found += group["rules"]
    return found


def test_every_rule_has_the_fields_prometheus_requires(rules: list[dict[str, Any]]) -> None:
    assert rules
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"]), rule["alert"]
        assert DURATION.match(str(rule.get("for", "0s"))), rule
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
        assert expr.count("[") == expr.count("]"), expr


def test_rules_query_only_exported_series_and_label_values(rules: list[dict[str, Any]]) -> None:
    exported = _exported()
    seen: set[str] = set()
    for rule in rules:
        selectors = SELECTOR.findall(rule["expr"])
        assert selectors, rule["alert"]
        for series, matchers in selectors:
            assert series in exported, (rule["alert"], series)
            seen.add(series)
            for label, op, value in MATCHER.findall(matchers):
                assert label in exported[series], (rule["alert"], series, label)
                wanted = set(value.split("|")) if op == "=~" else {value}
                assert wanted <= LABEL_VALUES[label], (rule["alert"], label, value)
    # F12's two signals: tenants needing re-authorization and refresh outcomes.
    assert {"qbsync_tenants", "qbsync_token_refreshes_total"} <= seen


def test_f12_alert_fires_on_any_tenant_needing_reauthorization(
    rules: list[dict[str, Any]],
) -> None:
    [rule] = [r for r in rules if 'state="needs_reauthorization"' in r["expr"]]
    assert rule["expr"].replace(" ", "").endswith(">0")
    # RELIABILITY F12: marked within a minute and the alert fires; a long `for` would defeat it.
    assert rule.get("for", "0s") in {"0s", "0m"}


def test_prometheus_loads_the_rules_directory() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert any(Path(p).match("/etc/prometheus/rules/*.yml") for p in config["rule_files"])
    assert RULES.suffix == ".yml"
