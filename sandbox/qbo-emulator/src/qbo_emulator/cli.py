"""`qbo-emulator`: run the emulator (uvicorn), or drive a running one through its admin API.

    qbo-emulator --host 127.0.0.1 --port 8090 [--state-file demo.state] [--company 123:Demo Co]
    qbo-emulator [--url http://127.0.0.1:8090] company create --realm-id 123 --name "Demo Co"
    qbo-emulator apps register --client-id cid --client-secret sec --redirect-uri http://x/cb \\
        [--webhook-url URL --webhook-verifier-token T --webhook-format cloudevents] \\
        [--rotation-grace-hours 24] [--auto-approve-realm 123]
    qbo-emulator apps auto-approve cid 123          (or: apps auto-approve cid --off)
    qbo-emulator apps list | apps show cid | apps delete cid | apps token-calls cid
    qbo-emulator apps disconnect cid 123            (a company admin disconnects the app)
    qbo-emulator grants mint cid 123 | grants list [--client-id cid] [--realm-id 123]
    qbo-emulator company list | company records 123 Customer | company stats 123
    qbo-emulator company record 123 Invoice 42      (one record, inactive or deleted included)
    qbo-emulator company pay 123 --invoice 42 [--amount 10.50]   (a customer pays, as in QBO)
    qbo-emulator company pay 123 --bill 43 [--amount 5] [--bank-account 2]   (a bill is paid)
    qbo-emulator limits 123 '{"per_minute": 500, "per_second": 10}' | faults 123 '{...}'
    qbo-emulator token-faults add --mode status --status 503 --count 2 | token-faults clear
    qbo-emulator webhooks deliveries [--client-id cid] | webhooks flush | webhooks config ...
    qbo-emulator clock advance 3600 | clock show | reset

Admin commands print the JSON answer and exit 0, or print the error and exit 1 (HTTP error) or
2 (emulator unreachable, bad arguments). `--url` defaults to $QBO_EMULATOR_URL, then
http://127.0.0.1:8090. With --state-file, realms, apps and grants are loaded at start (if the file
exists) and written back at shutdown, so a demo survives a restart; the file is a local pickle,
meant only for the emulator's own demos, never for files from elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8090"
STATE_VERSION = 1


def _parser() -> argparse.ArgumentParser:
    doc = (__doc__ or "").splitlines()
    parser = argparse.ArgumentParser(
        prog="qbo-emulator",
        description=doc[0].replace("`", "") if doc else None,
        epilog="\n".join(doc[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to serve on")
    parser.add_argument("--port", type=int, default=8090, help="port to serve on")
    parser.add_argument("--state-file", type=Path, help="load at start, save at shutdown")
    parser.add_argument(
        "--company",
        action="append",
        default=[],
        metavar="REALM[:NAME]",
        help="seed a sample company at start (repeatable)",
    )
    parser.add_argument(
        "--static-token",
        action="append",
        default=[],
        help="bearer token accepted for every realm without OAuth (benchmarks)",
    )
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--url",
        default=os.environ.get("QBO_EMULATOR_URL", DEFAULT_URL),
        help="base URL of the running emulator, for admin commands",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the emulator (the default)")
    commands.add_parser("reset", help="forget every realm, app and token")

    apps = commands.add_parser("apps", help="Intuit developer apps").add_subparsers(
        dest="action", required=True
    )
    register = apps.add_parser("register")
    register.add_argument("--client-id")
    register.add_argument("--client-secret")
    register.add_argument("--name")
    register.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    register.add_argument("--webhook-url")
    register.add_argument("--webhook-verifier-token")
    register.add_argument("--webhook-format", choices=["legacy", "cloudevents"])
    register.add_argument("--rotation-grace-hours", type=float)
    register.add_argument("--rotation-after-hours", type=float)
    register.add_argument("--auto-approve-realm")
    apps.add_parser("list")
    for action in ("show", "delete", "token-calls"):
        apps.add_parser(action).add_argument("client_id")
    approve = apps.add_parser("auto-approve", help="approve consent for a realm without a page")
    approve.add_argument("client_id")
    approve.add_argument("realm_id", nargs="?")
    approve.add_argument("--off", action="store_true", help="show the consent page again")
    disconnect = apps.add_parser(
        "disconnect", help="a company admin disconnects the app: its grants there are revoked"
    )
    disconnect.add_argument("client_id")
    disconnect.add_argument("realm_id")

    grants = commands.add_parser("grants", help="OAuth grants").add_subparsers(
        dest="action", required=True
    )
    mint = grants.add_parser("mint", help="connect an app to a realm without the browser flow")
    mint.add_argument("client_id")
    mint.add_argument("realm_id")
    mint.add_argument("--scope", default="com.intuit.quickbooks.accounting")
    list_grants = grants.add_parser("list")
    list_grants.add_argument("--client-id")
    list_grants.add_argument("--realm-id")

    company = commands.add_parser("company", help="companies (realms)").add_subparsers(
        dest="action", required=True
    )
    create = company.add_parser("create")
    create.add_argument("--realm-id")
    create.add_argument("--name", default="Sandbox Company US")
    create.add_argument("--country", default="US")
    create.add_argument("--multicurrency", action="store_true")
    create.add_argument("--empty", action="store_true", help="no sample data")
    company.add_parser("list")
    records = company.add_parser("records", help="every record incl. inactive and deleted")
    records.add_argument("realm_id")
    records.add_argument("entity")
    company.add_parser("stats").add_argument("realm_id")
    record = company.add_parser("record", help="one record, inactive or deleted included")
    record.add_argument("realm_id")
    record.add_argument("entity")
    record.add_argument("entity_id")
    pay = company.add_parser("pay", help="record a payment as a QuickBooks user would")
    pay.add_argument("realm_id")
    target = pay.add_mutually_exclusive_group(required=True)
    target.add_argument("--invoice", dest="invoice_id", help="a customer pays this invoice")
    target.add_argument("--bill", dest="bill_id", help="this bill is paid by check")
    pay.add_argument("--amount", help="default: the open balance")
    pay.add_argument("--bank-account", dest="bank_account_id", help="default: the first bank")

    for name in ("limits", "faults"):
        settings = commands.add_parser(name, help=f"set a realm's {name} (JSON object)")
        settings.add_argument("realm_id")
        settings.add_argument("settings", help="JSON, e.g. '{\"per_minute\": 500}'")

    faults = commands.add_parser("token-faults", help="break the token endpoint").add_subparsers(
        dest="action", required=True
    )
    add = faults.add_parser("add")
    add.add_argument("--mode", choices=["status", "hang"], default="status")
    add.add_argument("--status", type=int, default=503)
    add.add_argument("--seconds", type=float, default=30.0)
    add.add_argument("--count", type=int, default=1)
    add.add_argument("--client-id")
    faults.add_parser("list")
    faults.add_parser("clear")

    hooks = commands.add_parser("webhooks", help="webhook deliveries").add_subparsers(
        dest="action", required=True
    )
    hooks.add_parser("deliveries").add_argument("--client-id")
    hooks.add_parser("flush")
    config = hooks.add_parser("config")
    config.add_argument("--flush-interval-seconds", type=float)
    config.add_argument("--retry-scale", type=float)
    config.add_argument("--timeout-seconds", type=float)

    clock = commands.add_parser("clock", help="the emulator clock").add_subparsers(
        dest="action", required=True
    )
    clock.add_parser("show")
    clock.add_parser("advance").add_argument("seconds", type=float)
    return parser


class UsageError(Exception):
    """Bad command-line input that argparse could not catch (e.g. invalid JSON)."""


def _present(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    values = {name: getattr(args, name) for name in names}
    return {k: v for k, v in values.items() if v is not None and v != []}


def _settings(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"settings are not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise UsageError("settings must be a JSON object")
    return value


def _request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None, dict[str, Any]]:
    """(method, path under /_emulator, JSON body, query params) for an admin command."""
    command, action = args.command, getattr(args, "action", None)
    if command == "reset":
        return "POST", "/reset", None, {}
    if command == "apps":
        if action == "register":
            body = _present(
                args,
                "client_id",
                "client_secret",
                "name",
                "redirect_uris",
                "webhook_url",
                "webhook_verifier_token",
                "webhook_format",
                "rotation_grace_hours",
                "rotation_after_hours",
            )
            if args.auto_approve_realm:
                body["auto_approve_realm"] = args.auto_approve_realm
            return "POST", "/apps", body, {}
        if action == "list":
            return "GET", "/apps", None, {}
        if action == "auto-approve":
            if not args.off and not args.realm_id:
                raise UsageError("give a realm id, or --off")
            realm = None if args.off else args.realm_id
            return "PUT", f"/apps/{args.client_id}/auto-approve", {"realm_id": realm}, {}
        if action == "disconnect":
            body = {"realm_id": args.realm_id}
            return "POST", f"/apps/{args.client_id}/disconnect", body, {}
        suffix = "/token-calls" if action == "token-calls" else ""
        method = "DELETE" if action == "delete" else "GET"
        return method, f"/apps/{args.client_id}{suffix}", None, {}
    if command == "grants":
        if action == "mint":
            body = {"client_id": args.client_id, "realm_id": args.realm_id, "scope": args.scope}
            return "POST", "/grants", body, {}
        return "GET", "/grants", None, _present(args, "client_id", "realm_id")
    if command == "company":
        if action == "create":
            body = {
                "company_name": args.name,
                "country": args.country,
                "multicurrency": args.multicurrency,
                "seeded": not args.empty,
                **_present(args, "realm_id"),
            }
            return "POST", "/companies", body, {}
        if action == "list":
            return "GET", "/companies", None, {}
        if action == "records":
            return "GET", f"/companies/{args.realm_id}/records/{args.entity}", None, {}
        if action == "record":
            path = f"/companies/{args.realm_id}/records/{args.entity}/{args.entity_id}"
            return "GET", path, None, {}
        if action == "pay":
            body = _present(args, "invoice_id", "bill_id", "amount", "bank_account_id")
            return "POST", f"/companies/{args.realm_id}/payments", body, {}
        return "GET", f"/companies/{args.realm_id}/stats", None, {}
    if command in ("limits", "faults"):
        return "PUT", f"/companies/{args.realm_id}/{command}", _settings(args.settings), {}
    if command == "token-faults":
        if action == "add":
            body = _present(args, "mode", "status", "seconds", "count", "client_id")
            return "POST", "/oauth/token-faults", body, {}
        return ("DELETE" if action == "clear" else "GET"), "/oauth/token-faults", None, {}
    if command == "webhooks":
        if action == "deliveries":
            return "GET", "/webhooks/deliveries", None, _present(args, "client_id")
        if action == "flush":
            return "POST", "/webhooks/flush", None, {}
        names = ("flush_interval_seconds", "retry_scale", "timeout_seconds")
        return "PUT", "/webhooks/config", _present(args, *names), {}
    if command == "clock":
        if action == "advance":
            return "POST", "/clock/advance", {"seconds": args.seconds}, {}
        return "GET", "/clock", None, {}
    raise UsageError(f"unknown command {command}")


def _admin(args: argparse.Namespace) -> int:
    try:
        method, path, body, params = _request(args)
    except UsageError as exc:
        print(f"qbo-emulator: {exc}", file=sys.stderr)
        return 2
    url = args.url.rstrip("/") + "/_emulator" + path
    try:
        response = httpx.request(method, url, json=body, params=params, timeout=30)
    except httpx.HTTPError as exc:
        print(f"qbo-emulator: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2
    text = response.text
    # A 204 or a non-JSON error body is printed as it came.
    with contextlib.suppress(ValueError):
        text = json.dumps(response.json(), indent=2)
    if response.is_error:
        print(f"qbo-emulator: HTTP {response.status_code}: {text}", file=sys.stderr)
        return 1
    if text:
        print(text)
    return 0


def save_state(emulator: Any, path: Path) -> None:
    state = {
        "version": STATE_VERSION,
        "realms": emulator.store.realms,
        "oauth": emulator.oauth.export_state(),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(pickle.dumps(state))
    tmp.replace(path)  # atomic: a crash mid-write never leaves half a state file


def load_state(emulator: Any, path: Path) -> bool:
    if not path.exists():
        return False
    state = pickle.loads(path.read_bytes())  # our own file: see the module docstring
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise UsageError(f"{path} is not a qbo-emulator state file of version {STATE_VERSION}")
    emulator.store.realms.update(state["realms"])
    emulator.oauth.import_state(state["oauth"])
    return True


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from qbo_emulator.app import create_app
    from qbo_emulator.config import CompanySeed, EmulatorConfig

    companies = []
    for spec in args.company:
        realm_id, _, name = spec.partition(":")
        if not realm_id:
            print(f"qbo-emulator: bad --company {spec!r}, use REALM[:NAME]", file=sys.stderr)
            return 2
        companies.append(CompanySeed(realm_id=realm_id, company_name=name or "Sandbox Company"))
    config = EmulatorConfig(companies=companies, static_tokens=frozenset(args.static_token))
    app = create_app(config)
    emulator = app.state.emulator
    if args.state_file is not None:
        try:
            if load_state(emulator, args.state_file):
                print(f"qbo-emulator: state loaded from {args.state_file}", file=sys.stderr)
        except (UsageError, pickle.UnpicklingError, EOFError, KeyError) as exc:
            print(f"qbo-emulator: cannot load state: {exc}", file=sys.stderr)
            return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    if args.state_file is not None:
        save_state(emulator, args.state_file)
        print(f"qbo-emulator: state saved to {args.state_file}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in (None, "serve"):
        return _serve(args)
    return _admin(args)


if __name__ == "__main__":
    sys.exit(main())
