"""The benchmark baseline declares what the program declares: the ratio compares like with like."""

from __future__ import annotations

from collections import Counter

from bench import plan_scale
from components.access import AuthMode
from infra import plan as offline_plan
from infra.offline import PlanMocks, run_program, to_config_strings


def test_bare_baseline_declares_the_same_resource_types_and_counts() -> None:
    planned = offline_plan.plan(plan_scale.stack_file(4))
    program = Counter(r["type"] for r in planned["resources"] if r["custom"])
    run = run_program(
        project=plan_scale.PROJECT,
        stack="bench",
        config=to_config_strings(plan_scale.PROJECT, {}),
        mocks=PlanMocks(account_id=plan_scale.ACCOUNT, region=plan_scale.REGION),
        program=plan_scale.bare_program(4, plan_scale.program_registrations(4)),
    )
    bare = Counter(r.type for r in run.monitor.registrations if r.custom)
    assert bare == program
    assert program["mongodbatlas:index/customDbRole:CustomDbRole"] == 4  # one per pipeline


def test_synthetic_stack_mixes_every_supported_mode() -> None:
    values = plan_scale.synthetic_values(6)
    modes = {p["authMode"] for p in values["pipelines"]}
    assert modes == {m.value for m in AuthMode}
