"""The access model: pipelines, grants, action presets and naming rules.

Pure Python, no Pulumi resources. Everything the systems (AWS, Atlas, Airflow, ...) need to know
about *who may do what* is derived here, once, so that every system names and scopes things the
same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from model.naming import Naming


class AuthMode(StrEnum):
    """How a pipeline authenticates to Atlas."""

    AWS_IAM = "aws-iam"
    OKTA_OIDC = "okta-oidc"
    VAULT_DYNAMIC = "vault-dynamic"


class Tier(StrEnum):
    """How strict a stack is. `prod` turns on the stricter defaults and limits."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


# Atlas custom-role privilege actions this project lets a pipeline hold. Deliberately a subset of
# what Atlas accepts: data-plane actions plus the read-only metadata a client needs. Cluster-wide
# and administrative actions (DROP_DATABASE, KILL_ANY_SESSION, ...) are never grantable here.
COLLECTION_ACTIONS: frozenset[str] = frozenset(
    {
        "FIND",
        "INSERT",
        "UPDATE",
        "REMOVE",
        "CHANGE_STREAM",
        "COLL_STATS",
        "LIST_INDEXES",
        "CREATE_INDEX",
        "DROP_INDEX",
        "BYPASS_DOCUMENT_VALIDATION",
    }
)
# Actions that MongoDB only evaluates on a whole database (collection ""), e.g. `listCollections`.
DATABASE_ACTIONS: frozenset[str] = frozenset({"LIST_COLLECTIONS", "DB_STATS"})
KNOWN_ACTIONS: frozenset[str] = COLLECTION_ACTIONS | DATABASE_ACTIONS

PRESETS: dict[str, tuple[str, ...]] = {
    "read": ("FIND", "LIST_INDEXES", "COLL_STATS"),
    "read-write": ("FIND", "INSERT", "UPDATE", "REMOVE", "LIST_INDEXES", "COLL_STATS"),
    "insert-only": ("INSERT",),
    "read-changes": ("FIND", "CHANGE_STREAM"),
}

# Databases no pipeline may be granted: they hold users, roles, oplog and sharding metadata.
RESERVED_DATABASES: frozenset[str] = frozenset({"admin", "local", "config"})

WILDCARD = "*"

PIPELINE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*[a-z0-9]$")
PIPELINE_NAME_MAX = 40
# MongoDB namespace rules: no `/\. "$` and no NUL in a database name, at most 63 bytes.
DATABASE_NAME_PATTERN = re.compile(r'^[^/\\. "$\x00]{1,63}$')
DATABASE_NAME_HINT = 'use a MongoDB database name (no / \\ . space " $)'
# Collections: no `$`, no NUL, not `system.` (those are internal).
COLLECTION_NAME_PATTERN = re.compile(r"^(?!system\.)[^$\x00]{1,255}$")

# Vault audit device types the program enables; each device's path is `<base>-<type>`.
VAULT_AUDIT_TYPES: tuple[str, ...] = ("file", "socket", "syslog")


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong with the settings, located by its config key path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class Grant:
    """Actions on collections of one database. `collections == ("*",)` means the whole database."""

    database: str
    collections: tuple[str, ...]
    actions: tuple[str, ...]

    @property
    def is_wildcard(self) -> bool:
        return WILDCARD in self.collections


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """One Airflow pipeline and everything it may do in Atlas."""

    name: str
    auth_mode: AuthMode
    cluster: str
    grants: tuple[Grant, ...]
    default_database: str
    description: str = ""

    @property
    def connection_id(self) -> str:
        return connection_id(self.name)


@dataclass(frozen=True, kw_only=True)
class Privilege:
    """One Atlas custom-role action on one resource; `collection == ""` is the whole database."""

    action: str
    database: str
    collection: str


def database_problem(name: str) -> str | None:
    """Why `name` cannot be a grant's database, with the fix; None when it can.

    A grant names one database, never a wildcard, in every tier (allowWildcardCollections is
    about collections). MongoDB's resource document ("Resource Document", MongoDB manual) spells
    every database as `db: ""`, which a role defined on admin may hold, as every Atlas custom
    role is; `*` is no wildcard there. So `database: "*"` either asks for every database of the
    cluster (every application's data, and whatever is created later) or names a database that
    no one uses: both are refused.
    """
    if WILDCARD in name:
        return (
            f"'{name}' is not a database name: a grant names one database, never a wildcard "
            "(a role on every database would reach every application's data in the cluster); "
            "add one grant per database"
        )
    if not DATABASE_NAME_PATTERN.match(name):
        return f"'{name}' is not valid; {DATABASE_NAME_HINT}"
    if name in RESERVED_DATABASES:
        return (
            f"'{name}' is reserved by MongoDB and cannot be granted; grant an application database"
        )
    return None


def connection_id(pipeline_name: str) -> str:
    """The Airflow connection id of a pipeline (docs/connection-contract.md)."""
    return "mongo_" + pipeline_name.replace("-", "_")


def resolve_actions(access: str) -> tuple[str, ...]:
    """The Atlas actions of a preset; raises KeyError for an unknown preset."""
    return PRESETS[access]


def privileges(pipeline: Pipeline) -> tuple[Privilege, ...]:
    """Every (action, database, collection) the pipeline's custom role grants, sorted, unique."""
    found: set[Privilege] = set()
    for grant in pipeline.grants:
        for action in grant.actions:
            if action in DATABASE_ACTIONS or grant.is_wildcard:
                found.add(Privilege(action=action, database=grant.database, collection=""))
            else:
                for collection in grant.collections:
                    found.add(
                        Privilege(action=action, database=grant.database, collection=collection)
                    )
    return tuple(sorted(found, key=lambda p: (p.action, p.database, p.collection)))


