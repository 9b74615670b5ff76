"""Committed plan snapshots and access reports: drift, determinism, URN stability, masking."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from devtools import snapshot, snapshot_form
from policy import check
from tests.conftest import CommittedPlans, plan_stack
from tests.paths import ROOT
from tests.stacks_discovery import STACKS


@cache
def built(stack: str) -> snapshot.Snapshot:
    return snapshot.build(stack)


def test_every_committed_stack_has_exactly_its_snapshots() -> None:
    # The regeneration command covers exactly the stacks the suites test, and the org stack.
    assert snapshot.stacks(ROOT) == sorted([*STACKS, "org"])
    assert {"dev", "prod"} <= set(STACKS)
    expected = {f"{s}.{kind}" for s in snapshot.stacks(ROOT) for kind in ("plan.json", "access.md")}
    assert {p.name for p in (ROOT / "snapshots").iterdir()} == expected


@pytest.mark.parametrize("stack", STACKS)
def test_no_resource_urn_disappears(stack: str) -> None:
    vanished = snapshot.vanished_urns(built(stack))
    assert not vanished, snapshot.urn_message(stack, vanished)


@pytest.mark.parametrize(
    ("stack", "kind"), [(s, k) for s in STACKS for k in ("plan.json", "access.md")]
)
def test_snapshot_matches_the_program(stack: str, kind: str) -> None:
    path = ROOT / "snapshots" / f"{stack}.{kind}"
    diff = snapshot.drift(path, built(stack).files[path])
    assert diff is None, (
        f"snapshots/{stack}.{kind} is out of date with the program. Review the change below; "
        f"if it is intended, run `{snapshot.REGENERATE}` and commit snapshots/.\n{diff}"
    )


def test_planning_is_deterministic_across_runs_and_order() -> None:
    first = {s: snapshot.render_plan(plan_stack(s)) for s in STACKS}
    again = {s: snapshot.render_plan(plan_stack(s)) for s in reversed(STACKS)}
    assert first == again


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot_collapses_back_to_the_plan_and_passes_policy(
    stack: str, committed_plans: CommittedPlans
) -> None:
    """The snapshot is the plan (JSON documents compare as data: the snapshot sorts their keys)."""
    committed = json.loads((ROOT / "snapshots" / f"{stack}.plan.json").read_text())
    assert committed == snapshot_form.expand(committed_plans[stack])
    assert check.check_plan(snapshot_form.collapse(committed), check.stack_config(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_secrets_stay_masked_and_documents_are_expanded(stack: str) -> None:
    committed = json.loads((ROOT / "snapshots" / f"{stack}.plan.json").read_text())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in committed["resources"]:
        by_type.setdefault(resource["type"], []).append(resource)
    for version in by_type.get("aws:secretsmanager/secretVersion:SecretVersion", []):
        assert version["inputs"]["secretString"] == "[secret]", version["urn"]
    for environment in by_type.get("aws:mwaa/environment:Environment", []):
        assert environment["inputs"]["airflowConfigurationOptions"] == "[secret]"
    policy = by_type["aws:iam/rolePolicy:RolePolicy"][0]["inputs"]["policy"]
    assert policy["__json__"]["Version"] == "2012-10-17"
    text = (ROOT / "snapshots" / f"{stack}.plan.json").read_text()
    assert '"password' not in text


def test_expand_only_touches_exact_json_strings() -> None:
    value = {
        "doc": '{"a": [1, 2]}',
        "list": '["x"]',
        "mask": "[secret]",
        "spaced": '{"a":1}',  # not what json.dumps writes: kept verbatim so collapse is exact
        "text": "{not json",
    }
    expanded = snapshot_form.expand(value)
    assert expanded == {
        "doc": {"__json__": {"a": [1, 2]}},
        "list": {"__json__": ["x"]},
        "mask": "[secret]",
        "spaced": '{"a":1}',
        "text": "{not json",
    }
    assert snapshot_form.collapse(expanded) == value


def test_a_renamed_resource_is_reported_as_a_replacement(tmp_path: Path) -> None:
    current = built("dev")
    committed = json.loads((ROOT / "snapshots" / "dev.plan.json").read_text())
    renamed = copy.deepcopy(committed)
    user = next(r for r in renamed["resources"] if r["name"].endswith("orders-ingest-iam-user"))
    user["urn"] = user["urn"].replace("orders-ingest-iam-user", "orders-ingest-user")
    (tmp_path / "dev.plan.json").write_text(json.dumps(renamed))
    vanished = snapshot.vanished_urns(current, out=tmp_path)
    assert vanished == [user["urn"]]
    message = snapshot.urn_message("dev", vanished)
    assert message.startswith("dev: 1 resource URN(s) disappear from the plan; `pulumi up` would")
    assert "aliases=[pulumi.Alias(" in message
    assert message.endswith("Then run `python -m infra.snapshot --accept-urn-changes`.")


def test_check_command_is_clean_on_the_committed_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert snapshot.main(["--check"]) == 0
    assert capsys.readouterr().err == ""
