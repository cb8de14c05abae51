"""deploy/k8s renders to valid Kubernetes objects that run every service safely and expose only the
gateway's public paths."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kustomize_render import Obj, containers, pod_spec, render
from pydantic import ValidationError
from workspace_facts import ROOT, SERVICES, default_port, env_names, settings_class

K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
DEV = K8S / "overlays" / "dev"
# The newest Kubernetes release whose schemas kubernetes-validate ships.
KUBERNETES_VERSION = kubernetes_validate.latest_version()
GATEWAY = "oauth-gateway"
# What a tenant's browser and Intuit must reach; the rest of the gateway is operator or internal.
PUBLIC_PATHS = {"/connect", "/reconnect", "/disconnect", "/oauth/callback", "/webhooks/intuit"}
PRIVATE_PREFIXES = ("/v1", "/internal", "/metrics", "/livez", "/readyz", "/docs", "/openapi.json")


def _by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _pod_labels(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = obj["spec"]["template"]["metadata"].get("labels", {})
    return labels


@pytest.fixture(scope="module")
def base() -> list[Obj]:
    objects: list[Obj] = render(BASE)
    return objects


@pytest.fixture(scope="module")
def dev() -> list[Obj]:
    objects: list[Obj] = render(DEV)
    return objects


@pytest.mark.parametrize("overlay", [BASE, DEV], ids=["base", "dev"])
def test_every_object_is_valid_against_the_kubernetes_schemas(overlay: Path) -> None:
    objects = render(overlay)
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")


@pytest.mark.parametrize("overlay", [BASE, DEV], ids=["base", "dev"])
def test_everything_lands_in_the_qbsync_namespace_with_the_part_of_label(overlay: Path) -> None:
    objects = render(overlay)
    [namespace] = _by_kind(objects, "Namespace")
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == namespace["metadata"]["name"], obj["metadata"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "qbsync"


def test_each_service_has_a_deployment_on_its_settings_port(base: list[Obj]) -> None:
    for service in SERVICES:
        deployment = _one(base, "Deployment", service)
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == [service]
        assert container["args"] == ["run"]
        # Every service has one "http" port; the gateway also its "internal" one (tested below).
        port = next(p for p in container["ports"] if p["name"] == "http")
        assert {p["name"] for p in container["ports"]} <= {"http", "internal"}
        assert port["containerPort"] == default_port(service)
        env = {item["name"]: item["value"] for item in container.get("env", [])}
        assert env["QBSYNC_HTTP_PORT"] == str(default_port(service))
        assert container["image"] == f"qbsync/{service}:0.1.0"


@pytest.mark.parametrize("overlay", [BASE, DEV], ids=["base", "dev"])
def test_every_deployment_has_probes_resources_and_a_locked_down_security_context(
    overlay: Path,
) -> None:
    deployments = _by_kind(render(overlay), "Deployment")
    assert len(deployments) >= len(SERVICES)
    for deployment in deployments:
        spec = pod_spec(deployment)
        assert spec is not None
        name = deployment["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert "httpGet" in container[probe], (name, probe)
            readiness, liveness = container["readinessProbe"], container["livenessProbe"]
            # Liveness must be the more patient probe: restarts are the expensive reaction.
            assert liveness.get("failureThreshold", 3) > readiness.get("failureThreshold", 3), name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            # A read-only root needs somewhere to write temporary files.
            assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}, name


def test_services_probe_their_health_endpoints_and_drain_before_sigkill(base: list[Obj]) -> None:
    config = _one(base, "ConfigMap", "qbsync-config")["data"]
    drain = float(config["QBSYNC_SHUTDOWN_GRACE_S"])
    for service in SERVICES:
        deployment = _one(base, "Deployment", service)
        spec = deployment["spec"]["template"]["spec"]
        [container] = spec["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["startupProbe"]["httpGet"]["path"] == "/livez"
        grace = spec["terminationGracePeriodSeconds"]
        assert grace == 30
        # The grace period counts from the start of preStop, so a preStop sleep eats into it.
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
        pre_stop_s = float(pre_stop[1]) if pre_stop else 0.0
        assert pre_stop_s + drain < grace, service


@pytest.mark.parametrize("overlay", [BASE, DEV], ids=["base", "dev"])
def test_every_service_object_selects_an_existing_deployment_port(overlay: Path) -> None:
    objects = render(overlay)
    deployments = _by_kind(objects, "Deployment")
    services = _by_kind(objects, "Service")
    assert {s["metadata"]["name"] for s in services} >= set(SERVICES)
    for service in services:
        matches = [d for d in deployments if _selects(service["spec"]["selector"], _pod_labels(d))]
        assert len(matches) == 1, service["metadata"]["name"]
        port_names = {port["name"] for c in containers(matches[0]) for port in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, service["metadata"]["name"]


def test_every_deployment_has_a_disruption_budget_of_one(base: list[Obj]) -> None:
    budgets = _by_kind(base, "PodDisruptionBudget")
    for deployment in _by_kind(base, "Deployment"):
        covering = [
            b
            for b in budgets
            if _selects(b["spec"]["selector"]["matchLabels"], _pod_labels(deployment))
        ]
        assert len(covering) == 1, deployment["metadata"]["name"]
        assert covering[0]["spec"]["maxUnavailable"] == 1
        # maxUnavailable 1 with one replica would let a drain take the whole service down.
        assert deployment["spec"]["replicas"] >= 2


def test_the_migration_job_migrates_every_service_once(base: list[Obj]) -> None:
    [job] = _by_kind(base, "Job")
    spec = pod_spec(job)
    assert spec is not None
    assert spec["restartPolicy"] == "Never"
    commands = [c["command"] for c in containers(job)]
    assert sorted(commands) == sorted([service, "migrate"] for service in SERVICES)
    for container in containers(job):
        service = container["command"][0]
        assert container["image"] == f"qbsync/{service}:0.1.0"


def test_the_ingress_routes_only_the_gateways_public_paths(base: list[Obj]) -> None:
    [ingress] = _by_kind(base, "Ingress")
    routed: set[str] = set()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == GATEWAY
            assert path["pathType"] in ("Exact", "Prefix")
            routed.add(path["path"])
    assert routed == PUBLIC_PATHS
    for path in routed:
        # Prefix matching is per path element, so "/connect" never covers "/v1" or "/internal/...".
        assert not path.startswith(PRIVATE_PREFIXES), path


def _nginx_size(value: str) -> int:
    """nginx's size syntax (client_max_body_size): bytes, or k/m/g suffixes in powers of 1024."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    suffix = value[-1].lower()
    return int(value[:-1]) * units[suffix] if suffix in units else int(value)


