"""What `make run` prints once the stack is up and the demo tenant is connected: where to look."""

from __future__ import annotations

from qbsync_dev.demo.connect import ConnectedTenant
from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.stack import EMULATOR, GATEWAY, SERVICES, StackSpec


def banner(spec: StackSpec, env: DemoEnvironment, tenant: ConnectedTenant) -> str:
    view = f"{env.emulator_url}/_emulator/view/{tenant.realm_id}?refresh=3"
    lines = [
        "",
        "qbsync is running. Ctrl-C stops everything.",
        "",
        f"Demo tenant {tenant.tenant_id!r} is connected to QuickBooks company {tenant.realm_id}",
        "through the real OAuth flow (the emulator approved consent for it).",
        "",
        "Where to look:",
        f"  connect page (a fresh link)   {tenant.connect_page}",
        f"  the QuickBooks company        {view}",
        f"  every emulated company        {env.emulator_url}/_emulator/view/",
        f"  gateway operator API          {env.gateway_url}/docs  (key: {env.operator_key})",
        "",
        "Services (health /livez /readyz, Prometheus /metrics):",
    ]
    for name, _ in SERVICES:
        lines.append(f"  {name:<15} {spec.url(name)}/metrics")
    lines += [
        # /_emulator/ itself has no page: the admin API is listed in the emulator's docs.
        f"  {EMULATOR:<15} {spec.url(EMULATOR)}/docs  (admin API under /_emulator/)",
        "",
        "Play the upstream app (in another terminal):",
        "  uv run qbsync-demo story                       # the whole story, results as they arrive",
        "  uv run qbsync-demo publish <type> <json-file>  # any contract event, validated first",
        "     e.g. uv run qbsync-demo publish qbsync.partner.upserted.v1 client.json",
        "",
        f"Events go to exchange 'qbsync.events' on {env.broker_display}; results come back on",
        "exchange 'qbsync.results' (queue 'qbsync.results.upstream' keeps them all).",
        f"Tenant settings: GET/PUT {spec.url(GATEWAY)}/v1/tenants/{tenant.tenant_id}/settings",
        "",
    ]
    return "\n".join(lines)
