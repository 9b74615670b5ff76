"""The benchmark's estate (bench/synthetic.py): projects as the unit of scale, limits declared."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import plan_scale, synthetic
from devtools import plan as offline_plan
from infra import settings as stack_settings
from model.access import AuthMode
from model.limits import (
    ATLAS_CUSTOM_ROLES_PER_PROJECT,
    ATLAS_USERS_PER_PROJECT,
    IAM_ROLES_PER_ACCOUNT,
)


def test_a_thousand_pipelines_are_twelve_projects_of_every_mode_on_two_clusters_each() -> None:
    placements = synthetic.layout(1000)
    assert synthetic.project_count(1000) == 12
    assert [synthetic.project_count(n) for n in (40, 100, 300)] == [1, 2, 4]
    per_project = Counter(p.project for p in placements)
    assert sorted(set(per_project.values())) == [83, 84]
    for project in range(12):
        members = [p for p in placements if p.project == project]
        assert {p.mode for p in members} == {m.value for m in AuthMode}
        assert {p.cluster for p in members} == {
            synthetic.cluster_name(project, c) for c in range(synthetic.CLUSTERS_PER_PROJECT)
        }
    assert Counter(p.mode for p in placements) == {
        "aws-iam": 336,
        "okta-oidc": 336,
        "vault-dynamic": 328,
    }


def test_with_clusters_in_projects_each_project_declares_only_the_raise_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(synthetic, "CLUSTERS_IN_PROJECTS", True)
    values = synthetic.atlas_values(1000)
    projects = {c["projectId"] for c in values["atlasClusters"]}
    assert len(projects) == 12
    assert values["atlasProjectId"] in projects
    needs = synthetic.project_needs(1000)
    assert set(needs) == projects
    declared = values["atlasProjectLimits"]
    assert (
        set(declared) == projects
    )  # every project holds 110+ users (2 per vault-dynamic pipeline)
    for project, need in needs.items():
        users = declared[project]["databaseUsers"]
        assert need["databaseUsers"] <= users <= need["databaseUsers"] + 9
        assert users <= (ATLAS_USERS_PER_PROJECT.maximum or 0)
        assert "customRoles" not in declared[project]
        assert need["customRoles"] <= ATLAS_CUSTOM_ROLES_PER_PROJECT.value
    # 300 pipelines over 4 projects need no raise at all.
    assert "atlasProjectLimits" not in synthetic.atlas_values(300)


def test_the_account_declares_a_raised_role_quota_only_past_the_default() -> None:
    assert synthetic.role_quota(IAM_ROLES_PER_ACCOUNT.value - 1) == {}
    assert synthetic.role_quota(1000) == {"awsIamRoleQuota": 1500}
    assert synthetic.synthetic_values(1000)["awsIamRoleQuota"] == 1500


def test_the_estate_puts_clusters_in_their_projects_and_its_settings_pass_every_count() -> None:
    assert synthetic.CLUSTERS_IN_PROJECTS
    stack = synthetic.stack_file(1000)
    settings = stack_settings.parse(stack.project_values(), project=stack.project, stack="b")
    assert len(settings.wiring.pipelines) == 1000


def test_in_one_project_a_thousand_pipelines_exceed_even_the_raised_user_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without clusters in their projects, the estate is one project: Atlas refuses it."""
    monkeypatch.setattr(synthetic, "CLUSTERS_IN_PROJECTS", False)
    stack = synthetic.stack_file(1000)
    with pytest.raises(stack_settings.SettingsError) as refused:
        stack_settings.parse(stack.project_values(), project=stack.project, stack=stack.stack)
    messages = [str(p) for p in refused.value.problems]
    assert len(messages) == 1
    assert "1328 database users exceed the limit of 900 (raised from 100)" in messages[0]
    assert "[atlas-database-users-per-project;" in messages[0]


def test_every_limit_rule_of_the_pack_passes_on_a_small_estate_and_fails_when_lowered() -> None:
    stack = synthetic.stack_file(6)
    plan = offline_plan.plan(stack)
    values = stack.project_values()
    passed = plan_scale.pack_limits(plan, values)
    assert passed.exceeded == []
    assert passed.checked == [
        plan_scale.PLAN_CHECKS,
        "iam-policy-size-limits",
        "atlas-project-limits",
        "mwaa-configuration-option-limits",
        "okta-name-limits",
        "vault-storage-entry-limits",
    ]
    # The same plan with 101 custom roles in its project: the pack's rule fails.
    role = next(r for r in plan["resources"] if r["type"].endswith("customDbRole:CustomDbRole"))
    crowded = {**plan, "resources": plan["resources"] + [role] * 101}
    assert plan_scale.pack_limits(crowded, {}).exceeded == ["atlas-project-limits"]


def test_a_case_the_limits_refuse_is_rendered_with_them_and_not_measured() -> None:
    results = {
        "machine": "m",
        "rounds": 3,
        "cases": [
            {
                "case": "1000",
                "pipelines": 1000,
                "projects": 1,
                "limits": {
                    "checked": [plan_scale.PLAN_CHECKS],
                    "exceeded": ["atlas-database-users-per-project"],
                },
            }
        ],
    }
    row = plan_scale.render(results).splitlines()[-1]
    assert row == (
        "| 1000 pipelines, 1 Atlas project | **exceeded**: `atlas-database-users-per-project` "
        "| not planned | - | - | - | - | - | - | - | - |"
    )
