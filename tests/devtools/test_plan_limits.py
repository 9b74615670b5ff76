"""The offline plan refuses what the clouds would refuse: exit 2 naming limit, value, source, fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.vault import access as vault_secrets
from components.vault import documents
from devtools import plan as offline_plan
from tests.conftest import PROJECT
from tests.paths import ROOT

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
    role ARN and one secret ARN per pipeline; it now names them by prefix and tag
    (tests/components/aws/test_execution_policy_scope.py). The rule itself:
    tests/model/test_limits.py.
    """
    code, lines = run_plan(estate_file(tmp_path, {"aws-iam": 60}), capsys)
    assert (code, lines) == (0, [])


def test_committed_stacks_plan_within_every_limit(capsys: pytest.CaptureFixture[str]) -> None:
    for stack in ("dev", "prod"):
        assert offline_plan.main(["--stack", stack]) == 0
    assert "exceed the limit" not in capsys.readouterr().err


def _first_pipeline_of_each_mode() -> tuple[dict[str, Any], dict[str, str]]:
    """The dev stack with only its first pipeline of each auth mode: the limits below are
    measured on names derived from it, whatever pipelines a user adds to dev."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    pipelines = document["config"][f"{PROJECT}:pipelines"]
    first: dict[str, dict[str, Any]] = {}
    for pipeline in pipelines:
        first.setdefault(pipeline["authMode"], pipeline)
    document["config"][f"{PROJECT}:pipelines"] = list(first.values())
    return document, {mode: pipeline["name"] for mode, pipeline in first.items()}


DEV_ONE_PER_MODE, FIRST = _first_pipeline_of_each_mode()
# That stack (namePrefix aai) under other stack names: the Okta server is `aai-<stack>-atlas`, the
# app `aai-<stack>-<its okta-oidc pipeline>`.
LONG_STACK = "analytics-platform-eu-central-1-blue-green-" * 2
OKTA_SOURCE = (
    "Okta Support: Character Limits for Various Okta Features and Fields, "
    "https://support.okta.com/help/s/article/"
    "What-Are-the-Character-Limits-for-Certain-Fields-in-the-Okta-Console"
)


def dev_as(tmp_path: Path, stack: str) -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(DEV_ONE_PER_MODE))
    return path


def server_name_line(stack: str) -> str:
    name = f"aai-{stack}-atlas"
    return (
        f"namePrefix: Okta authorization server {name}: {len(name)} characters exceed the limit "
        f"of 50 on Okta authorization server name [okta-authorization-server-name; "
        f"{OKTA_SOURCE}]; fix: shorten namePrefix or the stack name (the server is named "
        "<namePrefix>-<stack>-atlas)"
    )


def test_a_stack_name_that_makes_the_okta_server_name_51_characters_fails_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = LONG_STACK[:41]
    assert run_plan(dev_as(tmp_path, stack), capsys) == (2, [server_name_line(stack)])


def test_a_stack_name_that_makes_it_50_characters_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_plan(dev_as(tmp_path, LONG_STACK[:40]), capsys) == (0, [])


def test_an_okta_app_label_of_101_characters_fails_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A label is at most 35 characters longer than the server name (pipeline names have at
    most 40), so a stack whose label exceeds 100 fails on the server name too, and no label of
    a plannable stack is near 100 (docs/limits.md; the boundary: tests/model/test_limits.py)."""
    stack = LONG_STACK[: 101 - len(f"aai--{FIRST['okta-oidc']}")]
    label = f"aai-{stack}-{FIRST['okta-oidc']}"
    assert len(label) == 101
    assert run_plan(dev_as(tmp_path, stack), capsys) == (
        2,
        [
            f"pipelines: Okta app {label}: 101 characters exceed the limit of 100 on Okta app "
            f"label (the application name) [okta-app-label; {OKTA_SOURCE}]; fix: shorten "
            "namePrefix, the stack name or the pipeline name (an app is labelled "
            "<namePrefix>-<stack>-<pipeline>)",
            server_name_line(stack),
        ],
    )


@pytest.mark.parametrize(("size", "exceeded"), [(1_048_576, False), (1_048_577, True)])
def test_a_vault_policy_over_one_storage_entry_fails_the_plan(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    size: int,
    exceeded: bool,
) -> None:
    """No setting makes a policy that large (a pipeline's is under 300 bytes): the program is
    changed to render every policy padded to `size` bytes, which the plan must measure."""
    render = documents.hcl_policy

    def padded(rules: Any) -> str:
        text = render(rules) + "# "
        return text + "x" * (size - len(text.encode()))

    monkeypatch.setattr(vault_secrets, "hcl_policy", padded)
    code, lines = run_plan(dev_as(tmp_path, "dev"), capsys)
    assert (code, lines) == (
        (
            2,
            [
                f"pipelines: Vault policy aai-dev-{FIRST['vault-dynamic']}: 1048577 bytes exceed the "
                "limit of 1048576 on one Vault storage entry (integrated storage's default; "
                "Consul storage: 512 KiB): an ACL policy, a KV v2 secret version, a database "
                "connection's configuration [vault-storage-entry; Vault limits and maximums, "
                "https://developer.hashicorp.com/vault/docs/internals/limits]; fix: split its "
                "rules over more policies (a login role can attach several)"
            ],
        )
        if exceeded
        else (0, [])
    )
