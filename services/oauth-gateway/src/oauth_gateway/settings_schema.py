"""Tenant settings: the published JSON Schema and its export (model lives in qbsync_common)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from qbsync_common.contract.tenant_settings import SCHEMA_ID, NameDisambiguation, TenantSettings

__all__ = [
    "EXPORT_PATH",
    "SCHEMA_ID",
    "NameDisambiguation",
    "TenantSettings",
    "main",
    "render_schema",
    "settings_json_schema",
]

# contracts/ at the repository root: services/oauth-gateway/src/oauth_gateway/ is four levels down.
EXPORT_PATH = Path(__file__).resolve().parents[4] / "contracts" / "tenant-settings.schema.json"


def settings_json_schema() -> dict[str, Any]:
    """The published JSON Schema (2020-12) operators validate settings against."""
    schema = TenantSettings.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_schema() -> str:
    """Deterministic text of the schema file: sorted keys, two-space indent, trailing newline."""
    return json.dumps(settings_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="export contracts/tenant-settings.schema.json")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed file is stale"
    )
    parser.add_argument("--path", type=Path, default=EXPORT_PATH)
    args = parser.parse_args(argv)
    text = render_schema()
    if args.check:
        current = args.path.read_text() if args.path.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.path} is stale: run python -m oauth_gateway.settings_schema\n")
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
