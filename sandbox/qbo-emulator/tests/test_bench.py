"""A tiny smoke run of the emulator benchmark: both kinds of request are counted apart."""

from __future__ import annotations

import asyncio

import pytest

from qbo_emulator.bench import main

pytestmark = pytest.mark.integration


def test_bench_reports_create_and_read_separately(
    emulator_url: str, emulator_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--url", emulator_url, "--token", emulator_token, "--seconds", "0.5"]
    result = asyncio.run(main([*argv, "--concurrency", "2"]))
    assert result.creates.ok > 0
    assert result.reads.ok > 0
    assert (result.creates.failed, result.reads.failed) == (0, 0)
    # Each client alternates and reads only what it created, so reads never outnumber creates.
    assert result.reads.ok <= result.creates.ok
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "emulator create",
        "emulator read",
        "emulator create+read",
    ]
    assert f"{result.creates.ok} ok" in lines[0]
    assert f"{result.reads.ok} ok" in lines[1]
