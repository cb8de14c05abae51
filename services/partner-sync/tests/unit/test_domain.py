"""partner-sync's pure rules: names and the plan for a snapshot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partner_sync.domain.decisions import (
    Fail,
    PartnerSettings,
    Skip,
    Snapshot,
    Stored,
    Sync,
    plan,
)
from partner_sync.domain.names import (
    MAX_DISPLAY_NAME,
    DisambiguationRule,
    clean_display_name,
    disambiguate,
)


def snap(**kw: object) -> Snapshot:
    values: dict[str, object] = {
        "kind": "client",
        "partner_id": "p1",
        "version": 2,
        "name": "Acme",
        "active": True,
        "currency": "USD",
    }
    values.update(kw)
    return Snapshot(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Acme: Europe", "Acme - Europe"),
        ("Tab\there\nand\r\nnewline", "Tab here and newline"),
        ('  O\'Brien "Quotes"  ', 'O\'Brien "Quotes"'),
        ("Zoë 東京", "Zoë 東京"),
    ],
)
def test_names_are_cleaned_of_what_qbo_forbids(raw: str, clean: str) -> None:
    assert clean_display_name(raw) == clean


@given(st.text(max_size=700))
def test_cleaning_is_deterministic_idempotent_and_within_limits(raw: str) -> None:
    once = clean_display_name(raw)
    assert once == clean_display_name(raw)
    assert clean_display_name(once) == once
    assert len(once) <= MAX_DISPLAY_NAME
    assert ":" not in once and "\t" not in once and "\n" not in once


def test_disambiguation_suffixes_the_configured_kind_within_500_chars() -> None:
    rule = DisambiguationRule(vendor_suffix=" (V)")
    assert disambiguate("Acme", "vendor", rule) == "Acme (V)"
    assert disambiguate("Acme", "client", rule) == "Acme"
    long = disambiguate("x" * 500, "vendor", rule)
    assert len(long) == 500 and long.endswith(" (V)")


def test_a_new_active_partner_is_synced_with_its_clean_name() -> None:
    assert plan(snap(name="A:B"), None, PartnerSettings()) == Sync("A - B", active=True)


def test_older_or_equal_versions_never_overwrite_newer_ones() -> None:
    stored = Stored(version=5, sync_key="7", currency="USD")
    assert isinstance(plan(snap(version=5), stored, PartnerSettings()), Skip)
    assert plan(snap(version=4), stored, PartnerSettings()) == Skip(
        "stale-version", "version 4 <= stored 5"
    )
    assert isinstance(plan(snap(version=6), stored, PartnerSettings()), Sync)


def test_disabled_kinds_and_filtered_contact_types_are_skipped() -> None:
    off = PartnerSettings(sync_vendors=False)
    result = plan(snap(kind="vendor"), None, off)
    assert isinstance(result, Skip) and result.reason == "partner-kind-disabled"
    only_customers = PartnerSettings(contact_types=frozenset({"customer"}))
    result = plan(snap(contact_type="lead"), None, only_customers)
    assert isinstance(result, Skip) and result.reason == "contact-type-filtered"
    assert isinstance(plan(snap(contact_type="customer"), None, only_customers), Sync)


def test_inactive_partners_are_not_created_but_synced_ones_are_deactivated() -> None:
    result = plan(snap(active=False), None, PartnerSettings())
    assert isinstance(result, Skip) and result.reason == "inactive-not-created"
    stored = Stored(version=1, sync_key="9", currency="USD")
    assert plan(snap(active=False), stored, PartnerSettings()) == Sync("Acme", active=False)


def test_currency_change_after_creation_fails_with_a_clear_reason() -> None:
    stored = Stored(version=1, sync_key="9", currency="USD")
    result = plan(snap(currency="EUR"), stored, PartnerSettings())
    assert isinstance(result, Fail) and result.reason == "currency-immutable"
    assert "USD" in result.message and "EUR" in result.message
