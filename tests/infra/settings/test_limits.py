"""Counting limits from settings: reported at their key, exactly above their boundary."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from infra import settings as s
from infra.settings import SettingsError

LIMIT_KEY = re.compile(r" \[([a-z0-9-]+); ")
HOME = "0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef"
VAULT = {
    "vaultAddress": "https://vault.test.internal:8200",
    "vaultAudit": {"type": "file", "options": {"file_path": "/vault/audit.log"}},
    "atlasVaultApiKeyAccessList": ["10.0.0.0/24"],
    "atlasOrgId": "0123456789abcdef01234568",
}


def pipelines(count: int, mode: str = "aws-iam", **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": f"p{mode[0]}{i}",
            "authMode": mode,
            "grants": [{"database": "sales", "collections": ["orders"], "access": "read"}],
            **extra,
        }
        for i in range(count)
    ]


def config(base: dict[str, Any], *groups: list[dict[str, Any]], **values: Any) -> dict[str, Any]:
    result = copy.deepcopy(base)
    result["pipelines"] = [p for group in groups for p in group]
    if any(p["authMode"] == "vault-dynamic" for p in result["pipelines"]):
        result.update(VAULT)
    result.update(values)
    return result


def problems(values: dict[str, Any]) -> list[str]:
    try:
        s.parse(values, project="airflow-atlas-identity", stack="test")
    except SettingsError as error:
        return [str(p) for p in error.problems]
    return []


def keys_of(found: list[str]) -> list[str]:
    """'<key path> <limit key>' of a limit problem; any other problem as it reads."""
    return [f"{p.split(':')[0]} {match[1]}" if (match := LIMIT_KEY.search(p)) else p for p in found]


def test_100_identity_users_fit_a_project_101_do_not(base_config: dict[str, Any]) -> None:
    assert problems(config(base_config, pipelines(100))) == []
    found = problems(config(base_config, pipelines(101)))
    assert keys_of(found) == [
        "pipelines atlas-database-users-per-project",
        "pipelines atlas-custom-roles-per-project",
    ]
    assert found[0].startswith(
        "pipelines: Atlas project 0123456789abcdef01234567 database users: 101 database users "
        "exceed the limit of 100 on Atlas database users in one project"
    )
    assert found[0].endswith(
        "fix: spread the pipelines over more Atlas projects (atlasClusters[].projectId), lower "
        "pipelines[].concurrentLeases, or raise the limit (Admin API setProjectLimit atlas."
        "project.security.databaseAccess.users, then declare it in atlasProjectLimits.<projectId>"
        ".databaseUsers, at most 900)"
    )


@pytest.mark.parametrize(("leases", "over"), [(None, False), (2, False), (3, True)])
def test_vault_leases_count_as_users(
    base_config: dict[str, Any], leases: int | None, over: bool
) -> None:
    """98 identity users + one vault-dynamic pipeline with 2 leases (the default) = 100."""
    extra = {} if leases is None else {"concurrentLeases": leases}
    found = problems(config(base_config, pipelines(98), pipelines(1, "vault-dynamic", **extra)))
    assert keys_of(found) == (["pipelines atlas-database-users-per-project"] if over else [])
    if over:
        assert ": 101 database users exceed the limit of 100 " in found[0]


def test_a_raised_project_declares_its_limits(base_config: dict[str, Any]) -> None:
    raised = {"atlasProjectLimits": {HOME: {"databaseUsers": 150, "customRoles": 150}}}
    assert problems(config(base_config, pipelines(150), **raised)) == []
    found = problems(config(base_config, pipelines(151), **raised))
    assert [p.split(": ")[2].split(" on ")[0] for p in found] == [
        "151 database users exceed the limit of 150 (raised from 100)",
        "151 custom roles exceed the limit of 150 (raised from 100)",
    ]


@pytest.mark.parametrize(
    ("limits_value", "message"),
    [
        (
            {HOME: {"customRoles": 1401}},
            f"atlasProjectLimits.{HOME}.customRoles: 1401 is outside 100..1400 (Atlas' default .. the "
            "most Admin API setProjectLimit atlas.project.security.databaseAccess.customRoles "
            "accepts); declare the limit the project was raised to",
        ),
        (
            {HOME: {"databaseUsers": "many"}},
            f"atlasProjectLimits.{HOME}.databaseUsers: 'many' is not an integer",
        ),
        (
            {HOME: {"users": 200}},
            f"atlasProjectLimits.{HOME}.users: unknown key; known keys are customRoles, "
            "databaseUsers",
        ),
        (
            {HOME: [200]},
            f"atlasProjectLimits.{HOME}: must be an object {{databaseUsers, customRoles}}",
        ),
        ([200], "atlasProjectLimits: must map project ids to {databaseUsers, customRoles}"),
        (
            {"databaseUsers": 200},
            "atlasProjectLimits.databaseUsers: limits are per Atlas project: write "
            "atlasProjectLimits: {<projectId>: {databaseUsers, customRoles}}",
        ),
        (
            {OTHER: {"databaseUsers": 200}},
            f"atlasProjectLimits.{OTHER}: is not a project of this stack; use one of {HOME} "
            "(atlasProjectId or atlasClusters[].projectId)",
        ),
    ],
)
def test_project_limits_are_validated(
    base_config: dict[str, Any], limits_value: Any, message: str
) -> None:
    assert problems({**base_config, "atlasProjectLimits": limits_value}) == [message]


def test_concurrent_leases_only_for_vault_dynamic(base_config: dict[str, Any]) -> None:
    found = problems(config(base_config, pipelines(1, concurrentLeases=2)))
    assert found == [
        "pipelines[0].concurrentLeases: only applies to vault-dynamic pipelines; remove it"
    ]
    found = problems(config(base_config, pipelines(1, "vault-dynamic", concurrentLeases=0)))
    assert found == ["pipelines[0].concurrentLeases: 0 is outside 1..100"]


def test_roles_per_account_counts_the_execution_role(base_config: dict[str, Any]) -> None:
    """A quota of 11 holds the execution role and 10 pipeline roles, not 11."""
    assert problems(config(base_config, pipelines(10), awsIamRoleQuota=11)) == []
    found = problems(config(base_config, pipelines(11), awsIamRoleQuota=11))
    assert keys_of(found) == ["pipelines iam-roles-per-account"]
    assert "12 roles exceed the limit of 11 (raised from 1000)" in found[0]


@pytest.mark.parametrize(("seconds", "over"), [(3600, False), (3601, True), (43200, True)])
def test_role_chaining_caps_the_pipeline_session(
    base_config: dict[str, Any], seconds: int, over: bool
) -> None:
    found = problems({**base_config, "pipelineSessionSeconds": seconds})
    assert keys_of(found) == (["pipelineSessionSeconds sts-role-chaining"] if over else [])
    if over:
        assert found[0].endswith(
            "fix: set pipelineSessionSeconds to at most 3600; tasks re-assume the role when a "
            "session ends"
        )


def spread(base: dict[str, Any], count: int, projects: int) -> dict[str, Any]:
    """`count` aws-iam pipelines over `projects` clusters, each cluster in its own project."""
    ids = [HOME, *(f"{index:024x}" for index in range(1, projects))]
    result = config(base, pipelines(count))
    result["atlasClusters"] = [
        {"name": f"c{i}", "srvHost": f"c{i}.ab1cd.mongodb.net", "projectId": project}
        for i, project in enumerate(ids)
    ]
    for index, pipeline in enumerate(result["pipelines"]):
        pipeline["cluster"] = f"c{index % projects}"
    return result


def test_limits_count_per_project(base_config: dict[str, Any]) -> None:
    """300 pipelines fail in one project and fit when spread over four."""
    assert keys_of(problems(config(base_config, pipelines(300)))) == [
        "pipelines atlas-database-users-per-project",
        "pipelines atlas-custom-roles-per-project",
    ]
    assert problems(spread(base_config, 300, 4)) == []
    # Three projects hold 100 each; a fourth pipeline in the first one is one too many.
    found = problems(spread(base_config, 301, 3))
    assert [p.split(": ")[1] for p in found] == [
        f"Atlas project {HOME} database users",
        f"Atlas project {HOME} custom roles (one per pipeline)",
    ]


def test_a_raised_limit_applies_to_its_project_only(base_config: dict[str, Any]) -> None:
    values = spread(base_config, 300, 2)
    values["atlasProjectLimits"] = {HOME: {"databaseUsers": 150, "customRoles": 150}}
    other = f"{1:024x}"
    assert [p.split(": ")[1] for p in problems(values)] == [
        f"Atlas project {other} database users",
        f"Atlas project {other} custom roles (one per pipeline)",
    ]


def test_a_cluster_names_its_project(base_config: dict[str, Any]) -> None:
    values = spread(base_config, 2, 2)
    assert s.parse(values, project="p", stack="test").wiring.cluster_projects == {
        "c0": HOME,
        "c1": f"{1:024x}",
    }
    values["atlasClusters"][1]["projectId"] = "not-an-id"
    assert problems(values) == [
        "atlasClusters[1].projectId: 'not-an-id' is not valid; use the 24-character hex id from "
        "the Atlas UI"
    ]
