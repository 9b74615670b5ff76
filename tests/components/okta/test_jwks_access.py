"""Who may change the key sets Okta trusts, decided by an IAM policy evaluator (Principal Mapper's
local simulation, tests/iam_eval.py) on each committed stack's planned bucket policy.

Writing a served key set is adding a key Okta accepts for the pipeline: only the deployer may,
whatever IAM policies anyone else holds. Reading is public (Okta fetches without credentials).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.okta.jwks import PUBLICATION_WRITE_ACTIONS, jwks_key
from model.naming import Naming
from tests.conftest import CommittedPlans
from tests.iam_eval import EVERYTHING, allowed, principal

POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TLS = {"aws:SecureTransport": "true"}
STACK_ACCOUNTS = {"dev": "210987654321", "prod": "987654321098"}


def bucket_policy(plan: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (policy,) = [r["inputs"] for r in plan["resources"] if r["type"] == POLICY]
    document = policy["policy"]
    parsed = document["__json__"] if isinstance(document, dict) else json.loads(document)
    return str(policy["bucket"]), dict(parsed)


def targets(bucket: str) -> list[str]:
    """The bucket itself and a key set in it."""
    return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{jwks_key('partner-feed')}"]


@pytest.mark.parametrize("stack", sorted(STACK_ACCOUNTS))
def test_only_the_deployer_changes_what_is_served(
    stack: str, committed_plans: CommittedPlans
) -> None:
    account = STACK_ACCOUNTS[stack]
    bucket, policy = bucket_policy(committed_plans[stack])
    deployer = principal(f"arn:aws:iam::{account}:role/aai-{stack}-github-deploy", EVERYTHING)
    others = [
        principal(f"arn:aws:iam::{account}:role/aai-{stack}-pipeline-partner-feed", EVERYTHING),
        principal(f"arn:aws:iam::{account}:role/aai-{stack}-mwaa-exec", EVERYTHING),
        principal(f"arn:aws:iam::{account}:role/aai-{stack}-github-preview", EVERYTHING),
        principal(f"arn:aws:iam::{account}:user/admin", EVERYTHING),
    ]
    for target in targets(bucket):
        for action in PUBLICATION_WRITE_ACTIONS:
            assert allowed(deployer, action, target, policy, account, TLS), (target, action)
            for other in others:
                assert not allowed(other, action, target, policy, account, TLS), (
                    other.arn,
                    target,
                    action,
                )
    # Reading a key set stays open to every principal, and nothing goes over plain HTTP.
    key_set = targets(bucket)[1]
    reader = principal(f"arn:aws:iam::{account}:user/admin", EVERYTHING)
    assert allowed(reader, "s3:GetObject", key_set, policy, account, TLS)
    assert not allowed(
        reader, "s3:GetObject", key_set, policy, account, {**TLS, "aws:SecureTransport": "false"}
    )


def test_without_the_denies_iam_alone_would_decide(committed_plans: CommittedPlans) -> None:
    """Guard against a vacuous evaluator: the same admin may write once the denies are gone."""
    account = STACK_ACCOUNTS["prod"]
    bucket, policy = bucket_policy(committed_plans["prod"])
    allows = {**policy, "Statement": [s for s in policy["Statement"] if s["Effect"] == "Allow"]}
    admin = principal(f"arn:aws:iam::{account}:user/admin", EVERYTHING)
    assert allowed(admin, "s3:PutObject", targets(bucket)[1], allows, account, TLS)


@pytest.mark.parametrize(
    ("prefix", "stack", "account"),
    [
        ("aai", "prod", "987654321098"),
        ("aai", "Team_A.Stage", "987654321098"),
        ("longprefix12", "a-very-long-stack-name-for-the-bucket-limit", "987654321098"),
    ],
)
def test_the_bucket_name_follows_s3_naming_rules(prefix: str, stack: str, account: str) -> None:
    """Amazon S3 User Guide, "General purpose bucket naming rules": 3-63 characters, lowercase
    letters, digits, dots and hyphens, starting and ending with a letter or digit; no dots here
    (virtual-hosted HTTPS would not match the wildcard certificate)."""
    name = Naming(prefix=prefix, stack=stack).okta_jwks_bucket(account)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name
    other = Naming(prefix=prefix, stack=stack).okta_jwks_bucket("123456789012")
    assert other != name
