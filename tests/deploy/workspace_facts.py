"""Facts about the uv workspace that the deploy files must agree with: members, settings, ports."""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic_settings import BaseSettings

from qbsync_dev.configdoc import SERVICE_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
SERVICES = tuple(SERVICE_SETTINGS)
EMULATOR = "qbo-emulator"


@dataclass(frozen=True)
class Member:
    name: str
    path: Path
    scripts: tuple[str, ...]
    workspace_deps: tuple[str, ...]

    @property
    def relative(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def _toml(path: Path) -> dict[str, object]:
    with path.open("rb") as f:
        return tomllib.load(f)


@cache
def members() -> dict[str, Member]:
    """Every workspace member by package name, found through the root's member globs as uv does."""
    root = _toml(ROOT / "pyproject.toml")
    globs: list[str] = root["tool"]["uv"]["workspace"]["members"]  # type: ignore[index]
    found: dict[str, Member] = {}
    for pattern in globs:
        for directory in sorted(ROOT.glob(pattern)):
            manifest = directory / "pyproject.toml"
            if not manifest.is_file():
                continue
            data = _toml(manifest)
            project: dict[str, object] = data["project"]  # type: ignore[assignment]
            sources: dict[str, dict[str, object]] = (
                data.get("tool", {}).get("uv", {}).get("sources", {})  # type: ignore[attr-defined]
            )
            deps = tuple(name for name, spec in sources.items() if spec.get("workspace"))
            scripts: tuple[str, ...] = tuple(project.get("scripts", {}))  # type: ignore[arg-type]
            name = str(project["name"])
            found[name] = Member(name, directory, scripts, deps)
    return found


def closure(package: str) -> set[str]:
    """`package` and every workspace member it needs, transitively."""
    seen: set[str] = set()
    todo = [package]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(members()[name].workspace_deps)
    return seen


def settings_class(service: str) -> type[BaseSettings]:
    module, _, attribute = SERVICE_SETTINGS[service].partition(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(module), attribute)
    return cls


def env_names(service: str) -> set[str]:
    """The QBSYNC_* variables the service's settings class reads."""
    cls = settings_class(service)
    prefix = str(cls.model_config.get("env_prefix", ""))
    return {f"{prefix}{field}".upper() for field in cls.model_fields}


def default_port(service: str) -> int:
    port = settings_class(service).model_fields["http_port"].default
    assert isinstance(port, int)
    return port
