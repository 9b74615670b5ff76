"""Service-limit rules of the pack: raised limits via pack config, the real plan mutated."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from devtools import plan as offline_plan
from policy import check
from policy.rules import RULES_BY_NAME, ConfigError, StackRule, StackView, effective_config
from tests.paths import ROOT
from tests.policy import builders as b
from tests.policy.test_pack import run_pack

USER = "mongodbatlas:index/databaseUser:DatabaseUser"
CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
MIB = 1_048_576


@cache
def prod_plan() -> dict[str, Any]:
    return offline_plan.plan(offline_plan.read_stack_file(ROOT / "Pulumi.prod.yaml"))


def atlas_stack(users: int, roles: int) -> StackView:
    return StackView(
        resources=[
            b.view(USER, {**b.atlas_iam_user(), "username": f"u{i}"}, name=f"user-{i}")
            for i in range(users)
        ]
        + [b.view(CUSTOM_ROLE, {"projectId": b.PROJECT}, name=f"role-{i}") for i in range(roles)]
    )


def atlas_findings(stack: StackView, config: dict[str, Any] | None = None) -> list[str]:
    rule = RULES_BY_NAME["atlas-project-limits"]
    assert isinstance(rule, StackRule)
    return [v.message.split(" [")[0] for v in rule.run(stack, effective_config(rule, config))]


def test_the_pack_defaults_are_atlas_defaults() -> None:
    assert atlas_findings(atlas_stack(100, 100)) == []
    assert atlas_findings(atlas_stack(101, 101)) == [
        f"Atlas project {b.PROJECT}: 101 database users exceed the limit of 100 on Atlas "
        "database users in one project (vault-dynamic leases are users too)",
        f"Atlas project {b.PROJECT}: 101 custom roles exceed the limit of 100 on Atlas custom "
        "database roles in one project",
    ]


def test_a_raised_project_is_declared_in_the_pack_config() -> None:
    raised = {"projectLimits": {b.PROJECT: {"databaseUsers": 120, "customRoles": 1400.0}}}
    assert atlas_findings(atlas_stack(120, 1400), raised) == []
    assert atlas_findings(atlas_stack(121, 1401), raised) == [
        f"Atlas project {b.PROJECT}: 121 database users exceed the limit of 120 (raised from "
        "100) on Atlas database users in one project (vault-dynamic leases are users too)",
        f"Atlas project {b.PROJECT}: 1401 custom roles exceed the limit of 1400 (raised from "
        "100) on Atlas custom database roles in one project",
    ]


def test_raising_one_project_leaves_the_others_at_atlas_defaults() -> None:
    other = "0" * 24
    raised = {"projectLimits": {other: {"databaseUsers": 900, "customRoles": 1400}}}
    assert atlas_findings(atlas_stack(101, 100), raised) == [
        f"Atlas project {b.PROJECT}: 101 database users exceed the limit of 100 on Atlas "
        "database users in one project (vault-dynamic leases are users too)",
    ]
    only_users = {"projectLimits": {b.PROJECT: {"databaseUsers": 101}}}
    assert atlas_findings(atlas_stack(101, 101), only_users) == [
        f"Atlas project {b.PROJECT}: 101 custom roles exceed the limit of 100 on Atlas custom "
        "database roles in one project",
    ]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {b.PROJECT: {"customRoles": 99}},
            f"projectLimits.{b.PROJECT}.customRoles: 99 is outside 100..1400",
        ),
        (
            {b.PROJECT: {"databaseUsers": 901}},
            f"projectLimits.{b.PROJECT}.databaseUsers: 901 is outside 100..900",
        ),
        (
            {b.PROJECT: {"users": 120}},
            f"projectLimits.{b.PROJECT}.users: unknown; use customRoles, databaseUsers",
        ),
        (
            {b.PROJECT: {"customRoles": 120.5}},
            f"projectLimits.{b.PROJECT}.customRoles: 120.5 is not an integer",
        ),
        ({b.PROJECT: 120}, f"projectLimits.{b.PROJECT}: 120 is not an object"),
        ([b.PROJECT], "projectLimits: ['" + b.PROJECT + "'] is not an object"),
    ],
)
def test_project_limits_outside_atlas_range_are_config_errors(given: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        effective_config(RULES_BY_NAME["atlas-project-limits"], {"projectLimits": given})
    assert str(raised.value) == f"atlas-project-limits.{message}"


def _oversize_execution_policy(plan: dict[str, Any]) -> None:
    policy = next(r for r in plan["resources"] if r["name"] == "identity-aws-execution-policy")
    document = json.loads(policy["inputs"]["policy"])
    statement = document["Statement"][-1]
    # One ARN per pipeline, as the policy once listed them (it now names them by prefix and tag).
    statement["Resource"] = [f"{statement['Resource']}-{i:03d}" for i in range(200)]
    policy["inputs"]["policy"] = json.dumps(document)


def _add_custom_roles(plan: dict[str, Any]) -> None:
    role = next(r for r in plan["resources"] if r["type"] == CUSTOM_ROLE)
    for i in range(101):
        extra = copy.deepcopy(role)
        extra["name"] = extra["urn"] = f"{role['name']}-{i}"
        plan["resources"].append(extra)


def _long_option_value(plan: dict[str, Any]) -> None:
    plan["outputs"]["airflowConfigurationOptions"]["secrets.backend_kwargs"] = "x" * 65_537


def _named(plan: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["type"] == type_)


def _long_okta_server_name(plan: dict[str, Any]) -> None:
    _named(plan, "okta:auth/server:Server")["inputs"]["name"] = "aai-prod-" + "s" * 36 + "-atlas"


def _long_okta_app_label(plan: dict[str, Any]) -> None:
    _named(plan, "okta:app/oAuth:OAuth")["inputs"]["label"] = "aai-prod-" + "p" * 92


def _oversize_vault_policy(plan: dict[str, Any]) -> None:
    inputs = _named(plan, "vault:index/policy:Policy")["inputs"]
    inputs["policy"] += "#" * (MIB + 1 - len(inputs["policy"].encode()))


def _oversize_kv_definition(plan: dict[str, Any]) -> None:
    """The KV secret's dataJson is masked offline: its exported definition is what grows."""
    secret = _named(plan, "vault:kv/secretV2:SecretV2")["inputs"]
    assert secret["dataJson"] == "[secret]"
    definition = plan["outputs"]["connectionDefinitions"][secret["name"].rsplit("/", 1)[-1]]
    definition["extra"]["padding"] = "x" * MIB


