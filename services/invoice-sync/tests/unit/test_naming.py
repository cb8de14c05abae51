"""QBO item names from upstream line names: the tenant's naming rule and the clean-up QBO needs."""

from __future__ import annotations

import pytest

from invoice_sync.domain.naming import BALANCING_ITEM, item_name
from invoice_sync.domain.policy import SyncPolicy

LINE_NAMES = SyncPolicy()
FIXED = SyncPolicy(item_naming="fixed", fixed_item_name="Translation services")


def test_fixed_rule_books_every_line_on_the_one_item() -> None:
    assert item_name("Proofreading DE>EN", FIXED) == "Translation services"
    assert item_name("Anything at all", FIXED) == "Translation services"


def test_balancing_line_keeps_its_own_item_under_either_rule() -> None:
    assert item_name(None, FIXED) == BALANCING_ITEM
    assert item_name(None, LINE_NAMES) == BALANCING_ITEM


def test_line_name_rule_uses_the_line_name() -> None:
    assert item_name("Proofreading", LINE_NAMES) == "Proofreading"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # ':' would make a sub-item in QBO; tabs and newlines are refused by QBO.
        ("Translation: EN>DE", "Translation- EN>DE"),
        ("Layout\tand\nDTP", "Layout-and-DTP"),
        ("  many    spaces  ", "many spaces"),
    ],
)
def test_names_are_cleaned_for_qbo(raw: str, expected: str) -> None:
    assert item_name(raw, LINE_NAMES) == expected


def test_names_are_cut_to_qbo_s_hundred_characters_without_trailing_space() -> None:
    name = item_name("a" * 99 + " b" + "c" * 50, LINE_NAMES)
    assert name == "a" * 99
    assert len(item_name("x" * 250, LINE_NAMES)) == 100


def test_a_name_with_nothing_left_falls_back_to_the_fixed_item() -> None:
    assert item_name("   ", LINE_NAMES) == "Services"
    assert item_name("\n\t ", LINE_NAMES) == "--"  # forbidden characters become dashes


def test_fixed_item_name_is_cleaned_too() -> None:
    assert item_name("line", SyncPolicy(item_naming="fixed", fixed_item_name="A:B")) == "A-B"
