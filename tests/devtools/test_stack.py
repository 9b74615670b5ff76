"""`python -m infra.stack`: refusals are one line and exit 2, nothing written; `list` discovers.

The full `add` runs on scratch clones in tests/journeys/ (it writes the repository's files).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools import stack
from tests.paths import ROOT
from tests.stacks_discovery import STACKS


def test_list_names_the_committed_environment_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert stack.main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == list(STACKS)


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["add", f"{STACKS[-1]}-eu", "--like", STACKS[0]],
            f"{STACKS[-1]}-eu: its names would match {STACKS[-1]}'s name patterns",
        ),
        (["add", "Staging", "--like", STACKS[0]], "Staging: not a stack name; use 2-20 lowercase"),
        (["add", STACKS[0], "--like", STACKS[0]], f"{STACKS[0]}: Pulumi.{STACKS[0]}.yaml exists"),
        (["add", "org", "--like", STACKS[0]], "org: Pulumi.org.yaml exists already"),
        (["add", "qa", "--like", "nope"], "--like nope: no such environment stack; use one of"),
        (["add", "qa"], "python -m infra.stack add: the following arguments are required: --like"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in ROOT.glob("Pulumi.*.yaml"))
    assert stack.main(argv) == 2
    (printed,) = capsys.readouterr().err.splitlines()
    assert printed.startswith(line)
    assert sorted(p.name for p in ROOT.glob("Pulumi.*.yaml")) == before


def test_the_command_name_runs_the_tool() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.stack", "add", "Bad", "--like", STACKS[0]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("Bad: not a stack name")
