"""The deploy role's KMS permissions: this stack's Okta signing keys
(components/okta/signing_keys.py) and none other, never a change to the Pulumi state secrets key.

Attacked in tests/delivery/attacks/test_kms.py.
"""

from __future__ import annotations

import pulumi

from bootstrap.permissions import AccountScope, Statement
from components.okta.signing_keys import ADMINISTRATION_ACTIONS, KEY_SPEC, KEY_USAGE

# KMS actions on the Okta signing keys (components/okta/signing_keys.py) besides tagging, which is
# conditioned on request tags instead.
SIGNING_KEY_ADMINISTRATION = tuple(
    a for a in ADMINISTRATION_ACTIONS if a not in ("kms:TagResource", "kms:UntagResource")
)
SIGNING_KEY_TAG_KEYS = ("stack", "pipeline", "slot")
# What the deploy role does with the Pulumi secrets key; everything else on it is denied.
STATE_KEY_USE = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")


def state_key_guard(key_arn: pulumi.Input[str]) -> Statement:
    """Nothing CI runs may change the state secrets key (its policy, state, tags, grants)."""
    return {
        "Sid": "NeverChangeTheStateSecretsKey",
        "Effect": "Deny",
        "NotAction": list(STATE_KEY_USE),
        "Resource": key_arn,
    }


def signing_key_statements(scope: AccountScope) -> list[Statement]:
    """Create and administer this stack's Okta signing keys, and only those.

    Keys have no name in their ARN: they are this stack's by the `stack` tag it sets at creation
    (aws:RequestTag) and finds later (aws:ResourceTag), and by their key spec and usage, which
    no other key of the account that CI could tag shares unless it is also an ES256 signing key
    (kms:KeySpec/kms:KeyUsage are condition keys of the `key` resource type; Service
    Authorization Reference, "Actions, resources, and condition keys for AWS KMS").
    """
    s = scope
    keys = f"arn:aws:kms:{s.region}:{s.account_id}:key/*"
    signing = {"kms:KeySpec": KEY_SPEC, "kms:KeyUsage": KEY_USAGE}
    return [
        {
            "Sid": "CreateThisStacksSigningKeys",
            "Effect": "Allow",
            "Action": "kms:CreateKey",
            "Resource": "*",
            "Condition": {
                "StringEquals": {**signing, "aws:RequestTag/stack": s.stack},
                "ForAllValues:StringEquals": {"aws:TagKeys": list(SIGNING_KEY_TAG_KEYS)},
            },
        },
        {
            # "To add tags while creating a KMS key, the principal must have permission in an IAM
            # policy that isn't restricted to particular KMS keys" (KMS Developer Guide,
            # "Controlling access to tags"): every key of the region, with this stack's tag only.
            "Sid": "TagThisStacksSigningKeys",
            "Effect": "Allow",
            "Action": "kms:TagResource",
            "Resource": keys,
            "Condition": {
                "StringEquals": {**signing, "aws:RequestTag/stack": s.stack},
                "ForAllValues:StringEquals": {"aws:TagKeys": list(SIGNING_KEY_TAG_KEYS)},
            },
        },
        {
            "Sid": "AdministerThisStacksSigningKeys",
            "Effect": "Allow",
            "Action": list(SIGNING_KEY_ADMINISTRATION),
            "Resource": keys,
            "Condition": {"StringEquals": {**signing, "aws:ResourceTag/stack": s.stack}},
        },
        {
            # The stack tag is what scopes the keys: it is never removed.
            "Sid": "UntagThisStacksSigningKeysButNeverTheStackTag",
            "Effect": "Allow",
            "Action": "kms:UntagResource",
            "Resource": keys,
            "Condition": {
                "StringEquals": {**signing, "aws:ResourceTag/stack": s.stack},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["pipeline", "slot"]},
            },
        },
        {
            "Sid": "NeverBypassTheKeyPolicyLockoutCheck",
            "Effect": "Deny",
            "Action": ["kms:CreateKey", "kms:PutKeyPolicy"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}},
        },
    ]
