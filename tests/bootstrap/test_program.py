"""Bootstrap program: exact trust policies, scoped permissions, state bucket, settings errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bootstrap import settings as bootstrap_settings
from devtools.offline import ProgramRun
from tests.delivery.bootstrap_run import (
    BUCKET_ARN,
    KEY_ARN,
    OIDC,
    POLICY,
    PROD_ACCOUNT,
    PROJECT,
    PROVIDER_ARN,
    ROLE,
    run_bootstrap,
    stack_values,
)
from tests.delivery.github_jobs import stack_identity_jobs
from tests.paths import ROOT


@pytest.fixture(scope="module")
def prod() -> ProgramRun:
    return run_bootstrap(stack_values("prod"))


def trust(run: ProgramRun, name: str) -> dict[str, Any]:
    return json.loads(run.monitor.one(ROLE, name).inputs["assumeRolePolicy"])  # type: ignore[no-any-return]


def statements(run: ProgramRun, name: str) -> dict[str, dict[str, Any]]:
    document = json.loads(run.monitor.one(POLICY, name).inputs["policy"])
    return {s["Sid"]: s for s in document["Statement"]}


def test_oidc_provider_is_githubs_with_the_sts_audience(prod: ProgramRun) -> None:
    provider = prod.monitor.one(OIDC, "deployer-github-oidc")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider.inputs


SUB = "token.actions.githubusercontent.com:sub"


def subjects(stack: str, aws_role: str) -> list[str]:
    """What GitHub puts in `sub` for each job of the workflows that uses this role (sorted)."""
    values = stack_values(stack)
    return sorted(
        job.subject(
            owner_id=values["githubOwnerId"],
            repository_id=values["githubRepositoryId"],
            repository=values["githubRepository"],
        )
        for job in stack_identity_jobs(stack, aws_role=aws_role)
    )


def trusted_subjects(run: ProgramRun, name: str) -> list[str]:
    """The role's `sub` list, sorted (its order means nothing to IAM)."""
    condition = trust(run, name)["Statement"][0]["Condition"]
    (listed,) = [c[SUB] for c in condition.values() if SUB in c]
    return sorted(listed)


def test_deploy_role_trusts_the_up_workflow_on_main_in_the_listed_environments(
    prod: ProgramRun,
) -> None:
    role = prod.monitor.one(ROLE, "deployer-deploy-role")
    assert role.inputs["name"] == "aai-prod-github-deploy"
    assert role.inputs["maxSessionDuration"] == 7200
    assert prod.monitor.one(ROLE, "deployer-preview-role").inputs["maxSessionDuration"] == 3600
    document = trust(prod, "deployer-deploy-role")
    assert trusted_subjects(prod, "deployer-deploy-role") == subjects("prod", "deploy")
    listed = document["Statement"][0]["Condition"]["StringEquals"][SUB]
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        SUB: listed,
                    }
                },
            }
        ],
    }


def test_preview_role_trusts_only_the_reviewed_preview_environment(prod: ProgramRun) -> None:
    condition = trust(prod, "deployer-preview-role")["Statement"][0]["Condition"]
    assert condition == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {SUB: subjects("prod", "preview")},
    }


