"""Every repository path named in a Markdown file or a module docstring exists.

A path is a token that starts with a top-level entry of the repository (`infra/`, `docs/`,
`README.md`, ...) and either contains a `/` or ends in .py/.md/.yaml/.json. `<placeholder>` and
`*` parts match any name (`snapshots/<stack>.plan.json`); `path/module.attribute` names
`path/module.py`. A bare upper-case Markdown file name (README.md) must be a tracked file in
some directory. Files are the ones git tracks, so build output and the venv never count.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
from functools import cache

import pytest

from tests.paths import ROOT

# A path-like token not preceded by a character that would make it the middle of a URL or name.
TOKEN = re.compile(r"(?<![\w./:<>@$-])((?:[\w.<>*-]+/)+[\w.<>*-]*|[\w.<>*-]+\.(?:py|md|yaml|json))")


@cache
def tracked() -> tuple[str, ...]:
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(line for line in result.stdout.splitlines() if (ROOT / line).exists())


@cache
def top_level() -> frozenset[str]:
    return frozenset(path.split("/", 1)[0] for path in tracked())


def exists(path: str) -> bool:
    path = path.rstrip("/")
    if "/" not in path and path not in top_level():  # a bare NAME.md: anywhere in the tree
        return any(f.rsplit("/", 1)[-1] == path for f in tracked())
    pattern = re.sub(r"<[^>]*>", "*", path)
    if any(
        fnmatch.fnmatchcase(f, pattern) or fnmatch.fnmatchcase(f, pattern + "/*") for f in tracked()
    ):
        return True
    module = path.rsplit(".", 1)[0]  # infra/settings/limits.plan_problems -> .../limits.py
    return "." in path.rsplit("/", 1)[-1] and (ROOT / f"{module}.py").is_file()


UPPER_DOC = re.compile(r"(?<![\w./-])([A-Z][A-Z_-]*\.md)\b")


def repo_paths(text: str) -> set[str]:
    found = {name for name in UPPER_DOC.findall(text) if name not in top_level()}
    for token in TOKEN.findall(text):
        token = token.rstrip(".,")
        if token.split("/", 1)[0] in top_level() and ("/" in token or token in top_level()):
            found.add(token)
    return found


def sources() -> list[tuple[str, str]]:
    """(file, text) for every tracked Markdown file and every module docstring."""
    result = []
    for path in tracked():
        if path.endswith(".md"):
            result.append((path, (ROOT / path).read_text()))
        elif path.endswith(".py"):
            docstring = ast.get_docstring(ast.parse((ROOT / path).read_text()))
            if docstring:
                result.append((path, docstring))
    return result


@pytest.mark.parametrize(("source", "text"), sources(), ids=[s for s, _ in sources()])
def test_every_named_repository_path_exists(source: str, text: str) -> None:
    missing = sorted(p for p in repo_paths(text) if not exists(p))
    assert missing == [], f"{source} names paths the repository does not hold"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see `model/access.py`.", {"model/access.py"}),
        ("snapshots/<stack>.plan.json and README.md", {"snapshots/<stack>.plan.json", "README.md"}),
        ("https://github.com/pulumi/pulumi/blob/master/docs/x.md", set()),
        ("airflow/<stack>/connections, plan-prod.json, ../docs/limits.md", set()),
        ("DESIGN.md and infra/settings.py", {"DESIGN.md", "infra/settings.py"}),
    ],
)
def test_what_counts_as_a_repository_path(text: str, expected: set[str]) -> None:
    assert repo_paths(text) == expected


def test_a_missing_path_is_found() -> None:
    assert not exists("infra/settings.py")  # a package now: infra/settings/
    assert not exists("docs/DESIGN.md")
    assert not exists("DESIGN.md")
    assert exists("README.md")
    assert exists("infra/settings/")
    assert exists("policy/rules/<system>.py")
    assert exists("infra/settings/limits.plan_problems")


# The repository stands on its own: no file points at the workspace around it.
OUTSIDE = re.compile(r"\.\./shared/|\bFACTS\.md\b|\bDESIGN\.md\b")


def test_no_tracked_file_cites_anything_outside_the_repository() -> None:
    found = []
    for path in tracked():
        if path == "tests/docs/test_doc_paths.py":
            continue  # names them to look for them
        try:
            text = (ROOT / path).read_text()
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        found += [f"{path}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert found == []


# Comments cite their sources by name (a document, `owner/repo#N` upstream); this project's own
# tracker is not in the repository, so "issue N" points nowhere a reader can follow.
TRACKER_CITATION = re.compile(r"(?i)\bissues? #?\d+")


def test_no_tracked_file_cites_an_issue_number() -> None:
    found = []
    for path in tracked():
        if path == "tests/docs/test_doc_paths.py":
            continue  # names the pattern to look for it
        try:
            text = (ROOT / path).read_text()
        except (UnicodeDecodeError, IsADirectoryError):
            continue
        found += [f"{path}: {m.group(0)}" for m in TRACKER_CITATION.finditer(text)]
    assert found == []
