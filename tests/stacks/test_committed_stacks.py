"""The committed stack files, planned offline: a broken Pulumi.<stack>.yaml fails CI."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from components import access
from infra import plan as offline_plan
from infra import settings as stack_settings
from tests.conftest import ROOT

STACKS = ("dev", "prod")
ROLE = "aws:iam/role:Role"
USER = "mongodbatlas:index/databaseUser:DatabaseUser"
CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
SECRET = "aws:secretsmanager/secret:Secret"


@cache
def planned(stack: str) -> dict[str, Any]:
    return offline_plan.plan(offline_plan.read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))


@cache
def settings(stack: str) -> stack_settings.Settings:
    stack_file = offline_plan.read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return stack_settings.parse(
        stack_file.project_values(), project=stack_file.project, stack=stack
    )


def resources(stack: str, type_token: str) -> list[dict[str, Any]]:
    return [r for r in planned(stack)["resources"] if r["type"] == type_token]


def test_committed_stacks_are_realistic() -> None:
    for stack in STACKS:
        pipelines = settings(stack).wiring.pipelines
        assert len(pipelines) >= 3, stack
        assert len({g.database for p in pipelines for g in p.grants}) >= 2, stack


def test_prod_is_stricter_than_dev() -> None:
    dev, prod = settings("dev"), settings("prod")
    assert (dev.tier.value, prod.tier.value) == ("dev", "prod")
    assert prod.wiring.pipeline_session_seconds < dev.wiring.pipeline_session_seconds
    assert (prod.wiring.audit_authorization_success, prod.wiring.protect_stateful_resources) == (
        True,
        True,
    )
    assert prod.wiring.secrets_kms_key_arn is not None
    assert not any(g.is_wildcard for p in prod.wiring.pipelines for g in p.grants)


@pytest.mark.parametrize("stack", STACKS)
def test_no_database_user_has_a_password(stack: str) -> None:
    users = resources(stack, USER)
    assert users
    for user in users:
        assert "password" not in user["inputs"], user["urn"]
        assert "passwordWo" not in user["inputs"], user["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_aws_iam_pipeline_is_wired_end_to_end(stack: str) -> None:
    """Role, custom role, IAM database user and connection secret, consistently named."""
    result = planned(stack)
    wiring = settings(stack).wiring
    roles = {r["inputs"]["tags"].get("pipeline"): r for r in resources(stack, ROLE)}
    users = {u["inputs"]["username"]: u for u in resources(stack, USER)}
    custom_roles = {c["inputs"]["roleName"]: c for c in resources(stack, CUSTOM_ROLE)}
    secrets = {s["inputs"]["name"] for s in resources(stack, SECRET)}
    role_arns = result["outputs"]["pipelineRoleArns"]
    for pipeline in wiring.pipelines:
        assert pipeline.auth_mode is access.AuthMode.AWS_IAM
        role = roles[pipeline.name]
        arn = f"arn:aws:iam::{wiring.aws_account_id}:role/{role['inputs']['name']}"
        assert role_arns[pipeline.name] == arn
        assert role["inputs"]["path"] == "/"
        user = users[arn]["inputs"]
        assert (user["authDatabaseName"], user["awsIamType"]) == ("$external", "ROLE")
        assert user["roles"] == [
            {"roleName": wiring.naming.atlas_role(pipeline.name), "databaseName": "admin"}
        ]
        assert user["scopes"] == [{"name": pipeline.cluster, "type": "CLUSTER"}]
        assert wiring.naming.atlas_role(pipeline.name) in custom_roles
        assert f"{wiring.connections_prefix}/{pipeline.connection_id}" in secrets


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_role_is_limited_to_its_grants(stack: str) -> None:
    wiring = settings(stack).wiring
    custom_roles = {c["inputs"]["roleName"]: c["inputs"] for c in resources(stack, CUSTOM_ROLE)}
    assert len(custom_roles) == len(wiring.pipelines)
    for pipeline in wiring.pipelines:
        granted = {(p.action, p.database, p.collection) for p in access.privileges(pipeline)}
        declared = {
            (a["action"], r["databaseName"], r["collectionName"])
            for a in custom_roles[wiring.naming.atlas_role(pipeline.name)]["actions"]
            for r in a["resources"]
        }
        assert declared == granted, pipeline.name
        assert all(db not in access.RESERVED_DATABASES for _, db, _ in declared)


@pytest.mark.parametrize("stack", STACKS)
def test_connection_definitions_hold_no_secret_and_match_the_contract(stack: str) -> None:
    result = planned(stack)
    wiring = settings(stack).wiring
    definitions = result["outputs"]["connectionDefinitions"]
    assert set(definitions) == {p.connection_id for p in wiring.pipelines}
    for pipeline in wiring.pipelines:
        definition = definitions[pipeline.connection_id]
        assert set(definition) == {"conn_type", "host", "schema", "extra"}
        assert "login" not in definition
        assert "password" not in definition
        assert definition["host"] == wiring.cluster_hosts[pipeline.cluster]
        assert definition["schema"] == pipeline.default_database
        assert definition["extra"]["tls"] is True
        runtime = definition["extra"]["atlas_identity"]
        assert runtime["role_arn"] == result["outputs"]["pipelineRoleArns"][pipeline.name]


@pytest.mark.parametrize("stack", STACKS)
def test_lookup_pattern_matches_exactly_the_stacks_connection_ids(stack: str) -> None:
    options = planned(stack)["outputs"]["airflowConfigurationOptions"]
    kwargs = json.loads(options["secrets.backend_kwargs"])
    ids = set(planned(stack)["outputs"]["connectionIds"].values())
    pattern = re.compile(kwargs["connections_lookup_pattern"], re.IGNORECASE)  # as Airflow does
    assert all(pattern.match(i) for i in ids)
    for other in ("aws_default", "mongo_default", "smtp_default", "mongo_orders"):
        assert not pattern.match(other)
    assert (kwargs["variables_prefix"], kwargs["config_prefix"]) == (None, None)


@pytest.mark.parametrize("stack", STACKS)
def test_prod_protects_state_that_would_lose_history(stack: str) -> None:
    protected = {r["type"] for r in planned(stack)["resources"] if r["protect"]}
    if stack == "prod":
        assert protected == {
            "mongodbatlas:index/auditing:Auditing",
            "aws:mwaa/environment:Environment",
        }
    else:
        assert protected == set()


# Things that look like credentials: AWS access keys, PEM private keys, JWTs, URIs with userinfo.
CREDENTIAL = re.compile(
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|"
    r"eyJ[\w-]+\.eyJ[\w-]+\.|mongodb(\+srv)?://[^/@\s]+:[^/@\s]+@"
)


@pytest.mark.parametrize("stack", STACKS)
def test_plan_contains_nothing_that_looks_like_a_credential(stack: str) -> None:
    text = json.dumps(planned(stack))
    assert CREDENTIAL.search(text) is None
    stack_file = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert CREDENTIAL.search(stack_file) is None


@pytest.mark.parametrize("stack", STACKS)
def test_planning_twice_gives_the_same_plan(stack: str) -> None:
    again = offline_plan.plan(offline_plan.read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))
    assert again == planned(stack)
