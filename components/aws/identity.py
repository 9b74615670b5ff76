"""AWS identities: the MWAA execution role and one role per pipeline.

The execution role is what every Airflow task runs as. It may only do what MWAA itself needs,
read this stack's connection definitions, and assume this stack's pipeline roles. Each pipeline
role can be assumed by the execution role alone and is an identity that Atlas (MONGODB-AWS) and
Vault (AWS IAM auth) recognise, not a way into other AWS services: its only permission, for an
okta-oidc pipeline, is signing with its own Okta keys in KMS (granted by
components/okta/signing_keys.py).

The execution role's policy has the same size for 1 or 1,000 pipelines (IAM allows 10,240
characters of inline policy per role): it names this stack's pipeline roles and connection
definitions by their name prefix and this stack's `stack` tag, not one ARN each
(tests/components/aws/test_execution_policy_scope.py proves the two are the same set of resources).
Not an IAM path instead: MONGODB-AWS matches the caller's STS identity, and an assumed-role ARN
(`arn:aws:sts::<account>:assumed-role/<name>/<session>`) carries no path, so Atlas users stay
registered path-less and a path would scope nothing Atlas can see.
Every role carries the bootstrap's workload permissions boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import lifting

# Session tags the runtime sets when it assumes a pipeline role, so CloudTrail shows the DAG run;
# the trust policy requires all of them and a source identity (runtime/src/atlas_identity/aws.py).
SESSION_TAG_KEYS: tuple[str, ...] = ("dag_id", "task_id", "run_id")
# Tags that make a role or secret this stack's: the policies below match them.
STACK_TAG = "stack"
PIPELINE_TAG = "pipeline"
IAM_MIN_MAX_SESSION_SECONDS = 3600
MWAA_SERVICE_PRINCIPALS: tuple[str, ...] = ("airflow.amazonaws.com", "airflow-env.amazonaws.com")


@dataclass(frozen=True, kw_only=True)
class PipelineRoleSpec:
    """One pipeline's IAM role."""

    pipeline: str
    """Pipeline name, used in the child resource name and the `pipeline` tag."""
    role_name: str
    """Physical role name, already sized to IAM's 64-character limit."""


@dataclass(frozen=True, kw_only=True)
class AwsIdentityArgs:
    stack: str
    """Stack name, for tags and descriptions."""
    account_id: str
    """Account of the MWAA environment; used in ARNs and confused-deputy conditions."""
    region: str
    mwaa_environment_name: str
    source_bucket_arn: str
    """The MWAA DAG bucket: the only bucket the execution role may read."""
    execution_role_name: str
    pipeline_role_prefix: str
    """What every pipeline role name starts with (model/naming.py)."""
    pipeline_roles: tuple[PipelineRoleSpec, ...]
    pipeline_session_seconds: int
    """Session length the runtime requests (900..43200); the role allows at least 3600."""
    connections_prefix: str | None
    """Secrets Manager prefix of this stack's connection definitions; None when Vault holds
    them. Only secrets under it that carry this stack's tag and a pipeline tag are readable."""
    permissions_boundary_arn: str
    """The bootstrap's workload boundary: its deploy role creates roles only with it."""
    secrets_kms_key_arn: str | None = None
    """Customer key of those secrets; None when they use the AWS-managed key."""
    tags: Mapping[str, str] = field(default_factory=dict)


