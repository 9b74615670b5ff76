"""The whole program under the mock engine: wiring across systems, preview, invalid settings."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from devtools.offline import UNKNOWN, PlanMocks, mask_secrets
from infra import settings
from tests.conftest import PROJECT
from tests.infra.settings import messages

USER = "mongodbatlas:index/databaseUser:DatabaseUser"
ORG_CONFIG = "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig"
ROLE = "aws:iam/role:Role"
WIRING = "airflow-atlas-identity:index:Wiring"


def test_atlas_user_and_connection_carry_the_pipeline_role_arn(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    run = run_stack(base_config)
    role_arn = "arn:aws:iam::123456789012:role/aai-test-pipeline-orders-ingest"
    assert (
        run.monitor.one(USER, "identity-atlas-orders-ingest-iam-user").inputs["username"]
        == role_arn
    )
    outputs = mask_secrets(run.outputs)
    definition = outputs["connectionDefinitions"]["mongo_orders_ingest"]
    assert definition["extra"]["atlas_identity"]["role_arn"] == role_arn
    assert outputs["pipelineRoleArns"]["orders-ingest"] == role_arn
    assert outputs["connectionIds"] == {
        "orders-ingest": "mongo_orders_ingest",
        "revenue-report": "mongo_revenue_report",
    }


def test_every_resource_is_parented_under_the_wiring_component(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    run = run_stack(base_config)
    root = "urn:pulumi:test::airflow-atlas-identity::airflow-atlas-identity:index:Wiring::identity"
    by_urn = {r.urn: r for r in run.monitor.registrations}
    for registration in run.monitor.registrations:
        if registration.type.startswith("pulumi:providers:") or registration.type == WIRING:
            continue
        chain = registration
        while chain.parent in by_urn:
            chain = by_urn[chain.parent]
        assert chain.urn == root, registration.urn


def test_aws_provider_is_pinned_to_the_stack_account(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    provider = run_stack(base_config).monitor.one("pulumi:providers:aws", "aws")
    assert provider.inputs["allowedAccountIds"] == '["123456789012"]'
    assert provider.inputs["region"] == "eu-west-1"


def test_vault_resources_go_to_the_stacks_vault_address(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    config = {
        **base_config,
        "vaultAddress": "https://vault.test.acme.internal:8200",
        "vaultAudit": {"type": "file", "options": {"file_path": "/vault/audit/audit.log"}},
        "atlasOrgId": "5f0e1d2c3b4a596877665544",
        "atlasVaultApiKeyAccessList": ["10.0.0.0/24"],
        "pipelines": [{**base_config["pipelines"][0], "authMode": "vault-dynamic"}],
    }
    run = run_stack(config)
    provider = run.monitor.one("pulumi:providers:vault", "vault")
    assert provider.inputs["address"] == "https://vault.test.acme.internal:8200"
    vault_resources = [r for r in run.monitor.registrations if r.type.startswith("vault:")]
    assert len(vault_resources) > 0
    assert {r.provider.rsplit("::", 1)[0] for r in vault_resources} == {provider.urn}
    # The AWS resources keep their own pinned provider.
    aws_provider = run.monitor.one("pulumi:providers:aws", "aws")
    roles = run.monitor.by_type(ROLE)
    assert {r.provider.rsplit("::", 1)[0] for r in roles} == {aws_provider.urn}


def test_a_stack_without_vault_declares_no_vault_provider(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    run = run_stack(base_config)
    assert [r for r in run.monitor.registrations if r.type == "pulumi:providers:vault"] == []


class PreviewMocks(PlanMocks):
    """Like a real preview: provider-computed outputs (ARNs) are not known yet."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        outputs.pop("arn", None)
        return resource_id, outputs


