"""The `org` stack owns the Atlas org config and links every environment's workload IdP.

It reads the environment stacks' `atlasWorkloadIdpId` through StackReference; offline, from their
committed plans (snapshots/<stack>.plan.json), so it plans without credentials.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import plan as offline_plan
from infra.settings import SettingsError
from infra.settings.org import parse_org
from tests.conftest import PROJECT, ROOT
from tests.stacks_discovery import STACKS, StackPlans

ORG_CONFIG = "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig"
ORG_VALUES: dict[str, Any] = {
    "tier": "org",
    "atlasOrgId": "5f0e1d2c3b4a596877665544",
    "atlasFederationSettingsId": "6a1b2c3d4e5f60718293a4b5",
    "atlasWorkloadIdpStacks": ["organization/airflow-atlas-identity/dev", "prod"],
}


def org_plan() -> dict[str, Any]:
    return offline_plan.plan(offline_plan.read_stack_file(ROOT / "Pulumi.org.yaml"))


def snapshot_idp(stack: str) -> str:
    outputs = json.loads((ROOT / "snapshots" / f"{stack}.plan.json").read_text())["outputs"]
    return str(outputs["atlasWorkloadIdpId"])


def test_org_stack_links_the_dev_and_prod_idps() -> None:
    plan = org_plan()
    (config,) = [r for r in plan["resources"] if r["type"] == ORG_CONFIG]
    linked = [snapshot_idp("dev"), snapshot_idp("prod")]
    assert len(set(linked)) == 2
    assert config["inputs"] == {
        "federationSettingsId": "6a1b2c3d4e5f60718293a4b5",
        "orgId": "5f0e1d2c3b4a596877665544",
        "domainRestrictionEnabled": False,
        "dataAccessIdentityProviderIds": linked,
    }
    assert config["name"] == "atlas-org-config"
    assert plan["outputs"] == {"tier": "org", "dataAccessIdpIds": linked}


def test_the_linked_ids_are_what_the_environment_plans_export(
    committed_plans: StackPlans,
) -> None:
    """The snapshots the org stack reads are the environments' current plans."""
    for stack in ("dev", "prod"):
        assert committed_plans[stack]["outputs"]["atlasWorkloadIdpId"] == snapshot_idp(stack)


@pytest.mark.parametrize("stack", STACKS)
def test_no_environment_stack_manages_the_org_config(
    stack: str, committed_plans: StackPlans
) -> None:
    assert [r["urn"] for r in committed_plans[stack]["resources"] if r["type"] == ORG_CONFIG] == []


def test_org_config_is_retained_and_only_its_data_access_list_is_managed(
    run_stack: Any,
) -> None:
    from infra.offline import PlanMocks

    mocks = PlanMocks(stack_outputs={"dev": {"atlasWorkloadIdpId": "a" * 24}, "prod": {}})
    run = run_stack(
        {**ORG_VALUES, "atlasOtherDataAccessIdpIds": ["b" * 24]}, stack="org", mocks=mocks
    )
    config = run.monitor.one(ORG_CONFIG, "atlas-org-config")
    # prod exports no IdP (no okta-oidc pipelines): nothing of it is linked.
    assert config.inputs["dataAccessIdentityProviderIds"] == ["a" * 24, "b" * 24]
    assert config.retain_on_delete is True
    assert sorted(config.ignore_changes) == [
        "domainAllowLists",
        "domainRestrictionEnabled",
        "identityProviderId",
        "postAuthRoleGrants",
    ]
    assert [r.type for r in run.monitor.registrations if r.custom] == [ORG_CONFIG]


def test_a_reference_to_a_stack_without_a_plan_is_reported(tmp_path: Path) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.org.yaml").read_text())
    document["config"][f"{PROJECT}:atlasWorkloadIdpStacks"] = ["organization/x/no-such-stack"]
    path = tmp_path / "Pulumi.org.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(SettingsError) as raised:
        offline_plan.plan(offline_plan.read_stack_file(path))
    assert [str(p) for p in raised.value.problems] == [
        "atlasWorkloadIdpStacks: 'organization/x/no-such-stack': no committed plan "
        "no-such-stack.plan.json to read its outputs from offline; plan that stack first "
        "(python -m infra.snapshot)"
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pipelines": []}, "pipelines: does not apply to the org stack; it takes"),
        ({"atlasWorkloadIdpStacks": ["a b"]}, "atlasWorkloadIdpStacks[0]: 'a b' is not a stack"),
        ({"atlasWorkloadIdpStacks": ["dev", "dev"]}, "atlasWorkloadIdpStacks: lists a stack twice"),
        ({"atlasOtherDataAccessIdpIds": ["nope"]}, "atlasOtherDataAccessIdpIds[0]: 'nope' is not"),
        ({"atlasOrgId": None}, "atlasOrgId: is required"),
    ],
)
def test_org_settings_are_validated(change: dict[str, Any], message: str) -> None:
    values = {k: v for k, v in {**ORG_VALUES, **change}.items() if v is not None}
    with pytest.raises(SettingsError) as raised:
        parse_org(values, project=PROJECT, stack="org")
    [problem] = [str(p) for p in raised.value.problems]
    assert problem.startswith(message)


def test_org_plan_passes_the_policy_pack() -> None:
    from policy import check

    assert check.check_plan(org_plan(), check.stack_config("org")) == []


def test_offline_stack_references_read_outputs_by_stack_name() -> None:
    import pulumi

    from infra.offline import STACK_REFERENCE_TYPE, PlanMocks

    mocks = PlanMocks(stack_outputs={"dev": {"atlasWorkloadIdpId": "a" * 24}})

    def read(name: str) -> tuple[str, dict[str, Any]]:
        return mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=STACK_REFERENCE_TYPE,
                name="ref",
                inputs={"name": name},
                provider="",
                resource_id=name,
            )
        )

    assert read("organization/airflow-atlas-identity/dev") == (
        "organization/airflow-atlas-identity/dev",
        {
            "name": "organization/airflow-atlas-identity/dev",
            "outputs": {"atlasWorkloadIdpId": "a" * 24},
            "secretOutputNames": [],
        },
    )
    with pytest.raises(ValueError, match=r"stack reference prod: no outputs of stack 'prod'"):
        read("prod")


def test_org_access_report_lists_the_linked_idps() -> None:
    from infra.report import access_report

    report = access_report(org_plan())
    assert report.splitlines()[-2:] == [f"- `{snapshot_idp('dev')}`", f"- `{snapshot_idp('prod')}`"]
