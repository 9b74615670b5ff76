"""Every planned resource fits the pinned providers' schemas and the documented value rules:
of every committed stack, of an 80-pipeline prod stack and of the benchmark's largest stack."""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pulumi_mongodbatlas
import pulumi_okta
import pytest
import yaml

from bench import plan_scale, synthetic
from devtools import plan as offline_plan
from devtools.schemas import generate, validate
from model.access import AuthMode
from model.limits import values as value_rules
from tests.conftest import PROJECT
from tests.delivery import lockfile
from tests.paths import ROOT
from tests.stacks_discovery import STACKS

# The committed snapshots, and the access report's fixture plan (named: a moved file fails here).
SNAPSHOT_PLANS = [
    *sorted((ROOT / "snapshots").glob("*.plan.json")),
    ROOT / "tests" / "devtools" / "fixtures" / "prod-aws-iam.plan.json",
]


def problems(plan: dict[str, Any]) -> list[str]:
    return validate.plan_problems(plan) + value_rules.plan_problems(plan)


@cache
def fresh(stack: str) -> dict[str, Any]:
    return offline_plan.plan(offline_plan.read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))


@cache
def large_stack(tmp: Path) -> dict[str, Any]:
    """The prod stack file with 80 generated pipelines of every mode over both clusters
    (100 Atlas users with the default 2 Vault leases: the most one project holds)."""
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    modes = {"aws-iam": 30, "okta-oidc": 30, "vault-dynamic": 20}
    document["config"][f"{PROJECT}:pipelines"] = [
        {
            "name": f"{mode.split('-')[0]}-{index:03d}",
            "authMode": mode,
            "cluster": ("core-prod", "analytics-prod")[index % 2],
            "grants": [
                {"database": "sales", "collections": ["orders", "refunds"], "access": "read"},
                {
                    "database": "analytics",
                    "collections": ["daily_revenue"],
                    "actions": ["FIND", "LIST_COLLECTIONS"],
                },
            ],
        }
        for mode, count in modes.items()
        for index in range(count)
    ]
    path = tmp / "Pulumi.large.yaml"
    path.write_text(yaml.safe_dump(document))
    return offline_plan.plan(offline_plan.read_stack_file(path))


def test_subset_is_generated_from_the_pinned_sdks() -> None:
    """Regenerating from the installed SDKs gives the committed file, at the locked versions."""
    assert generate.main(["--check"]) == 0
    locked = lockfile.locked_versions()
    providers = validate.subset()["providers"]
    assert providers == {name: locked[lockfile.normalize(name)] for name in providers}
    assert set(providers) == {
        "pulumi_aws",
        "pulumi_mongodbatlas",
        "pulumi_okta",
        "pulumi_vault",
        "pulumiverse_time",
    }


@pytest.mark.parametrize("path", SNAPSHOT_PLANS, ids=lambda p: p.name.split(".")[0])
def test_committed_plans_fit_the_schemas(path: Path) -> None:
    plan = json.loads(path.read_text())
    # The org stack declares the org config and one IdP per environment in one component.
    assert len(plan["resources"]) > (3 if path.name == "org.plan.json" else 10)
    assert problems(plan) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_fresh_plans_fit_the_schemas(stack: str) -> None:
    assert problems(fresh(stack)) == []


