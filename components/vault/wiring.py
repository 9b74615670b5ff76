"""The Vault wiring step: audit devices, the Atlas database engine, AWS logins and the KV store."""

from __future__ import annotations

from typing import Any

import pulumi

from components.vault.access import (
    AtlasConnectionSpec,
    AwsLoginSpec,
    DatabaseEngineSpec,
    DatabaseRoleSpec,
    KvSpec,
    VaultAccess,
    VaultAccessArgs,
)
from model.access import AuthMode
from model.specs import VaultSpec, WiringArgs


def vault_step(
    name: str,
    args: WiringArgs,
    spec: VaultSpec,
    *,
    role_arns: dict[str, pulumi.Output[str]],
    execution_role_arn: pulumi.Output[str],
    api_keys: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]],
    custom_role_names: dict[str, pulumi.Output[str]],
    definitions: dict[str, pulumi.Output[dict[str, Any]]],
    connections_path: str,
    opts: pulumi.ResourceOptions,
) -> VaultAccess:
    """`api_keys`: Atlas project -> (public, private) key Vault manages users with;
    `custom_role_names`: each pipeline's Atlas role; `definitions`: the connection definitions
    Vault KV serves under `connections_path` when Vault is the secrets backend."""
    naming = args.naming
    dynamic = args.pipelines_of(AuthMode.VAULT_DYNAMIC)
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
            # Only vault-dynamic pipelines log in to Vault: Okta keys live in KMS, not in Vault.
            aws_logins=tuple(
                AwsLoginSpec(pipeline=p.name, role_arn=role_arns[p.name]) for p in dynamic
            ),
            database=_database_engine(args, spec, api_keys, custom_role_names),
            kv=(
                KvSpec(
                    mount=naming.vault_kv_mount(),
                    connections_path=connections_path,
                    definitions=definitions,
                    execution_role_arn=execution_role_arn,
                    airflow_auth_mount=naming.vault_airflow_auth_mount(),
                )
                if spec.secrets_backend
                else None
            ),
            protect=args.protect_stateful_resources,
        ),
        opts=opts,
    )


def _database_engine(
    args: WiringArgs,
    spec: VaultSpec,
    api_keys: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]],
    custom_role_names: dict[str, pulumi.Output[str]],
) -> DatabaseEngineSpec | None:
    dynamic = args.pipelines_of(AuthMode.VAULT_DYNAMIC)
    if not dynamic or not api_keys:
        return None
    # One Vault connection per Atlas project, each with that project's API key.
    connection = {
        project: args.naming.vault_atlas_connection(project, home=args.atlas_project_id)
        for project in api_keys
    }
    return DatabaseEngineSpec(
        mount=args.naming.vault_database_mount(),
        connections=tuple(
            AtlasConnectionSpec(
                name=connection[project],
                project_id=project,
                public_key=public,
                private_key=private,
            )
            for project, (public, private) in api_keys.items()
        ),
        default_ttl=spec.default_ttl,
        max_ttl=spec.max_ttl,
        roles=tuple(
            DatabaseRoleSpec(
                pipeline=p.name,
                custom_role=custom_role_names[p.name],
                cluster=p.cluster,
                connection=connection[args.project_of(p)],
            )
            for p in dynamic
        ),
    )