def test_preview_role_reads_state_and_writes_nothing(prod: ProgramRun) -> None:
    found = statements(prod, "deployer-preview-policy")
    assert set(found) == {
        "ListState",
        "ReadState",
        "UseSecretsKey",
        "ReadReadOnlyProviderCredentials",
        "NeverTouchCiRolesOrTheBoundary",
        "NeverDropABoundary",
        "NeverChangeTheStateSecretsKey",
    }
    assert found["ReadState"]["Action"] == "s3:GetObject"
    assert found["UseSecretsKey"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert found["UseSecretsKey"]["Resource"] == KEY_ARN
    prefix = f"arn:aws:secretsmanager:eu-west-1:{PROD_ACCOUNT}:secret:"
    assert [
        r.split("secret:")[1][:-7] for r in found["ReadReadOnlyProviderCredentials"]["Resource"]
    ] == [
        "ci/airflow-atlas-identity/prod/preview/atlas",
        "ci/airflow-atlas-identity/prod/preview/okta",
    ]
    assert all(r.startswith(prefix) for r in found["ReadReadOnlyProviderCredentials"]["Resource"])


def test_deploy_policy_is_scoped_to_the_programs_roles_and_bounded(prod: ProgramRun) -> None:
    found = statements(prod, "deployer-deploy-policy")
    boundary = f"arn:aws:iam::{PROD_ACCOUNT}:policy/aai-prod-workload-boundary"
    workload = [
        f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-mwaa-exec",
        f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-pipeline-*",
    ]
    assert found["WriteStateAndLocks"]["Resource"] == f"{BUCKET_ARN}/*"
    assert found["ManageWorkloadRolesWithTheBoundary"]["Resource"] == workload
    assert found["ManageWorkloadRolesWithTheBoundary"]["Condition"] == {
        "StringEquals": {"iam:PermissionsBoundary": boundary}
    }
    assert found["ReadAndUpdateWorkloadRoles"]["Resource"] == workload
    assert found["PassExecutionRoleToMwaaOnly"] == {
        "Sid": "PassExecutionRoleToMwaaOnly",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": workload[0],
        "Condition": {"StringEquals": {"iam:PassedToService": "airflow.amazonaws.com"}},
    }
    assert found["NeverTouchCiRolesOrTheBoundary"]["Resource"] == [
        f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-github-*",
        boundary,
    ]
    assert found["RecordApprovedCommit"]["Resource"] == (
        f"arn:aws:ssm:eu-west-1:{PROD_ACCOUNT}:parameter/aai-prod/ci/prod-approved-sha"
    )
    assert found["ManageThisStacksSecrets"]["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{PROD_ACCOUNT}:secret:airflow/prod/*"
    ]
    assert [n.split("secret:")[1][:-7] for n in found["ReadProviderCredentials"]["Resource"]] == [
        "ci/airflow-atlas-identity/prod/deploy/atlas",
        "ci/airflow-atlas-identity/prod/deploy/okta",
    ]


def test_workload_boundary_is_a_managed_policy_of_the_stack(prod: ProgramRun) -> None:
    boundary = prod.monitor.one("aws:iam/policy:Policy", "deployer-workload-boundary")
    assert boundary.inputs["name"] == "aai-prod-workload-boundary"
    document = json.loads(boundary.inputs["policy"])
    assert [s["Sid"] for s in document["Statement"]] == [
        "WorkloadActions",
        "AssumeOnlyThisStacksPipelineRoles",
    ]
    assert document["Statement"][1]["Resource"] == (
        f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-pipeline-*"
    )


def test_state_bucket_is_versioned_encrypted_private_and_tls_only(prod: ProgramRun) -> None:
    m = prod.monitor
    bucket = m.one("aws:s3/bucket:Bucket", "deployer-state")
    assert bucket.inputs["bucket"] == "acme-aai-pulumi-state-prod"
    assert bucket.protect
    versioning = m.one("aws:s3/bucketVersioning:BucketVersioning", "deployer-state-versioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    sse = m.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "deployer-state-encryption",
    )
    assert sse.inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms",
                "kmsMasterKeyId": KEY_ARN,
            },
            "bucketKeyEnabled": True,
        }
    ]
    block = m.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "deployer-state-public-access"
    )
    assert {k: v for k, v in block.inputs.items() if k != "bucket"} == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    policy = json.loads(
        m.one("aws:s3/bucketPolicy:BucketPolicy", "deployer-state-policy").inputs["policy"]
    )
    assert policy["Statement"][0]["Effect"] == "Deny"
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    key = m.one("aws:kms/key:Key", "deployer-secrets-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect
    alias = m.one("aws:kms/alias:Alias", "deployer-secrets-key-alias")
    assert alias.inputs["name"] == "alias/aai-prod-pulumi"


def test_outputs_are_what_the_workflows_take_as_variables(prod: ProgramRun) -> None:
    outputs = prod.outputs
    assert outputs["deployRoleArn"] == f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-github-deploy"
    assert outputs["previewRoleArn"] == f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-github-preview"
    assert outputs["pulumiBackendUrl"] == "s3://acme-aai-pulumi-state-prod?region=eu-west-1"
    assert outputs["secretsProvider"] == "awskms://alias/aai-prod-pulumi?region=eu-west-1"
    assert outputs["approvedShaParameter"] == "/aai-prod/ci/prod-approved-sha"
    assert outputs["workloadBoundaryArn"] == (
        f"arn:aws:iam::{PROD_ACCOUNT}:policy/aai-prod-workload-boundary"
    )


def test_every_child_is_parented_to_the_deployer(prod: ProgramRun) -> None:
    component = prod.monitor.one("airflow-atlas-identity-bootstrap:index:Deployer", "deployer")
    for child in prod.monitor.registrations:
        if child.name not in {"deployer", "aws"}:  # the component and the pinned provider
            assert child.parent == component.urn, child.name


def test_vault_logins_bind_ids_environment_workflow_and_policies(prod: ProgramRun) -> None:
    m = prod.monitor
    backend = m.one("vault:jwt/authBackend:AuthBackend", "deployer-vault-github")
    assert backend.inputs["oidcDiscoveryUrl"] == "https://token.actions.githubusercontent.com"
    assert backend.inputs["boundIssuer"] == "https://token.actions.githubusercontent.com"
    roles = {
        r.inputs["roleName"]: r.inputs
        for r in m.by_type("vault:jwt/authBackendRole:AuthBackendRole")
    }
    values = stack_values("prod")
    # Each job's Vault role, its environment and workflow, and the policy its name says it holds
    # (ci-deploy-<environment>: deploy, ci-structure: structure, ci-preview: preview).
    expected = {
        job.vault_role: (
            job.environment,
            job.workflow_ref(values["githubRepository"]),
            job.vault_role.removeprefix("ci-").split("-")[0],
        )
        for job in stack_identity_jobs("prod")
    }
    assert set(roles) == set(expected)
    for name, (environment, workflow, policy) in expected.items():
        inputs = roles[name]
        assert inputs["boundClaims"] == {
            "repository_owner_id": values["githubOwnerId"],
            "repository_id": values["githubRepositoryId"],
            "environment": environment,
            "job_workflow_ref": workflow,
        }, name
        assert inputs["boundClaimsType"] == ("glob" if name == "ci-preview" else "string")
        assert inputs["tokenPolicies"] == [f"aai-prod-ci-{policy}"], name
        assert inputs["boundAudiences"] == ["https://vault.acme.internal"]
        assert (
            inputs["tokenTtl"] == inputs["tokenMaxTtl"] == (3600 if name == "ci-preview" else 7200)
        )


def test_dev_stack_file_plans_with_one_environment() -> None:
    run = run_bootstrap(stack_values("dev"), account="210987654321")
    condition = trust(run, "deployer-deploy-role")["Statement"][0]["Condition"]
    assert sorted(condition["StringEquals"][SUB]) == subjects("dev", "deploy")


def test_existing_oidc_provider_is_reused_not_created() -> None:
    values = stack_values("prod") | {"existingOidcProviderArn": PROVIDER_ARN}
    run = run_bootstrap(values)
    assert run.monitor.by_type(OIDC) == []
    assert trust(run, "deployer-deploy-role")["Statement"][0]["Principal"] == {
        "Federated": PROVIDER_ARN
    }


def test_bad_settings_are_all_reported_with_the_fix() -> None:
    with pytest.raises(bootstrap_settings.SettingsError) as raised:
        bootstrap_settings.parse(
            {
                "githubRepository": "acme/*",
                "githubRepositoryId": "acme",
                "environment": "prod",
                "githubEnvironments": ["prod*"],
                "awsAccountId": "98765",
                "awsRegion": "eu-west-1",
                "stateBucketName": "Bad_Bucket",
                "vaultCiMount": "github-actions",
                "typo": 1,
            }
        )
    assert [p.split(":")[0] for p in raised.value.problems] == [
        "typo",
        "githubRepository",
        "githubRepositoryId",
        "githubOwnerId",
        "awsAccountId",
        "stateBucketName",
        "githubEnvironments",
        "vaultCiMount/vaultCiAudience",
    ]
    assert "use exactly owner/repo" in raised.value.problems[1]


def test_bootstrap_project_file_uses_the_shared_venv() -> None:
    document = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.yaml").read_text())
    assert document["name"] == PROJECT
    assert document["runtime"]["options"] == {"toolchain": "uv", "virtualenv": "../.venv"}
    assert Path(ROOT / "bootstrap" / "__main__.py").is_file()
