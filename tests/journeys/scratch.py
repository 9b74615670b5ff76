"""A scratch clone of the working tree, and the commands a user types, run in it as they are.

The clone holds every file git tracks or would track (the working tree as it is, uncommitted
changes included) in a fresh git repository, so the project's own commands and its test suite run
on it exactly as on a user's checkout. Commands run with this interpreter, from the clone: the
clone's code and data, never this checkout's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.stack import round_trip_yaml
from tests.stacks_discovery import ROOT

PROJECT = "airflow-atlas-identity"


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "journey",
        "GIT_AUTHOR_EMAIL": "journey@example.invalid",
        "GIT_COMMITTER_NAME": "journey",
        "GIT_COMMITTER_EMAIL": "journey@example.invalid",
    }
    done = subprocess.run(
        ["git", *args],  # noqa: S607
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def scratch_clone(where: Path) -> Path:
    files = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    repo = where / "repo"
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    # The project's scripts call `.venv/bin/...`: the clone uses this checkout's environment.
    (repo / ".venv").symlink_to((ROOT / ".venv").resolve())
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "--message", "scratch clone")
    return repo


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


def run(repo: Path, *args: str, timeout: float = 600) -> Done:
    """`python -m ARGS...` from the clone, as a user runs the project's commands."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Done(done.returncode, done.stdout, done.stderr)


def edit_stack(repo: Path, stack: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit `Pulumi.<stack>.yaml`'s config as a person does: comments and layout kept."""
    path = repo / f"Pulumi.{stack}.yaml"
    yaml = round_trip_yaml()
    document = yaml.load(path.read_text())
    change(document["config"])
    with path.open("w") as out:
        yaml.dump(document, out)