def test_a_large_stack_fits_the_schemas(tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = large_stack(tmp_path_factory.mktemp("large"))
    assert sum(r["type"].endswith("CustomDbRole") for r in plan["resources"]) == 80
    assert problems(plan) == []


def test_the_benchmarks_largest_stack_fits_the_schemas(
    benchmark_estate_plan: dict[str, Any],
) -> None:
    """Every resource of the 1,000-pipeline, 12-project estate bench/plan_scale.py measures."""
    published = json.loads(plan_scale.RESULTS.read_text())["cases"]
    assert max(case["pipelines"] for case in published) == plan_scale.LARGEST_PIPELINES
    roles = [r for r in benchmark_estate_plan["resources"] if r["type"].endswith("CustomDbRole")]
    assert len(roles) == plan_scale.LARGEST_PIPELINES
    projects = {r["inputs"]["projectId"] for r in roles}
    assert len(projects) == synthetic.project_count(plan_scale.LARGEST_PIPELINES) == 12
    assert problems(benchmark_estate_plan) == []


def _custom_types(plan: dict[str, Any]) -> set[str]:
    return {r["type"] for r in plan["resources"] if r["custom"]}


def _snapshot_types(stack: str) -> set[str]:
    return _custom_types(json.loads((ROOT / "snapshots" / f"{stack}.plan.json").read_text()))


# Declared only with `secretsBackend: vault` (Airflow's connection definitions as Vault KV
# secrets); the estate keeps the default backend, Secrets Manager.
VAULT_SECRETS_BACKEND_TYPES = {"vault:kv/secretV2:SecretV2"}


def test_the_benchmark_estate_declares_every_type_the_schemas_know_for_its_settings(
    benchmark_estate_plan: dict[str, Any],
) -> None:
    """So an estate that plans less than it should cannot pass for one that fits."""
    values = synthetic.synthetic_values(plan_scale.LARGEST_PIPELINES)
    assert {p["authMode"] for p in values["pipelines"]} == {m.value for m in AuthMode}
    assert "secretsBackend" not in values
    prod = offline_plan.read_stack_file(ROOT / "Pulumi.prod.yaml").project_values()
    assert prod["secretsBackend"] == "vault"
    assert _snapshot_types("prod") >= VAULT_SECRETS_BACKEND_TYPES
    environments = set().union(*(_snapshot_types(stack) for stack in STACKS))
    org_only = _snapshot_types("org") - environments
    known = set(validate.subset()["resources"])
    assert _custom_types(benchmark_estate_plan) == known - org_only - VAULT_SECRETS_BACKEND_TYPES


def _edit_json(inputs: dict[str, Any], key: str, change: Callable[[dict[str, Any]], None]) -> None:
    document = json.loads(inputs[key])
    change(document)
    inputs[key] = json.dumps(document)


# Type -> change of the last resource of that type in the estate's plan -> the one problem.
ESTATE_MUTATIONS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "missing required input": (
        "mongodbatlas:index/customDbRole:CustomDbRole",
        lambda inputs: inputs.pop("projectId"),
        "projectId: required input is missing",
    ),
    "enum in a trust policy": (
        "aws:iam/role:Role",
        lambda inputs: _edit_json(
            inputs, "assumeRolePolicy", lambda d: d["Statement"][0].update(Effect="Permit")
        ),
        'assumeRolePolicy.Statement[0].Effect: "Permit" is not one of Allow, Deny',
    ),
    "documented value rule": (
        "okta:app/oAuth:OAuth",
        lambda inputs: inputs.update(tokenEndpointAuthMethod="private_key"),
        "tokenEndpointAuthMethod 'private_key' is not one of client_secret_basic, "
        "client_secret_jwt, client_secret_post, none, private_key_jwt",
    ),
}


@pytest.mark.parametrize("name", ESTATE_MUTATIONS)
def test_one_mutation_deep_in_the_benchmark_estate_is_the_one_problem_reported(
    name: str, benchmark_estate_plan: dict[str, Any]
) -> None:
    type_, mutate, message = ESTATE_MUTATIONS[name]
    resources = list(benchmark_estate_plan["resources"])  # the shared plan stays as it is
    index = max(i for i, r in enumerate(resources) if r["type"] == type_)
    assert index > len(resources) // 3
    target = copy.deepcopy(resources[index])
    mutate(target["inputs"])
    resources[index] = target
    mutated = {**benchmark_estate_plan, "resources": resources}
    assert problems(mutated) == [f"{type_} {target['name']}: {message}"]


def _resource(plan: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["type"] == type_)


