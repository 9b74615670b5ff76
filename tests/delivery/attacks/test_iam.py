"""Attacks on AWS by the CI roles, decided by policy evaluators and linters we did not write.

The documents are the bootstrap's own (its prod plan) and the program's (dev and prod plans):
- moto's IAM evaluator (`moto.iam.access_control.IAMPolicy`) decides each attempted call. It
  evaluates Allow/Deny, Action and Resource patterns and `StringEquals` conditions on the context
  values given to it (it ignores a condition whose key is not given, so every attempt here states
  the values AWS would put in the request context); other operators are not evaluated.
- cloudsplaining's privilege-escalation methods must find nothing in any bootstrap role policy;
- parliament lints every permission policy; a finding fails unless listed with its reason in
  iam_findings_allowed.json.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cloudsplaining.scan.policy_document import PolicyDocument
from moto.iam.access_control import IAMPolicy, PermissionResult
from parliament import analyze_policy_string

from bootstrap.permissions import WORKLOAD_ACTIONS, WORKLOAD_SESSION_ACTIONS
from devtools import plan as stack_plan
from devtools.offline import ProgramRun
from tests.delivery.bootstrap_run import PROD_ACCOUNT, run_bootstrap, stack_values
from tests.paths import ROOT

ACCOUNT_ROLE = f"arn:aws:iam::{PROD_ACCOUNT}:role"
BOUNDARY = f"arn:aws:iam::{PROD_ACCOUNT}:policy/aai-prod-workload-boundary"
STATE = "arn:aws:s3:::acme-aai-pulumi-state-prod"
DAGS = "arn:aws:s3:::acme-mwaa-prod-dags"
ALLOWED_FINDINGS = json.loads(
    (ROOT / "tests/delivery/attacks/iam_findings_allowed.json").read_text()
)


@pytest.fixture(scope="module")
def bootstrap() -> ProgramRun:
    return run_bootstrap(stack_values("prod"))


def document(run: ProgramRun, name: str) -> str:
    record = next(r for r in run.monitor.registrations if r.name == name)
    return str(record.inputs["policy"])


def plan_document(value: Any) -> dict[str, Any]:
    """A plan input holding a JSON document: {"__json__": ...} or, when masked, the JSON text."""
    loaded = value["__json__"] if isinstance(value, dict) else json.loads(value)
    assert isinstance(loaded, dict)
    return loaded


def decide(policy: str, action: str, resource: str, **context: str) -> PermissionResult:
    return IAMPolicy(policy).is_action_permitted(
        action, resource, incoming_condition_values=context or None
    )


# -- the deploy role ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # Rewrite itself, the rotation/preview roles, or the boundary (the one-call admin path).
        (
            "iam:PutRolePolicy",
            f"{ACCOUNT_ROLE}/aai-prod-github-deploy",
            {"iam:PermissionsBoundary": BOUNDARY},
        ),
        ("iam:UpdateAssumeRolePolicy", f"{ACCOUNT_ROLE}/aai-prod-github-deploy", {}),
        ("iam:UpdateAssumeRolePolicy", f"{ACCOUNT_ROLE}/aai-prod-github-preview", {}),
        ("iam:AttachRolePolicy", f"{ACCOUNT_ROLE}/aai-prod-github-deploy", {}),
        ("iam:CreatePolicyVersion", BOUNDARY, {}),
        ("iam:DeletePolicy", BOUNDARY, {}),
        # A workload role without the boundary, or with another one, or stripped of it.
        (
            "iam:CreateRole",
            f"{ACCOUNT_ROLE}/aai-prod-pipeline-evil",
            {"iam:PermissionsBoundary": ""},
        ),
        (
            "iam:PutRolePolicy",
            f"{ACCOUNT_ROLE}/aai-prod-mwaa-exec",
            {"iam:PermissionsBoundary": f"arn:aws:iam::{PROD_ACCOUNT}:policy/AdministratorAccess"},
        ),
        (
            "iam:DeleteRolePermissionsBoundary",
            f"{ACCOUNT_ROLE}/aai-prod-pipeline-orders-ingest",
            {},
        ),
        # Roles outside the program's names, managed policies, users.
        ("iam:CreateRole", f"{ACCOUNT_ROLE}/aai-prod-admin", {"iam:PermissionsBoundary": BOUNDARY}),
        ("iam:AttachRolePolicy", f"{ACCOUNT_ROLE}/aai-prod-mwaa-exec", {}),
        ("iam:CreateUser", f"arn:aws:iam::{PROD_ACCOUNT}:user/mallory", {}),
        ("iam:CreateAccessKey", f"arn:aws:iam::{PROD_ACCOUNT}:user/mallory", {}),
        # Pass a role to a service that runs code, or pass a pipeline role at all.
        (
            "iam:PassRole",
            f"{ACCOUNT_ROLE}/aai-prod-mwaa-exec",
            {"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        (
            "iam:PassRole",
            f"{ACCOUNT_ROLE}/aai-prod-pipeline-orders-ingest",
            {"iam:PassedToService": "airflow.amazonaws.com"},
        ),
        # Write a DAG (code the workers run as the execution role) or any other key.
        ("s3:PutObject", f"{DAGS}/dags/evil.py", {}),
        ("s3:PutObject", f"{DAGS}/plugins.zip", {}),
        ("s3:PutObject", f"{DAGS}/atlas-identity/other.zip", {}),
        ("s3:PutObject", "arn:aws:s3:::acme-mwaa-dev-dags/atlas-identity/plugins.zip", {}),
        ("s3:PutBucketPolicy", DAGS, {}),
        ("s3:ListBucketVersions", DAGS, {"s3:prefix": "dags/"}),
    ],
)
def test_deploy_role_cannot_grow_its_power(
    bootstrap: ProgramRun, action: str, resource: str, context: dict[str, str]
) -> None:
    deploy = document(bootstrap, "deployer-deploy-policy")
    assert decide(deploy, action, resource, **context) is not PermissionResult.PERMITTED


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        (
            "iam:CreateRole",
            f"{ACCOUNT_ROLE}/aai-prod-pipeline-new",
            {"iam:PermissionsBoundary": BOUNDARY},
        ),
        (
            "iam:PutRolePolicy",
            f"{ACCOUNT_ROLE}/aai-prod-mwaa-exec",
            {"iam:PermissionsBoundary": BOUNDARY},
        ),
        ("iam:UpdateAssumeRolePolicy", f"{ACCOUNT_ROLE}/aai-prod-pipeline-orders-ingest", {}),
        (
            "iam:PassRole",
            f"{ACCOUNT_ROLE}/aai-prod-mwaa-exec",
            {"iam:PassedToService": "airflow.amazonaws.com"},
        ),
        ("s3:PutObject", f"{STATE}/.pulumi/stacks/airflow-atlas-identity/prod.json", {}),
        # The MWAA package (components/airflow/mwaa.py): exactly its two keys in the DAG bucket.
        ("s3:PutObject", f"{DAGS}/atlas-identity/plugins.zip", {}),
        ("s3:PutObjectTagging", f"{DAGS}/atlas-identity/requirements.txt", {}),
        ("s3:DeleteObjectVersion", f"{DAGS}/atlas-identity/plugins.zip", {}),
        ("s3:ListBucketVersions", DAGS, {"s3:prefix": "atlas-identity/plugins.zip"}),
    ],
)
def test_deploy_role_still_does_its_job(
    bootstrap: ProgramRun, action: str, resource: str, context: dict[str, str]
) -> None:
    deploy = document(bootstrap, "deployer-deploy-policy")
    assert decide(deploy, action, resource, **context) is PermissionResult.PERMITTED


# -- the preview role ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        # Drop the lock of a running prod `up`, or write state.
        ("s3:DeleteObject", f"{STATE}/.pulumi/locks/airflow-atlas-identity/prod/lock.json"),
        ("s3:PutObject", f"{STATE}/.pulumi/locks/airflow-atlas-identity/prod/lock.json"),
        ("s3:PutObject", f"{STATE}/.pulumi/stacks/airflow-atlas-identity/prod.json"),
        ("kms:Encrypt", f"arn:aws:kms:eu-west-1:{PROD_ACCOUNT}:key/deployer-secrets-key"),
        (
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:eu-west-1:{PROD_ACCOUNT}:secret:airflow/prod/x",
        ),
        ("iam:PassRole", f"{ACCOUNT_ROLE}/aai-prod-mwaa-exec"),
    ],
)
def test_preview_role_writes_nothing(bootstrap: ProgramRun, action: str, resource: str) -> None:
    preview = document(bootstrap, "deployer-preview-policy")
    assert decide(preview, action, resource) is not PermissionResult.PERMITTED


def test_preview_role_reads_and_decrypts_state(bootstrap: ProgramRun) -> None:
    """Why prod previews wait for a reviewer: decrypting state is what a preview needs."""
    preview = document(bootstrap, "deployer-preview-policy")
    assert (
        decide(preview, "s3:GetObject", f"{STATE}/.pulumi/stacks/x.json")
        is PermissionResult.PERMITTED
    )
    key = f"arn:aws:kms:eu-west-1:{PROD_ACCOUNT}:key/deployer-secrets-key"
    assert decide(preview, "kms:Decrypt", key) is PermissionResult.PERMITTED


# -- the workload boundary ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PutRolePolicy", f"{ACCOUNT_ROLE}/aai-prod-github-deploy"),
        ("iam:CreateRole", f"{ACCOUNT_ROLE}/anything"),
        ("sts:AssumeRole", f"{ACCOUNT_ROLE}/aai-prod-github-deploy"),
        ("sts:AssumeRole", f"{ACCOUNT_ROLE}/OrganizationAccountAccessRole"),
        ("secretsmanager:PutSecretValue", "*"),
    ],
)
def test_boundary_caps_every_workload_role(
    bootstrap: ProgramRun, action: str, resource: str
) -> None:
    boundary = document(bootstrap, "deployer-workload-boundary")
    assert decide(boundary, action, resource) is not PermissionResult.PERMITTED


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_boundary_allows_everything_the_program_grants(stack: str) -> None:
    """The ceiling must not break the program: every action its roles hold fits under it."""
    plan = stack_plan.plan(stack_plan.read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))
    granted: set[str] = set()
    for r in plan["resources"]:
        if r["type"] == "aws:iam/rolePolicy:RolePolicy":
            doc = plan_document(r["inputs"]["policy"])
            for statement in doc["Statement"]:
                actions = statement["Action"]
                granted |= {actions} if isinstance(actions, str) else set(actions)
    assert granted - set(WORKLOAD_ACTIONS) == set(WORKLOAD_SESSION_ACTIONS) & granted
    assert granted >= {"sts:AssumeRole", "sts:TagSession"}


# -- linters ------------------------------------------------------------------------------------


def test_cloudsplaining_finds_no_privilege_escalation_in_any_bootstrap_policy(
    bootstrap: ProgramRun,
) -> None:
    names = ["deployer-deploy-policy", "deployer-preview-policy", "deployer-workload-boundary"]
    found = {
        name: PolicyDocument(json.loads(document(bootstrap, name))).allows_privilege_escalation
        for name in names
    }
    assert found == {name: [] for name in names}


def test_cloudsplaining_does_flag_the_old_self_rewrite() -> None:
    """Guards the guard: an unscoped PutRolePolicy is an escalation path it reports."""
    old = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*"}],
    }
    assert PolicyDocument(old).allows_privilege_escalation == [
        {"type": "PutRolePolicy", "actions": ["iam:putrolepolicy"]}
    ]


def permission_policies(bootstrap: ProgramRun) -> dict[str, str]:
    found = {
        f"bootstrap/{name}": document(bootstrap, name)
        for name in (
            "deployer-deploy-policy",
            "deployer-preview-policy",
            "deployer-workload-boundary",
        )
    }
    for stack in ("dev", "prod"):
        plan = stack_plan.plan(stack_plan.read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))
        for r in plan["resources"]:
            if r["type"] == "aws:iam/rolePolicy:RolePolicy":
                found[f"{stack}/{r['urn'].rsplit('::', 1)[1]}"] = json.dumps(
                    plan_document(r["inputs"]["policy"])
                )
    return found


def findings(policy: str) -> list[dict[str, Any]]:
    return sorted(
        ({"issue": f.issue, "detail": f.detail} for f in analyze_policy_string(policy).findings),
        key=json.dumps,
    )


def test_parliament_findings_are_fixed_or_allowed_with_a_reason(bootstrap: ProgramRun) -> None:
    policies = permission_policies(bootstrap)
    assert {name.split("/")[0] for name in policies} == {"bootstrap", "dev", "prod"}
    reported = {name: findings(doc) for name, doc in policies.items() if findings(doc)}
    allowed = {entry["policy"]: entry["findings"] for entry in ALLOWED_FINDINGS}
    assert all(entry["reason"].strip() for entry in ALLOWED_FINDINGS)
    assert reported == allowed


def test_parliament_does_report_an_unknown_condition() -> None:
    """Guards the guard: the finding that moved UpdateAssumeRolePolicy out of the boundary
    condition (IAM has no iam:PermissionsBoundary key for it, so the deploy would be denied)."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:UpdateAssumeRolePolicy",
                "Resource": f"{ACCOUNT_ROLE}/aai-prod-pipeline-x",
                "Condition": {"StringEquals": {"iam:PermissionsBoundary": BOUNDARY}},
            }
        ],
    }
    assert {f["issue"] for f in findings(json.dumps(bad))} == {"UNKNOWN_CONDITION_FOR_ACTION"}