def test_preview_with_unknown_arns_still_declares_everything(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    planned = run_stack(base_config)
    previewed = run_stack(base_config, preview=True, mocks=PreviewMocks())
    assert sorted(r.urn for r in previewed.monitor.registrations) == sorted(
        r.urn for r in planned.monitor.registrations
    )
    user = previewed.monitor.one(USER, "identity-atlas-orders-ingest-iam-user")
    assert mask_secrets(user.inputs["username"]) == UNKNOWN
    role = previewed.monitor.one(ROLE, "identity-aws-orders-ingest-role")
    assert mask_secrets(role.inputs["name"]) == "aai-test-pipeline-orders-ingest"


def test_invalid_settings_register_no_resource(run_stack: Any, base_config: dict[str, Any]) -> None:
    base_config["pipelines"][0]["grants"][0]["access"] = "readwrite"
    with pytest.raises(pulumi.RunError) as raised:
        run_stack(base_config)
    assert str(raised.value) == "invalid stack settings:\n" + messages.not_a_preset(
        "pipelines[0].grants[0].access", "readwrite"
    )


def test_invalid_settings_leave_the_monitor_empty(base_config: dict[str, Any]) -> None:
    from devtools.offline import run_program, to_config_strings

    base_config["awsRegion"] = "nowhere"
    mocks = PlanMocks()
    captured: list[Any] = []
    original = PlanMocks.new_resource

    def spy(self: PlanMocks, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        captured.append(args.typ)
        return original(self, args)

    mocks.new_resource = spy.__get__(mocks)  # type: ignore[method-assign]
    with pytest.raises(pulumi.RunError):
        run_program(
            project="airflow-atlas-identity",
            stack="test",
            config=to_config_strings("airflow-atlas-identity", base_config),
            mocks=mocks,
        )
    assert captured == []


IDP = "mongodbatlas:index/federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"
IDP_ID = "6c1d2e3f40516273849a5b6c"
OKTA_APP = "okta:app/oAuth:OAuth"
OKTA_CONFIG: dict[str, Any] = {
    "atlasWorkloadIdpId": IDP_ID,
    # The Okta provider's org, required with okta-oidc pipelines: the mock engine's own org.
    "okta:orgName": "example",
    "okta:baseUrl": "okta.com",
}


def with_okta_pipeline(config: dict[str, Any]) -> dict[str, Any]:
    config["pipelines"][1]["authMode"] = "okta-oidc"
    return {**config, **OKTA_CONFIG}


class OktaPreviewMocks(PlanMocks):
    """A preview: the Okta issuer and client ids are not known yet."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        for computed in ("issuer", "clientId"):
            outputs.pop(computed, None)
        return resource_id, outputs


def test_preview_with_unknown_issuer_and_client_id(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    config = with_okta_pipeline(base_config)
    planned = run_stack(config)
    previewed = run_stack(config, preview=True, mocks=OktaPreviewMocks())
    assert sorted(r.urn for r in previewed.monitor.registrations) == sorted(
        r.urn for r in planned.monitor.registrations
    )
    m = previewed.monitor
    user = m.one(USER, "identity-atlas-revenue-report-oidc-user")
    assert mask_secrets(user.inputs["username"]) == UNKNOWN
    assert user.inputs["oidcAuthType"] == "USER"


def test_an_environment_stack_names_the_org_stacks_idp_and_creates_none(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    run = run_stack(with_okta_pipeline(base_config))
    assert run.monitor.by_type(ORG_CONFIG) == []
    assert run.monitor.by_type(IDP) == []
    user = run.monitor.one(USER, "identity-atlas-revenue-report-oidc-user")
    assert user.inputs["username"] == f"{IDP_ID}/{run.outputs['oktaClientIds']['revenue-report']}"
    # What the org stack creates the IdP from (tests/stacks/test_org_stack.py).
    assert run.outputs["atlasWorkloadIdp"] == {
        "stack": "test",
        "name": "aai-test-okta-workloads",
        "issuerUri": run.outputs["oktaIssuer"],
        "audience": "api://aai-test-atlas",
    }
    assert run.warnings == []


def test_until_the_org_stack_creates_the_idp_okta_pipelines_get_no_atlas_user(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    config = with_okta_pipeline(base_config)
    del config["atlasWorkloadIdpId"]
    run = run_stack(config)
    assert [r.name for r in run.monitor.by_type(USER) if "oidc" in r.name] == []
    # Everything else of the pipeline is there: its Okta app, role and connection.
    run.monitor.one(OKTA_APP, "identity-okta-revenue-report-app")
    assert run.warnings == [
        "no Atlas database user yet for okta-oidc revenue-report: the org stack has not created "
        "this stack's workload IdP. Add the stack output atlasWorkloadIdp to the org stack's "
        "atlasWorkloadIdps, apply it, then set atlasWorkloadIdpId to its workloadIdpIds output "
        "(docs/operations.md, 'The org stack')"
    ]
    identities = {
        row["identity"]
        for row in run.outputs["accessMatrix"]
        if row["pipeline"] == "revenue-report"
    }
    assert identities == {"none yet: atlasWorkloadIdpId is unset (org stack)"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"atlasOrgConfigImported": True},
            "atlasOrgConfigImported: the org stack owns the Atlas org config now; remove this "
            "key (migration: docs/operations.md, 'The org stack')",
        ),
        (
            {"atlasOtherDataAccessIdpIds": ["aaaaaaaaaaaaaaaaaaaaaaaa"]},
            "atlasOtherDataAccessIdpIds: belongs to the org stack (tier org), which owns the "
            "Atlas org config; move it there",
        ),
    ],
)
def test_org_level_keys_are_refused_in_an_environment_stack(
    base_config: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(settings.SettingsError) as raised:
        settings.parse({**with_okta_pipeline(base_config), **extra}, project=PROJECT, stack="test")
    assert [str(p) for p in raised.value.problems] == [message]


def test_okta_pipeline_role_signs_only_with_its_own_kms_keys(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    import json

    run = run_stack(with_okta_pipeline(base_config))
    m = run.monitor
    policies = m.by_type("aws:iam/rolePolicy:RolePolicy")
    assert sorted(p.name for p in policies) == [
        "identity-aws-execution-policy",
        "identity-okta-revenue-report-sign-policy",
    ]
    policy = m.one("aws:iam/rolePolicy:RolePolicy", "identity-okta-revenue-report-sign-policy")
    assert policy.inputs["role"] == "aai-test-pipeline-revenue-report"
    key_arns = [
        m.resources[m.one("aws:kms/key:Key", f"identity-okta-revenue-report-key-{slot}").urn].state[
            "arn"
        ]
        for slot in ("a", "b")
    ]
    assert json.loads(policy.inputs["policy"])["Statement"][0]["Resource"] == key_arns
    assert [s.name for s in m.by_type("aws:secretsmanager/secret:Secret") if "okta" in s.name] == []
    execution = json.loads(
        m.one("aws:iam/rolePolicy:RolePolicy", "identity-aws-execution-policy").inputs["policy"]
    )
    assert "kms:Sign" not in json.dumps(execution)
