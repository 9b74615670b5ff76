"""Wiring: composes the per-system steps, passing Outputs from one system to the next.

Each system (components/aws, okta, atlas, airflow, vault) has its own wiring step and never
imports another system; this is the only place that knows an Atlas user is named after an IAM
role ARN, or that a connection definition carries that ARN for the runtime.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import lifting
from components.airflow.contract import KV_CONNECTIONS_PATH, OktaRuntime
from components.airflow.mwaa import stack_mwaa
from components.airflow.wiring import airflow_step
from components.atlas.wiring import atlas_step
from components.aws.wiring import aws_step
from components.okta.identity import OktaWorkloadIdentity
from components.okta.wiring import okta_step
from components.vault.wiring import vault_step
from model import access
from model.access import AuthMode
from model.specs import WiringArgs

# The access matrix's identity of an okta-oidc pipeline whose workload IdP does not exist yet.
AWAITING_WORKLOAD_IDP = "none yet: atlasWorkloadIdpId is unset (org stack)"


class Wiring(pulumi.ComponentResource):
    """The whole identity wiring of one stack: AWS, Okta, Atlas, Airflow and Vault."""

    execution_role_arn: pulumi.Output[str]
    pipeline_role_arns: dict[str, pulumi.Output[str]]
    connection_ids: dict[str, str]
    connection_secret_arns: dict[str, pulumi.Output[str]]
    connection_definitions: dict[str, pulumi.Output[dict[str, Any]]]
    airflow_configuration_options: pulumi.Output[dict[str, str]]
    access_matrix: pulumi.Output[list[dict[str, object]]]
    mwaa_environment_arn: pulumi.Output[str] | None
    mwaa_package: dict[str, Any] | None
    """What to upload to an environment the program does not create (components/airflow/mwaa.py)."""
    okta_issuer: pulumi.Output[str] | None
    okta_client_ids: dict[str, pulumi.Output[str]]
    okta_current_key_slots: dict[str, pulumi.Output[str]]
    atlas_workload_idp: pulumi.Output[dict[str, str]] | None
    """What the org stack needs to create this stack's IdP (its atlasWorkloadIdps entry)."""
    awaiting_workload_idp: tuple[str, ...]
    """okta-oidc pipelines without an Atlas user: the org stack has not created the IdP yet."""
    vault_policies: dict[str, str]

    def __init__(
        self, name: str, args: WiringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:index:Wiring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.connection_ids = {p.name: p.connection_id for p in args.pipelines}

        aws = aws_step(name, args, child)
        role_arns = aws.pipeline_role_arns
        okta = okta_step(name, args, role_arns=role_arns, opts=child)
        client_ids = okta.client_ids if okta else {}
        self._warn_awaiting_workload_idp(args, client_ids)
        atlas = atlas_step(name, args, role_arns=role_arns, oidc_client_ids=client_ids, opts=child)
        airflow = airflow_step(
            name,
            args,
            role_arns=role_arns,
            execution_role_arn=aws.execution_role_arn,
            okta=_okta_runtime(args, okta),
            opts=child,
        )
        self.vault_policies = {}
        if args.vault is not None:
            vault = vault_step(
                name,
                args,
                args.vault,
                role_arns=role_arns,
                execution_role_arn=aws.execution_role_arn,
                api_keys=atlas.vault_api_keys,
                custom_role_names=atlas.custom_role_names,
                definitions=airflow.definitions,
                connections_path=KV_CONNECTIONS_PATH,
                opts=child,
            )
            self.vault_policies = vault.policies
        self.mwaa_environment_arn, self.mwaa_package = stack_mwaa(
            name, args, aws.execution_role_arn, airflow.configuration_options, child
        )

        self.execution_role_arn = aws.execution_role_arn
        self.pipeline_role_arns = role_arns
        self.connection_secret_arns = airflow.secret_arns
        self.connection_definitions = airflow.definitions
        self.airflow_configuration_options = airflow.configuration_options
        self.access_matrix = self._access_matrix(
            args, atlas.database_usernames, atlas.custom_role_names
        )
        self.okta_issuer = okta.issuer if okta else None
        self.okta_client_ids = client_ids
        self.okta_current_key_slots = okta.current_slots if okta else {}
        self.atlas_workload_idp = _workload_idp_handoff(args, okta)
        self.register_outputs(
            {
                "executionRoleArn": self.execution_role_arn,
                "pipelineRoleArns": self.pipeline_role_arns,
                "connectionIds": self.connection_ids,
                "airflowConfigurationOptions": self.airflow_configuration_options,
                "accessMatrix": self.access_matrix,
            }
        )

    def _warn_awaiting_workload_idp(
        self, args: WiringArgs, client_ids: dict[str, pulumi.Output[str]]
    ) -> None:
        self.awaiting_workload_idp = (
            tuple(sorted(client_ids))
            if args.okta and args.okta.atlas_workload_idp_id is None
            else ()
        )
        if self.awaiting_workload_idp:
            pulumi.log.warn(
                f"no Atlas database user yet for okta-oidc {', '.join(self.awaiting_workload_idp)}"
                ": the org stack has not created this stack's workload IdP. Add the "
                "stack output atlasWorkloadIdp to the org stack's atlasWorkloadIdps, apply it, "
                "then set atlasWorkloadIdpId to its workloadIdpIds output "
                "(docs/operations.md, 'The org stack')",
                resource=self,
            )

    def _access_matrix(
        self,
        args: WiringArgs,
        usernames: dict[str, pulumi.Output[str]],
        custom_roles: dict[str, pulumi.Output[str]],
    ) -> pulumi.Output[list[dict[str, object]]]:
        # One Output.all over the matrix's user and role names (components/lifting.py).
        return lifting.resolved(
            access.access_matrix(
                args.pipelines,
                naming=args.naming,
                identities={
                    **usernames,
                    **dict.fromkeys(self.awaiting_workload_idp, AWAITING_WORKLOAD_IDP),
                },
                custom_roles=custom_roles,
                lifetimes={
                    mode: access.credential_lifetime(
                        mode,
                        session_seconds=args.pipeline_session_seconds,
                        okta_token_minutes=args.okta.token_lifetime_minutes if args.okta else None,
                        vault_max_ttl=args.vault.max_ttl if args.vault else None,
                    )
                    for mode in AuthMode
                },
            )
        )


def _okta_runtime(args: WiringArgs, okta: OktaWorkloadIdentity | None) -> OktaRuntime | None:
    """What the runtime needs to get an Okta token: the token URL, each app and its keys."""
    if okta is None or args.okta is None:
        return None
    return OktaRuntime(
        token_url=okta.token_url,
        scope=args.okta.scope,
        client_ids=okta.client_ids,
        signing_keys=okta.signing_keys,
    )


def _workload_idp_handoff(
    args: WiringArgs, okta: OktaWorkloadIdentity | None
) -> pulumi.Output[dict[str, str]] | None:
    """This stack's entry in the org stack's atlasWorkloadIdps."""
    if okta is None or args.okta is None:
        return None
    handoff = {
        "stack": args.stack,
        "name": args.naming.atlas_workload_idp(),
        "audience": args.okta.audience,
    }
    return okta.issuer.apply(lambda issuer: {**handoff, "issuerUri": issuer})
