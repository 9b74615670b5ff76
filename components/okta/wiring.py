"""The Okta wiring step: the authorization server and one service app per okta-oidc pipeline."""

from __future__ import annotations

import pulumi

from components.okta.identity import (
    OktaPipelineSpec,
    OktaWorkloadIdentity,
    OktaWorkloadIdentityArgs,
)
from model.access import AuthMode
from model.specs import WiringArgs


def okta_step(
    name: str,
    args: WiringArgs,
    *,
    role_arns: dict[str, pulumi.Output[str]],
    opts: pulumi.ResourceOptions,
) -> OktaWorkloadIdentity | None:
    """None without okta-oidc pipelines. `role_arns`: each app's keys are KMS keys only its
    pipeline role may sign with, so the roles come first."""
    okta_pipelines = args.pipelines_of(AuthMode.OKTA_OIDC)
    if not okta_pipelines or args.okta is None:
        return None
    return OktaWorkloadIdentity(
        f"{name}-okta",
        OktaWorkloadIdentityArgs(
            stack=args.stack,
            account_id=args.aws_account_id,
            server_name=args.naming.okta_auth_server(),
            audience=args.okta.audience,
            scope=args.okta.scope,
            token_lifetime_minutes=args.okta.token_lifetime_minutes,
            rotation_hours=args.okta.key_rotation_hours,
            pipelines=tuple(
                OktaPipelineSpec(
                    pipeline=p.name,
                    label=args.naming.okta_app_label(p.name),
                    signer_role_arn=role_arns[p.name],
                )
                for p in okta_pipelines
            ),
            region=args.aws_region,
            jwks_bucket=args.naming.okta_jwks_bucket(args.aws_account_id),
            deployer_role_arn=args.deployer_role_arn,
        ),
        opts=opts,
    )
