"""The AWS wiring step: the stack's execution role and one role per pipeline."""

from __future__ import annotations

import pulumi

from components.aws.identity import AwsIdentity, AwsIdentityArgs, PipelineRoleSpec
from model.specs import WiringArgs


def aws_step(name: str, args: WiringArgs, opts: pulumi.ResourceOptions) -> AwsIdentity:
    naming = args.naming
    return AwsIdentity(
        f"{name}-aws",
        AwsIdentityArgs(
            stack=args.stack,
            account_id=args.aws_account_id,
            region=args.aws_region,
            mwaa_environment_name=args.mwaa_environment_name,
            source_bucket_arn=args.mwaa_source_bucket_arn,
            execution_role_name=naming.execution_role(),
            pipeline_role_prefix=naming.pipeline_role_prefix(),
            pipeline_roles=tuple(
                PipelineRoleSpec(pipeline=p.name, role_name=naming.pipeline_role(p.name))
                for p in args.pipelines
            ),
            pipeline_session_seconds=args.pipeline_session_seconds,
            # With Vault KV as the secrets backend, no connection lives in Secrets Manager.
            connections_prefix=None if args.vault_kv else args.connections_prefix,
            permissions_boundary_arn=args.workload_boundary_arn,
            secrets_kms_key_arn=args.secrets_kms_key_arn,
        ),
        opts=opts,
    )
