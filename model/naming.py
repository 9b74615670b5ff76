"""Physical names of everything a stack creates, derived from prefix, stack and pipeline.

One place for every name (IAM roles, Atlas roles, Vault mounts and policies, Okta labels): the
components, the bootstrap and the reserved-name check (model/reserved.py) all read them here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from model.limits import ATLAS_IDP_NAME

# Documented name limits: IAM role names 64 ("IAM and AWS STS quotas"), Atlas custom role names 64
# (model/limits/__init__.py holds the sources).
IAM_ROLE_NAME_MAX = 64
S3_BUCKET_NAME_MAX = 63
ATLAS_ROLE_NAME_MAX = 64
# Vault database connection to the stack's home Atlas project (others: `atlas-<project id>`).
VAULT_HOME_CONNECTION = "atlas"

# namePrefix, one rule for the program and the bootstrap (which names the roles its deployer may
# manage by the same prefix). No '-': names are `<prefix>-<stack>-...` and are matched by prefix,
# so a prefix must not itself look like `<prefix>-<stack>`.
DEFAULT_NAME_PREFIX = "aai"
NAME_PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,11}$")
NAME_PREFIX_RULE = "1-12 lowercase letters or digits, starting with a letter"


def _bounded(name: str, limit: int) -> str:
    """`name` if it fits `limit`, else a prefix of it plus a short hash of the whole name.

    Deterministic, and two different long names never collapse to the same result.
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-_')}-{digest}"


@dataclass(frozen=True, kw_only=True)
class Naming:
    """Physical names of everything a stack creates, derived from prefix, stack and pipeline."""

    prefix: str
    stack: str

    @property
    def base(self) -> str:
        return f"{self.prefix}-{self.stack}"

    def execution_role(self) -> str:
        return _bounded(f"{self.base}-mwaa-exec", IAM_ROLE_NAME_MAX)

    def pipeline_role(self, pipeline: str) -> str:
        # _bounded keeps the first 55 characters: `pipeline_role_prefix` survives any name.
        return _bounded(f"{self.base}-pipeline-{pipeline}", IAM_ROLE_NAME_MAX)

    def workload_boundary(self) -> str:
        """The managed policy (created by the bootstrap) bounding every role the program makes."""
        return f"{self.base}-workload-boundary"

    def deploy_role(self) -> str:
        """The bootstrap's deploy role (bootstrap/deployer.py)."""
        return f"{self.base}-github-deploy"

    def pipeline_role_prefix(self) -> str:
        """The start every `pipeline_role` name shares, even a shortened one (`_bounded`); IAM
        policies match `<this>*` and the audit filter matches ARNs by it."""
        prefix = f"{self.base}-pipeline-"
        keep = IAM_ROLE_NAME_MAX - 9  # what `_bounded` keeps of a too-long name
        return prefix if len(prefix) <= keep else prefix[:keep].rstrip("-_")

    def atlas_role(self, pipeline: str) -> str:
        # Atlas role names allow letters, digits, `_` and `-`; must not start with `xgen-`.
        return _bounded(f"{self.base}-{pipeline}".replace(".", "-"), ATLAS_ROLE_NAME_MAX)

    def atlas_workload_idp(self) -> str:
        """The Atlas workload identity provider that trusts the stack's Okta server (the org
        stack creates it under this name, which must fit Atlas' displayName)."""
        return _bounded(f"{self.base}-okta-workloads", ATLAS_IDP_NAME.value)

    def okta_auth_server(self) -> str:
        return f"{self.base}-atlas"

    def okta_jwks_bucket(self, account_id: str) -> str:
        """The bucket serving the Okta apps' key sets: S3 names are global (the account id makes
        it unique) and DNS-safe (lowercase, `-`; no `.`, which breaks virtual-hosted HTTPS)
        (Amazon S3 User Guide, "General purpose bucket naming rules": 3-63 characters)."""
        name = re.sub(r"[^a-z0-9-]", "-", f"{self.base}-okta-jwks-{account_id}".lower())
        return _bounded(name, S3_BUCKET_NAME_MAX)

    def okta_app_label(self, pipeline: str) -> str:
        return f"{self.base}-{pipeline}"

    def default_okta_audience(self) -> str:
        return f"api://{self.base}-atlas"

    # Vault mount paths (engines and auth methods), e.g. `aai-prod-atlas`.

    def vault_database_mount(self) -> str:
        """Database engine issuing the vault-dynamic pipelines' Atlas users."""
        return f"{self.base}-atlas"

    def vault_atlas_connection(self, project_id: str, *, home: str) -> str:
        """The database engine's connection to one Atlas project (`atlas` for the home one)."""
        return VAULT_HOME_CONNECTION if project_id == home else f"atlas-{project_id}"

    def vault_aws_auth_mount(self) -> str:
        """AWS auth method where pipeline roles log in."""
        return f"{self.base}-aws"

    def vault_kv_mount(self) -> str:
        """KV v2 engine holding connection definitions (Vault as the backend)."""
        return f"{self.base}-airflow"

    def vault_airflow_auth_mount(self) -> str:
        """AWS auth method of the MWAA execution role only (the stock VaultBackend)."""
        return f"{self.base}-aws-airflow"

    def vault_airflow_role(self) -> str:
        """The execution role's login role on `vault_airflow_auth_mount`."""
        return f"{self.base}-airflow"

    def vault_pipeline_policy(self, pipeline: str) -> str:
        return f"{self.base}-{pipeline}"

    def vault_execution_policy(self) -> str:
        return f"{self.base}-airflow-connections"

    def vault_audit_path(self, audit_type: str) -> str:
        return f"{self.base}-{audit_type}"
