"""The connection contract (docs/connection-contract.md): what the program writes for the runtime.

One secret-free connection definition per pipeline: id `mongo_<pipeline>`, `conn_type` `mongo`,
the SRV host, the default database, extras that the stock `MongoHook` accepts, and under
`RUNTIME_EXTRA_KEY` what the runtime hook needs to obtain short-lived credentials for its auth
mode. Never a password, key or token. Pure: values may be Pulumi Outputs, no resource is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from model.access import AuthMode, Pipeline
from model.naming import Naming

# The runtime hook pops this extra before handing the rest to MongoClient.
RUNTIME_EXTRA_KEY = "atlas_identity"
# 2: okta-oidc signs with a KMS key (`signing_key`) instead of reading a private key.
CONTRACT_VERSION = 2
# Paths inside the stack's Vault KV mount (Vault as Airflow's secrets backend).
KV_CONNECTIONS_PATH = "connections"

# (authMechanism, authSource) per auth mode.
MONGO_AUTH: dict[AuthMode, tuple[str, str]] = {
    AuthMode.AWS_IAM: ("MONGODB-AWS", "$external"),
    AuthMode.OKTA_OIDC: ("MONGODB-OIDC", "$external"),
    AuthMode.VAULT_DYNAMIC: ("SCRAM-SHA-256", "admin"),
}


@dataclass(frozen=True, kw_only=True)
class ConnectionSpec:
    """One pipeline's connection definition."""

    connection_id: str
    pipeline: str
    auth_mode: AuthMode
    host: str
    """The cluster's SRV host (`mongodb+srv`)."""
    schema: str
    """Default database."""
    runtime: Mapping[str, pulumi.Input[Any]]
    """What the runtime hook needs for this auth mode (role ARN, region, ...). No secrets."""


def connection_definition(spec: ConnectionSpec) -> dict[str, Any]:
    """The JSON form Airflow's secrets backends accept, with the runtime extra."""
    mechanism, source = MONGO_AUTH[spec.auth_mode]
    return {
        "conn_type": "mongo",
        "host": spec.host,
        "schema": spec.schema,
        "extra": {
            "srv": True,
            "tls": True,
            "authMechanism": mechanism,
            "authSource": source,
            "appname": f"airflow-{spec.pipeline}",
            RUNTIME_EXTRA_KEY: {
                "version": CONTRACT_VERSION,
                "pipeline": spec.pipeline,
                "auth_mode": spec.auth_mode.value,
                **spec.runtime,
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class VaultRuntime:
    """The stack's Vault as workers reach it."""

    url: str
    iam_server_id_header_value: str


@dataclass(frozen=True, kw_only=True)
class OktaRuntime:
    """The stack's Okta authorization server and service apps."""

    token_url: pulumi.Input[str]
    scope: str
    client_ids: Mapping[str, pulumi.Input[str]]
    signing_keys: Mapping[str, pulumi.Input[Any]]
    """Pipeline -> its current signing key: `{kms_key_arn, kid, alg}` (no key material)."""


@dataclass(frozen=True, kw_only=True)
class RuntimeInputs:
    """Everything the runtime extras of one stack are built from."""

    naming: Naming
    region: str
    session_seconds: int
    role_arns: Mapping[str, pulumi.Input[str]]
    vault: VaultRuntime | None
    okta: OktaRuntime | None


def runtime_extra(pipeline: Pipeline, inputs: RuntimeInputs) -> dict[str, pulumi.Input[Any]]:
    """What the runtime hook needs for the pipeline's auth mode (docs/connection-contract.md)."""
    role = {"role_arn": inputs.role_arns[pipeline.name], "region": inputs.region}
    naming, vault, okta = inputs.naming, inputs.vault, inputs.okta
    if pipeline.auth_mode is AuthMode.AWS_IAM:
        return {**role, "session_seconds": inputs.session_seconds}
    if pipeline.auth_mode is AuthMode.VAULT_DYNAMIC and vault:
        return {
            **role,
            "session_seconds": inputs.session_seconds,
            "vault": {
                "url": vault.url,
                "auth_mount": naming.vault_aws_auth_mount(),
                "auth_role": pipeline.name,
                "iam_server_id_header_value": vault.iam_server_id_header_value,
                "db_mount": naming.vault_database_mount(),
                "db_role": pipeline.name,
            },
        }
    if pipeline.auth_mode is AuthMode.OKTA_OIDC and okta:
        return {
            "token_url": okta.token_url,
            "client_id": okta.client_ids[pipeline.name],
            "scope": okta.scope,
            "signing_key": okta.signing_keys[pipeline.name],
            # Only this role may kms:Sign with the key: the runtime assumes it first.
            **role,
        }
    # Settings require the mode's section (vault/okta) for every pipeline of that mode.
    raise ValueError(
        f"pipeline {pipeline.name} uses {pipeline.auth_mode.value} but the stack has no "
        f"{'Vault' if pipeline.auth_mode is AuthMode.VAULT_DYNAMIC else 'Okta'} settings"
    )