def test_the_ingress_admits_the_webhook_bodies_the_gateway_accepts(base: list[Obj]) -> None:
    """B4 sends 2 MB webhook bodies: nginx must pass them, and refuse exactly what the app would."""
    [ingress] = _by_kind(base, "Ingress")
    limit = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    max_body = importlib.import_module("oauth_gateway.webhooks.routes").MAX_BODY
    assert _nginx_size(limit) == max_body
    assert max_body >= 2 * 1000 * 1000


def _gateway_peers(objects: list[Obj]) -> dict[str, list[Obj]]:
    """Port name -> peers admitted to it by the policies selecting the gateway's pods."""
    gateway_pods = _pod_labels(_one(objects, "Deployment", GATEWAY))
    peers: dict[str, list[Obj]] = {}
    for policy in _by_kind(objects, "NetworkPolicy"):
        if not _selects(policy["spec"]["podSelector"].get("matchLabels", {}), gateway_pods):
            continue
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']} admits every port"
            for port in rule["ports"]:
                peers.setdefault(str(port["port"]), []).extend(rule["from"])
    return peers


def test_only_qbsync_services_reach_the_gateways_internal_port(base: list[Obj]) -> None:
    policies = _by_kind(base, "NetworkPolicy")
    default_deny = [
        p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]
    ]
    assert default_deny, "without a default deny, the gateway policies would not restrict anything"
    peers = _gateway_peers(base)
    assert set(peers) == {"http", "internal"}
    internal = peers["internal"]
    # Pods of this namespace only: no other namespace (ingress controller, monitoring) at all.
    assert all(set(peer) == {"podSelector"} for peer in internal), internal
    internal_pods = [peer["podSelector"]["matchLabels"] for peer in internal]
    for service in SERVICES:
        labels = _pod_labels(_one(base, "Deployment", service))
        assert any(_selects(peer, labels) for peer in internal_pods), service
    stranger = {"app.kubernetes.io/name": "debug-shell"}
    operator_client = {"qbsync.dev/operator-client": "true"}
    job_labels = _pod_labels(_by_kind(base, "Job")[0])
    for outsider in (stranger, operator_client, job_labels):
        assert not any(_selects(peer, outsider) for peer in internal_pods), outsider


def test_the_public_port_admits_the_ingress_operators_and_monitoring_only(
    base: list[Obj],
) -> None:
    public = _gateway_peers(base)["http"]
    pod_peers = [p["podSelector"]["matchLabels"] for p in public if "podSelector" in p]
    namespace_peers = [p["namespaceSelector"] for p in public if "namespaceSelector" in p]
    assert pod_peers == [{"qbsync.dev/operator-client": "true"}]
    # The ingress controller routes the public paths only; Prometheus scrapes /metrics.
    assert sorted((peer["matchLabels"] for peer in namespace_peers), key=str) == [
        {"kubernetes.io/metadata.name": "ingress-nginx"},
        {"qbsync.dev/monitoring": "true"},
    ]


