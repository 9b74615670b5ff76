"""MongoDB Atlas access: one custom role per pipeline, identity-bound users, project auditing.

No user created here has a password. An `aws-iam` pipeline's user *is* its IAM role ARN
(`$external`, `aws_iam_type=ROLE`); Atlas trusts the signature of the role's STS session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import pulumi
import pulumi_mongodbatlas as atlas
import pulumiverse_time as time_

from components.access import Privilege

EXTERNAL_AUTH_DB = "$external"
# Vault's MongoDB Atlas plugin names users v-<display name>-<role>-<random>-<time>.
VAULT_USER_PATTERN = "^v-"
# A custom role is granted on `admin`: its privileges name their own databases/collections.
CUSTOM_ROLE_DB = "admin"
# Commands recorded as data access in the audit log (authCheck events).
AUDITED_COMMANDS: tuple[str, ...] = (
    "aggregate",
    "count",
    "delete",
    "distinct",
    "find",
    "findAndModify",
    "getMore",
    "insert",
    "update",
    "createIndexes",
    "dropIndexes",
    "listCollections",
    "listIndexes",
)


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
    iam_role_arn: pulumi.Input[str] | None = None
    """Set for `aws-iam` pipelines: the role whose ARN becomes the database username."""
    oidc_client_id: pulumi.Input[str] | None = None
    """Set for `okta-oidc` pipelines: the Okta app whose tokens' `sub` names the user."""


@dataclass(frozen=True, kw_only=True)
class WorkloadIdentityProviderSpec:
    """Atlas trusts tokens from this issuer for this audience (workload identity federation)."""

    federation_settings_id: str
    org_id: str
    name: str
    issuer: pulumi.Input[str]
    audience: str
    link_to_org: bool
    """Manage the org's data-access IdP list (needs the one-time import, see README)."""
    other_data_access_idp_ids: tuple[str, ...] = ()
    """IdPs of other stacks in the same org that the org config must keep."""


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
    pipelines: tuple[AtlasPipelineSpec, ...]
    audit_authorization_success: bool
    """Record successful authorizations too (complete data-access trail, some cluster cost)."""
    protect_auditing: bool = False
    """`protect` the auditing resource: deleting it would silently stop the audit trail."""
    workload_idp: WorkloadIdentityProviderSpec | None = None
    """Required when any pipeline has an `oidc_client_id`."""
    vault_api_key: VaultApiKeySpec | None = None
    """Set when Vault creates short-lived users (vault-dynamic pipelines)."""
    audit_vault_users: bool = False
    """Also audit the password users Vault creates (`v-` names on `admin`)."""
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


def audit_filter(
    external_users: Sequence[pulumi.Input[str]], *, vault_users: bool = False
) -> pulumi.Output[str]:
    """Atlas audit filter: authentication and data access by these `$external` users and, with
    `vault_users`, by the `v-...` password users Vault creates on `admin`."""
    users = pulumi.Output.all(*external_users)
    who: list[dict[str, Any]] = [{"db": EXTERNAL_AUTH_DB, "user": {"$in": users}}]
    if vault_users:
        who.append({"db": CUSTOM_ROLE_DB, "user": {"$regex": VAULT_USER_PATTERN}})
    authenticate = [
        {"atype": "authenticate", "param.db": w["db"], "param.user": w["user"]} for w in who
    ]
    data_access = [
        {
            "atype": "authCheck",
            "param.command": {"$in": list(AUDITED_COMMANDS)},
            "users": {"$elemMatch": w},
        }
        for w in who
    ]
    return pulumi.Output.json_dumps({"$or": [*authenticate, *data_access]})


ORG_CONFIG_TYPE = "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig"


def _import_hint(spec: WorkloadIdentityProviderSpec, name: str, parent_urn: str) -> str:
    """The one-time import that lets this stack link its workload IdP to the Atlas org."""
    return (
        "The Atlas workload identity provider is not linked to the organization yet, so "
        "okta-oidc pipelines cannot authenticate. Import the org's federation config once, then "
        "set atlasOrgConfigImported: true and run pulumi up:\n"
        f"  pulumi import {ORG_CONFIG_TYPE} {name}-org-config "
        f"{spec.federation_settings_id}-{spec.org_id} "
        f"--parent '{name}={parent_urn}' --generate-code=false"
    )


