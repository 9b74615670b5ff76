"""The IAM permissions the bootstrap grants: the CI roles' documents and the workload boundary
(the CI logins' Vault policies are bootstrap/vault_policies.py, KMS signing keys'
bootstrap/signing_keys.py). Pure data, no resources: bootstrap/deployer.py creates them,
tests/delivery/attacks/ attacks them.

The deploy role changes only roles that carry the boundary, never the CI roles or the boundary;
the preview role reads and decrypts state and writes nothing (a DIY-backend preview takes no
lock); CI's Vault deploy token writes the data plane only
(docs/operations.md, "Who can do what").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.airflow.mwaa import PLUGINS_KEY, REQUIREMENTS_KEY
from components.okta.jwks import JWKS_PREFIX
from model.naming import Naming

Statement = Mapping[str, Any]

# What any role the program creates may ever do (the union of the program's own role policies in
# snapshots/<stack>.plan.json; tests/delivery/attacks/test_iam.py fails if the program needs more).
# No `iam:*`, and `sts:AssumeRole` only into this stack's pipeline roles.
# fmt: off
WORKLOAD_ACTIONS = (
    "airflow:PublishMetrics", "cloudwatch:PutMetricData", "kms:Decrypt", "kms:DescribeKey",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:Sign", "logs:CreateLogGroup", "logs:CreateLogStream",
    "logs:DescribeLogGroups", "logs:GetLogEvents", "logs:GetLogGroupFields",
    "logs:GetLogRecord", "logs:GetQueryResults", "logs:PutLogEvents",
    "s3:GetAccountPublicAccessBlock", "s3:GetBucketLocation", "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketVersioning", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket",
    "secretsmanager:GetSecretValue", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
    "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage",
)
# fmt: on
WORKLOAD_SESSION_ACTIONS = ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")

# Role writes IAM can condition on the role's `iam:PermissionsBoundary` (parliament checks).
# fmt: off
ROLE_WRITES_NEEDING_BOUNDARY = (
    "iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
)
# Role writes IAM cannot condition on it: harmless on a bounded role (its power stays under the
# boundary, which nothing CI runs can remove or change).
ROLE_WRITES = (
    "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:TagRole",
    "iam:UntagRole", "iam:DeleteRole",
)
ROLE_READS = (
    "iam:GetRole", "iam:GetRolePolicy", "iam:ListRoleTags",
    "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
)
# fmt: on


def policy(*statements: Statement) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@dataclass(frozen=True, kw_only=True)
class AccountScope:
    """The names one bootstrap stack's permissions are scoped to."""

    account_id: str
    region: str
    naming: Naming
    """The main program's naming of this environment's stack: the one source of shared names."""
    managed_secret_prefixes: tuple[str, ...]
    mwaa_package_bucket: str | None = None
    """The DAG bucket of a created MWAA environment: the package's two keys are writable."""

    @property
    def base(self) -> str:
        """`<namePrefix>-<environment>`."""
        return self.naming.base

    @property
    def stack(self) -> str:
        """The program's stack this account hosts: the value of its resources' `stack` tag."""
        return self.naming.stack

    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{name}"

    @property
    def execution_role_arn(self) -> str:
        return self.role_arn(self.naming.execution_role())

    @property
    def pipeline_roles_arn(self) -> str:
        return self.role_arn(f"{self.naming.pipeline_role_prefix()}*")

    @property
    def ci_roles_arn(self) -> str:
        """The deploy, rotation and preview roles: never changed by anything CI runs."""
        return self.role_arn(f"{self.base}-github-*")

    @property
    def boundary_name(self) -> str:
        return self.naming.workload_boundary()

    @property
    def boundary_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:policy/{self.boundary_name}"

    @property
    def approved_sha_parameter(self) -> str:
        return f"/{self.base}/ci/prod-approved-sha"

    @property
    def approved_sha_parameter_arn(self) -> str:
        return f"arn:aws:ssm:{self.region}:{self.account_id}:parameter{self.approved_sha_parameter}"