def _crowd_database_connection(plan: dict[str, Any]) -> None:
    connection = "vault:database/secretBackendConnection:SecretBackendConnection"
    _named(plan, connection)["inputs"]["allowedRoles"] += [f"r{i:07d}" for i in range(MIB // 11)]


MUTATIONS = [
    (_oversize_execution_policy, "iam-policy-size-limits"),
    (_add_custom_roles, "atlas-project-limits"),
    (_long_option_value, "mwaa-configuration-option-limits"),
    (_long_okta_server_name, "okta-name-limits"),
    (_long_okta_app_label, "okta-name-limits"),
    (_oversize_vault_policy, "vault-storage-entry-limits"),
    (_oversize_kv_definition, "vault-storage-entry-limits"),
    (_crowd_database_connection, "vault-storage-entry-limits"),
]


@pytest.mark.parametrize(("mutate", "rule"), MUTATIONS, ids=lambda v: getattr(v, "__name__", v))
def test_each_limit_rule_catches_the_real_plan_mutated(mutate: Any, rule: str) -> None:
    plan = copy.deepcopy(prod_plan())
    assert [v for v in check.check_plan(plan) if v.rule == rule] == []
    mutate(plan)
    assert {v.rule for v in check.check_plan(plan) if "exceed the limit" in v.message} == {rule}


@pytest.mark.parametrize(
    "mutate",
    [m for m, rule in MUTATIONS if rule.startswith(("okta", "vault"))],
    ids=lambda m: m.__name__,
)
def test_the_pack_adapter_reports_the_okta_and_vault_limits_as_the_offline_check(
    mutate: Any,
) -> None:
    """Both adapters on the same mutated plan (tests/policy/cases.py does so for the small cases)."""
    plan = copy.deepcopy(prod_plan())
    mutate(plan)
    found = check.check_plan(plan)
    assert len(found) == 1
    assert run_pack(plan) == found
