"""The README tells the truth: its configuration reference matches the settings classes, and it names
the two commands a newcomer runs."""

from __future__ import annotations

from pathlib import Path

from qbsync_dev import configdoc

README = Path(__file__).resolve().parents[2] / "README.md"


def test_configuration_reference_is_generated_from_the_settings() -> None:
    text = README.read_text()
    assert configdoc.current_section(text) == configdoc.render(), (
        "README configuration reference is stale: run `uv run python -m qbsync_dev.configdoc`"
    )


def test_readme_names_the_two_commands_and_make_has_them() -> None:
    text = README.read_text()
    makefile = (README.parent / "Makefile").read_text()
    for target in ("run", "test"):
        assert f"make {target}" in text
        assert f"\n{target}:" in makefile
