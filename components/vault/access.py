"""Vault: short-lived Atlas users, pipeline logins, least-privilege policies, audit, and KV.

- Database secrets engine with the MongoDB Atlas plugin: one role per `vault-dynamic` pipeline,
  whose single creation statement binds exactly that pipeline's custom role and cluster.
- AWS IAM auth: one role per pipeline bound to exactly its IAM role ARN. The stock Airflow
  `VaultBackend` cannot send the `X-Vault-AWS-IAM-Server-ID` header, so the execution role logs in
  on a mount of its own that reads nothing but connection definitions.
- No JWT (bearer-token) login: Okta access tokens are presented to Atlas, so a Vault login that
  accepted them would turn any token Atlas (or a log line) sees into a Vault identity. Okta keys
  live in AWS KMS, so okta-oidc pipelines need nothing from Vault.
- One policy per pipeline (own creds, own connection definition) and one for the execution role
  (connection definitions only), rendered as HCL from data.
- An audit device, and a KV v2 mount with the connection definitions when Vault is Airflow's
  secrets backend.
Vault Enterprise-only options (namespaces, rotation schedules/windows) are not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_vault as vault

from components import lifting
from components.vault.documents import USERNAME_TEMPLATE, creation_statement, hcl_policy
from model.access import connection_id
from model.naming import VAULT_HOME_CONNECTION, Naming
from model.specs import AuditDevice
from model.sts import LoginSigner, sts_client_config

CONNECTION_NAME = VAULT_HOME_CONNECTION
# Vault's split between what CI's deploy token writes (connection config with the rotated Atlas
# key, KV data) and everything else, which is structure: mounts, auth methods, audit devices, ACL
# policies, the roles that bind a login or a creation statement to a policy or a database role,
# and the AWS auth client config (its `sts_endpoint` decides whose answer proves an identity: a
# token that could point it at its own server could log in as any pipeline). A reviewed workflow
# applies structure with its own Vault identity; CI's `pulumi up` excludes these types
# (bootstrap/vault_policies.py holds both policies).
# Roles are structure because OpenBao's `allowed_parameters` cannot pin a list-valued parameter
# such as `creation_statements` (tests/delivery/attacks/test_vault_ci.py shows it).
STRUCTURAL_TYPES = (
    "vault:index/mount:Mount",
    "vault:index/authBackend:AuthBackend",
    "vault:index/audit:Audit",
    "vault:index/policy:Policy",
    "vault:database/secretBackendRole:SecretBackendRole",
    "vault:aws/authBackendRole:AuthBackendRole",
    "vault:aws/authBackendClient:AuthBackendClient",
)
READ = ("read",)
UPDATE = ("update",)


@dataclass(frozen=True, kw_only=True)
class DatabaseRoleSpec:
    pipeline: str
    custom_role: pulumi.Input[str]
    """The pipeline's Atlas custom role: the only role the users Vault creates will hold."""
    cluster: str
    connection: str = CONNECTION_NAME
    """The database connection (Atlas project) the role creates users through."""


@dataclass(frozen=True, kw_only=True)
class AtlasConnectionSpec:
    """One Atlas project the engine creates users in, with that project's API key."""

    name: str
    project_id: str
    public_key: pulumi.Input[str]
    private_key: pulumi.Input[str]
    """Secret: the Atlas API key, rotated by the Atlas component."""


@dataclass(frozen=True, kw_only=True)
class DatabaseEngineSpec:
    mount: str
    connections: tuple[AtlasConnectionSpec, ...]
    default_ttl: int
    max_ttl: int
    roles: tuple[DatabaseRoleSpec, ...]


@dataclass(frozen=True, kw_only=True)
class AwsLoginSpec:
    pipeline: str
    role_arn: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class KvSpec:
    """Vault as Airflow's secrets backend: connection definitions in KV v2."""

    mount: str
    connections_path: str
    definitions: Mapping[str, pulumi.Input[Mapping[str, Any]]]
    """Connection id -> definition (no secret)."""
    execution_role_arn: pulumi.Input[str] = ""
    airflow_auth_mount: str = ""


@dataclass(frozen=True, kw_only=True)
class VaultAccessArgs:
    stack: str
    naming: Naming
    """Names of policies, roles and the audit path, e.g. `aai-prod-<pipeline>`."""
    audit_devices: tuple[AuditDevice, ...]
    """One device per type (its path is `<base>-<type>`); prod has at least two."""
    aws_auth_mount: str
    iam_server_id_header_value: str
    sts_region: str
    """The stack's region: the pipelines' login mount verifies at this region's STS endpoint (the
    runtime signs for it); Airflow's mount verifies at the global endpoint, the only one hvac
    signs for (model/sts.py, sts_client_config)."""
    token_ttl: int
    """Token lifetime of pipeline logins; covers the credentials' max TTL."""
    aws_logins: tuple[AwsLoginSpec, ...]
    database: DatabaseEngineSpec | None = None
    kv: KvSpec | None = None
    protect: bool = False
    """`protect` mounts and the audit device: deleting them revokes access or loses history."""


