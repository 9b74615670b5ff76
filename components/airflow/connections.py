"""Airflow: secret-free connection definitions in a secrets backend, and MWAA's settings for it.

The definitions themselves are the contract with the runtime package
(components/airflow/contract.py, docs/connection-contract.md); this module stores them and points
Airflow at them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import lifting
from components.airflow.contract import ConnectionSpec, connection_definition
from model.access import lookup_pattern
from model.sts import LoginSigner, sts_client_config

SECRETS_MANAGER_BACKEND = (
    "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
)
VAULT_BACKEND = "airflow.providers.hashicorp.secrets.vault.VaultBackend"


@dataclass(frozen=True, kw_only=True)
class VaultBackendSpec:
    """Airflow reads connection definitions from Vault KV v2 (written by the Vault component)."""

    url: str
    auth_mount: str
    """AWS auth mount where the execution role logs in."""
    role: str
    kv_mount: str
    connections_path: str


@dataclass(frozen=True, kw_only=True)
class AirflowConnectionsArgs:
    stack: str
    region: str
    connections_prefix: str
    connections: tuple[ConnectionSpec, ...]
    kms_key_arn: str | None = None
    variables_prefix: str | None = None
    """None disables Variable lookups in the backend (no API call per Variable)."""
    config_prefix: str | None = None
    """None disables config lookups in the backend."""
    recovery_window_in_days: int = 7
    reader_role_arn: pulumi.Input[str] = ""
    """The execution role: the only principal besides the deployer that may read a definition."""
    deployer_role_arn: str = ""
    """The only principal that may change a definition or its resource policy (and read it: the
    provider reads secret versions back)."""
    vault_backend: VaultBackendSpec | None = None
    """Set: definitions live in Vault, not Secrets Manager, and the options name VaultBackend."""
    tags: Mapping[str, str] = field(default_factory=dict)


def vault_backend_kwargs(
    spec: VaultBackendSpec, *, region: str, variables_path: str | None, config_path: str | None
) -> dict[str, Any]:
    """`secrets.backend_kwargs` for the stock VaultBackend (AWS IAM login as the execution role).

    The stock backend has no lookup pattern: every connection id Airflow resolves costs one GET
    on Vault (a miss for ids that are not ours). Variables and config are off unless configured.
    """
    return {
        "url": spec.url,
        "auth_type": "aws_iam",
        "auth_mount_point": spec.auth_mount,
        "role_id": spec.role,
        # The SigV4 region of the login: the provider's `_auth_aws_iam` passes it to hvac's
        # `iam_login`, which signs the global endpoint's Host whatever the region; the mount
        # verifies at that endpoint (model/sts.py, sts_client_config).
        "region": sts_client_config(LoginSigner.HVAC, region).region,
        "mount_point": spec.kv_mount,
        "kv_engine_version": 2,
        "connections_path": spec.connections_path,
        "variables_path": variables_path,
        "config_path": config_path,
    }


def backend_kwargs(
    *,
    connections_prefix: str,
    connection_ids: list[str],
    region: str,
    variables_prefix: str | None,
    config_prefix: str | None,
) -> dict[str, Any]:
    """`secrets.backend_kwargs` for the Secrets Manager backend; only our ids reach the backend."""
    return {
        "connections_prefix": connections_prefix,
        "connections_lookup_pattern": lookup_pattern(connection_ids),
        "variables_prefix": variables_prefix,
        "config_prefix": config_prefix,
        "region_name": region,
    }


class AirflowConnections(pulumi.ComponentResource):
    """Connection definitions in AWS Secrets Manager plus the Airflow options that read them."""

    secret_arns: dict[str, pulumi.Output[str]]
    definitions: dict[str, pulumi.Output[dict[str, Any]]]
    """The definitions as stored, for review and for the runtime's contract tests."""
    configuration_options: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: AirflowConnectionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:airflow:AirflowConnections", name, None, opts)
        self._name = name
        self._args = args
        # One Output.all per definition over the few Outputs it holds (components/lifting.py).
        self.definitions = {
            spec.connection_id: lifting.resolved(connection_definition(spec))
            for spec in args.connections
        }
        if args.vault_backend is None:
            self.secret_arns = {
                spec.connection_id: self._create_connection(spec).arn for spec in args.connections
            }
            backend = SECRETS_MANAGER_BACKEND
            kwargs = backend_kwargs(
                connections_prefix=args.connections_prefix,
                connection_ids=[c.connection_id for c in args.connections],
                region=args.region,
                variables_prefix=args.variables_prefix,
                config_prefix=args.config_prefix,
            )
        else:
            self.secret_arns = {}
            backend = VAULT_BACKEND
            kwargs = vault_backend_kwargs(
                args.vault_backend,
                region=args.region,
                variables_path=args.variables_prefix,
                config_path=args.config_prefix,
            )
        self.configuration_options = pulumi.Output.from_input(
            {
                "secrets.backend": backend,
                "secrets.backend_kwargs": json.dumps(kwargs, sort_keys=True),
            }
        )
        self.register_outputs(
            {"secretArns": self.secret_arns, "configurationOptions": self.configuration_options}
        )

    def _create_connection(self, spec: ConnectionSpec) -> aws.secretsmanager.Secret:
        a = self._args
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{spec.pipeline}-connection",
            name=f"{a.connections_prefix}/{spec.connection_id}",
            description=f"Airflow connection {spec.connection_id} ({a.stack}); holds no secret",
            kms_key_id=a.kms_key_arn,
            recovery_window_in_days=a.recovery_window_in_days,
            tags={**a.tags, "stack": a.stack, "pipeline": spec.pipeline},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.secretsmanager.SecretVersion(
            f"{self._name}-{spec.pipeline}-connection-version",
            secret_id=secret.id,
            # The definition holds no secret, but the provider marks every secret_string secret.
            secret_string=lifting.json_text(self.definitions[spec.connection_id]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.secretsmanager.SecretPolicy(
            f"{self._name}-{spec.pipeline}-connection-policy",
            secret_arn=secret.arn,
            policy=pulumi.Output.from_input(a.reader_role_arn).apply(
                lambda reader: json.dumps(
                    connection_secret_policy(reader=reader, deployer=a.deployer_role_arn)
                )
            ),
            block_public_policy=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret


# Every Secrets Manager action that changes a secret, its value, its policy, rotation or
# replication (Service Authorization Reference, "Actions defined by AWS Secrets Manager").
SECRET_WRITE_ACTIONS: tuple[str, ...] = (
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:PutSecretValue",
    "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RestoreSecret",
    "secretsmanager:RotateSecret",
    "secretsmanager:StopReplicationToReplica",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
)


def connection_secret_policy(*, reader: str, deployer: str) -> dict[str, Any]:
    """The resource policy of a connection definition: explicit denies that hold whatever IAM
    policies other principals of the account have. Reads: the execution role and the deployer;
    changes: the deployer only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTheExecutionRoleAndTheDeployerRead",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [reader, deployer]}},
            },
            {
                "Sid": "OnlyTheDeployerChanges",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": list(SECRET_WRITE_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": deployer}},
            },
        ],
    }
