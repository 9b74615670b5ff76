"""Resolving a document's Outputs once gives the plan and edges that per-leaf lifting gave."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from bench import synthetic
from components import aws_identity
from infra import plan as offline_plan
from infra.offline import PlanMocks, Registration, run_program, to_config_strings

ROOT = Path(__file__).resolve().parents[2]


def _plan_and_graph(stack: offline_plan.StackFile) -> str:
    registrations: list[Registration] = []
    planned = offline_plan.plan(stack, None, registrations)
    return json.dumps([planned, offline_plan.graph(registrations)], indent=2, sort_keys=True)


@pytest.mark.parametrize("case", ["dev", "prod", "synthetic-40"])
def test_iam_documents_plan_byte_identical_to_per_leaf_json_dumps(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case == "synthetic-40":
        stack = synthetic.stack_file(40)
    else:
        stack = offline_plan.read_stack_file(ROOT / f"Pulumi.{case}.yaml")
    after = _plan_and_graph(stack)
    monkeypatch.setattr(aws_identity, "_json_document", pulumi.Output.json_dumps)
    before = _plan_and_graph(stack)
    assert '"assumeRolePolicy": "{\\"Version\\": \\"2012-10-17\\"' in after
    assert '"propertyDependencies": {\n' in after
    assert after == before


def test_json_document_keeps_secrets_and_dependencies_like_json_dumps() -> None:
    def program() -> None:
        role = aws.iam.Role("role", assume_role_policy="{}")
        document = {
            "Statement": [
                {"Resource": [role.arn, "arn:aws:s3:::b"], "Sid": ("a", "b")},
                {"Condition": {"StringEquals": {"k": pulumi.Output.secret("hidden")}}},
            ],
            "Version": "2012-10-17",
        }
        for name, dumps in (
            ("old", pulumi.Output.json_dumps),
            ("new", aws_identity._json_document),
        ):
            aws.iam.RolePolicy(name, role=role.id, policy=dumps(document))

    run = run_program(
        project="p",
        stack="s",
        config=to_config_strings("p", {}),
        mocks=PlanMocks(),
        program=program,
    )
    old = run.monitor.one("aws:iam/rolePolicy:RolePolicy", "old")
    new = run.monitor.one("aws:iam/rolePolicy:RolePolicy", "new")
    assert new.inputs == old.inputs
    assert offline_plan.mask_secrets(new.inputs["policy"]) == "[secret]"
    role_urn = run.monitor.one("aws:iam/role:Role", "role").urn
    assert new.property_dependencies == old.property_dependencies
    assert new.property_dependencies["policy"] == (role_urn,)
    assert sorted(new.dependencies) == sorted(old.dependencies) == [role_urn]
