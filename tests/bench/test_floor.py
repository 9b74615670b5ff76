"""The benchmark's floor registers exactly the program's graph, and CONTRIBUTING shows its table."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi_aws
import pulumi_mongodbatlas
import pulumi_okta
import pytest

from bench import floor, plan_scale, synthetic
from devtools import plan as offline_plan
from devtools.offline import PlanMocks, Registration, run_program, to_config_strings
from infra import settings as stack_settings
from model.access import AuthMode
from tests.paths import ROOT


def _program_and_floor(stack: offline_plan.StackFile, *, typed: bool) -> tuple[str, str]:
    registrations: list[Registration] = []
    planned = offline_plan.plan(stack, None, registrations)
    graph = offline_plan.graph(registrations)
    settings = stack_settings.parse(
        stack.project_values(), project=stack.project, stack=stack.stack
    )
    run = run_program(
        project=stack.project,
        stack=stack.stack,
        config=to_config_strings(stack.project, {}),
        mocks=PlanMocks(
            account_id=settings.wiring.aws_account_id,
            region=settings.wiring.aws_region,
            okta_org_url=stack.okta_org_url(),
        ),
        program=floor.floor_program(
            json.loads(json.dumps(planned)), json.loads(json.dumps(graph)), typed=typed
        ),
    )
    program_text = json.dumps([planned, graph], indent=2, sort_keys=True)
    floor_text = json.dumps(
        [offline_plan.plan_of(run), offline_plan.graph(run.monitor.registrations)],
        indent=2,
        sort_keys=True,
    )
    return program_text, floor_text


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "raw"])
def test_floor_replays_the_dev_stack_byte_for_byte(typed: bool) -> None:
    stack = offline_plan.read_stack_file(ROOT / "Pulumi.dev.yaml")
    program_text, floor_text = _program_and_floor(stack, typed=typed)
    assert '"propertyDependencies": {\n' in program_text  # the edges are part of the comparison
    assert floor_text == program_text


def test_floor_replays_a_synthetic_stack_with_every_auth_mode() -> None:
    stack = synthetic.stack_file(6)
    modes = {p["authMode"] for p in synthetic.synthetic_values(6)["pipelines"]}
    assert modes == {m.value for m in AuthMode}
    program_text, floor_text = _program_and_floor(stack, typed=True)
    assert floor_text == program_text


def test_typed_floor_uses_the_provider_sdk_classes() -> None:
    assert floor.resource_class("aws:iam/role:Role") is pulumi_aws.iam.Role
    assert floor.resource_class("pulumi:providers:aws") is pulumi_aws.Provider
    assert (
        floor.resource_class("mongodbatlas:index/customDbRole:CustomDbRole")
        is pulumi_mongodbatlas.CustomDbRole
    )
    assert floor.resource_class("okta:app/oAuth:OAuth") is pulumi_okta.app.OAuth
    assert floor.python_name(pulumi_aws.iam.Role, "assumeRolePolicy") == "assume_role_policy"


def test_contributing_table_is_the_one_the_benchmark_rendered() -> None:
    results = json.loads(plan_scale.RESULTS.read_text())
    text = (ROOT / "CONTRIBUTING.md").read_text()
    assert plan_scale.contributing_with(text, plan_scale.render(results)) == text
    cases = [c["case"] for c in results["cases"]]
    assert [c for c in cases if c in plan_scale.DEFAULT_CASES] == list(plan_scale.DEFAULT_CASES)
    # A case is measured (3+ rounds) exactly when every limit rule passes for it.
    for case in results["cases"]:
        if case["limits"]["exceeded"]:
            assert "rounds" not in case, case["case"]
        else:
            assert case["rounds"] >= 3, case["case"]


def test_synthetic_stack_file_plans_as_written(tmp_path: Path) -> None:
    path = synthetic.write_stack_file(3, tmp_path)
    stack = offline_plan.read_stack_file(path)
    assert stack.stack == "bench-3"
    assert stack.config == synthetic.stack_file(3).config


def test_a_missed_target_is_rendered_as_missed() -> None:
    results = json.loads(plan_scale.RESULTS.read_text())
    largest = next(c for c in results["cases"] if c["case"] == "1000")
    slower = {**largest, "program": {**largest["program"], "wall_median": 21.0}}
    results["cases"] = [slower if c is largest else c for c in results["cases"]]
    lines = plan_scale.targets(results)
    assert "- 1000 pipelines < 20 s: 21.00 s (**missed**)" in lines
    ratio = 21.0 / largest["floor"]["wall_median"]
    assert f"- program / floor at 1000 pipelines ≤ 1.3: {ratio:.2f} (**missed**)" in lines
