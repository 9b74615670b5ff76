"""Wiring: composes the per-system components, passing Outputs from one system to the next.

Systems never import each other; this is the only place that knows an Atlas user is named after
an IAM role ARN, or that a connection definition carries that ARN for the runtime.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import lifting
from components.airflow.connections import (
    AirflowConnections,
    AirflowConnectionsArgs,
    VaultBackendSpec,
)
from components.airflow.contract import (
    KV_CONNECTIONS_PATH,
    ConnectionSpec,
    OktaRuntime,
    RuntimeInputs,
    VaultRuntime,
    runtime_extra,
)
from components.airflow.mwaa import stack_mwaa
from components.atlas.access import (
    AtlasAccess,
    AtlasAccessArgs,
    AtlasPipelineSpec,
    VaultApiKeySpec,
)
from components.atlas.audit_filter import iam_role_pattern
from components.aws.identity import AwsIdentity, AwsIdentityArgs, PipelineRoleSpec
from components.okta.identity import (
    OktaPipelineSpec,
    OktaWorkloadIdentity,
    OktaWorkloadIdentityArgs,
)
from components.vault.access import (
    AtlasConnectionSpec,
    AwsLoginSpec,
    DatabaseEngineSpec,
    DatabaseRoleSpec,
    KvSpec,
    VaultAccess,
    VaultAccessArgs,
)
from model import access
from model.access import AuthMode, privileges
from model.specs import VaultSpec, WiringArgs

# The access matrix's identity of an okta-oidc pipeline whose workload IdP does not exist yet.
AWAITING_WORKLOAD_IDP = "none yet: atlasWorkloadIdpId is unset (org stack)"


class Wiring(pulumi.ComponentResource):
    """The whole identity wiring of one stack: AWS, Atlas and Airflow."""

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
        naming = args.naming
        self.connection_ids = {p.name: p.connection_id for p in args.pipelines}

        vault_kv = args.vault_kv
        dynamic = args.pipelines_of(AuthMode.VAULT_DYNAMIC)

        aws_identity = AwsIdentity(
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
                    PipelineRoleSpec(
                        pipeline=p.name,
                        role_name=naming.pipeline_role(p.name),
                    )
                    for p in args.pipelines
                ),
                pipeline_session_seconds=args.pipeline_session_seconds,
                connections_prefix=None if vault_kv else args.connections_prefix,
                permissions_boundary_arn=args.workload_boundary_arn,
                secrets_kms_key_arn=args.secrets_kms_key_arn,
            ),
            opts=child,
        )
        role_arns = aws_identity.pipeline_role_arns
        # Okta keys are KMS keys only the pipeline role may sign with: the roles come first.
        okta_identity = self._okta(name, args, role_arns, child)
        client_ids = okta_identity.client_ids if okta_identity else {}
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

        atlas_access = AtlasAccess(
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
                        oidc_client_id=client_ids.get(p.name),
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
                        org_id=args.vault.atlas_org_id,
                        access_list=args.vault.api_key_access_list,
                        rotation_days=args.vault.api_key_rotation_days,
                    )
                    if args.vault and dynamic
                    else None
                ),
                other_project_ids=tuple(sorted(set(args.cluster_projects.values()))),
            ),
            opts=child,
        )

        runtime = RuntimeInputs(
            naming=naming,
            region=args.aws_region,
            session_seconds=args.pipeline_session_seconds,
            role_arns=role_arns,
            vault=VaultRuntime(
                url=args.vault.address,
                iam_server_id_header_value=args.vault.iam_server_id_header_value,
            )
            if args.vault
            else None,
            okta=OktaRuntime(
                token_url=okta_identity.token_url,
                scope=args.okta.scope,
                client_ids=okta_identity.client_ids,
                signing_keys=okta_identity.signing_keys,
            )
            if okta_identity and args.okta
            else None,
        )
        airflow = AirflowConnections(
            f"{name}-airflow",
            AirflowConnectionsArgs(
                stack=args.stack,
                region=args.aws_region,
                connections_prefix=args.connections_prefix,
                connections=tuple(
                    ConnectionSpec(
                        connection_id=p.connection_id,
                        pipeline=p.name,
                        auth_mode=p.auth_mode,
                        host=args.cluster_hosts[p.cluster],
                        schema=p.default_database,
                        runtime=runtime_extra(p, runtime),
                    )
                    for p in args.pipelines
                ),
                kms_key_arn=args.secrets_kms_key_arn,
                reader_role_arn=aws_identity.execution_role_arn,
                deployer_role_arn=args.deployer_role_arn,
                variables_prefix=args.variables_prefix,
                config_prefix=args.config_prefix,
                vault_backend=(
                    VaultBackendSpec(
                        url=args.vault.address,
                        auth_mount=naming.vault_airflow_auth_mount(),
                        role=naming.vault_airflow_role(),
                        kv_mount=naming.vault_kv_mount(),
                        connections_path=KV_CONNECTIONS_PATH,
                    )
                    if args.vault and vault_kv
                    else None
                ),
            ),
            opts=child,
        )

        self.vault_policies = {}
        if args.vault is not None:
            vault_access = self._vault(
                name, args, args.vault, aws_identity, atlas_access, airflow, child
            )
            self.vault_policies = vault_access.policies

        self.mwaa_environment_arn, self.mwaa_package = stack_mwaa(
            name, args, aws_identity.execution_role_arn, airflow.configuration_options, child
        )

        self.execution_role_arn = aws_identity.execution_role_arn
        self.pipeline_role_arns = role_arns
        self.connection_secret_arns = airflow.secret_arns
        self.connection_definitions = airflow.definitions
        self.airflow_configuration_options = airflow.configuration_options
        # One Output.all over the matrix's user and role names (components/lifting.py).
        self.access_matrix = lifting.resolved(
            access.access_matrix(
                args.pipelines,
                naming=naming,
                identities={
                    **atlas_access.database_usernames,
                    **dict.fromkeys(self.awaiting_workload_idp, AWAITING_WORKLOAD_IDP),
                },
                custom_roles=atlas_access.custom_role_names,
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
        self.okta_issuer = okta_identity.issuer if okta_identity else None
        self.okta_client_ids = client_ids
        self.okta_current_key_slots = okta_identity.current_slots if okta_identity else {}
        self.atlas_workload_idp = None
        if okta_identity is not None and args.okta is not None:
            handoff = {
                "stack": args.stack,
                "name": naming.atlas_workload_idp(),
                "audience": args.okta.audience,
            }
            self.atlas_workload_idp = okta_identity.issuer.apply(
                lambda issuer: {**handoff, "issuerUri": issuer}
            )
        self.register_outputs(
            {
                "executionRoleArn": self.execution_role_arn,
                "pipelineRoleArns": self.pipeline_role_arns,
                "connectionIds": self.connection_ids,
                "airflowConfigurationOptions": self.airflow_configuration_options,
                "accessMatrix": self.access_matrix,
            }
        )

    @staticmethod
    def _vault(
        name: str,
        args: WiringArgs,
        spec: VaultSpec,
        aws_identity: AwsIdentity,
        atlas_access: AtlasAccess,
        airflow: AirflowConnections,
        opts: pulumi.ResourceOptions,
    ) -> VaultAccess:
        naming = args.naming
        dynamic = args.pipelines_of(AuthMode.VAULT_DYNAMIC)
        role_arns = aws_identity.pipeline_role_arns
        database = None
        keys = atlas_access.vault_api_keys
        if dynamic and keys:
            # One Vault connection per Atlas project, each with that project's API key.
            connection = {
                project: naming.vault_atlas_connection(project, home=args.atlas_project_id)
                for project in keys
            }
            database = DatabaseEngineSpec(
                mount=naming.vault_database_mount(),
                connections=tuple(
                    AtlasConnectionSpec(
                        name=connection[project],
                        project_id=project,
                        public_key=public,
                        private_key=private,
                    )
                    for project, (public, private) in keys.items()
                ),
                default_ttl=spec.default_ttl,
                max_ttl=spec.max_ttl,
                roles=tuple(
                    DatabaseRoleSpec(
                        pipeline=p.name,
                        custom_role=atlas_access.custom_role_names[p.name],
                        cluster=p.cluster,
                        connection=connection[args.project_of(p)],
                    )
                    for p in dynamic
                ),
            )
        # Only vault-dynamic pipelines log in to Vault: Okta keys live in KMS, not in Vault.
        aws_login_pipelines = dynamic
        return VaultAccess(
            f"{name}-vault",
            VaultAccessArgs(
                stack=args.stack,
                naming=naming,
                audit_devices=spec.audit_devices,
                aws_auth_mount=naming.vault_aws_auth_mount(),
                iam_server_id_header_value=spec.iam_server_id_header_value,
                sts_region=args.aws_region,
                token_ttl=spec.max_ttl,
                aws_logins=tuple(
                    AwsLoginSpec(pipeline=p.name, role_arn=role_arns[p.name])
                    for p in aws_login_pipelines
                ),
                database=database,
                kv=(
                    KvSpec(
                        mount=naming.vault_kv_mount(),
                        connections_path=KV_CONNECTIONS_PATH,
                        definitions=airflow.definitions,
                        execution_role_arn=aws_identity.execution_role_arn,
                        airflow_auth_mount=naming.vault_airflow_auth_mount(),
                    )
                    if spec.secrets_backend
                    else None
                ),
                protect=args.protect_stateful_resources,
            ),
            opts=opts,
        )

    @staticmethod
    def _okta(
        name: str,
        args: WiringArgs,
        role_arns: dict[str, pulumi.Output[str]],
        opts: pulumi.ResourceOptions,
    ) -> OktaWorkloadIdentity | None:
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
            ),
            opts=opts,
        )
