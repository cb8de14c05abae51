"""The Makefile's promises that need no network: `make help` lists the targets the README and the
issue name, and the uv bootstrap uses a uv that is already there instead of installing one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ("install", "run", "test", "lint", "typecheck", "bench", "up", "down", "uv")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without a UV that `make test` exports to its children."""
    env = {k: v for k, v in os.environ.items() if k not in {"UV", "MAKEFLAGS", "MAKELEVEL"}}
    return {**env, **extra}


def test_make_help_lists_the_targets() -> None:
    done = make("help", env=clean_env())
    assert done.returncode == 0, done.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    listed = {line.split()[0] for line in plain.splitlines() if line.strip()}
    assert set(TARGETS) <= listed, sorted(set(TARGETS) - listed)


def test_an_existing_uv_is_used_and_nothing_is_installed(tmp_path: Path) -> None:
    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    assert os.access(uv, os.X_OK), "this test needs the uv that runs it"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").symlink_to(uv)
    # PYTHON=false: any attempt to install uv with pip would fail the target.
    env = clean_env(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        HOME=str(tmp_path / "home"),
        PYTHON="false",
        TOOLS=str(tmp_path / "tools"),
    )
    done = make("uv", env=env)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    planned = make("-n", "install", env=env)
    assert f"{bin_dir / 'uv'} sync --locked --all-packages" in planned.stdout


def test_without_uv_and_without_a_usable_pip_the_bootstrap_fails_clearly(tmp_path: Path) -> None:
    env = clean_env(
        PATH="/usr/bin:/bin",
        HOME=str(tmp_path / "home"),
        PYTHON="false",
        TOOLS=str(tmp_path / "tools"),
    )
    if shutil.which("uv", path=env["PATH"]):
        pytest.skip("a system-wide uv is installed in /usr/bin or /bin")
    done = make("uv", env=env)
    assert done.returncode != 0
    assert "could not install uv with false" in done.stderr
    assert "https://docs.astral.sh/uv/" in done.stderr


def test_a_uv_in_the_tool_venv_is_found(tmp_path: Path) -> None:
    uv = shutil.which("uv") or str(Path.home() / ".local/bin/uv")
    tool_bin = tmp_path / "tools" / "uv" / "bin"
    tool_bin.mkdir(parents=True)
    (tool_bin / "uv").symlink_to(uv)
    env = clean_env(
        PATH="/usr/bin:/bin",
        HOME=str(tmp_path / "home"),
        PYTHON="false",
        TOOLS=str(tmp_path / "tools"),
    )
    if shutil.which("uv", path=env["PATH"]):
        pytest.skip("a system-wide uv is installed in /usr/bin or /bin")
    done = make("uv", env=env)
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    planned = make("-n", "install", env=env)
    assert f"{tool_bin / 'uv'} sync --locked --all-packages" in planned.stdout