class VaultAccess(pulumi.ComponentResource):
    """Everything one stack needs in Vault."""

    policies: dict[str, str]
    """Policy name -> HCL, as written to Vault (for review and the OpenBao tests)."""
    database_mount: str | None
    execution_login_role: str | None

    def __init__(
        self, name: str, args: VaultAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:vault:VaultAccess", name, None, opts)
        self._name = name
        self._args = args
        self._audit()
        self.policies = self._policy_documents()
        self._policy_resources = {
            policy_name: vault.Policy(
                f"{name}-policy-{policy_name.removeprefix(args.naming.base + '-')}",
                name=policy_name,
                policy=document,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for policy_name, document in self.policies.items()
        }
        self.database_mount = self._database(args.database) if args.database else None
        self._aws_auth()
        self.execution_login_role = self._kv(args.kv) if args.kv else None
        self.register_outputs({"policies": self.policies})

    # -- names ---------------------------------------------------------------------------------

    def policy_name(self, pipeline: str) -> str:
        return self._args.naming.vault_pipeline_policy(pipeline)

    @property
    def execution_policy_name(self) -> str:
        return self._args.naming.vault_execution_policy()

    # -- policies ------------------------------------------------------------------------------

    def _policy_documents(self) -> dict[str, str]:
        a = self._args
        pipelines = sorted({login.pipeline for login in a.aws_logins})
        documents: dict[str, str] = {}
        for pipeline in pipelines:
            rules: list[tuple[str, Sequence[str]]] = []
            if a.database and any(r.pipeline == pipeline for r in a.database.roles):
                creds = f"{a.database.mount}/creds/{pipeline}"
                rules += [
                    (creds, READ),
                    # Renew or revoke only leases issued under its own creds path.
                    (f"sys/leases/renew/{creds}/*", UPDATE),
                    (f"sys/leases/revoke/{creds}/*", UPDATE),
                ]
            if a.kv:
                conn_id = connection_id(pipeline)
                if conn_id in a.kv.definitions:
                    rules.append((f"{a.kv.mount}/data/{a.kv.connections_path}/{conn_id}", READ))
            if rules:
                documents[self.policy_name(pipeline)] = hcl_policy(rules)
        if a.kv:
            # Every id under the connections path, not only ours: the stock VaultBackend has no
            # lookup pattern, so Airflow asks for aws_default & co. too, and a 403 there makes it
            # re-login and raise instead of returning "not found". The path holds only this
            # stack's definitions.
            documents[self.execution_policy_name] = hcl_policy(
                [(f"{a.kv.mount}/data/{a.kv.connections_path}/*", READ)]
            )
        return documents

    def _policies_of(self, pipeline: str) -> list[pulumi.Output[str]]:
        policy = self._policy_resources.get(self.policy_name(pipeline))
        return [policy.name] if policy else []

    # -- resources -----------------------------------------------------------------------------

    def _opts(self, *, protect: bool = False) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, protect=protect and self._args.protect)

    def _audit(self) -> None:
        a = self._args
        for index, device in enumerate(a.audit_devices):
            opts = self._opts(protect=True)
            if index == 0:
                # The single device of stacks written before the list was `<name>-audit`.
                opts = pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"{self._name}-audit")])
                )
            vault.Audit(
                f"{self._name}-audit-{device.type}",
                type=device.type,
                path=a.naming.vault_audit_path(device.type),
                # Unchanged text: Vault cannot update a device, so an edit would replace it.
                description=f"Audit trail of stack {a.stack}",
                options=dict(device.options),
                opts=opts,
            )

    def _database(self, database: DatabaseEngineSpec) -> str:
        a = self._args
        mount = vault.Mount(
            f"{self._name}-database",
            path=database.mount,
            type="database",
            description=f"Short-lived MongoDB Atlas users ({a.stack})",
            default_lease_ttl_seconds=database.default_ttl,
            max_lease_ttl_seconds=database.max_ttl,
            # The issued user name in clear text in the audit log (the password stays HMACed),
            # so `python -m audit_trail` joins Atlas' `v-` users to their lease offline.
            audit_non_hmac_response_keys=["username"],
            opts=self._opts(protect=True),
        )
        connections = {
            spec.name: vault.database.SecretBackendConnection(
                f"{self._name}-{spec.name}-connection",
                backend=mount.path,
                name=spec.name,
                plugin_name="mongodbatlas-database-plugin",
                allowed_roles=[r.pipeline for r in database.roles if r.connection == spec.name],
                verify_connection=True,
                mongodbatlas=vault.database.SecretBackendConnectionMongodbatlasArgs(
                    project_id=spec.project_id,
                    public_key=spec.public_key,
                    # Secret even if a caller forgot to mark it: the one long-lived credential.
                    private_key=pulumi.Output.secret(spec.private_key),
                    username_template=USERNAME_TEMPLATE,
                ),
                opts=self._opts(),
            )
            for spec in database.connections
        }
        for role in database.roles:
            vault.database.SecretBackendRole(
                f"{self._name}-{role.pipeline}-db-role",
                backend=mount.path,
                name=role.pipeline,
                db_name=connections[role.connection].name,
                creation_statements=[creation_statement(role.custom_role, role.cluster)],
                default_ttl=database.default_ttl,
                max_ttl=database.max_ttl,
                opts=self._opts(),
            )
        return database.mount

    def _aws_auth(self) -> None:
        a = self._args
        if not a.aws_logins:
            return
        backend = vault.AuthBackend(
            f"{self._name}-aws-auth",
            type="aws",
            path=a.aws_auth_mount,
            description=f"Pipeline roles of stack {a.stack}",
            opts=self._opts(protect=True),
        )
        vault.aws.AuthBackendClient(
            f"{self._name}-aws-auth-client",
            backend=backend.path,
            # Signed logins must name this Vault: a captured request cannot be replayed elsewhere.
            iam_server_id_header_value=a.iam_server_id_header_value,
            # The runtime signs its region's own endpoint (atlas_identity.vault).
            sts_endpoint=sts_client_config(LoginSigner.BOTOCORE, a.sts_region).endpoint,
            sts_region=sts_client_config(LoginSigner.BOTOCORE, a.sts_region).region,
            opts=self._opts(),
        )
        for login in a.aws_logins:
            self._aws_login(
                f"{self._name}-{login.pipeline}-aws-login",
                backend.path,
                role=login.pipeline,
                principal=login.role_arn,
                policies=self._policies_of(login.pipeline),
            )

    def _kv(self, kv: KvSpec) -> str:
        a = self._args
        mount = vault.Mount(
            f"{self._name}-kv",
            path=kv.mount,
            type="kv",
            options={"version": "2"},
            description=f"Airflow connection definitions ({a.stack}), versioned",
            opts=self._opts(protect=True),
        )
        for conn_id, definition in sorted(kv.definitions.items()):
            vault.kv.SecretV2(
                f"{self._name}-{conn_id}",
                mount=mount.path,
                name=f"{kv.connections_path}/{conn_id}",
                data_json=lifting.json_text(definition),
                opts=self._opts(),
            )
        # The stock VaultBackend cannot send the server-id header: a mount of its own, whose only
        # role is bound to the execution role and may read connection definitions only.
        backend = vault.AuthBackend(
            f"{self._name}-airflow-auth",
            type="aws",
            path=kv.airflow_auth_mount,
            description=f"MWAA execution role of stack {a.stack} (connection definitions only)",
            opts=self._opts(protect=True),
        )
        # No server-id header (VaultBackend cannot sign one); STS where hvac's Host points.
        vault.aws.AuthBackendClient(
            f"{self._name}-airflow-auth-client",
            backend=backend.path,
            sts_endpoint=sts_client_config(LoginSigner.HVAC, a.sts_region).endpoint,
            sts_region=sts_client_config(LoginSigner.HVAC, a.sts_region).region,
            opts=self._opts(),
        )
        role = a.naming.vault_airflow_role()
        self._aws_login(
            f"{self._name}-airflow-login",
            backend.path,
            role=role,
            principal=kv.execution_role_arn,
            policies=[self._policy_resources[self.execution_policy_name].name],
        )
        return role

    def _aws_login(
        self,
        resource_name: str,
        backend: pulumi.Input[str],
        *,
        role: str,
        principal: pulumi.Input[str],
        policies: Sequence[pulumi.Input[str]],
    ) -> vault.aws.AuthBackendRole:
        """An IAM login role bound to exactly one principal (its unique id, not just its name)."""
        return vault.aws.AuthBackendRole(
            resource_name,
            backend=backend,
            role=role,
            auth_type="iam",
            bound_iam_principal_arns=[principal],
            resolve_aws_unique_ids=True,
            token_policies=list(policies),
            token_ttl=self._args.token_ttl,
            token_max_ttl=self._args.token_ttl,
            opts=self._opts(),
        )
