"""What the settings hand to the wiring: plain, validated values, no Pulumi resources.

infra/settings/ builds these; components/wiring.py consumes them. Keeping them apart from the
components lets the settings reader import them without loading any provider SDK.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.access import AuthMode, Pipeline
from model.naming import Naming


@dataclass(frozen=True, kw_only=True)
class MwaaSpec:
    """Present when the program creates the MWAA environment itself."""

    airflow_version: str
    environment_class: str
    dag_s3_path: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    webserver_access_mode: str


@dataclass(frozen=True, kw_only=True)
class OktaSpec:
    """Present when any pipeline authenticates with okta-oidc."""

    audience: str
    scope: str
    token_lifetime_minutes: int
    key_rotation_hours: int
    atlas_workload_idp_id: str | None
    """The Atlas workload IdP the org stack created for this stack; None until it has."""


@dataclass(frozen=True, kw_only=True)
class AuditDevice:
    """One Vault audit device: `type` (file, socket, syslog) and its options (strings)."""

    type: str
    options: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class VaultSpec:
    """Present when a pipeline uses vault-dynamic or Vault is Airflow's secrets backend."""

    address: str
    iam_server_id_header_value: str
    audit_devices: tuple[AuditDevice, ...]
    default_ttl: int
    max_ttl: int
    secrets_backend: bool
    """Vault (KV v2) instead of Secrets Manager holds connection definitions."""
    atlas_org_id: str
    api_key_access_list: tuple[str, ...]
    api_key_rotation_days: int


@dataclass(frozen=True, kw_only=True)
class WiringArgs:
    """Everything the stack wires, already validated (see infra/settings/)."""

    stack: str
    naming: Naming
    aws_account_id: str
    aws_region: str
    mwaa_environment_name: str
    mwaa_source_bucket_arn: str
    mwaa: MwaaSpec | None
    mwaa_package_version: str | None
    """MWAA Airflow version the runtime package is built for (the created environment's, or
    the existing one's when set); None: no package."""
    pipeline_session_seconds: int
    deployer_role_arn: str
    """The role that deploys this stack: alone may change its connection definitions."""
    workload_boundary_arn: str
    """Permissions boundary of every role the program creates (the bootstrap's policy)."""
    secrets_kms_key_arn: str | None
    connections_prefix: str
    variables_prefix: str | None
    config_prefix: str | None
    atlas_project_id: str
    cluster_hosts: dict[str, str]
    """Atlas cluster name -> SRV host."""
    cluster_projects: dict[str, str]
    """Atlas cluster name -> its project id (the unit of scale: roles, users, auditing)."""
    audit_authorization_success: bool
    protect_stateful_resources: bool
    pipelines: tuple[Pipeline, ...]
    okta: OktaSpec | None = None
    vault: VaultSpec | None = None

    @property
    def vault_kv(self) -> bool:
        """Vault KV, not Secrets Manager, holds connection definitions."""
        return self.vault is not None and self.vault.secrets_backend

    def project_of(self, pipeline: Pipeline) -> str:
        """The Atlas project of the pipeline's cluster."""
        return self.cluster_projects.get(pipeline.cluster, self.atlas_project_id)

    def pipelines_of(self, mode: AuthMode) -> list[Pipeline]:
        return [p for p in self.pipelines if p.auth_mode is mode]