def _inputs(type_: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda plan: _resource(plan, type_)["inputs"]


ROLE = _inputs("aws:iam/role:Role")
POLICY = _inputs("aws:iam/rolePolicy:RolePolicy")
USER = _inputs("mongodbatlas:index/databaseUser:DatabaseUser")
CUSTOM_ROLE = _inputs("mongodbatlas:index/customDbRole:CustomDbRole")
MWAA = _inputs("aws:mwaa/environment:Environment")
APP = _inputs("okta:app/oAuth:OAuth")
RULE = _inputs("okta:auth/serverPolicyRule:ServerPolicyRule")
AUDIT = _inputs("vault:index/audit:Audit")
PROVIDER = _inputs("pulumi:providers:aws")


def _edit_policy(plan: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> None:
    _edit_json(POLICY(plan), "policy", change)


COLLECTION_LEVEL_LIST_COLLECTIONS = {
    "action": "LIST_COLLECTIONS",
    "resources": [{"collectionName": "orders", "databaseName": "sales"}],
}
MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown input": (
        lambda p: ROLE(p).update(maxSessionSeconds=3600),
        r"aws:iam/role:Role \S+: maxSessionSeconds: unknown input; the schema declares ",
    ),
    "missing required": (
        lambda p: CUSTOM_ROLE(p).pop("projectId"),
        r"CustomDbRole \S+: projectId: required input is missing$",
    ),
    "missing required nested": (
        lambda p: USER(p)["roles"][0].pop("roleName"),
        r"DatabaseUser \S+: roles\[0\]\.roleName: required input is missing$",
    ),
    "wrong type": (
        lambda p: ROLE(p).update(maxSessionDuration="3600"),
        r"aws:iam/role:Role \S+: maxSessionDuration: \"3600\" is not of type integer$",
    ),
    "wrong type in a map": (
        lambda p: ROLE(p)["tags"].update(stack=1),
        r"aws:iam/role:Role \S+: tags\.stack: 1 is not of type string$",
    ),
    "wrong enum in a policy document": (
        lambda p: _edit_policy(p, lambda d: d["Statement"][0].update(Effect="Permit")),
        r"RolePolicy \S+: policy\.Statement\[0\]\.Effect: \"Permit\" is not one of Allow, Deny$",
    ),
    "unknown key in a policy document": (
        lambda p: _edit_policy(p, lambda d: d["Statement"][0].update(Resources=["*"])),
        r"RolePolicy \S+: policy\.Statement\[0\]\.Resources: unknown input",
    ),
    "provider input of the wrong type": (
        lambda p: PROVIDER(p).update(allowedAccountIds=json.dumps("987654321098")),
        r"pulumi:providers:aws \S+: allowedAccountIds: \"987654321098\" is not of type array$",
    ),
    "Atlas action name": (
        lambda p: CUSTOM_ROLE(p)["actions"][0].update(action="READ"),
        r"CustomDbRole \S+: actions\[0\]\.action 'READ' is not one of ADD_SHARD_TO_ZONE, ",
    ),
    "Atlas action level": (
        lambda p: CUSTOM_ROLE(p)["actions"].append(COLLECTION_LEVEL_LIST_COLLECTIONS),
        r"resources\[0\]: LIST_COLLECTIONS applies to database resources, not a collection$",
    ),
    "Atlas role name": (
        lambda p: CUSTOM_ROLE(p).update(roleName="xgen-orders"),
        r"CustomDbRole \S+: roleName 'xgen-orders' must use letters, digits, '_' or '-', ",
    ),
    "Okta auth method": (
        lambda p: APP(p).update(tokenEndpointAuthMethod="private_key"),
        r"okta:app/oAuth:OAuth \S+: tokenEndpointAuthMethod 'private_key' is not one of ",
    ),
    "Okta grant type": (
        lambda p: RULE(p).update(grantTypeWhitelists=["client-credentials"]),
        r"ServerPolicyRule \S+: grantTypeWhitelists\[0\] 'client-credentials' is not one of ",
    ),
    "Vault audit option": (
        lambda p: AUDIT(p)["options"].update(address="collector:9090"),
        r"vault:index/audit:Audit \S+: options key \(for a file device\) 'address' is not ",
    ),
    "MWAA environment class": (
        lambda p: MWAA(p).update(environmentClass="mw1.huge"),
        r"aws:mwaa/environment:Environment \S+: environmentClass 'mw1.huge' is not one of ",
    ),
    "MWAA Airflow version": (
        lambda p: MWAA(p).update(airflowVersion="3.0.0"),
        r"aws:mwaa/environment:Environment \S+: airflowVersion '3.0.0' is not one of ",
    ),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_each_mutation_of_the_prod_plan_is_caught(name: str) -> None:
    mutate, expected = MUTATIONS[name]
    plan = copy.deepcopy(fresh("prod"))
    mutate(plan)
    found = problems(plan)
    assert len(found) == 1, found
    assert re.search(expected, found[0]), found[0]


def test_an_unknown_resource_type_is_reported() -> None:
    plan = {
        "resources": [
            {
                "type": "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
                "name": "b",
                "inputs": {},
            }
        ]
    }
    assert validate.plan_problems(plan) == [
        "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration b: no schema for this type; regenerate with scripts/provider-schemas"
    ]


def test_atlas_role_name_rule_is_what_the_atlas_sdk_documents() -> None:
    doc = " ".join(inspect.getsource(pulumi_mongodbatlas.CustomDbRoleArgs.__init__).split())
    assert "can only contain letters, digits, underscores, and dashes" in doc
    assert "Starts with `xgen-`" in doc
    assert "Is `atlasAdmin`" in doc


def test_okta_values_are_the_ones_the_okta_sdk_documents() -> None:
    """The oracle for the Okta value rules: pulumi-okta's own docstrings (Okta's API docs)."""
    rule_doc = inspect.getsource(pulumi_okta.auth.ServerPolicyRuleArgs.__init__)
    for grant in value_rules.OKTA_GRANT_TYPES - {"refresh_token"}:
        assert f"`{grant}`" in rule_doc, grant
    app_doc = inspect.getsource(pulumi_okta.app.OAuthArgs.__init__)
    for method in value_rules.OKTA_AUTH_METHODS:
        # The SDK's markdown conversion renders `_` as `*` in this docstring.
        assert f"'{method.replace('_', '*')}'" in app_doc, method
