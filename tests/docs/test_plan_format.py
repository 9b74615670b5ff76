"""docs/plan-format.md is the contract of `python -m infra.plan --json`: real plans validate.

The schema is read from the page itself (its JSON block under "## Schema"), so the page and the
test cannot disagree. Validation uses `jsonschema`, not a checker written here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devtools import plan as offline_plan
from devtools.snapshot_form import collapse
from tests.paths import ROOT
from tests.stacks_discovery import STACKS, StackPlans

PAGE = ROOT / "docs" / "plan-format.md"


def schema() -> dict[str, Any]:
    section = PAGE.read_text().split("\n## Schema\n", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert block is not None, "docs/plan-format.md: no ```json block under ## Schema"
    return json.loads(block.group(1))  # type: ignore[no-any-return]


def validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema())
    return jsonschema.Draft202012Validator(schema())


@pytest.mark.parametrize("stack", STACKS)
def test_a_fresh_plan_of_every_committed_stack_validates(
    stack: str, committed_plans: StackPlans
) -> None:
    plan = committed_plans[stack]
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(plan)]
    assert errors == []
    assert plan["stack"] == stack


@pytest.mark.parametrize("stack", STACKS)
def test_the_snapshot_collapsed_is_the_same_format(stack: str) -> None:
    snapshot = json.loads((ROOT / "snapshots" / f"{stack}.plan.json").read_text())
    assert list(validator().iter_errors(collapse(snapshot))) == []


def test_the_cli_writes_that_json(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    assert offline_plan.main(["--stack", "dev", "--json", str(out)]) == 0
    text = out.read_text()
    plan = json.loads(text)
    validator().validate(plan)
    # Stable bytes: sorted keys, two-space indentation, final newline, resources by URN.
    assert text == json.dumps(plan, indent=2, sort_keys=True) + "\n"
    urns = [r["urn"] for r in plan["resources"]]
    assert urns == sorted(urns)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda p: p.update(extra=1), []),
        (lambda p: p["resources"][0].update(dependsOn=[]), ["resources", 0]),
        (lambda p: p["outputs"].update(newOutput="x"), ["outputs"]),
        (lambda p: p["outputs"].pop("accessMatrix"), ["outputs"]),
        (
            lambda p: p["outputs"]["accessMatrix"][0].update(credentialLifetimeSeconds=9.5),
            ["outputs", "accessMatrix", 0, "credentialLifetimeSeconds"],
        ),
        (lambda p: p["outputs"].update(tier="qa"), ["outputs", "tier"]),
    ],
    ids=["top-level field", "resource field", "new output", "missing output", "float", "tier"],
)
def test_the_schema_refuses_an_undocumented_change(
    mutate: Any, path: list[Any], committed_plans: StackPlans
) -> None:
    plan = copy.deepcopy(committed_plans["dev"])
    mutate(plan)
    errors = list(validator().iter_errors(plan))
    assert [list(e.absolute_path) for e in errors] == [path]


def test_exit_code_2_on_invalid_settings_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "Pulumi.dev.yaml").read_text().replace('"210987654321"', "not-an-account")
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(text)
    out = tmp_path / "bad.json"
    code = offline_plan.main(["--config-file", str(bad), "--json", str(out)])
    assert code == offline_plan.EXIT_INVALID_SETTINGS == 2
    assert capsys.readouterr().err.splitlines() == [
        "awsAccountId: 'not-an-account' is not valid; use the 12-digit account id, "
        "e.g. 123456789012"
    ]
    assert not out.exists()
