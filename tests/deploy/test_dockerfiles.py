"""Each image's Dockerfile installs the locked dependencies first, then only the sources its package
needs, and runs that package's console script as a non-root user with a /livez health check."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from workspace_facts import EMULATOR, ROOT, SERVICES, closure, default_port, members

IMAGES = (*SERVICES, EMULATOR)
EMULATOR_PORT = 8090


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str
    stage: int


def _dockerfile(package: str) -> Path:
    path: Path = members()[package].path / "Dockerfile"
    return path


def _parse(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped (enough for our files)."""
    instructions: list[Instruction] = []
    pending = ""
    stage = -1
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, argument = (pending + line).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append(Instruction(keyword.upper(), argument.strip(), stage))
    return instructions


def _final(instructions: list[Instruction], keyword: str) -> str:
    last = instructions[-1].stage
    [argument] = [i.argument for i in instructions if i.keyword == keyword and i.stage == last]
    return argument


def _uv_syncs(instructions: list[Instruction]) -> list[tuple[int, list[str]]]:
    return [
        (index, shlex.split(i.argument))
        for index, i in enumerate(instructions)
        if i.keyword == "RUN" and i.argument.startswith("uv sync")
    ]


@pytest.mark.parametrize("package", IMAGES)
def test_builds_on_python_slim_with_uv_from_pypi(package: str) -> None:
    instructions = _parse(_dockerfile(package))
    bases = [i.argument.split()[0] for i in instructions if i.keyword == "FROM"]
    assert bases
    assert set(bases) == {"python:3.11-slim"}
    assert any(
        i.keyword == "RUN" and i.argument.startswith("pip install") and "uv==" in i.argument
        for i in instructions
    )


@pytest.mark.parametrize("package", IMAGES)
def test_dependency_layer_comes_before_the_sources(package: str) -> None:
    instructions = _parse(_dockerfile(package))
    (first, deps_sync), (second, full_sync) = _uv_syncs(instructions)
    assert {"--locked", "--no-install-workspace", "--no-dev"} <= set(deps_sync)
    assert deps_sync[deps_sync.index("--package") + 1] == package
    assert full_sync[full_sync.index("--package") + 1] == package
    assert {"--locked", "--no-editable"} <= set(full_sync)
    copies = [
        (index, i.argument.split()) for index, i in enumerate(instructions) if i.keyword == "COPY"
    ]
    before = {tuple(args) for index, args in copies if index < first}
    # uv reads the whole workspace to check the lock: every member's pyproject.toml must be there.
    expected = {("pyproject.toml", "uv.lock", "./")} | {
        (f"{m.relative}/pyproject.toml", f"{m.relative}/") for m in members().values()
    }
    assert before == expected
    between = {args[0] for index, args in copies if first < index < second}
    assert between == {members()[name].relative for name in closure(package)}


@pytest.mark.parametrize("package", SERVICES)
def test_service_image_runs_its_console_script_on_its_port(package: str) -> None:
    instructions = _parse(_dockerfile(package))
    assert package in members()[package].scripts
    assert json.loads(_final(instructions, "CMD")) == [package, "run"]
    assert _final(instructions, "EXPOSE") == str(default_port(package))
    env = _final(instructions, "ENV")
    assert f"QBSYNC_HTTP_PORT={default_port(package)}" in env.split()
    assert "QBSYNC_HTTP_HOST=0.0.0.0" in env.split()
    health = _final(instructions, "HEALTHCHECK")
    assert '"python"' in health
    assert "/livez" in health
    assert "curl" not in health


def test_emulator_image_runs_the_emulator_on_its_port() -> None:
    instructions = _parse(_dockerfile(EMULATOR))
    assert EMULATOR in members()[EMULATOR].scripts
    command = json.loads(_final(instructions, "CMD"))
    assert command[0] == EMULATOR
    assert command[command.index("--port") + 1] == str(EMULATOR_PORT)
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert _final(instructions, "EXPOSE") == str(EMULATOR_PORT)
    assert f"127.0.0.1:{EMULATOR_PORT}/_emulator/health" in _final(instructions, "HEALTHCHECK")


@pytest.mark.parametrize("package", IMAGES)
def test_runs_as_a_numeric_non_root_user(package: str) -> None:
    user = _final(_parse(_dockerfile(package)), "USER")
    # Numeric, so Kubernetes' runAsNonRoot can verify it; the manifests use the same uid.
    assert user.isdigit()
    assert int(user) >= 1000
    manifests = (ROOT / "deploy/k8s/base/services").glob("*.yaml")
    assert all(f"runAsUser: {user}" in m.read_text() for m in manifests)


def test_dockerignore_keeps_local_state_and_tests_out_of_the_context() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "**/__pycache__", "**/tests"} <= patterns
    # The images need these: ignoring one would break every build.
    for needed in ("uv.lock", "pyproject.toml", "libs", "services", "sandbox"):
        assert needed not in patterns


def _uv() -> str:
    """The uv that runs these tests: the Makefile passes it as $UV (it may have just installed it
    with `pip install --user`, outside PATH); otherwise PATH's, or pip's user location."""
    found = os.environ.get("UV") or shutil.which("uv")
    user_install = Path.home() / ".local" / "bin" / "uv"
    if found is None and user_install.exists():
        found = str(user_install)
    if found is None:
        pytest.fail("uv is not installed: run `make install` (it installs uv with pip)")
    return found


@pytest.mark.slow
def test_build_stage_installs_and_runs_partner_sync(tmp_path: Path) -> None:
    """Replays the Dockerfile's build stage without Docker: the same COPYs into a scratch tree and
    the same `uv sync` commands, then runs the installed console script."""
    package = "partner-sync"
    instructions = _parse(_dockerfile(package))
    build = [i for i in instructions if i.stage == 0]
    context = tmp_path / "src"
    context.mkdir()
    env = {
        **os.environ,
        "UV_LINK_MODE": "copy",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
    }
    env.pop("VIRTUAL_ENV", None)
    ignore = shutil.ignore_patterns("tests", "__pycache__", ".venv", "Dockerfile")
    for instruction in build:
        if instruction.keyword == "COPY":
            *sources, destination = instruction.argument.split()
            for source in sources:
                target = context / destination
                if (ROOT / source).is_dir():
                    # Docker copies a directory's contents into the destination, merging.
                    shutil.copytree(ROOT / source, target, ignore=ignore, dirs_exist_ok=True)
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / source, target / Path(source).name)
        elif instruction.keyword == "RUN" and instruction.argument.startswith("uv sync"):
            _, *args = shlex.split(instruction.argument)
            subprocess.run([_uv(), *args], cwd=context, env=env, check=True, timeout=300)
    script = tmp_path / "venv" / "bin" / package
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "migrate" in result.stdout
    assert "run" in result.stdout
