"""The Okta apps' public keys, served at a URL Okta fetches (`jwks_uri`), not inline in the app.

Why not the app's inline `jwks` block: the pinned provider (pulumi-okta 7.0.1, bridging
okta/terraform-provider-okta 6.x) declares JWK members `kid, kty, e, n, x, y` only, and its
`buildAppOAuthV6` (okta/services/idaas/resource_okta_app_oauth.go) sends an EC key as
`{kid, kty, x, y, status}`, without `crv` (RFC 7518 §6.2.1.1: required) and without `use`. Every
rotation would rewrite that block with a full app update (`ReplaceApplication`), the request
upstream reports losing `use` on `private_key_jwt` apps (okta/terraform-provider-okta#2840). With
`jwks_uri` the app never changes after creation: rotation rewrites a document in S3 that this
module renders completely (`kty, crv, x, y, kid, use, alg`).

Where it is served, and who can change it: a bucket of this stack
(`Naming.okta_jwks_bucket`), one object per pipeline, readable by anyone over HTTPS (public keys
only; Okta fetches them without credentials) and writable by the deployer alone: the bucket
policy denies every other principal object writes and policy or public-access changes. Whoever
can write that object can add a key and sign as the pipeline, the same power as changing the app
through Okta's API, which the deployer already holds. Versioning keeps every published key set.
A wrong deployer ARN cannot lock the bucket for good: the account's root user can always replace
or delete a bucket policy (Amazon S3 API Reference, DeleteBucketPolicy). Account-level S3 Block
Public Access must leave public bucket policies allowed for this bucket to be readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

JWKS_PREFIX = "jwks"
JWKS_CONTENT_TYPE = "application/json"
# Okta and any cache between must ask again before reusing a key set: a rotation publishes the
# new key only one deploy step before the runtime signs with it (RFC 9111 §5.2.2.4, no-cache).
JWKS_CACHE_CONTROL = "no-cache"
# S3 actions that change what the bucket serves or who may change it (Service Authorization
# Reference, "Actions defined by Amazon S3"); denied to every principal but the deployer.
PUBLICATION_WRITE_ACTIONS: tuple[str, ...] = (
    "s3:DeleteBucketPolicy",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketVersioning",
    "s3:PutObject",
)


def jwks_key(pipeline: str) -> str:
    return f"{JWKS_PREFIX}/{pipeline}.json"


def jwks_url(*, bucket: str, region: str, pipeline: str) -> str:
    """The object's virtual-hosted HTTPS URL (Amazon S3 User Guide, "Virtual-hosted-style
    requests": `https://<bucket>.s3.<region>.amazonaws.com/<key>`, `.amazonaws.com.cn` in China)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{region}.{suffix}/{jwks_key(pipeline)}"


def jwks_document(keys: Sequence[Mapping[str, str]], *, alg: str) -> str:
    """The JWK Set (RFC 7517 §5) Okta verifies client assertions with: every member of each
    public key, `use: sig` (RFC 7517 §4.2) and the one algorithm the runtime signs with."""
    return json.dumps(
        {"keys": [{**key, "use": "sig", "alg": alg} for key in keys]}, indent=2, sort_keys=True
    )


def publication_policy(*, bucket: str, deployer: str) -> dict[str, Any]:
    """Anyone reads the key sets over TLS; only the deployer changes them or this policy."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AnyoneReadsTheKeySets",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{JWKS_PREFIX}/*",
            },
            {
                "Sid": "OnlyOverTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "OnlyTheDeployerPublishes",
                "Effect": "Deny",
                "Principal": "*",
                "Action": list(PUBLICATION_WRITE_ACTIONS),
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": deployer}},
            },
        ],
    }


@dataclass(frozen=True, kw_only=True)
class JwksPublicationArgs:
    stack: str
    bucket: str
    region: str
    deployer_role_arn: str
    tags: Mapping[str, str]


class JwksPublication:
    """The bucket and its settings; `publish` adds one pipeline's key set. Its resources are
    children of the Okta component (passed as `parent`)."""

    def __init__(self, name: str, args: JwksPublicationArgs, *, parent: pulumi.Resource) -> None:
        self._name = name
        self._args = args
        self._parent = parent
        child = pulumi.ResourceOptions(parent=parent)
        self.bucket = aws.s3.Bucket(
            f"{name}-jwks", bucket=args.bucket, tags={**args.tags, "stack": args.stack}, opts=child
        )
        # ACLs off: access is decided by the bucket policy alone.
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-jwks-ownership",
            bucket=self.bucket.bucket,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{name}-jwks-versioning",
            bucket=self.bucket.bucket,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        # Public ACLs stay blocked; the public-read policy must be allowed for Okta to fetch.
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-jwks-public-access",
            bucket=self.bucket.bucket,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=False,
            restrict_public_buckets=False,
            opts=child,
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-jwks-policy",
            bucket=self.bucket.bucket,
            policy=json.dumps(
                publication_policy(bucket=args.bucket, deployer=args.deployer_role_arn)
            ),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_access, ownership]),
        )

    def url(self, pipeline: str) -> str:
        return jwks_url(bucket=self._args.bucket, region=self._args.region, pipeline=pipeline)

    def publish(self, pipeline: str, document: pulumi.Input[str]) -> aws.s3.BucketObjectv2:
        """The pipeline's key set at `url(pipeline)`, served once the policy is in place."""
        return aws.s3.BucketObjectv2(
            f"{self._name}-{pipeline}-jwks",
            bucket=self.bucket.bucket,
            key=jwks_key(pipeline),
            content=document,
            content_type=JWKS_CONTENT_TYPE,
            cache_control=JWKS_CACHE_CONTROL,
            tags={**self._args.tags, "stack": self._args.stack, "pipeline": pipeline},
            opts=pulumi.ResourceOptions(parent=self._parent, depends_on=[self.policy]),
        )
