"""docker-compose.yml is a valid Compose file that starts every service after what it needs, with
settings the services actually read. Docker cannot run here, so the file is checked statically."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from workspace_facts import EMULATOR, ROOT, SERVICES, default_port, env_names

from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.stack import StackSpec, service_credential

COMPOSE = ROOT / "docker-compose.yml"
OBSERVABILITY = ROOT / "deploy" / "observability"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "qbsync-red.json"
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _compose_schema() -> dict[str, Any]:
    # check-jsonschema vendors the official compose-spec schema (schemastore copy, Apache-2.0).
    path = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def _service_of_build(definition: dict[str, Any]) -> str | None:
    """Which workspace package a compose service runs, from the Dockerfile it is built with."""
    dockerfile = definition.get("build", {}).get("dockerfile", "")
    match = re.fullmatch(r"(?:services|sandbox)/([^/]+)/Dockerfile", dockerfile)
    return match.group(1) if match else None


def test_the_file_is_valid_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_schema_check_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    # Guards the previous test: a misspelt key must fail, or the schema is not really being applied.
    broken = {**compose, "services": {**compose["services"], "postgres": {"imagee": "postgres"}}}
    schema = _compose_schema()
    assert not jsonschema.validators.validator_for(schema)(schema).is_valid(broken)


def test_every_service_has_an_image_or_a_build_with_an_existing_dockerfile(
    compose: dict[str, Any],
) -> None:
    for name, definition in compose["services"].items():
        assert "image" in definition or "build" in definition, name
        if "build" in definition:
            context = ROOT / definition["build"]["context"]
            assert (context / definition["build"]["dockerfile"]).is_file(), name


def test_every_qbsync_service_runs_after_its_migration(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for service in SERVICES:
        run, migrate = services[service], services[f"{service}-migrate"]
        assert _service_of_build(run) == service == _service_of_build(migrate)
        assert run["command"] == [service, "run"]
        assert migrate["command"] == [service, "migrate"]
        assert migrate["restart"] == "no"
        conditions = {target: dep["condition"] for target, dep in run["depends_on"].items()}
        assert conditions[f"{service}-migrate"] == "service_completed_successfully"
        assert conditions["postgres"] == conditions["rabbitmq"] == "service_healthy"
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert _service_of_build(services[EMULATOR]) == EMULATOR


def test_depends_on_names_existing_services_with_checkable_conditions(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name, definition in services.items():
        for target, dependency in definition.get("depends_on", {}).items():
            assert target in services, (name, target)
            assert dependency["condition"] in CONDITIONS, (name, target)
            if dependency["condition"] == "service_healthy":
                assert "healthcheck" in services[target], (name, target)
            if dependency["condition"] == "service_completed_successfully":
                # A one-shot that restarted on success would never "complete".
                assert services[target].get("restart", "no") == "no", target


def test_long_running_qbsync_services_have_a_liveness_healthcheck(compose: dict[str, Any]) -> None:
    for service in SERVICES:
        definition = compose["services"][service]
        test = " ".join(definition["healthcheck"]["test"])
        assert f"127.0.0.1:{default_port(service)}/livez" in test
        # Docker's default 10 s stop timeout would SIGKILL before the 20 s drain finishes.
        assert definition["stop_grace_period"] == "30s"


def test_qbsync_environment_uses_only_known_settings(compose: dict[str, Any]) -> None:
    checked = 0
    for name, definition in compose["services"].items():
        service = _service_of_build(definition)
        env = definition.get("environment", {})
        used = {key for key in env if key.startswith("QBSYNC_")}
        if service in SERVICES:
            unknown = used - env_names(service)
            assert not unknown, (name, sorted(unknown))
            assert env["QBSYNC_HTTP_PORT"] == str(default_port(service))
            # The container must listen beyond loopback for Docker's port publishing to reach it.
            assert env["QBSYNC_HTTP_HOST"] == "0.0.0.0"
            assert env["QBSYNC_ENVIRONMENT"] == "development"
            checked += 1
        else:
            assert not used, name
    assert checked == 2 * len(SERVICES)


def test_published_host_ports_do_not_clash(compose: dict[str, Any]) -> None:
    host_ports: list[str] = []
    for definition in compose["services"].values():
        for mapping in definition.get("ports", []):
            host, _, _container = str(mapping).rpartition(":")
            assert host, f"{mapping}: publish on a fixed host port so the README's URLs hold"
            host_ports.append(host)
    assert len(host_ports) == len(set(host_ports)), sorted(host_ports)
    published = {
        int(str(m).rpartition(":")[2]) for s in SERVICES for m in compose["services"][s]["ports"]
    }
    assert published == {default_port(s) for s in SERVICES}


def test_bind_mounts_point_at_files_in_the_repository(compose: dict[str, Any]) -> None:
    mounts = 0
    for name, definition in compose["services"].items():
        for volume in definition.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)
                mounts += 1
            else:
                assert source in compose["volumes"], (name, source)
    assert mounts >= 4


def test_the_stack_has_the_observability_and_infrastructure_pieces(
    compose: dict[str, Any],
) -> None:
    images = {d.get("image", "").split(":")[0] for d in compose["services"].values()}
    assert {
        "rabbitmq",
        "postgres",
        "jaegertracing/all-in-one",
        "otel/opentelemetry-collector-contrib",
        "prom/prometheus",
        "grafana/grafana",
    } <= images
    assert compose["services"]["rabbitmq"]["image"].endswith("-management")
    assert compose["services"]["postgres"]["image"] == "postgres:15"


def test_prometheus_scrapes_every_service_where_compose_runs_it(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    for service in SERVICES:
        assert f"{service}:{default_port(service)}" in targets
    for target in targets:
        host = target.split(":")[0]
        assert host in compose["services"], target


def test_traces_flow_from_services_through_the_collector_to_jaeger(
    compose: dict[str, Any],
) -> None:
    collector = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    endpoint = compose["services"][SERVICES[0]]["environment"]["QBSYNC_OTEL_ENDPOINT"]
    assert endpoint == f"http://otel-collector:{http.rpartition(':')[2]}"
    pipeline = collector["service"]["pipelines"]["traces"]
    assert "otlp" in pipeline["receivers"]
    jaeger = collector["exporters"]["otlp/jaeger"]["endpoint"]
    assert jaeger.split(":")[0] in compose["services"]
    assert "otlp/jaeger" in pipeline["exporters"]
    for processor in pipeline["processors"]:
        assert processor in collector["processors"]


def test_keys_match_make_run_so_qbsync_demo_defaults_work_against_it(
    compose: dict[str, Any],
) -> None:
    # qbsync-demo's defaults are `make run`'s; against `make up` only the broker URL differs.
    demo = DemoEnvironment("http://emulator", "http://gateway")
    services = compose["services"]
    gateway = services["oauth-gateway"]["environment"]
    assert demo.operator_key in gateway["QBSYNC_OPERATOR_API_KEYS"].split(",")
    assert gateway["QBSYNC_WEBHOOK_VERIFIER_TOKEN"] == demo.webhook_verifier_token
    assert gateway["QBSYNC_INTUIT_CLIENT_ID"] == demo.client_id
    assert gateway["QBSYNC_INTUIT_CLIENT_SECRET"] == demo.client_secret
    # The one-shot migration validates the same settings: it must not drift from the service.
    assert services["oauth-gateway-migrate"]["environment"] == gateway
    credentials = json.loads(gateway["QBSYNC_SERVICE_CREDENTIALS"])
    for service in SERVICES:
        if service != "oauth-gateway":
            own = services[service]["environment"]["QBSYNC_SERVICE_CREDENTIAL"]
            assert credentials[service] == own == service_credential(service), service
    # qbsync-demo's default URLs reach the gateway and the emulator on the host's ports.
    default = StackSpec.default()
    for name in ("oauth-gateway", EMULATOR):
        published = {str(m).rpartition(":")[0] for m in services[name]["ports"]}
        assert str(default.ports[name]) in published, name


def test_the_documented_qbsync_demo_broker_url_reaches_composes_rabbitmq(
    compose: dict[str, Any],
) -> None:
    documented = re.findall(r"QBSYNC_DEMO_BROKER_URL=(\S+)", COMPOSE.read_text())
    assert documented, "the file's header says how to point qbsync-demo at this broker"
    url = urlsplit(documented[0])
    rabbit = compose["services"]["rabbitmq"]
    assert (url.username, url.password) == (
        rabbit["environment"]["RABBITMQ_DEFAULT_USER"],
        rabbit["environment"]["RABBITMQ_DEFAULT_PASS"],
    )
    assert f"{url.port}:5672" in [str(m) for m in rabbit["ports"]]
    services_url = urlsplit(compose["x-qbsync-env"]["QBSYNC_BROKER_URL"])
    assert (url.path or "/") == (services_url.path or "/"), "the same vhost as the services"
