"""Okta client-assertion keys in AWS KMS: one asymmetric key per pipeline key slot.

The private half never leaves KMS: no private key exists in Pulumi state, Secrets Manager, Vault
or on the worker. The pipeline role alone may `kms:Sign` with its keys, granted from both sides:
the key policy allows the role and explicitly denies every other principal, and the role's own
policy names the exact key ARNs. The account keeps key administration (without it a key policy
can lock everyone out of the key for good) but no principal other than the pipeline role can sign.

These AWS resources belong to the Okta component because the rotation clock that replaces them
and the app JWKS built from them are Okta's; the role they grant to is passed in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

# KMS key spec and usage for ES256 (ECDSA on P-256 with SHA-256): "Asymmetric key specs",
# AWS KMS Developer Guide (ECC_NIST_P256 signs with ECDSA_SHA_256 only).
KEY_SPEC = "ECC_NIST_P256"
KEY_USAGE = "SIGN_VERIFY"
SIGNING_ALGORITHM = "ECDSA_SHA_256"
# ScheduleKeyDeletion: "If you include a value, it must be between 7 and 30, inclusive"
# (AWS KMS API Reference, ScheduleKeyDeletion, PendingWindowInDays). A retired key is unusable
# from the moment its deletion is scheduled; the minimum keeps the window an attacker could
# cancel the deletion in (with kms:CancelKeyDeletion) as short as KMS allows.
DELETION_WINDOW_DAYS = 7

# What the account may do with the key: administer it, read the public half, never sign.
# (The AWS default key policy's "key administrators" statement, spelled out action by action;
# Get*/Describe* calls are what the Pulumi provider makes when it reads the key.)
ADMINISTRATION_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:GetPublicKey",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
)


@dataclass(frozen=True, kw_only=True)
class SigningKeySlot:
    """One slot's key, as the JWKS and the connection definition see it."""

    key_arn: pulumi.Output[str]
    public_key_pem: pulumi.Output[str]


def key_policy(account_id: str, signer_role_arn: str) -> dict[str, Any]:
    """The key policy: the account administers, the pipeline role alone signs."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersAndReadsThePublicKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": list(ADMINISTRATION_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "PipelineRoleSigns",
                "Effect": "Allow",
                "Principal": {"AWS": signer_role_arn},
                "Action": "kms:Sign",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:SigningAlgorithm": SIGNING_ALGORITHM}},
            },
            {
                # An explicit deny wins over any IAM policy in the account that allows kms:*.
                "Sid": "NoOtherPrincipalSigns",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "kms:Sign",
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": signer_role_arn}},
            },
        ],
    }


def sign_policy(key_arns: list[str]) -> dict[str, Any]:
    """The pipeline role's own policy: sign with exactly these keys (both slots), nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SignOktaClientAssertions",
                "Effect": "Allow",
                "Action": "kms:Sign",
                "Resource": key_arns,
                "Condition": {"StringEquals": {"kms:SigningAlgorithm": SIGNING_ALGORITHM}},
            }
        ],
    }


def create_slot_key(
    resource_name: str,
    *,
    description: str,
    account_id: str,
    signer_role_arn: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> SigningKeySlot:
    """One slot's KMS key and its public half (read back from KMS, never generated here)."""
    key = aws.kms.Key(
        resource_name,
        description=description,
        customer_master_key_spec=KEY_SPEC,
        key_usage=KEY_USAGE,
        deletion_window_in_days=DELETION_WINDOW_DAYS,
        policy=pulumi.Output.from_input(signer_role_arn).apply(
            lambda arn: json.dumps(key_policy(account_id, arn))
        ),
        tags=tags,
        opts=opts,
    )
    public = aws.kms.get_public_key_output(
        key_id=key.arn, opts=pulumi.InvokeOutputOptions(parent=opts.parent)
    )
    return SigningKeySlot(key_arn=key.arn, public_key_pem=public.public_key_pem)


def grant_signing(
    resource_name: str,
    *,
    role_arn: pulumi.Input[str],
    key_arns: list[pulumi.Output[str]],
    opts: pulumi.ResourceOptions,
) -> aws.iam.RolePolicy:
    """The pipeline role's inline policy allowing kms:Sign with its slot keys only."""
    return aws.iam.RolePolicy(
        resource_name,
        role=pulumi.Output.from_input(role_arn).apply(lambda arn: arn.rsplit("/", 1)[1]),
        name="sign-okta-assertions",
        policy=pulumi.Output.all(*key_arns).apply(lambda arns: json.dumps(sign_policy(list(arns)))),
        opts=opts,
    )
