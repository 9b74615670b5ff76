"""Who may read or change a connection definition in Secrets Manager, decided by an IAM policy
evaluator (tests/iam_eval.py) on the dev plan's secret resource policies and roles.

The resource policy denies reads to everyone but the execution role and the deployer, and every
change to everyone but the deployer, whatever IAM policies they hold.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.iam_eval import EVERYTHING, allowed, principal
from tests.paths import ROOT

ACCOUNT = "210987654321"
READ = "secretsmanager:GetSecretValue"
CHANGES = (
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
)


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    from devtools.plan import plan, read_stack_file

    return plan(read_stack_file(ROOT / "Pulumi.dev.yaml"))


def of_type(plan: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_token]


@pytest.fixture(scope="module")
def secrets(dev: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(secret ARN, resource policy) of every connection definition the plan declares."""
    policies = of_type(dev, "aws:secretsmanager/secretPolicy:SecretPolicy")
    names = {r["inputs"]["name"] for r in of_type(dev, "aws:secretsmanager/secret:Secret")}
    assert len(policies) == len(names) == len(dev["outputs"]["connectionIds"])
    return [(p["inputs"]["secretArn"], json.loads(p["inputs"]["policy"])) for p in policies]


def execution_role(dev: dict[str, Any]) -> Any:
    (policy,) = [
        r
        for r in of_type(dev, "aws:iam/rolePolicy:RolePolicy")
        if r["name"].endswith("execution-policy")
    ]
    return principal(dev["outputs"]["executionRoleArn"], json.loads(policy["inputs"]["policy"]))


def test_the_execution_role_reads_with_its_planned_policy_and_changes_nothing(
    dev: dict[str, Any], secrets: list[tuple[str, dict[str, Any]]]
) -> None:
    role = execution_role(dev)
    # The execution role's policy names the secrets by prefix and tag (components/aws/identity.py):
    # AWS puts the secret's tags in the request context.
    tags = {
        f"{r['inputs']['name']}-": r["inputs"]["tags"]
        for r in of_type(dev, "aws:secretsmanager/secret:Secret")
    }
    for arn, policy in secrets:
        [context] = [
            {f"aws:ResourceTag/{k}": v for k, v in found.items()}
            for prefix, found in tags.items()
            if arn.split(":secret:")[1].startswith(prefix)
        ]
        assert allowed(role, READ, arn, policy, ACCOUNT, context), arn
        for action in CHANGES:
            assert not allowed(role, action, arn, policy, ACCOUNT), (arn, action)


def test_the_deployer_reads_and_changes(secrets: list[tuple[str, dict[str, Any]]]) -> None:
    deployer = principal(f"arn:aws:iam::{ACCOUNT}:role/aai-dev-github-deploy", EVERYTHING)
    for arn, policy in secrets:
        for action in (READ, *CHANGES):
            assert allowed(deployer, action, arn, policy, ACCOUNT), (arn, action)


@pytest.mark.parametrize(
    "who",
    [
        f"arn:aws:iam::{ACCOUNT}:role/aai-dev-pipeline-orders-ingest",
        f"arn:aws:iam::{ACCOUNT}:role/aai-dev-github-preview",
        f"arn:aws:iam::{ACCOUNT}:user/admin",
    ],
)
def test_no_one_else_reads_or_changes_even_with_every_iam_permission(
    secrets: list[tuple[str, dict[str, Any]]], who: str
) -> None:
    anyone = principal(who, EVERYTHING)
    for arn, policy in secrets:
        for action in (READ, *CHANGES):
            assert not allowed(anyone, action, arn, policy, ACCOUNT), (arn, action)
        # Describing the secret (no value) stays with IAM: the policy denies what it names only.
        assert allowed(anyone, "secretsmanager:DescribeSecret", arn, policy, ACCOUNT)


def test_without_the_denies_iam_alone_would_decide(
    secrets: list[tuple[str, dict[str, Any]]],
) -> None:
    """Guard against a vacuous evaluator: the same admin is allowed once the denies are gone."""
    admin = principal(f"arn:aws:iam::{ACCOUNT}:user/admin", EVERYTHING)
    arn, policy = secrets[0]
    empty = {**policy, "Statement": []}
    assert allowed(admin, READ, arn, empty, ACCOUNT)
    assert not allowed(admin, READ, arn, policy, ACCOUNT)
