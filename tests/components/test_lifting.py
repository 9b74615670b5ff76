"""Resolving each value's Outputs once gives the plan and edges that per-leaf lifting gave.

Every call site of components/lifting.py (IAM documents, connection definitions and their
secret strings, the access matrix, Vault KV definitions and creation statements) are switched
back to the SDK's per-leaf `Output.from_input`/`Output.json_dumps`: the
whole plan JSON and every dependency edge must come out byte-identical, with far fewer Outputs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from bench import synthetic
from components import lifting
from devtools import plan as offline_plan
from devtools.offline import PlanMocks, Registration, mask_secrets, run_program, to_config_strings
from tests.paths import ROOT


def _plan_and_graph(stack: offline_plan.StackFile) -> str:
    registrations: list[Registration] = []
    planned = offline_plan.plan(stack, None, registrations)
    return json.dumps([planned, offline_plan.graph(registrations)], indent=2, sort_keys=True)


def _per_leaf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifting, "resolved", pulumi.Output.from_input)
    monkeypatch.setattr(lifting, "json_text", pulumi.Output.json_dumps)


def _counting_from_input(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original: Callable[[Any], pulumi.Output[Any]] = pulumi.Output.from_input

    def counted(value: Any) -> pulumi.Output[Any]:
        calls[0] += 1
        return original(value)

    monkeypatch.setattr(pulumi.Output, "from_input", staticmethod(counted))
    return calls


# synthetic-40: every auth mode, under IAM's inline-policy limit until the execution-role policy
# is scoped by tags (docs/auth-modes.md); dev and prod: the committed stacks (Vault KV in prod).
@pytest.mark.parametrize("case", ["dev", "prod", "synthetic-40"])
def test_plan_and_dependency_edges_byte_identical_to_per_leaf_lifting(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case == "synthetic-40":
        stack = synthetic.stack_file(40)
    else:
        stack = offline_plan.read_stack_file(ROOT / f"Pulumi.{case}.yaml")
    with monkeypatch.context() as counting:
        calls = _counting_from_input(counting)
        after = _plan_and_graph(stack)
        after_calls = calls[0]
    with monkeypatch.context() as old:
        _per_leaf(old)
        calls = _counting_from_input(old)
        before = _plan_and_graph(stack)
        before_calls = calls[0]
    assert '"assumeRolePolicy": "{\\"Version\\": \\"2012-10-17\\"' in after
    assert '"propertyDependencies": {\n' in after
    assert '"connectionDefinitions": {\n' in after
    assert after == before
    # The point of it: the per-leaf lifting is gone. What remains (~half at 40 pipelines) is the
    # SDK's own per-resource work (URNs, apply results), which the benchmark's floor pays too.
    assert after_calls * 3 < before_calls * 2, (after_calls, before_calls)


def _unknown() -> pulumi.Output[str]:
    """An Output whose value is unknown, as a resource's computed property is under preview."""
    loop = asyncio.get_event_loop()
    value: asyncio.Future[str] = loop.create_future()
    value.set_result("")
    known: asyncio.Future[bool] = loop.create_future()
    known.set_result(False)
    secret: asyncio.Future[bool] = loop.create_future()
    secret.set_result(False)
    return pulumi.Output(set(), value, known, secret)


@pytest.mark.parametrize(
    ("old", "new", "resource_type", "prop"),
    [
        (pulumi.Output.json_dumps, lifting.json_text, "aws:iam/rolePolicy:RolePolicy", "policy"),
        (
            lambda v: pulumi.Output.from_input(v).apply(json.dumps),
            lambda v: lifting.resolved(v).apply(json.dumps),
            "aws:iam/rolePolicy:RolePolicy",
            "policy",
        ),
    ],
    ids=["json_text", "resolved"],
)
def test_lifting_keeps_secrets_dependencies_and_nesting_like_the_sdk(
    old: Callable[[Any], pulumi.Output[str]],
    new: Callable[[Any], pulumi.Output[str]],
    resource_type: str,
    prop: str,
) -> None:
    def program() -> None:
        role = aws.iam.Role("role", assume_role_policy="{}")
        other = aws.iam.Role("other", assume_role_policy="{}")
        document = {
            "Statement": [
                {"Resource": [role.arn, "arn:aws:s3:::b"], "Sid": ("a", "b")},
                {"Condition": {"StringEquals": {"k": pulumi.Output.secret("hidden")}}},
                # An Output of a value holding an Output: unwrapped again, like from_input.
                {"Nested": other.arn.apply(lambda arn: {"arn": arn, "name": other.name})},
            ],
            "Version": "2012-10-17",
        }
        for name, lift in (("old", old), ("new", new)):
            aws.iam.RolePolicy(name, role=role.id, policy=lift(document))

    run = run_program(
        project="p",
        stack="s",
        config=to_config_strings("p", {}),
        mocks=PlanMocks(),
        program=program,
    )
    old_policy = run.monitor.one(resource_type, "old")
    new_policy = run.monitor.one(resource_type, "new")
    assert new_policy.inputs == old_policy.inputs
    assert mask_secrets(new_policy.inputs[prop]) == "[secret]"
    urns = sorted(run.monitor.one("aws:iam/role:Role", n).urn for n in ("role", "other"))
    assert new_policy.property_dependencies == old_policy.property_dependencies
    assert sorted(new_policy.property_dependencies[prop]) == urns
    assert sorted(new_policy.dependencies) == sorted(old_policy.dependencies) == urns


def test_an_unknown_leaf_makes_the_whole_value_unknown_under_preview() -> None:
    def program() -> None:
        role = aws.iam.Role("role", assume_role_policy="{}")
        for name, lift in (("old", pulumi.Output.json_dumps), ("new", lifting.json_text)):
            aws.iam.RolePolicy(
                name, role=role.id, policy=lift({"Resource": [_unknown(), role.arn]})
            )

    run = run_program(
        project="p",
        stack="s",
        config=to_config_strings("p", {}),
        mocks=PlanMocks(),
        preview=True,
        program=program,
    )
    old = run.monitor.one("aws:iam/rolePolicy:RolePolicy", "old")
    new = run.monitor.one("aws:iam/rolePolicy:RolePolicy", "new")
    assert isinstance(old.inputs["policy"], pulumi.output.Unknown)
    assert isinstance(new.inputs["policy"], pulumi.output.Unknown)
    assert new.inputs["role"] == old.inputs["role"] == "role"
    assert new.property_dependencies == old.property_dependencies


def test_resolved_keeps_tuples_and_plain_values() -> None:
    seen: list[Any] = []

    def program() -> None:
        lifting.resolved({"t": (1, pulumi.Output.from_input("x")), "n": None}).apply(seen.append)

    run_program(
        project="p",
        stack="s",
        config=to_config_strings("p", {}),
        mocks=PlanMocks(),
        program=program,
    )
    assert seen == [{"t": (1, "x"), "n": None}]
