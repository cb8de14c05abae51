"""Tenant settings: the model and the published JSON Schema agree, and the export is current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from oauth_gateway.settings_schema import (
    EXPORT_PATH,
    TenantSettings,
    main,
    render_schema,
    settings_json_schema,
)

VALIDATOR = jsonschema.Draft202012Validator(
    settings_json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)

GOOD: dict[str, Any] = {
    "sync_clients": True,
    "sync_vendors": False,
    "contact_types": ["company"],
    "client_invoice_statuses": ["sent", "paid"],
    "vendor_invoice_statuses": ["approved"],
    "sync_items_newer_than": "2026-01-01",
    "income_account_id": "79",
    "item_naming": "fixed",
    "fixed_item_name": "Translation",
    "deposit_account_id": "35",
    "export_payments_by_default": True,
    "payment_poll_interval_seconds": 600,
    "projects_as_sub_customers": True,
    "name_disambiguation": {"client_suffix": "", "vendor_suffix": " (V)"},
    "automatch_threshold": 0.9,
}

BAD: list[dict[str, Any]] = [
    {"sync_clients": "maybe"},
    {"payment_poll_interval_seconds": 10},
    {"automatch_threshold": 1.5},
    {"item_naming": "random"},
    {"unknown_setting": 1},
    {"name_disambiguation": {"vendor_suffix": "x" * 41}},
    {"sync_items_newer_than": "last tuesday"},
]


def test_defaults_and_a_full_document_satisfy_both_model_and_schema() -> None:
    VALIDATOR.validate(TenantSettings().model_dump(mode="json"))
    VALIDATOR.validate(GOOD)
    parsed = TenantSettings.model_validate(GOOD)
    assert parsed.name_disambiguation.vendor_suffix == " (V)"
    assert parsed.model_dump(mode="json")["payment_poll_interval_seconds"] == 600


@pytest.mark.parametrize("change", BAD)
def test_invalid_documents_are_rejected_by_model_and_schema(change: dict[str, Any]) -> None:
    document = {**GOOD, **change}
    with pytest.raises(ValidationError):
        TenantSettings.model_validate(document)
    assert list(VALIDATOR.iter_errors(document)), f"schema accepted {change}"


def test_committed_schema_file_is_current(tmp_path: Path) -> None:
    assert EXPORT_PATH.read_text() == render_schema()
    assert main(["--check"]) == 0
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")
    assert main(["--check", "--path", str(stale)]) == 1
    assert main(["--path", str(stale)]) == 0
    assert main(["--check", "--path", str(stale)]) == 0
