"""The Airflow wiring step: secret-free connection definitions and the secrets backend's options."""

from __future__ import annotations

import pulumi

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
from model.specs import WiringArgs


def airflow_step(
    name: str,
    args: WiringArgs,
    *,
    role_arns: dict[str, pulumi.Output[str]],
    execution_role_arn: pulumi.Output[str],
    okta: OktaRuntime | None,
    opts: pulumi.ResourceOptions,
) -> AirflowConnections:
    """One connection per pipeline, carrying what the runtime needs to get its credential: the
    pipeline role (`role_arns`), the Okta app (`okta`) or the Vault login; read by the execution
    role."""
    naming = args.naming
    vault = args.vault
    runtime = RuntimeInputs(
        naming=naming,
        region=args.aws_region,
        session_seconds=args.pipeline_session_seconds,
        role_arns=role_arns,
        vault=VaultRuntime(
            url=vault.address, iam_server_id_header_value=vault.iam_server_id_header_value
        )
        if vault
        else None,
        okta=okta,
    )
    return AirflowConnections(
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
            reader_role_arn=execution_role_arn,
            deployer_role_arn=args.deployer_role_arn,
            variables_prefix=args.variables_prefix,
            config_prefix=args.config_prefix,
            vault_backend=(
                VaultBackendSpec(
                    url=vault.address,
                    auth_mount=naming.vault_airflow_auth_mount(),
                    role=naming.vault_airflow_role(),
                    kv_mount=naming.vault_kv_mount(),
                    connections_path=KV_CONNECTIONS_PATH,
                )
                if vault and args.vault_kv
                else None
            ),
        ),
        opts=opts,
    )
