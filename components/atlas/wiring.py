"""The Atlas wiring step: custom roles, database users, auditing and Vault's API keys."""

from __future__ import annotations

import pulumi

from components.atlas.access import (
    AtlasAccess,
    AtlasAccessArgs,
    AtlasPipelineSpec,
    VaultApiKeySpec,
)
from components.atlas.audit_filter import iam_role_pattern
from model.access import AuthMode, privileges
from model.specs import WiringArgs


def atlas_step(
    name: str,
    args: WiringArgs,
    *,
    role_arns: dict[str, pulumi.Output[str]],
    oidc_client_ids: dict[str, pulumi.Output[str]],
    opts: pulumi.ResourceOptions,
) -> AtlasAccess:
    """`role_arns` name the aws-iam users; `oidc_client_ids` the okta-oidc users (a pipeline
    without one gets no user yet)."""
    naming = args.naming
    vault = args.vault
    return AtlasAccess(
        f"{name}-atlas",
        AtlasAccessArgs(
            stack=args.stack,
            project_id=args.atlas_project_id,
            pipelines=tuple(
                AtlasPipelineSpec(
                    pipeline=p.name,
                    role_name=naming.atlas_role(p.name),
                    privileges=privileges(p),
                    cluster=p.cluster,
                    project_id=args.project_of(p),
                    vault_dynamic=p.auth_mode is AuthMode.VAULT_DYNAMIC,
                    iam_role_arn=role_arns[p.name] if p.auth_mode is AuthMode.AWS_IAM else None,
                    oidc_client_id=oidc_client_ids.get(p.name),
                )
                for p in args.pipelines
            ),
            audit_authorization_success=args.audit_authorization_success,
            pipeline_role_pattern=iam_role_pattern(
                args.aws_account_id, naming.pipeline_role_prefix()
            ),
            protect_auditing=args.protect_stateful_resources,
            workload_idp_id=args.okta.atlas_workload_idp_id if args.okta else None,
            vault_api_key=(
                VaultApiKeySpec(
                    org_id=vault.atlas_org_id,
                    access_list=vault.api_key_access_list,
                    rotation_days=vault.api_key_rotation_days,
                )
                if vault and args.pipelines_of(AuthMode.VAULT_DYNAMIC)
                else None
            ),
            other_project_ids=tuple(sorted(set(args.cluster_projects.values()))),
        ),
        opts=opts,
    )