def _policy(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _json_document(document: Any) -> pulumi.Output[str]:
    """`pulumi.Output.json_dumps(document)`, with the document's few Outputs resolved together
    (IAM documents cost ~2 s of a 1000-pipeline plan lifted leaf by leaf)."""
    return lifting.json_text(document)


class AwsIdentity(pulumi.ComponentResource):
    """The MWAA execution role, its least-privilege policy, and one role per pipeline."""

    execution_role_arn: pulumi.Output[str]
    pipeline_role_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: AwsIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:aws:AwsIdentity", name, None, opts)
        self._name = name
        self._args = args
        execution_role = self._create_execution_role()
        self.execution_role_arn = execution_role.arn
        self.pipeline_role_arns = {}
        for spec in args.pipeline_roles:
            role = self._create_pipeline_role(spec, execution_role)
            self.pipeline_role_arns[spec.pipeline] = role.arn
        self._create_execution_policy(execution_role)
        self.register_outputs(
            {
                "executionRoleArn": self.execution_role_arn,
                "pipelineRoleArns": self.pipeline_role_arns,
            }
        )

    @property
    def environment_arn(self) -> str:
        a = self._args
        return f"arn:aws:airflow:{a.region}:{a.account_id}:environment/{a.mwaa_environment_name}"

    def _create_execution_role(self) -> aws.iam.Role:
        a = self._args
        trust = _policy(
            {
                "Sid": "MwaaServiceAssumesForThisEnvironmentOnly",
                "Effect": "Allow",
                "Principal": {"Service": list(MWAA_SERVICE_PRINCIPALS)},
                "Action": "sts:AssumeRole",
                # Confused-deputy guard: only MWAA acting for this account and environment.
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": a.account_id},
                    "ArnLike": {"aws:SourceArn": self.environment_arn},
                },
            }
        )
        return aws.iam.Role(
            f"{self._name}-execution-role",
            name=a.execution_role_name,
            description=f"MWAA execution role of {a.mwaa_environment_name} ({a.stack})",
            assume_role_policy=_json_document(trust),
            max_session_duration=3600,
            permissions_boundary=a.permissions_boundary_arn,
            tags={**a.tags, STACK_TAG: a.stack, "purpose": "mwaa-execution"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_pipeline_role(
        self, spec: PipelineRoleSpec, execution_role: aws.iam.Role
    ) -> aws.iam.Role:
        a = self._args
        trust = pipeline_trust_policy(execution_role.arn)
        return aws.iam.Role(
            f"{self._name}-{spec.pipeline}-role",
            name=spec.role_name,
            # Path-less on purpose: Atlas matches the assumed-role ARN, which drops the path.
            path="/",
            description=f"Identity of pipeline {spec.pipeline} ({a.stack}); holds no permissions",
            assume_role_policy=_json_document(trust),
            # IAM accepts 3600..43200 here; the runtime requests the (possibly shorter) session
            # length from the connection definition, down to STS' 900-second minimum.
            max_session_duration=max(IAM_MIN_MAX_SESSION_SECONDS, a.pipeline_session_seconds),
            permissions_boundary=a.permissions_boundary_arn,
            tags={**a.tags, STACK_TAG: a.stack, PIPELINE_TAG: spec.pipeline},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _decrypt_via_secrets_manager(self) -> Mapping[str, Any]:
        a = self._args
        return {
            "Sid": "DecryptThroughSecretsManagerOnly",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": a.secrets_kms_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"secretsmanager.{a.region}.amazonaws.com"}
            },
        }

    def _create_execution_policy(self, execution_role: aws.iam.Role) -> aws.iam.RolePolicy:
        return aws.iam.RolePolicy(
            f"{self._name}-execution-policy",
            role=execution_role.id,
            name="least-privilege",
            policy=_json_document(_policy(*self._execution_statements())),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _execution_statements(self) -> Sequence[Mapping[str, Any]]:
        return [*self._mwaa_service_statements(), *self._pipeline_statements()]

    def _mwaa_service_statements(self) -> list[Mapping[str, Any]]:
        """What MWAA itself needs of its execution role: its environment's DAGs, logs and
        metrics, then its workers' Celery queue."""
        return [*self._mwaa_environment_statements(), *self._mwaa_worker_statements()]

    def _mwaa_environment_statements(self) -> list[Mapping[str, Any]]:
        a = self._args
        region, account = a.region, a.account_id
        return [
            {
                "Sid": "PublishEnvironmentMetrics",
                "Effect": "Allow",
                "Action": "airflow:PublishMetrics",
                "Resource": self.environment_arn,
            },
            {
                "Sid": "ReadDagBucket",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:GetBucketLocation",
                    "s3:GetBucketVersioning",
                    "s3:GetBucketPublicAccessBlock",
                    "s3:ListBucket",
                ],
                "Resource": [a.source_bucket_arn, f"{a.source_bucket_arn}/*"],
            },
            {
                # MWAA checks the account's public access block; the action has no resource type.
                "Sid": "CheckAccountPublicAccessBlock",
                "Effect": "Allow",
                "Action": "s3:GetAccountPublicAccessBlock",
                "Resource": "*",
            },
            {
                "Sid": "WriteEnvironmentLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                "Resource": (
                    f"arn:aws:logs:{region}:{account}:log-group:airflow-{a.mwaa_environment_name}-*"
                ),
            },
            {
                # DescribeLogGroups has no resource-level permissions.
                "Sid": "FindLogGroups",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": "*",
            },
        ]

    def _mwaa_worker_statements(self) -> list[Mapping[str, Any]]:
        region, account = self._args.region, self._args.account_id
        return [
            {
                "Sid": "PublishMwaaMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}},
            },
            {
                # The Celery queue lives in an AWS-owned account, hence the account wildcard.
                "Sid": "UseCeleryQueue",
                "Effect": "Allow",
                "Action": [
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                "Resource": f"arn:aws:sqs:{region}:*:airflow-celery-*",
            },
            {
                "Sid": "UseQueueEncryptionThroughSqsOnly",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
                "NotResource": f"arn:aws:kms:*:{account}:key/*",
                "Condition": {"StringLike": {"kms:ViaService": [f"sqs.{region}.amazonaws.com"]}},
            },
        ]

    def _pipeline_statements(self) -> list[Mapping[str, Any]]:
        """What this stack's pipelines need: their connection definitions and their roles."""
        a = self._args
        region, account = a.region, a.account_id
        statements: list[Mapping[str, Any]] = []
        reads_secrets = a.connections_prefix is not None and bool(a.pipeline_roles)
        if reads_secrets:  # not when Vault is Airflow's secrets backend
            statements.append(
                {
                    "Sid": "ReadThisStacksConnectionDefinitions",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": f"arn:aws:secretsmanager:{region}:{account}:secret:"
                    f"{a.connections_prefix}/*",
                    # GetSecretValue supports aws:ResourceTag on the `Secret` resource type
                    # (Service Authorization Reference, AWS Secrets Manager).
                    "Condition": this_stacks_pipeline_resources(a.stack),
                }
            )
        if a.secrets_kms_key_arn and reads_secrets:
            statements.append(self._decrypt_via_secrets_manager())
        if a.pipeline_roles:
            statements.append(
                {
                    "Sid": "AssumeThisStacksPipelineRoles",
                    "Effect": "Allow",
                    "Action": list(PIPELINE_SESSION_ACTIONS),
                    "Resource": f"arn:aws:iam::{account}:role/{a.pipeline_role_prefix}*",
                    # The `role` resource type of STS carries aws:ResourceTag (Service
                    # Authorization Reference, AWS Security Token Service).
                    "Condition": this_stacks_pipeline_resources(a.stack),
                }
            )
        return statements


# What the execution role may do with a pipeline role: assume it, tag the session with the DAG
# run, and set the source identity the trust policy requires.
PIPELINE_SESSION_ACTIONS: tuple[str, ...] = (
    "sts:AssumeRole",
    "sts:SetSourceIdentity",
    "sts:TagSession",
)


def this_stacks_pipeline_resources(stack: str) -> dict[str, Any]:
    """Condition: the resource carries this stack's `stack` tag and some `pipeline` tag."""
    return {
        "StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack},
        "Null": {f"aws:ResourceTag/{PIPELINE_TAG}": "false"},
    }


def pipeline_trust_policy(execution_role_arn: Any) -> dict[str, Any]:
    """Who may assume a pipeline role: the execution role, and only with the DAG run attached.

    STS puts `sts:SourceIdentity` and `aws:RequestTag/<key>` in the request context when the
    caller passes them (Service Authorization Reference, STS: condition keys of AssumeRole); the
    `Null: false` conditions refuse a request without them. A source identity, once set, stays
    on every session chained from this one and cannot be changed (IAM User Guide, "Monitor and
    control actions taken with assumed roles").
    """
    run_tags_present = {f"aws:RequestTag/{key}": "false" for key in SESSION_TAG_KEYS}
    return _policy(
        {
            "Sid": "ExecutionRoleAssumesForADagRun",
            "Effect": "Allow",
            "Principal": {"AWS": execution_role_arn},
            "Action": "sts:AssumeRole",
            "Condition": {"Null": {"sts:SourceIdentity": "false", **run_tags_present}},
        },
        {
            "Sid": "ExecutionRoleTagsSessionWithDagRun",
            "Effect": "Allow",
            "Principal": {"AWS": execution_role_arn},
            "Action": "sts:TagSession",
            "Condition": {
                "ForAllValues:StringEquals": {"aws:TagKeys": list(SESSION_TAG_KEYS)},
                "Null": run_tags_present,
            },
        },
        {
            "Sid": "ExecutionRoleSetsSourceIdentity",
            "Effect": "Allow",
            "Principal": {"AWS": execution_role_arn},
            "Action": "sts:SetSourceIdentity",
            "Condition": {"Null": {"sts:SourceIdentity": "false"}},
        },
    )
