"""The plans the Pulumi-free suites read (tests/plans.py) are the program's plans."""

from __future__ import annotations

import json

import pytest

from devtools import snapshot, snapshot_form
from tests import plans
from tests.paths import ROOT


def test_runtime_it_plan_matches_the_program() -> None:
    diff = snapshot.drift(plans.RUNTIME_IT_PLAN, plans.render_runtime_it_plan())
    assert diff is None, (
        f"{plans.RUNTIME_IT_PLAN.name} is out of date with the program; review, then run "
        f"`{plans.REGENERATE}` and commit it.\n{diff}"
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pulumi_free_reader_reads_the_committed_plan(stack: str) -> None:
    path = ROOT / "snapshots" / f"{stack}.plan.json"
    expanded = json.loads(path.read_text())
    read = plans.committed_plan(stack)
    assert read == snapshot_form.collapse(expanded)
    assert snapshot.render_plan(read) == path.read_text()
