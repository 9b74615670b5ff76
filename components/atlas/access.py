"""MongoDB Atlas access: one custom role per pipeline, identity-bound users, project auditing.

No user created here has a password. An `aws-iam` pipeline's user *is* its IAM role ARN
(`$external`, `aws_iam_type=ROLE`); Atlas trusts the signature of the role's STS session. An
`okta-oidc` pipeline's user is `<workload IdP id>/<Okta client id>`; the IdP is the org stack's
(components/atlas/org.py), so its user waits until that IdP exists.

A pipeline's custom role and user live in the project of its cluster. Every project the stack
uses gets its own auditing and, with vault-dynamic pipelines, its own Vault API key: Atlas
limits and API keys are per project. The stack's home project (`atlasProjectId`) keeps the
unqualified resource names it always had; other projects' resources carry the project id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby

import pulumi
import pulumi_mongodbatlas as atlas
import pulumiverse_time as time_

from components.atlas.audit_filter import EXTERNAL_AUTH_DB, audit_filter
from model.access import Privilege

# A custom role is granted on `admin`: its privileges name their own databases/collections.
CUSTOM_ROLE_DB = "admin"


@dataclass(frozen=True, kw_only=True)
class AtlasPipelineSpec:
    """What Atlas needs to know about one pipeline."""

    pipeline: str
    role_name: str
    """Physical custom-role name (letters, digits, `_`, `-`)."""
    privileges: tuple[Privilege, ...]
    """Exactly the actions on exactly the database/collections the pipeline was granted."""
    cluster: str
    """The only cluster its database user is scoped to."""
    project_id: str
    """The Atlas project of that cluster: the role and user are created there."""
    vault_dynamic: bool = False
    """Vault creates this pipeline's users (needs the project's Vault API key)."""
    iam_role_arn: pulumi.Input[str] | None = None
    """Set for `aws-iam` pipelines: the role whose ARN becomes the database username."""
    oidc_client_id: pulumi.Input[str] | None = None
    """Set for `okta-oidc` pipelines: the Okta app whose tokens' `sub` names the user."""


@dataclass(frozen=True, kw_only=True)
class VaultApiKeySpec:
    """The programmatic API key Vault's database engine uses to create users for minutes."""

    org_id: str
    access_list: tuple[str, ...]
    """Vault's egress addresses (IPs or CIDRs): the only places the key works from."""
    rotation_days: int


# The least Atlas role that can create and delete database users in a project.
VAULT_API_KEY_ROLE = "GROUP_DATABASE_ACCESS_ADMIN"


@dataclass(frozen=True, kw_only=True)
class AtlasAccessArgs:
    stack: str
    project_id: str
    """The stack's home project (`atlasProjectId`): always audited, unqualified names."""
    pipelines: tuple[AtlasPipelineSpec, ...]
    audit_authorization_success: bool
    """Record successful authorizations too (complete data-access trail, some cluster cost)."""
    pipeline_role_pattern: str
    """Regex on the stack's pipeline role ARNs (`atlas_audit.iam_role_pattern`)."""
    protect_auditing: bool = False
    """`protect` the auditing resource: deleting it would silently stop the audit trail."""
    workload_idp_id: str | None = None
    """The org stack's workload IdP for this stack. None: okta-oidc pipelines get no user yet."""
    vault_api_key: VaultApiKeySpec | None = None
    """Set when Vault creates short-lived users (vault-dynamic pipelines)."""
    other_project_ids: tuple[str, ...] = ()
    """Further projects the stack's clusters live in (audited even without pipelines)."""
    labels: dict[str, str] = field(default_factory=dict)


def custom_role_actions(privileges: Sequence[Privilege]) -> list[atlas.CustomDbRoleActionArgs]:
    """Group privileges by action, the shape Atlas' custom-role API takes."""
    ordered = sorted(privileges, key=lambda p: (p.action, p.database, p.collection))
    return [
        atlas.CustomDbRoleActionArgs(
            action=action,
            resources=[
                atlas.CustomDbRoleActionResourceArgs(
                    database_name=p.database, collection_name=p.collection
                )
                for p in group
            ],
        )
        for action, group in groupby(ordered, key=lambda p: p.action)
    ]