def workload_boundary(scope: AccountScope) -> dict[str, Any]:
    """The permissions boundary every role the program creates must carry."""
    return policy(
        {
            "Sid": "WorkloadActions",
            "Effect": "Allow",
            "Action": list(WORKLOAD_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "AssumeOnlyThisStacksPipelineRoles",
            "Effect": "Allow",
            "Action": list(WORKLOAD_SESSION_ACTIONS),
            "Resource": scope.pipeline_roles_arn,
            "Condition": {"StringEquals": {"aws:ResourceTag/stack": scope.stack}},
        },
    )


def state_statements(
    bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str], *, write: bool
) -> list[Statement]:
    """Read (and for the deploy role write) the state bucket; use the stack's secrets key."""
    statements: list[Statement] = [
        {
            "Sid": "ListState",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadState",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": pulumi.Output.concat(bucket_arn, "/*"),
        },
    ]
    if write:  # only `up` locks a DIY-backend stack; previews run beside it (pulumi/pulumi#8642)
        statements.append(
            {
                "Sid": "WriteStateAndLocks",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": pulumi.Output.concat(bucket_arn, "/*"),
            }
        )
    statements.append(
        {
            "Sid": "UseSecretsKey",
            "Effect": "Allow",
            "Action": (
                ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
                if write
                # The secrets provider decrypts the stack's data key; SSE-KMS reads need Decrypt.
                else ["kms:Decrypt", "kms:DescribeKey"]
            ),
            "Resource": key_arn,
        }
    )
    return statements


def read_secrets(sid: str, secret_arns: Sequence[pulumi.Input[str]]) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": list(secret_arns),
    }


def guard_statements(scope: AccountScope) -> list[Statement]:
    """Explicit denies that no allow (of any policy on the role) can override."""
    return [
        {
            # The CI roles and the boundary are out of reach of everything CI runs.
            "Sid": "NeverTouchCiRolesOrTheBoundary",
            "Effect": "Deny",
            "Action": "iam:*",
            "Resource": [scope.ci_roles_arn, scope.boundary_arn],
        },
        {
            "Sid": "NeverDropABoundary",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": "*",
        },
    ]


# What the provider calls for an `aws.s3.BucketObjectv2` in a versioned bucket: upload (tags
# with it), read back, tags, and on delete every version of the key (terraform-provider-aws,
# internal/service/s3 `deleteAllObjectVersions`: ListObjectVersions with Prefix=key, then
# DeleteObject with each VersionId).
PACKAGE_OBJECT_ACTIONS = (
    "s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject",
    "s3:DeleteObjectVersion", "s3:GetObjectTagging", "s3:PutObjectTagging",
)  # fmt: skip


def package_statements(scope: AccountScope) -> list[Statement]:
    """Write exactly the MWAA package's two objects in the DAG bucket (components/airflow/mwaa)."""
    if scope.mwaa_package_bucket is None:
        return []
    bucket = f"arn:aws:s3:::{scope.mwaa_package_bucket}"
    keys = [PLUGINS_KEY, REQUIREMENTS_KEY]
    return [
        {
            "Sid": "WriteTheMwaaPackageObjects",
            "Effect": "Allow",
            "Action": list(PACKAGE_OBJECT_ACTIONS),
            "Resource": [f"{bucket}/{key}" for key in keys],
        },
        {
            "Sid": "ListTheMwaaPackageVersions",
            "Effect": "Allow",
            "Action": "s3:ListBucketVersions",
            "Resource": bucket,
            "Condition": {"StringEquals": {"s3:prefix": keys}},
        },
    ]


# What the provider calls for the Okta key-set bucket (components/okta/jwks.py): create, read
# back every bucket configuration (terraform-provider-aws, internal/service/s3 bucket read), the
# ownership, versioning, public-access and policy resources, and delete.
JWKS_BUCKET_ACTIONS = (
    "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions",
    "s3:GetBucketLocation", "s3:GetBucketTagging", "s3:PutBucketTagging", "s3:GetBucketAcl",
    "s3:GetBucketCORS", "s3:GetBucketWebsite", "s3:GetAccelerateConfiguration",
    "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
    "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls",
    "s3:PutBucketOwnershipControls", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
    "s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:GetBucketPolicy",
    "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
)  # fmt: skip


def okta_jwks_statements(scope: AccountScope) -> list[Statement]:
    """Manage exactly the stack's Okta key-set bucket and the key sets in it."""
    bucket = f"arn:aws:s3:::{scope.naming.okta_jwks_bucket(scope.account_id)}"
    return [
        {
            "Sid": "ManageTheOktaKeySetBucket",
            "Effect": "Allow",
            "Action": list(JWKS_BUCKET_ACTIONS),
            "Resource": bucket,
        },
        {
            "Sid": "PublishTheOktaKeySets",
            "Effect": "Allow",
            "Action": list(PACKAGE_OBJECT_ACTIONS),
            "Resource": f"{bucket}/{JWKS_PREFIX}/*",
        },
    ]


def program_statements(scope: AccountScope) -> list[Statement]:
    """What the main program manages in this account, scoped by name prefix where AWS can."""
    return [
        *package_statements(scope),
        *okta_jwks_statements(scope),
        *workload_role_statements(scope),
        secrets_statement(scope),
        *mwaa_statements(scope),
        secrets_key_statement(scope),
    ]


def workload_role_statements(scope: AccountScope) -> list[Statement]:
    """The execution and pipeline roles: created only with the boundary, passed only to MWAA."""
    s = scope
    workload_roles = [s.execution_role_arn, s.pipeline_roles_arn]
    return [
        {
            # iam:PermissionsBoundary: "Filters access by whether the specified policy is set as
            # a permissions boundary on the IAM entity" (IAM service authorization reference).
            "Sid": "ManageWorkloadRolesWithTheBoundary",
            "Effect": "Allow",
            "Action": list(ROLE_WRITES_NEEDING_BOUNDARY),
            "Resource": workload_roles,
            "Condition": {"StringEquals": {"iam:PermissionsBoundary": s.boundary_arn}},
        },
        {
            "Sid": "ReadAndUpdateWorkloadRoles",
            "Effect": "Allow",
            "Action": [*ROLE_WRITES, *ROLE_READS],
            "Resource": workload_roles,
        },
        {
            "Sid": "PassExecutionRoleToMwaaOnly",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": s.execution_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "airflow.amazonaws.com"}},
        },
        {
            "Sid": "CreateMwaaServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": s.role_arn("aws-service-role/airflow.amazonaws.com/*"),
            "Condition": {"StringEquals": {"iam:AWSServiceName": "airflow.amazonaws.com"}},
        },
    ]


def secrets_statement(scope: AccountScope) -> Statement:
    """The connection definitions, under the prefixes this stack writes."""
    s = scope
    return {
        "Sid": "ManageThisStacksSecrets",
        "Effect": "Allow",
        "Action": [
            "secretsmanager:CreateSecret",
            "secretsmanager:DeleteSecret",
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecret",
            "secretsmanager:RestoreSecret",
            "secretsmanager:TagResource",
            "secretsmanager:UntagResource",
            "secretsmanager:GetResourcePolicy",
            "secretsmanager:PutResourcePolicy",
            "secretsmanager:DeleteResourcePolicy",
            "secretsmanager:ListSecretVersionIds",
        ],
        "Resource": [
            f"arn:aws:secretsmanager:{s.region}:{s.account_id}:secret:{prefix.rstrip('/')}/*"
            for prefix in s.managed_secret_prefixes
        ],
    }


def mwaa_statements(scope: AccountScope) -> list[Statement]:
    """MWAA environments of this account and the network MWAA validates and attaches to."""
    s = scope
    return [
        {
            "Sid": "ManageThisAccountsMwaaEnvironments",
            "Effect": "Allow",
            "Action": [
                "airflow:CreateEnvironment",
                "airflow:UpdateEnvironment",
                "airflow:DeleteEnvironment",
                "airflow:GetEnvironment",
                "airflow:TagResource",
                "airflow:UntagResource",
                "airflow:ListTagsForResource",
            ],
            "Resource": f"arn:aws:airflow:{s.region}:{s.account_id}:environment/*",
        },
        {
            # Broad on purpose: MWAA validates the VPC, subnets and security groups with the
            # caller's Describe calls, which have no resource-level permissions.
            "Sid": "DescribeNetworkForMwaa",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeNetworkInterfaces",
            ],
            "Resource": "*",
        },
        {
            "Sid": "MwaaVpcEndpointsAndInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:CreateVpcEndpoint", "ec2:CreateNetworkInterface"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": s.region}},
        },
    ]


def secrets_key_statement(scope: AccountScope) -> Statement:
    s = scope
    return {
        # KMS keys for the connection secrets are referenced by ARN in the stack file;
        # the program only describes them and lets Secrets Manager use them.
        "Sid": "UseCustomerKeysThroughSecretsManager",
        "Effect": "Allow",
        "Action": ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": f"arn:aws:kms:{s.region}:{s.account_id}:key/*",
        "Condition": {
            "StringEquals": {"kms:ViaService": f"secretsmanager.{s.region}.amazonaws.com"}
        },
    }


def approved_sha_statement(scope: AccountScope, *, write: bool) -> Statement:
    """The record of the commit prod last approved: written by the approved deploy only."""
    return {
        "Sid": "RecordApprovedCommit" if write else "ReadApprovedCommit",
        "Effect": "Allow",
        "Action": ["ssm:PutParameter", "ssm:GetParameter"] if write else "ssm:GetParameter",
        "Resource": scope.approved_sha_parameter_arn,
    }