def credential_lifetime(
    mode: AuthMode,
    *,
    session_seconds: int,
    okta_token_minutes: int | None,
    vault_max_ttl: int | None,
) -> int:
    """How long a credential a pipeline of this mode obtains stays valid, at most, in seconds.

    aws-iam: the pipeline role's STS session; okta-oidc: the Okta access token; vault-dynamic:
    the Vault lease (max TTL) of the Atlas user. Without the mode's settings, the STS session.
    """
    if mode is AuthMode.OKTA_OIDC and okta_token_minutes is not None:
        return okta_token_minutes * 60
    if mode is AuthMode.VAULT_DYNAMIC and vault_max_ttl is not None:
        return vault_max_ttl
    return session_seconds


def access_matrix(
    pipelines: Iterable[Pipeline],
    *,
    naming: Naming,
    identities: Mapping[str, object],
    custom_roles: Mapping[str, object],
    lifetimes: Mapping[AuthMode, int],
) -> list[dict[str, object]]:
    """One row per pipeline, database and collection: who may do what, as which identity.

    `identities` and `custom_roles` map pipeline -> Atlas user and custom role name (values may
    be Pulumi Outputs); a vault-dynamic pipeline has no declared user: Vault issues one per lease
    from its creds path. `lifetimes` is `credential_lifetime` per auth mode.
    """
    rows: list[dict[str, object]] = []
    for p in pipelines:
        by_namespace: dict[tuple[str, str], list[str]] = {}
        for privilege in privileges(p):
            key = (privilege.database, privilege.collection or WILDCARD)
            by_namespace.setdefault(key, []).append(privilege.action)
        vault_creds = (
            f"vault:{naming.vault_database_mount()}/creds/{p.name}"
            if p.auth_mode is AuthMode.VAULT_DYNAMIC
            else ""
        )
        for (database, collection), actions in sorted(by_namespace.items()):
            rows.append(
                {
                    "pipeline": p.name,
                    "authMode": p.auth_mode.value,
                    "identity": identities.get(p.name, vault_creds),
                    "customRole": custom_roles[p.name],
                    "cluster": p.cluster,
                    "database": database,
                    "collection": collection,
                    "actions": sorted(actions),
                    "connectionId": p.connection_id,
                    "credentialLifetimeSeconds": lifetimes[p.auth_mode],
                }
            )
    return rows


def lookup_pattern(connection_ids: Iterable[str]) -> str:
    """A regex that matches exactly these connection ids (Airflow applies it with re.match)."""
    ids = sorted(set(connection_ids))
    return "^(" + "|".join(re.escape(i) for i in ids) + ")$"


def check_pipelines(
    pipelines: Sequence[tuple[int, Pipeline]],
    *,
    clusters: Iterable[str],
    allow_wildcard_collections: bool,
) -> list[Problem]:
    """Cross-pipeline and per-grant rules. `pipelines` pairs each with its index in the settings."""
    problems: list[Problem] = []
    known_clusters = set(clusters)
    by_connection_id: dict[str, str] = {}
    for index, pipeline in pipelines:
        at = f"pipelines[{index}]"
        conn_id = pipeline.connection_id
        if conn_id in by_connection_id:
            other = by_connection_id[conn_id]
            if other == pipeline.name:
                problems.append(
                    Problem(
                        path=f"{at}.name",
                        message=f"duplicate pipeline '{pipeline.name}'; pipeline names must be "
                        "unique: rename one or merge their grants",
                    )
                )
            else:
                problems.append(
                    Problem(
                        path=f"{at}.name",
                        message=f"'{pipeline.name}' and '{other}' both map to connection id "
                        f"'{conn_id}'; rename one of them",
                    )
                )
        else:
            by_connection_id[conn_id] = pipeline.name
        if pipeline.cluster not in known_clusters:
            problems.append(
                Problem(
                    path=f"{at}.cluster",
                    message=f"unknown cluster '{pipeline.cluster}'; use one of "
                    f"{', '.join(sorted(known_clusters)) or '(none: add atlasClusters first)'}",
                )
            )
        databases = {g.database for g in pipeline.grants}
        if pipeline.grants and pipeline.default_database not in databases:
            problems.append(
                Problem(
                    path=f"{at}.defaultDatabase",
                    message=f"'{pipeline.default_database}' is not granted to this pipeline; "
                    f"use one of {', '.join(sorted(databases))}",
                )
            )
        for g_index, grant in enumerate(pipeline.grants):
            database = database_problem(grant.database)
            if database is not None:
                problems.append(Problem(path=f"{at}.grants[{g_index}].database", message=database))
            if grant.is_wildcard and not allow_wildcard_collections:
                problems.append(
                    Problem(
                        path=f"{at}.grants[{g_index}].collections",
                        message="'*' (every collection) is not allowed in this stack; list the "
                        "collections, or set allowWildcardCollections: true to accept it",
                    )
                )
    return problems


__all__ = [
    "DATABASE_ACTIONS",
    "KNOWN_ACTIONS",
    "PRESETS",
    "RESERVED_DATABASES",
    "AuthMode",
    "Grant",
    "Pipeline",
    "Privilege",
    "Problem",
    "Tier",
    "access_matrix",
    "check_pipelines",
    "connection_id",
    "credential_lifetime",
    "database_problem",
    "lookup_pattern",
    "privileges",
    "resolve_actions",
]
