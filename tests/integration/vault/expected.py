"""What Vault access each stack should grant, derived from the stack file's settings alone.

Nothing here reads the generated policies: the expectations come from the pipelines and their
auth modes, the name prefix and the secrets backend, plus the naming rules that the program and
the runtime share (mount `<base>-atlas`, `<base>-airflow`, ..., connection id `mongo_<pipeline>`).
A policy that grants more or less than this fails the matrix tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = "airflow-atlas-identity"
CONNECTION_NAME = "atlas"
LEASE = "Xq1bLm0wXvYp3Kd9sT7uQ2aZ"
READ = ["read"]
UPDATE = ["update"]
DENY = ["deny"]


@dataclass(frozen=True)
class StackExpectations:
    stack: str
    base: str
    pipelines: dict[str, str]
    """Pipeline name -> auth mode, as written in the stack file."""
    vault_kv: bool
    """Vault KV v2 is Airflow's secrets backend (connection definitions; Okta keys are in KMS)."""

    @classmethod
    def from_stack_file(cls, path: Path) -> StackExpectations:
        config: dict[str, Any] = yaml.safe_load(path.read_text())["config"]
        values = {
            key.removeprefix(f"{PROJECT}:"): value
            for key, value in config.items()
            if key.startswith(f"{PROJECT}:")
        }
        stack = path.name.split(".")[1]
        return cls(
            stack=stack,
            base=f"{values.get('namePrefix', 'aai')}-{stack}",
            pipelines={p["name"]: p["authMode"] for p in values["pipelines"]},
            vault_kv=values.get("secretsBackend", "secrets-manager") == "vault",
        )

    # -- names -----------------------------------------------------------------------------

    @property
    def db_mount(self) -> str:
        return f"{self.base}-atlas"

    @property
    def kv_mount(self) -> str:
        return f"{self.base}-airflow"

    @property
    def jwt_mount(self) -> str:
        return f"{self.base}-okta"

    @property
    def aws_mount(self) -> str:
        return f"{self.base}-aws"

    @property
    def airflow_aws_mount(self) -> str:
        return f"{self.base}-aws-airflow"

    @property
    def execution_policy(self) -> str:
        return f"{self.base}-airflow-connections"

    def policy_name(self, pipeline: str) -> str:
        return f"{self.base}-{pipeline}"

    @staticmethod
    def connection_id(pipeline: str) -> str:
        return "mongo_" + pipeline.replace("-", "_")

    def with_mode(self, mode: str) -> list[str]:
        return sorted(p for p, m in self.pipelines.items() if m == mode)

    # -- paths of one pipeline ---------------------------------------------------------------

    def creds(self, pipeline: str) -> str:
        return f"{self.db_mount}/creds/{pipeline}"

    def connection(self, pipeline: str) -> str:
        return f"{self.kv_mount}/data/connections/{self.connection_id(pipeline)}"

    def okta_key(self, pipeline: str) -> str:
        """Where Vault KV held the pipeline's Okta private key before keys moved to KMS: no
        policy may reach it (a leftover or re-created entry must stay unreadable)."""
        return f"{self.kv_mount}/data/okta-keys/{pipeline}"

    def pipeline_paths(self, pipeline: str) -> list[str]:
        """Every path that belongs to `pipeline`, whatever its auth mode."""
        creds = self.creds(pipeline)
        return [
            creds,
            f"sys/leases/renew/{creds}/{LEASE}",
            f"sys/leases/revoke/{creds}/{LEASE}",
            self.connection(pipeline),
            self.okta_key(pipeline),
        ]

    def own_grants(self, pipeline: str) -> dict[str, list[str]]:
        """Path -> capabilities the pipeline's own policy must give, exactly."""
        mode = self.pipelines[pipeline]
        grants: dict[str, list[str]] = {}
        if mode == "vault-dynamic":
            creds = self.creds(pipeline)
            grants[creds] = READ
            grants[f"sys/leases/renew/{creds}/{LEASE}"] = UPDATE
            grants[f"sys/leases/revoke/{creds}/{LEASE}"] = UPDATE
        # A pipeline with a Vault identity (dynamic creds) reads its own connection definition.
        # okta-oidc pipelines have no Vault identity at all: their keys are in KMS.
        if self.vault_kv and mode == "vault-dynamic":
            grants[self.connection(pipeline)] = READ
        return grants

    def policies(self) -> set[str]:
        """Names of every policy the stack should write: pipelines with grants, execution role."""
        names = {self.policy_name(p) for p in self.pipelines if self.own_grants(p)}
        if self.vault_kv:
            names.add(self.execution_policy)
        return names

    def near_misses(self, pipeline: str) -> list[str]:
        """Paths one step beside the pipeline's own: a glob or prefix slip would grant them."""
        creds = self.creds(pipeline)
        conn = self.connection(pipeline)
        return [
            f"{creds}-2",
            f"{creds}/extra",
            f"{self.db_mount}/creds/{pipeline.split('-')[0]}",
            f"{self.db_mount}/creds/",
            f"sys/leases/renew/{creds}-2/{LEASE}",
            f"sys/leases/revoke/{creds}-2/{LEASE}",
            f"sys/leases/renew/{creds}",
            f"{conn}_2",
            f"{conn}/extra",
            f"{self.kv_mount}/data/connections/{self.connection_id(pipeline.split('-')[0])}",
            f"{self.okta_key(pipeline)}-2",
            f"{self.okta_key(pipeline)}/previous",
        ]

    # -- paths nobody but an operator may touch -------------------------------------------------

    def operator_paths(self) -> list[str]:
        """Engine, auth, policy and audit configuration; listings; KV writes and history."""
        db, kv = self.db_mount, self.kv_mount
        paths = [
            f"{db}/config/{CONNECTION_NAME}",
            f"{db}/config",
            f"{db}/roles/x",
            f"{db}/roles",
            f"{db}/rotate-root/{CONNECTION_NAME}",
            f"{db}/reset/{CONNECTION_NAME}",
            f"{db}/static-roles/x",
            f"{db}/static-creds/x",
            f"{db}/rotate-role/x",
            "sys/mounts",
            f"sys/mounts/{db}",
            f"sys/mounts/{kv}",
            f"sys/mounts/{db}/tune",
            "sys/auth",
            f"sys/auth/{self.jwt_mount}",
            f"sys/auth/{self.aws_mount}",
            "sys/policies/acl",
            "sys/policies/acl/x",
            "sys/policy/x",
            "sys/audit",
            f"sys/audit/{self.base}-file",
            f"sys/leases/revoke-prefix/{db}",
            f"sys/leases/revoke-force/{db}",
            f"sys/leases/lookup/{db}/creds",
            "sys/leases/tidy",
            "sys/capabilities",
            "sys/raw/core",
            "sys/seal",
            "sys/rotate",
            "sys/revoke",
            "sys/renew",
            f"auth/{self.aws_mount}/config/client",
            f"auth/{self.aws_mount}/role/x",
            f"auth/{self.airflow_aws_mount}/role/{self.base}-airflow",
            f"auth/{self.airflow_aws_mount}/config/client",
            f"auth/{self.jwt_mount}/config",
            f"auth/{self.jwt_mount}/role/x",
            "auth/token/create",
            "auth/token/create-orphan",
            "auth/token/roles/x",
            "auth/token/lookup",
            "auth/token/accessors",
            f"{kv}/config",
            f"{kv}/data/connections/",
            f"{kv}/metadata/connections/",
            f"{kv}/metadata/okta-keys/",
            f"{kv}/data/connections/mongo_default",
            f"{kv}/data/connections/aws_default",
            f"{kv}/data/variables/x",
            f"{kv}/data/config/x",
            "secret/data/x",
            "secret/metadata/x",
        ]
        for pipeline in self.pipelines:
            conn_path = f"connections/{self.connection_id(pipeline)}"
            paths += [
                f"{db}/roles/{pipeline}",
                f"sys/policies/acl/{self.policy_name(pipeline)}",
                f"sys/leases/revoke-prefix/{self.creds(pipeline)}",
                f"sys/leases/lookup/{self.creds(pipeline)}",
                f"auth/{self.aws_mount}/role/{pipeline}",
                f"auth/{self.jwt_mount}/role/{pipeline}",
                f"{kv}/metadata/{conn_path}",
                f"{kv}/delete/{conn_path}",
                f"{kv}/undelete/{conn_path}",
                f"{kv}/destroy/{conn_path}",
                f"{kv}/metadata/okta-keys/{pipeline}",
                f"{kv}/destroy/okta-keys/{pipeline}",
            ]
        paths.append(f"sys/policies/acl/{self.execution_policy}")
        return paths
