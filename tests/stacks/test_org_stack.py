"""The `org` stack creates every environment's workload IdP and owns the Atlas org config.

Environment stacks export what their IdP trusts (`atlasWorkloadIdp`); the org stack's settings
carry those exports (`atlasWorkloadIdps`) and its `workloadIdpIds` output goes back into each
environment as `atlasWorkloadIdpId` (components/atlas/org.py says why settings, not references).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devtools import plan as offline_plan
from infra.settings import SettingsError
from infra.settings.org import PENDING, parse_org
from tests.conftest import PROJECT
from tests.paths import ROOT
from tests.stacks_discovery import STACKS, StackPlans

ORG_CONFIG = "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig"
IDP = "mongodbatlas:index/federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"
DEV_IDP = {
    "stack": "dev",
    "name": "aai-dev-okta-workloads",
    "issuerUri": "https://acme-dev.oktapreview.com/oauth2/aus0dev",
    "audience": "api://aai-dev-atlas",
}
ORG_VALUES: dict[str, Any] = {
    "tier": "org",
    "atlasOrgId": "5f0e1d2c3b4a596877665544",
    "atlasFederationSettingsId": "6a1b2c3d4e5f60718293a4b5",
    "atlasWorkloadIdps": [DEV_IDP],
}


@cache
def org_plan() -> dict[str, Any]:
    """Planned once; read-only."""
    return offline_plan.plan(offline_plan.read_stack_file(ROOT / "Pulumi.org.yaml"))


def org_entries() -> list[dict[str, str]]:
    config = yaml.safe_load((ROOT / "Pulumi.org.yaml").read_text())["config"]
    return list(config[f"{PROJECT}:atlasWorkloadIdps"])


def ready_entries() -> list[dict[str, str]]:
    """The entries whose environment has been deployed (its issuer is known)."""
    return [entry for entry in org_entries() if entry["issuerUri"] != PENDING]


def test_org_stack_creates_and_links_an_idp_per_ready_entry() -> None:
    plan = org_plan()
    idps = {r["inputs"]["name"]: r for r in plan["resources"] if r["type"] == IDP}
    assert sorted(idps) == sorted(entry["name"] for entry in ready_entries())
    assert {"aai-dev-okta-workloads", "aai-prod-okta-workloads"} <= set(idps)
    assert idps["aai-dev-okta-workloads"]["inputs"] == {
        "federationSettingsId": "6a1b2c3d4e5f60718293a4b5",
        "name": "aai-dev-okta-workloads",
        "description": "Okta workload tokens for Airflow pipelines (dev)",
        "idpType": "WORKLOAD",
        "protocol": "OIDC",
        "issuerUri": "https://acme-dev.oktapreview.com/oauth2/aus9d2kq7xDevAtlas01",
        "audience": "api://aai-dev-atlas",
        "authorizationType": "USER",
        "userClaim": "sub",
    }
    ids = plan["outputs"]["workloadIdpIds"]
    assert sorted(ids) == sorted(entry["stack"] for entry in ready_entries())
    linked = [ids[stack] for stack in sorted(ids)]
    (config,) = [r for r in plan["resources"] if r["type"] == ORG_CONFIG]
    assert config["inputs"] == {
        "federationSettingsId": "6a1b2c3d4e5f60718293a4b5",
        "orgId": "5f0e1d2c3b4a596877665544",
        "domainRestrictionEnabled": False,
        "dataAccessIdentityProviderIds": linked,
    }
    assert config["name"] == "atlas-org-config"
    assert plan["outputs"]["dataAccessIdpIds"] == linked
    pending = [entry["stack"] for entry in org_entries() if entry["issuerUri"] == PENDING]
    assert plan["outputs"].get("pendingWorkloadIdps", []) == pending


@pytest.mark.parametrize("stack", STACKS)
def test_the_org_stacks_entry_is_what_the_environment_exports(
    stack: str, committed_plans: StackPlans
) -> None:
    """The hand-off copy is kept in step: each committed environment with okta-oidc pipelines
    has its exported `atlasWorkloadIdp` in Pulumi.org.yaml, and no other stack does. The issuer's
    server id exists only once Okta created it (offline it is a mock), so of the issuer the
    test compares the Okta org it lives on and the shape of its path."""
    exported = committed_plans[stack]["outputs"].get("atlasWorkloadIdp")
    listed = [entry for entry in org_entries() if entry["stack"] == stack]
    if exported is None:
        assert listed == []
        return
    [entry] = listed
    assert {k: entry[k] for k in ("stack", "name", "audience")} == {
        k: exported[k] for k in ("stack", "name", "audience")
    }
    if entry["issuerUri"] == PENDING:
        return  # merged before its first deploy: the org stack creates its IdP later
    issuer, expected = urlsplit(entry["issuerUri"]), urlsplit(exported["issuerUri"])
    assert (issuer.scheme, issuer.netloc) == (expected.scheme, expected.netloc)
    assert re.fullmatch(r"/oauth2/[A-Za-z0-9]+", issuer.path)


@pytest.mark.parametrize("stack", STACKS)
def test_the_environment_names_the_idp_the_org_stack_creates_for_it(
    stack: str, committed_plans: StackPlans
) -> None:
    """The hand-off back: an environment the org stack creates an IdP for names one
    (`atlasWorkloadIdpId`, the org stack's `workloadIdpIds.<stack>` once applied; offline the org
    plan's ids are mocks) and names its okta-oidc users after it; no other environment does."""
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    idp_id = config.get(f"{PROJECT}:atlasWorkloadIdpId")
    created = org_plan()["outputs"]["workloadIdpIds"]
    assert (idp_id is not None) == (stack in created)
    if idp_id is not None:
        assert re.fullmatch(r"[0-9a-f]{24}", idp_id)
        users = [
            r["inputs"]["username"]
            for r in committed_plans[stack]["resources"]
            if r["type"] == "mongodbatlas:index/databaseUser:DatabaseUser"
            and r["inputs"].get("oidcAuthType") == "USER"
        ]
        assert users
        assert all(user.startswith(f"{idp_id}/") for user in users)


@pytest.mark.parametrize("stack", STACKS)
def test_no_environment_stack_creates_an_idp_or_manages_the_org_config(
    stack: str, committed_plans: StackPlans
) -> None:
    assert [
        r["urn"] for r in committed_plans[stack]["resources"] if r["type"] in (ORG_CONFIG, IDP)
    ] == []


def test_org_config_is_retained_and_only_its_data_access_list_is_managed(
    run_stack: Any,
) -> None:
    run = run_stack({**ORG_VALUES, "atlasOtherDataAccessIdpIds": ["b" * 24]}, stack="org")
    assert (
        run.monitor.one(IDP, "atlas-workload-idp-dev").inputs["issuerUri"] == (DEV_IDP["issuerUri"])
    )
    dev_idp_id = run.outputs["workloadIdpIds"]["dev"]
    config = run.monitor.one(ORG_CONFIG, "atlas-org-config")
    assert config.inputs["dataAccessIdentityProviderIds"] == [dev_idp_id, "b" * 24]
    assert config.retain_on_delete is True
    assert sorted(config.ignore_changes) == [
        "domainAllowLists",
        "domainRestrictionEnabled",
        "identityProviderId",
        "postAuthRoleGrants",
    ]
    assert sorted(r.type for r in run.monitor.registrations if r.custom) == [IDP, ORG_CONFIG]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pipelines": []}, "pipelines: does not apply to the org stack; it takes"),
        (
            {"atlasWorkloadIdpStacks": ["dev"]},
            "atlasWorkloadIdpStacks: replaced by atlasWorkloadIdps: one entry per environment",
        ),
        (
            {"atlasWorkloadIdps": [{**DEV_IDP, "stack": "a b"}]},
            "atlasWorkloadIdps[0].stack: 'a b' is not valid; use the stack's name",
        ),
        (
            {"atlasWorkloadIdps": [{**DEV_IDP, "name": "x" * 51}]},
            f"atlasWorkloadIdps[0].name: '{'x' * 51}' is not valid; use 1 to 50 characters",
        ),
        (
            {"atlasWorkloadIdps": [{**DEV_IDP, "issuerUri": "http://acme.okta.com/oauth2/a"}]},
            "atlasWorkloadIdps[0].issuerUri: 'http://acme.okta.com/oauth2/a' is not valid; use "
            "the stack's oktaIssuer output, an https URL",
        ),
        (
            {"atlasWorkloadIdps": [{**DEV_IDP, "audiences": ["x"]}]},
            "atlasWorkloadIdps[0].audiences: unknown key; known keys are audience, issuerUri, "
            "name, stack",
        ),
        (
            {"atlasWorkloadIdps": [DEV_IDP, {**DEV_IDP, "name": "other"}]},
            "atlasWorkloadIdps: stack 'dev' is listed twice; list it once",
        ),
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


def test_org_access_report_lists_the_linked_idps() -> None:
    from devtools.report import access_report

    ids = org_plan()["outputs"]["dataAccessIdpIds"]
    created = org_plan()["outputs"]["workloadIdpIds"]
    report = access_report(org_plan())
    assert f"- `dev`: `{created['dev']}`" in report.splitlines()
    assert report.splitlines()[-2:] == [f"- `{ids[0]}`", f"- `{ids[1]}`"]
