"""partner-sync's pure rules: names and the plan for a snapshot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partner_sync.domain.automatch import Party, propose, score
from partner_sync.domain.decisions import (
    AlreadySynced,
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
from partner_sync.domain.request_ids import create_id, update_id


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


def test_older_versions_never_overwrite_newer_ones() -> None:
    stored = Stored(version=5, sync_key="7", currency="USD", synced_version=5)
    assert plan(snap(version=4), stored, PartnerSettings()) == Skip(
        "older-version", "version 4 < stored 5"
    )
    assert isinstance(plan(snap(version=6), stored, PartnerSettings()), Sync)


def test_the_synced_version_is_answered_without_qbo_unless_forced() -> None:
    stored = Stored(version=5, sync_key="7", currency="USD", synced_version=5)
    assert plan(snap(version=5), stored, PartnerSettings()) == AlreadySynced("7")
    assert plan(snap(version=5), stored, PartnerSettings(), force=True) == Sync("Acme", True)
    # Same version but never synced (e.g. it failed before): it is tried again.
    failed = Stored(version=5, sync_key=None, currency=None)
    assert isinstance(plan(snap(version=5), failed, PartnerSettings()), Sync)


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
    assert isinstance(result, Skip) and result.reason == "inactive"
    stored = Stored(version=1, sync_key="9", currency="USD")
    assert plan(snap(active=False), stored, PartnerSettings()) == Sync("Acme", active=False)


def test_currency_change_after_creation_fails_with_a_clear_reason() -> None:
    stored = Stored(version=1, sync_key="9", currency="USD")
    result = plan(snap(currency="EUR"), stored, PartnerSettings())
    assert isinstance(result, Fail) and result.reason == "currency-change-refused"
    assert "USD" in result.message and "EUR" in result.message


def test_request_ids_are_deterministic_short_and_distinct_per_write() -> None:
    a = create_id("t1", "client", "c1", 0, "Acme")
    assert a == create_id("t1", "client", "c1", 0, "Acme")
    assert len(a) <= 50
    assert a != create_id("t1", "client", "c1", 1, "Acme")  # key dropped: a new create
    assert a != create_id("t1", "client", "c1", 0, "Acme (V)")  # disambiguated retry
    assert a != create_id("t2", "client", "c1", 0, "Acme")
    assert update_id("t1", "client", "c1", 3, "58", "2") != update_id(
        "t1", "client", "c1", 3, "59", "2"
    )


def test_automatch_scores_names_and_evidence() -> None:
    upstream = Party("c1", "Acme Translations Ltd", email="ap@acme.example", tax_id="GB 123")
    same = Party("58", "ACME Translations Ltd.", email="ap@acme.example", tax_id="GB123")
    other = Party("59", "Acme Transport", tax_id="DE999")
    value_same, evidence = score(upstream, same)
    value_other, _ = score(upstream, other)
    assert value_same > 0.95 and evidence["email"] > 0 and evidence["tax_id"] > 0
    assert value_other < 0.6
    exact, _ = score(Party("c2", "Zoë Ltd"), Party("60", "zoë ltd"))
    assert exact == 1.0


def test_automatch_email_domain_counts_unless_it_is_a_free_mail_domain() -> None:
    upstream = Party("c1", "Wayne Enterprises", email="billing@wayne.example")
    colleague = Party("58", "Wayne Enterprise", email="ap@Wayne.example")
    stranger = Party("59", "Wayne Enterprise", email="ap@other.example")
    base, _ = score(upstream, stranger)
    value, evidence = score(upstream, colleague)
    assert evidence["email_domain"] == 0.1 and "email" not in evidence
    assert value == round(base + 0.1, 4)
    free = score(
        Party("c2", "Wayne Enterprises", email="bruce@gmail.com"),
        Party("60", "Wayne Enterprise", email="alfred@gmail.com"),
    )[1]
    assert "email_domain" not in free


def test_automatch_address_needs_the_same_postal_code_and_weighs_line_similarity() -> None:
    upstream = Party("c1", "Stark Industries", postal_code="10001", line1="200 Park Avenue")
    same_line = Party("58", "Stark Industry", postal_code="10001 ", line1="200 PARK AVENUE")
    near_line = Party("59", "Stark Industry", postal_code="10001", line1="200 Park Ave")
    no_line = Party("60", "Stark Industry", postal_code="10001")
    elsewhere = Party("61", "Stark Industry", postal_code="90210", line1="200 Park Avenue")
    assert score(upstream, same_line)[1]["address"] == 0.1
    assert 0 < score(upstream, near_line)[1]["address"] < 0.1
    assert score(upstream, no_line)[1]["address"] == 0.05  # a postal code alone is half
    assert "address" not in score(upstream, elsewhere)[1]
    assert score(upstream, same_line)[0] > score(upstream, elsewhere)[0]


def test_automatch_proposes_each_qbo_record_for_one_partner_only() -> None:
    partners = [Party("c1", "Acme Ltd"), Party("c2", "Acme Limited"), Party("c3", "Nothing Alike")]
    records = [Party("58", "Acme Ltd")]
    matches = propose(partners, records)
    assert [(m.partner, m.qbo_id) for m in matches] == [("c1", "58")]