class AtlasAccess(pulumi.ComponentResource):
    """Custom roles, identity-bound database users and auditing for one Atlas project."""

    custom_role_names: dict[str, pulumi.Output[str]]
    database_usernames: dict[str, pulumi.Output[str]]
    vault_api_keys: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]]
    """Project id -> (public key, secret private key), ready once the access list is in place."""

    def __init__(
        self, name: str, args: AtlasAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:atlas:AtlasAccess", name, None, opts)
        self._name = name
        self._args = args
        self.custom_role_names = {}
        self.database_usernames = {}
        for spec in args.pipelines:
            role = self._create_custom_role(spec)
            self.custom_role_names[spec.pipeline] = role.role_name
            if spec.iam_role_arn is not None:
                user = self._create_external_user(
                    spec,
                    role,
                    kind="iam",
                    username=spec.iam_role_arn,
                    via="its IAM role",
                    aws_iam_type="ROLE",
                )
                self.database_usernames[spec.pipeline] = user.username
            if spec.oidc_client_id is not None and args.workload_idp_id is not None:
                user = self._create_external_user(
                    spec,
                    role,
                    kind="oidc",
                    # A client-credentials token's `sub` is the app's client id.
                    username=pulumi.Output.concat(args.workload_idp_id, "/", spec.oidc_client_id),
                    via="its Okta app",
                    oidc_auth_type="USER",
                )
                self.database_usernames[spec.pipeline] = user.username
        self.vault_api_keys = {}
        for project in self.project_ids:
            dynamic = any(p.vault_dynamic and p.project_id == project for p in args.pipelines)
            if dynamic and args.vault_api_key is not None:
                self.vault_api_keys[project] = self._create_vault_api_key(
                    project, args.vault_api_key
                )
            self._create_auditing(project, vault_users=dynamic)
        self.register_outputs(
            {
                "customRoleNames": self.custom_role_names,
                "databaseUsernames": self.database_usernames,
            }
        )

    @property
    def project_ids(self) -> list[str]:
        """Home project first, then every other project with a cluster or a pipeline, sorted."""
        a = self._args
        others = {*a.other_project_ids, *(p.project_id for p in a.pipelines)} - {a.project_id}
        return [a.project_id, *sorted(others)]

    def _per_project(self, project: str, what: str) -> str:
        """Name of a per-project resource: unqualified for the home project (as it always was)."""
        if project == self._args.project_id:
            return f"{self._name}-{what}"
        return f"{self._name}-{project}-{what}"

    def _create_custom_role(self, spec: AtlasPipelineSpec) -> atlas.CustomDbRole:
        return atlas.CustomDbRole(
            f"{self._name}-{spec.pipeline}-role",
            project_id=spec.project_id,
            role_name=spec.role_name,
            actions=custom_role_actions(spec.privileges),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _labels(self, spec: AtlasPipelineSpec) -> list[atlas.DatabaseUserLabelArgs]:
        labels = {**self._args.labels, "stack": self._args.stack, "pipeline": spec.pipeline}
        return [atlas.DatabaseUserLabelArgs(key=k, value=v) for k, v in sorted(labels.items())]

    def _create_external_user(
        self,
        spec: AtlasPipelineSpec,
        role: atlas.CustomDbRole,
        *,
        kind: str,
        username: pulumi.Input[str],
        via: str,
        aws_iam_type: str | None = None,
        oidc_auth_type: str | None = None,
    ) -> atlas.DatabaseUser:
        """A passwordless `$external` user holding only the pipeline's role, on one cluster."""
        return atlas.DatabaseUser(
            f"{self._name}-{spec.pipeline}-{kind}-user",
            project_id=spec.project_id,
            username=username,
            auth_database_name=EXTERNAL_AUTH_DB,
            aws_iam_type=aws_iam_type,
            oidc_auth_type=oidc_auth_type,
            roles=[
                atlas.DatabaseUserRoleArgs(role_name=role.role_name, database_name=CUSTOM_ROLE_DB)
            ],
            scopes=[atlas.DatabaseUserScopeArgs(name=spec.cluster, type="CLUSTER")],
            labels=self._labels(spec),
            description=f"pipeline {spec.pipeline} ({self._args.stack}) via {via}",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create_vault_api_key(
        self, project: str, spec: VaultApiKeySpec
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        child = pulumi.ResourceOptions(parent=self)
        clock = time_.Rotating(
            self._per_project(project, "vault-api-key-clock"),
            rotation_days=spec.rotation_days,
            opts=child,
        )
        # Replaced when the clock ticks; the new key (and its access list) is in place and handed
        # to Vault before Pulumi deletes the old one (create-before-delete).
        key = atlas.ProjectApiKey(
            self._per_project(project, "vault-api-key"),
            description=f"Vault database engine ({self._args.stack}); rotated every "
            f"{spec.rotation_days} days",
            project_assignments=[
                atlas.ProjectApiKeyProjectAssignmentArgs(
                    project_id=project, role_names=[VAULT_API_KEY_ROLE]
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=clock.rfc3339),
        )
        entries = [
            atlas.AccessListApiKey(
                self._per_project(project, f"vault-api-key-access-{index}"),
                org_id=spec.org_id,
                api_key_id=key.api_key_id,
                **({"cidr_block": address} if "/" in address else {"ip_address": address}),
                opts=child,
            )
            for index, address in enumerate(spec.access_list)
        ]
        ready = pulumi.Output.all(*(entry.id for entry in entries))
        public: pulumi.Output[str] = pulumi.Output.all(ready, key.public_key).apply(
            lambda v: str(v[1])
        )
        private: pulumi.Output[str] = pulumi.Output.all(ready, key.private_key).apply(
            lambda v: str(v[1])
        )
        return public, pulumi.Output.secret(private)

    def _create_auditing(self, project: str, *, vault_users: bool) -> atlas.Auditing:
        return atlas.Auditing(
            self._per_project(project, "auditing"),
            project_id=project,
            enabled=True,
            audit_authorization_success=self._args.audit_authorization_success,
            audit_filter=audit_filter(
                iam_role_arns=self._args.pipeline_role_pattern,
                workload_idp_id=self._args.workload_idp_id,
                vault_users=vault_users,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.protect_auditing),
        )
