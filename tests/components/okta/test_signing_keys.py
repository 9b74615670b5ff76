"""Who may use the Okta KMS keys, decided by an IAM policy evaluator, not by reading the JSON.

The evaluator is Principal Mapper's local policy simulation (`principalmapper`, NCC Group):
explicit denies in every policy, then the resource (key) policy with the KMS rule that the key
policy must authorize even a same-account principal, then the principal's own policies. The
policies are the ones the prod plan declares; the principals are the pipeline role with its
planned policy, and other principals of the account given the broadest IAM policies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.okta.signing_keys import key_policy, sign_policy
from tests.iam_eval import EVERYTHING, Node
from tests.iam_eval import allowed as evaluate
from tests.iam_eval import principal as role
from tests.paths import ROOT

ACCOUNT = "987654321098"
ALL_KMS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    from devtools.plan import plan, read_stack_file

    return plan(read_stack_file(ROOT / "Pulumi.prod.yaml"))


def allowed(
    principal: Node,
    action: str,
    key_arn: str,
    policy: dict[str, Any],
    algorithm: str = "ECDSA_SHA_256",
) -> bool:
    context = {"kms:SigningAlgorithm": algorithm} if action == "kms:Sign" else {}
    return evaluate(principal, action, key_arn, policy, ACCOUNT, context)


@pytest.fixture(scope="module")
def planned(prod: dict[str, Any]) -> dict[str, Any]:
    """The partner-feed pipeline's key policies, role ARN and role policy, as the plan has them."""
    keys = {
        r["name"][-1]: json.loads(r["inputs"]["policy"])
        for r in prod["resources"]
        if r["type"] == "aws:kms/key:Key" and "partner-feed-key-" in r["name"]
    }
    (grant,) = [
        r
        for r in prod["resources"]
        if r["type"] == "aws:iam/rolePolicy:RolePolicy"
        and r["name"].endswith("partner-feed-sign-policy")
    ]
    role_policy = json.loads(grant["inputs"]["policy"])
    key_arns = role_policy["Statement"][0]["Resource"]
    role_arn = prod["outputs"]["pipelineRoleArns"]["partner-feed"]
    assert keys["a"] == key_policy(ACCOUNT, role_arn) == keys["b"]
    assert role_policy == sign_policy(key_arns)
    return {"keys": keys, "key_arns": key_arns, "role_arn": role_arn, "role_policy": role_policy}


def test_the_pipeline_role_signs_with_both_slots_and_nothing_else(planned: dict[str, Any]) -> None:
    pipeline = role(planned["role_arn"], planned["role_policy"])
    policy = planned["keys"]["a"]
    for key_arn in planned["key_arns"]:
        assert allowed(pipeline, "kms:Sign", key_arn, policy)
    # Not with another algorithm, not another operation, not another pipeline's key.
    assert not allowed(pipeline, "kms:Sign", planned["key_arns"][0], policy, "ECDSA_SHA_384")
    for action in (
        "kms:Decrypt",
        "kms:GetPublicKey",
        "kms:ScheduleKeyDeletion",
        "kms:PutKeyPolicy",
    ):
        assert not allowed(pipeline, action, planned["key_arns"][0], policy), action
    other_key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
    other_policy = key_policy(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/aai-prod-pipeline-other")
    assert not allowed(pipeline, "kms:Sign", other_key, other_policy)


@pytest.mark.parametrize(
    ("principal", "iam_policy"),
    [
        (f"arn:aws:iam::{ACCOUNT}:role/aai-prod-mwaa-execution", ALL_KMS),
        (f"arn:aws:iam::{ACCOUNT}:role/aai-prod-github-deploy", EVERYTHING),
        (f"arn:aws:iam::{ACCOUNT}:role/aai-prod-pipeline-orders-ingest", EVERYTHING),
        (f"arn:aws:iam::{ACCOUNT}:user/admin", EVERYTHING),
    ],
)
def test_no_other_principal_signs_even_with_every_iam_permission(
    planned: dict[str, Any], principal: str, iam_policy: dict[str, Any]
) -> None:
    node = role(principal, iam_policy)
    key_arn, policy = planned["key_arns"][0], planned["keys"]["a"]
    assert not allowed(node, "kms:Sign", key_arn, policy)
    # What the account keeps: administration and the public half (IAM decides who).
    assert allowed(node, "kms:GetPublicKey", key_arn, policy)
    assert allowed(node, "kms:ScheduleKeyDeletion", key_arn, policy)
    assert not allowed(node, "kms:Decrypt", key_arn, policy)


def test_the_account_grant_alone_gives_nothing(planned: dict[str, Any]) -> None:
    """A principal of the account without an IAM allow cannot administer the key either."""
    bare = role(f"arn:aws:iam::{ACCOUNT}:role/aai-prod-nothing")
    key_arn, policy = planned["key_arns"][0], planned["keys"]["a"]
    for action in ("kms:Sign", "kms:GetPublicKey", "kms:ScheduleKeyDeletion"):
        assert not allowed(bare, action, key_arn, policy), action


def test_another_account_is_refused(planned: dict[str, Any]) -> None:
    outsider = role("arn:aws:iam::111122223333:role/admin", EVERYTHING)
    key_arn, policy = planned["key_arns"][0], planned["keys"]["a"]
    for action in ("kms:Sign", "kms:GetPublicKey", "kms:ScheduleKeyDeletion"):
        assert not allowed(outsider, action, key_arn, policy), action


def test_the_evaluator_can_say_yes_to_a_signer_the_key_policy_names(
    planned: dict[str, Any],
) -> None:
    """Guard against a vacuous evaluator: the same role, named by the policy, is allowed; removing
    the explicit deny lets an IAM-only kms:* principal sign (which is why the deny is there)."""
    execution = role(f"arn:aws:iam::{ACCOUNT}:role/aai-prod-mwaa-execution", ALL_KMS)
    policy = planned["keys"]["a"]
    without_deny = {
        **policy,
        "Statement": [s for s in policy["Statement"] if s["Effect"] != "Deny"],
    }
    with_root_sign = {
        **without_deny,
        "Statement": [
            {**s, "Action": [*s["Action"], "kms:Sign"]} if s["Sid"].startswith("Account") else s
            for s in without_deny["Statement"]
        ],
    }
    key_arn = planned["key_arns"][0]
    assert not allowed(execution, "kms:Sign", key_arn, policy)
    assert allowed(execution, "kms:Sign", key_arn, with_root_sign)
    with_deny = {
        **with_root_sign,
        "Statement": [*with_root_sign["Statement"], policy["Statement"][2]],
    }
    assert not allowed(execution, "kms:Sign", key_arn, with_deny)
