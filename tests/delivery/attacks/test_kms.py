"""The deploy role and KMS: it manages this stack's Okta signing keys and nothing else, and never
the Pulumi state secrets key. Decided by Principal Mapper's local IAM simulation
(tests/iam_eval.py) on the bootstrap's prod plan, with the key policy the key would have.

Principal Mapper, not moto, because moto skips a condition whose key the request does not carry
(test_iam.py's docstring): "a key without the stack tag" must be a denial, and Principal Mapper
fails `StringEquals` on a missing key as AWS does. For operations on an existing key the context
holds what AWS puts there for the key: its tags (`aws:ResourceTag/<key>`), `kms:KeySpec` and
`kms:KeyUsage` (condition keys of KMS's `key` resource type, Service Authorization Reference).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.okta.signing_keys import key_policy
from devtools.offline import ProgramRun
from tests.delivery.bootstrap_run import KEY_ARN, PROD_ACCOUNT, run_bootstrap, stack_values
from tests.iam_eval import allowed, principal
from tests.paths import ROOT

DEPLOY_ROLE = f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-github-deploy"
SIGNER = f"arn:aws:iam::{PROD_ACCOUNT}:role/aai-prod-pipeline-orders-ingest"
SIGNING_KEY = f"arn:aws:kms:eu-west-1:{PROD_ACCOUNT}:key/1b4e28ba-2fa1-11d2-883f-0016d3cca427"
# The AWS default key policy: the account (so IAM policies) decides; the state key keeps it.
DEFAULT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PROD_ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
SIGNING = {"kms:KeySpec": "ECC_NIST_P256", "kms:KeyUsage": "SIGN_VERIFY"}
THIS_STACKS = {**SIGNING, "aws:ResourceTag/stack": "prod", "aws:ResourceTag/pipeline": "x"}
NEW_KEY_TAGS = {
    "aws:RequestTag/stack": "prod",
    "aws:RequestTag/pipeline": "orders-ingest",
    "aws:RequestTag/slot": "a",
    "aws:TagKeys": ["stack", "pipeline", "slot"],
}


@pytest.fixture(scope="module")
def deploy() -> Any:
    run: ProgramRun = run_bootstrap(stack_values("prod"))
    [record] = [r for r in run.monitor.registrations if r.name == "deployer-deploy-policy"]
    return principal(DEPLOY_ROLE, json.loads(str(record.inputs["policy"])))


def on_key(deploy: Any, action: str, key: str, policy: dict[str, Any], **context: Any) -> bool:
    return allowed(deploy, action, key, policy, PROD_ACCOUNT, context)


def create_key(deploy: Any, **context: Any) -> bool:
    from principalmapper.querying.query_interface import local_check_authorization_full

    return bool(local_check_authorization_full(deploy, "kms:CreateKey", "*", context))


def test_deploy_role_creates_this_stacks_signing_keys(deploy: Any) -> None:
    assert create_key(deploy, **SIGNING, **NEW_KEY_TAGS)
    # Creating with tags also needs kms:TagResource on every key of the region.
    assert on_key(
        deploy,
        "kms:TagResource",
        SIGNING_KEY,
        key_policy(PROD_ACCOUNT, SIGNER),
        **SIGNING,
        **NEW_KEY_TAGS,
    )


@pytest.mark.parametrize(
    "action",
    [
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:PutKeyPolicy",
        "kms:GetPublicKey",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        "kms:ScheduleKeyDeletion",
        "kms:EnableKey",
        "kms:DisableKey",
    ],
)
def test_deploy_role_administers_this_stacks_signing_keys(deploy: Any, action: str) -> None:
    assert on_key(deploy, action, SIGNING_KEY, key_policy(PROD_ACCOUNT, SIGNER), **THIS_STACKS)


@pytest.mark.parametrize(
    "context",
    [
        # Another key spec or usage, or no stack tag, or another stack's.
        {**NEW_KEY_TAGS, "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT"},
        {**NEW_KEY_TAGS, **SIGNING, "aws:RequestTag/stack": "dev"},
        {**SIGNING, "aws:TagKeys": ["pipeline"], "aws:RequestTag/pipeline": "x"},
        {**SIGNING},
        # A tag key the program does not set.
        {**SIGNING, **NEW_KEY_TAGS, "aws:TagKeys": ["stack", "owner"]},
        # Skip the check that a new key policy does not lock the account out.
        {**SIGNING, **NEW_KEY_TAGS, "kms:BypassPolicyLockoutSafetyCheck": "true"},
    ],
)
def test_deploy_role_creates_no_other_key(deploy: Any, context: dict[str, Any]) -> None:
    assert not create_key(deploy, **context)


@pytest.mark.parametrize(
    ("action", "context"),
    [
        ("kms:PutKeyPolicy", {**SIGNING, "aws:ResourceTag/stack": "dev"}),
        ("kms:PutKeyPolicy", {**SIGNING}),
        ("kms:ScheduleKeyDeletion", {**SIGNING, "aws:ResourceTag/stack": "dev"}),
        # Someone's symmetric key tagged with this stack still is not a signing key.
        (
            "kms:PutKeyPolicy",
            {
                "aws:ResourceTag/stack": "prod",
                "kms:KeySpec": "SYMMETRIC_DEFAULT",
                "kms:KeyUsage": "ENCRYPT_DECRYPT",
            },
        ),
        # Pull a foreign key into this stack's scope by tagging it.
        (
            "kms:TagResource",
            {
                "kms:KeySpec": "SYMMETRIC_DEFAULT",
                "kms:KeyUsage": "ENCRYPT_DECRYPT",
                "aws:RequestTag/stack": "prod",
                "aws:TagKeys": ["stack"],
            },
        ),
        # Remove the tag that scopes a key, so nothing later recognises it as this stack's.
        ("kms:UntagResource", {**THIS_STACKS, "aws:TagKeys": ["stack"]}),
        (
            "kms:PutKeyPolicy",
            {**THIS_STACKS, "kms:BypassPolicyLockoutSafetyCheck": "true"},
        ),
    ],
)
def test_deploy_role_administers_no_other_key(
    deploy: Any, action: str, context: dict[str, Any]
) -> None:
    assert not on_key(deploy, action, SIGNING_KEY, DEFAULT_KEY_POLICY, **context)


@pytest.mark.parametrize(
    "action",
    [
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
        "kms:CreateGrant",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:DisableKeyRotation",
        "kms:UpdateKeyDescription",
    ],
)
def test_deploy_role_never_changes_the_state_secrets_key(deploy: Any, action: str) -> None:
    """Even were the state key tagged and specified like a signing key of this stack."""
    context = {**THIS_STACKS, **NEW_KEY_TAGS, "aws:TagKeys": ["pipeline", "slot"]}
    assert not on_key(deploy, action, KEY_ARN, DEFAULT_KEY_POLICY, **context)


def test_deploy_role_still_uses_the_state_secrets_key(deploy: Any) -> None:
    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"):
        assert on_key(deploy, action, KEY_ARN, DEFAULT_KEY_POLICY), action


def test_the_state_key_guard_is_what_refuses(deploy: Any) -> None:
    """Guards the guard: without the explicit deny the signing-key grant would reach the state
    key once it carried this stack's tag and a signing key spec."""
    policy = deploy.attached_policies[0].policy_doc
    without = {
        **policy,
        "Statement": [
            s for s in policy["Statement"] if s.get("Sid") != "NeverChangeTheStateSecretsKey"
        ],
    }
    assert on_key(
        principal(DEPLOY_ROLE, without),
        "kms:PutKeyPolicy",
        KEY_ARN,
        DEFAULT_KEY_POLICY,
        **THIS_STACKS,
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_deploy_role_may_create_every_key_the_program_plans(stack: str) -> None:
    """The program's own keys, with their planned spec and tags, as that stack's deploy role."""
    from devtools import plan as stack_plan

    plan = stack_plan.plan(stack_plan.read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))
    keys = [r["inputs"] for r in plan["resources"] if r["type"] == "aws:kms/key:Key"]
    assert keys, "the committed stacks have okta-oidc pipelines"
    run: ProgramRun = run_bootstrap(stack_values(stack))
    [record] = [r for r in run.monitor.registrations if r.name == "deployer-deploy-policy"]
    deployer = principal(DEPLOY_ROLE, json.loads(str(record.inputs["policy"])))
    for key in keys:
        tags: dict[str, str] = key["tags"]
        context = {
            "kms:KeySpec": key["customerMasterKeySpec"],
            "kms:KeyUsage": key["keyUsage"],
            "aws:TagKeys": sorted(tags),
            **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
        }
        assert create_key(deployer, **context), key["description"]