def test_services_call_the_gateway_on_its_internal_port(base: list[Obj]) -> None:
    deployment = _one(base, "Deployment", GATEWAY)
    [container] = containers(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env["QBSYNC_INTERNAL_HTTP_PORT"] == str(ports["internal"])
    assert ports["internal"] != ports["http"]
    service = _one(base, "Service", GATEWAY)
    exposed = {p["name"]: p for p in service["spec"]["ports"]}
    assert exposed["internal"]["targetPort"] == "internal"
    config = _one(base, "ConfigMap", "sync-services-config")
    assert config["data"]["QBSYNC_GATEWAY_URL"] == (
        f"http://{GATEWAY}:{exposed['internal']['port']}"
    )
    # The Ingress forwards to the public port only.
    [ingress] = _by_kind(base, "Ingress")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["port"] == {"name": "http"}


def _env_of(objects: list[Obj], container: Obj) -> dict[str, str]:
    """The environment Kubernetes would give the container: envFrom sources, then env."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(_one(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            secret = _one(objects, "Secret", source["secretRef"]["name"])
            env.update(secret.get("stringData", {}))
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


@pytest.mark.parametrize("overlay", [BASE, DEV], ids=["base", "dev"])
def test_configuration_names_only_settings_the_service_reads(overlay: Path) -> None:
    objects = render(overlay)
    for service in SERVICES:
        for container in containers(_one(objects, "Deployment", service)):
            unknown = set(_env_of(objects, container)) - env_names(service)
            assert not unknown, (service, sorted(unknown))


@pytest.fixture
def clean_environment() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("QBSYNC_")}
    for key in saved:
        del os.environ[key]
    yield
    os.environ.update(saved)


def _load_settings(service: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return settings_class(service)()


@pytest.mark.usefixtures("clean_environment")
def test_base_secret_template_is_refused_in_production(
    base: list[Obj], monkeypatch: pytest.MonkeyPatch
) -> None:
    for obj in _by_kind(base, "Secret"):
        assert set(obj["stringData"].values()) == {"changeme"}, obj["metadata"]["name"]
    for service in SERVICES:
        [container] = _one(base, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        env = _env_of(base, container)
        assert env["QBSYNC_ENVIRONMENT"] == "production"
        with monkeypatch.context() as patch, pytest.raises(ValidationError, match="real value"):
            _load_settings(service, env, patch)


@pytest.mark.usefixtures("clean_environment")
def test_dev_overlay_configuration_loads_for_every_container(
    dev: list[Obj], monkeypatch: pytest.MonkeyPatch
) -> None:
    workloads = [*_by_kind(dev, "Deployment"), *_by_kind(dev, "Job")]
    checked = 0
    for workload in workloads:
        for container in containers(workload):
            service = container["command"][0]
            if service not in SERVICES:
                continue
            with monkeypatch.context() as patch:
                settings = _load_settings(service, _env_of(dev, container), patch)
            assert settings.environment == "development"
            assert settings.broker_url.get_secret_value().startswith("amqp://")
            checked += 1
    assert checked == 2 * len(SERVICES)  # a Deployment and a migration container each


def test_dev_overlay_changes_only_what_it_says(base: list[Obj], dev: list[Obj]) -> None:
    overlay = yaml.safe_load((DEV / "kustomization.yaml").read_text())
    assert {image["newTag"] for image in overlay["images"]} == {"dev"}
    for deployment in _by_kind(dev, "Deployment"):
        assert deployment["spec"]["replicas"] == 1
        for container in containers(deployment):
            assert container["image"].endswith(":dev")
    base_names = {(o["kind"], o["metadata"]["name"]) for o in base}
    dev_names = {(o["kind"], o["metadata"]["name"]) for o in dev}
    assert dev_names - base_names == {
        ("Deployment", "qbo-emulator"),
        ("Service", "qbo-emulator"),
        ("NetworkPolicy", "qbo-emulator-ingress"),
    }
    assert base_names <= dev_names
    gateway_config = _one(dev, "ConfigMap", "oauth-gateway-config")["data"]
    assert gateway_config["QBSYNC_QBO_API_BASE_URL"] == "http://qbo-emulator:8090"


def test_autoscaling_follows_each_services_own_queue(base: list[Obj]) -> None:
    # KEDA's CRDs are not in kubernetes-validate, so these objects are checked field by field.
    objects = render(K8S / "autoscaling")
    scaled = _by_kind(objects, "ScaledObject")
    assert scaled
    [auth] = _by_kind(objects, "TriggerAuthentication")
    prefetch = int(_one(base, "ConfigMap", "qbsync-config")["data"]["QBSYNC_PREFETCH"])
    for obj in scaled:
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        assert obj["metadata"]["namespace"] == "qbsync"
        service = obj["spec"]["scaleTargetRef"]["name"]
        deployment = _one(base, "Deployment", service)
        assert obj["spec"]["minReplicaCount"] >= deployment["spec"]["replicas"]
        bootstrap = importlib.import_module(f"{service.replace('-', '_')}.bootstrap")
        [trigger] = obj["spec"]["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == bootstrap.CONSUMER.queue
        # Fewer ready messages than one replica's prefetch would add pods that sit idle.
        assert int(trigger["metadata"]["value"]) >= prefetch
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    [reference] = auth["spec"]["secretTargetRef"]
    secret = _one(base, "Secret", reference["name"])
    assert reference["key"] in secret["stringData"]
    assert reference["key"] == "QBSYNC_BROKER_URL"