class AtlasAccess(pulumi.ComponentResource):
    """Custom roles, identity-bound database users and auditing for one Atlas project."""

    custom_role_names: dict[str, pulumi.Output[str]]
    database_usernames: dict[str, pulumi.Output[str]]
    workload_idp_id: pulumi.Output[str] | None
    vault_public_key: pulumi.Output[str] | None
    vault_private_key: pulumi.Output[str] | None
    """Secret. Only ready once the key's access list is in place."""

    def __init__(
        self, name: str, args: AtlasAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:atlas:AtlasAccess", name, None, opts)
        self._name = name
        self._args = args
        self.custom_role_names = {}
        self.database_usernames = {}
        self.workload_idp_id = None
        if args.workload_idp is not None:
            self.workload_idp_id = self._create_workload_idp(args.workload_idp)
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
            if spec.oidc_client_id is not None:
                if self.workload_idp_id is None:
                    raise ValueError(f"pipeline {spec.pipeline}: OIDC users need workload_idp")
                user = self._create_external_user(
                    spec,
                    role,
                    kind="oidc",
                    # A client-credentials token's `sub` is the app's client id.
                    username=pulumi.Output.concat(self.workload_idp_id, "/", spec.oidc_client_id),
                    via="its Okta app",
                    oidc_auth_type="USER",
                )
                self.database_usernames[spec.pipeline] = user.username
        self.vault_public_key = self.vault_private_key = None
        if args.vault_api_key is not None:
            self._create_vault_api_key(args.vault_api_key)
        self._create_auditing()
        self.register_outputs(
            {
                "customRoleNames": self.custom_role_names,
                "databaseUsernames": self.database_usernames,
            }
        )

    def _create_custom_role(self, spec: AtlasPipelineSpec) -> atlas.CustomDbRole:
        return atlas.CustomDbRole(
            f"{self._name}-{spec.pipeline}-role",
            project_id=self._args.project_id,
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
            project_id=self._args.project_id,
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

    def _create_workload_idp(self, spec: WorkloadIdentityProviderSpec) -> pulumi.Output[str]:
        idp = atlas.FederatedSettingsIdentityProvider(
            f"{self._name}-workload-idp",
            federation_settings_id=spec.federation_settings_id,
            name=spec.name,
            description=f"Okta workload tokens for Airflow pipelines ({self._args.stack})",
            idp_type="WORKLOAD",
            protocol="OIDC",
            issuer_uri=spec.issuer,
            audience=spec.audience,
            authorization_type="USER",
            user_claim="sub",
            opts=pulumi.ResourceOptions(parent=self),
        )
        if spec.link_to_org:
            atlas.FederatedSettingsOrgConfig(
                f"{self._name}-org-config",
                federation_settings_id=spec.federation_settings_id,
                org_id=spec.org_id,
                # Required by the schema but owned by whoever manages the org's human SSO:
                # ignored below, so this stack only ever changes the data-access IdP list.
                domain_restriction_enabled=False,
                data_access_identity_provider_ids=[idp.idp_id, *spec.other_data_access_idp_ids],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # The org config exists before any stack; it is imported, never created, and a
                    # destroyed stack must not take the org's federation settings with it.
                    retain_on_delete=True,
                    ignore_changes=[
                        "domainRestrictionEnabled",
                        "domainAllowLists",
                        "identityProviderId",
                        "postAuthRoleGrants",
                    ],
                ),
            )
        else:
            self.urn.apply(lambda urn: pulumi.log.warn(_import_hint(spec, f"{self._name}", urn)))
        return idp.idp_id

    def _create_vault_api_key(self, spec: VaultApiKeySpec) -> None:
        child = pulumi.ResourceOptions(parent=self)
        clock = time_.Rotating(
            f"{self._name}-vault-api-key-clock", rotation_days=spec.rotation_days, opts=child
        )
        # Replaced when the clock ticks; the new key (and its access list) is in place and handed
        # to Vault before Pulumi deletes the old one (create-before-delete).
        key = atlas.ProjectApiKey(
            f"{self._name}-vault-api-key",
            description=f"Vault database engine ({self._args.stack}); rotated every "
            f"{spec.rotation_days} days",
            project_assignments=[
                atlas.ProjectApiKeyProjectAssignmentArgs(
                    project_id=self._args.project_id, role_names=[VAULT_API_KEY_ROLE]
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=clock.rfc3339),
        )
        entries = [
            atlas.AccessListApiKey(
                f"{self._name}-vault-api-key-access-{index}",
                org_id=spec.org_id,
                api_key_id=key.api_key_id,
                **({"cidr_block": address} if "/" in address else {"ip_address": address}),
                opts=child,
            )
            for index, address in enumerate(spec.access_list)
        ]
        ready = pulumi.Output.all(*(entry.id for entry in entries))
        self.vault_public_key = pulumi.Output.all(ready, key.public_key).apply(lambda v: v[1])
        self.vault_private_key = pulumi.Output.secret(
            pulumi.Output.all(ready, key.private_key).apply(lambda v: v[1])
        )

    def _create_auditing(self) -> atlas.Auditing:
        users: list[Any] = list(self.database_usernames.values())
        return atlas.Auditing(
            f"{self._name}-auditing",
            project_id=self._args.project_id,
            enabled=True,
            audit_authorization_success=self._args.audit_authorization_success,
            audit_filter=audit_filter(users, vault_users=self._args.audit_vault_users),
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.protect_auditing),
        )
