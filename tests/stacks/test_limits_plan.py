"""The offline plan refuses what the clouds would refuse: exit 2 naming limit, value, source, fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import plan as offline_plan
from tests.conftest import PROJECT, ROOT

MODES = ("aws-iam", "okta-oidc", "vault-dynamic")
# Dev settings that only apply to okta-oidc and vault-dynamic pipelines.
OKTA_AND_VAULT_KEYS = (
    "atlasOrgId",
    "atlasWorkloadIdpId",
    "oktaKeyRotationHours",
    "vaultAddress",
    "vaultAudit",
    "atlasVaultApiKeyAccessList",
)


def estate_file(tmp_path: Path, modes: dict[str, int], **values: Any) -> Path:
    """The dev stack file with `modes[mode]` generated pipelines of each mode."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config[f"{PROJECT}:pipelines"] = [
        {
            "name": f"{mode.split('-')[0]}-{index:03d}",
            "authMode": mode,
            "grants": [{"database": "sales", "collections": ["orders"], "access": "read"}],
        }
        for mode, count in modes.items()
        for index in range(count)
    ]
    if set(modes) == {"aws-iam"}:
        for key in OKTA_AND_VAULT_KEYS:
            del config[f"{PROJECT}:{key}"]
    config.update({f"{PROJECT}:{key}": value for key, value in values.items()})
    path = tmp_path / "Pulumi.estate.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def run_plan(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = offline_plan.main(["--config-file", str(path)])
    return code, capsys.readouterr().err.splitlines()


def test_300_pipelines_in_one_project_fail_on_atlas_users_and_custom_roles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run_plan(estate_file(tmp_path, dict.fromkeys(MODES, 100)), capsys)
    assert code == offline_plan.EXIT_INVALID_SETTINGS
    project = "Atlas project 64b7f0c2a1d3e4f5a6b7c8d9"
    # 200 identity-bound users + 100 vault-dynamic pipelines x 2 concurrent leases.
    assert lines == [
        f"pipelines: {project} database users: 400 database users exceed the limit of 100 on "
        "Atlas database users in one project (vault-dynamic leases are users too) "
        "[atlas-database-users-per-project; Atlas Service Limits, "
        "https://www.mongodb.com/docs/atlas/reference/atlas-limits/]; fix: spread the pipelines "
        "over more Atlas projects (atlasClusters[].projectId), lower "
        "pipelines[].concurrentLeases, or raise the limit (Admin API setProjectLimit "
        "atlas.project.security.databaseAccess.users, then declare it in "
        "atlasProjectLimits.<projectId>.databaseUsers, at most 900)",
        f"pipelines: {project} custom roles (one per pipeline): 300 custom roles exceed the "
        "limit of 100 on Atlas custom database roles in one project "
        "[atlas-custom-roles-per-project; Atlas Service Limits, "
        "https://www.mongodb.com/docs/atlas/reference/atlas-limits/]; fix: spread the pipelines "
        "over more Atlas projects (atlasClusters[].projectId), or raise the limit (Admin API "
        "setProjectLimit atlas.project.security.databaseAccess.customRoles, then declare it in "
        "atlasProjectLimits.<projectId>.customRoles, at most 1400)",
    ]


def test_the_same_estate_over_four_projects_is_within_the_atlas_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """100 pipelines of each mode over 4 clusters in 4 projects: 75 roles, <= 100 users each."""
    projects = ["64b7f0c2a1d3e4f5a6b7c8d9", *(f"{i:024x}" for i in range(1, 4))]
    path = estate_file(
        tmp_path,
        dict.fromkeys(MODES, 100),
        atlasClusters=[
            {"name": f"core-{i}", "srvHost": f"core-{i}.x7k2p.mongodb.net", "projectId": p}
            for i, p in enumerate(projects)
        ],
    )
    document = yaml.safe_load(path.read_text())
    for index, pipeline in enumerate(document["config"][f"{PROJECT}:pipelines"]):
        pipeline["cluster"] = f"core-{index % 4}"
    path.write_text(yaml.safe_dump(document))
    assert run_plan(path, capsys) == (0, [])


def test_the_estate_that_once_crossed_10240_policy_characters_plans_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """60 Secrets Manager pipelines made a 10,240+ character execution policy when it listed one
    role ARN and one secret ARN per pipeline; it now names them by prefix and tag (issue 14
    item 3; tests/unit/test_execution_policy_scope.py). The rule itself: tests/unit/test_limits.py.
    """
    code, lines = run_plan(estate_file(tmp_path, {"aws-iam": 60}), capsys)
    assert (code, lines) == (0, [])


def test_committed_stacks_plan_within_every_limit(capsys: pytest.CaptureFixture[str]) -> None:
    for stack in ("dev", "prod"):
        assert offline_plan.main(["--stack", stack]) == 0
    assert "exceed the limit" not in capsys.readouterr().err
