"""uv.lock and pyproject.toml's dependency groups, read as uv writes them: the pinned versions."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

PROJECT = "airflow-atlas-identity"


def normalize(name: str) -> str:
    """PEP 503 name normalization (uv.lock spells every name this way)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The distribution name of a PEP 508 requirement string (`moto[server]==5` -> `moto`)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return normalize(match.group(1))


@cache
def lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "uv.lock").read_text())


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def packages() -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in lock()["package"]}


def locked_versions() -> dict[str, str]:
    """Normalized name -> version of every package the lock takes from an index."""
    return {
        name: package["version"]
        for name, package in packages().items()
        if "registry" in package.get("source", {})
    }


def group(name: str) -> set[str]:
    """Normalized names of a dependency group's own requirements (pyproject.toml)."""
    return {requirement_name(r) for r in pyproject()["dependency-groups"][name]}


def closure(group_name: str) -> set[str]:
    """Every package the lock installs for a group: its requirements, their dependencies and the
    extras each edge asks for, on any platform (markers are not evaluated: an upper bound)."""
    found = packages()
    pending = [(d["name"], tuple(d.get("extra", ()))) for d in lock_group(group_name)]
    seen: set[tuple[str, str | None]] = set()
    while pending:
        name, extras = pending.pop()
        package = found[name]
        for part in (None, *extras):
            if (name, part) in seen:
                continue
            seen.add((name, part))
            edges = (
                package.get("dependencies", [])
                if part is None
                else package.get("optional-dependencies", {}).get(part, [])
            )
            pending += [(d["name"], tuple(d.get("extra", ()))) for d in edges]
    return {name for name, _ in seen}


def lock_group(name: str) -> list[dict[str, Any]]:
    """The project's locked requirements of one dependency group."""
    group_edges: list[dict[str, Any]] = packages()[PROJECT]["dev-dependencies"][name]
    return group_edges


def pins(path: Path) -> dict[str, str]:
    """Normalized name -> version of every `name==version` line of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#\\]+)", line.strip())
        if match:
            found[normalize(match.group(1))] = match.group(3)
    return found
