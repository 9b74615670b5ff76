"""Atlas rules: identity-bound database users, external auth, cluster scope, auditing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policy.rules.framework import (
    TIER_SETTING,
    ResourceRule,
    ResourceView,
    Rule,
    StackRule,
    StackView,
    as_list,
    as_strings,
    is_masked,
    is_set,
    json_document,
    stack_tier,
)
from policy.rules.tokens import (
    ATLAS_AUDITING,
    ATLAS_CUSTOM_ROLE,
    ATLAS_IDENTITY_PROVIDER,
    ATLAS_ORG_CONFIG,
    ATLAS_USER,
    ORG_FEDERATION_COMPONENT,
    VAULT_DB_ROLE,
)

EXTERNAL_AUTH_DB = "$external"

# MongoDB built-in roles that reach every database, or administer users, roles or the cluster.
# Custom roles (what this project grants) are never named like these.
ADMIN_BUILTIN_ROLES = frozenset(
    {
        "atlasAdmin",
        "root",
        "__system",
        "backup",
        "restore",
        "clusterAdmin",
        "clusterManager",
        "clusterMonitor",
        "hostManager",
        "dbAdmin",
        "dbOwner",
        "userAdmin",
        "enableSharding",
        "directShardOperations",
    }
)


IDENTITY_BINDINGS = (
    ("awsIamType", ("USER", "ROLE")),
    ("oidcAuthType", ("USER", "IDP_GROUP")),
    ("ldapAuthType", ("USER", "GROUP")),
    ("x509Type", ("MANAGED", "CUSTOMER")),
)


def _identity_binding(props: Mapping[str, Any]) -> tuple[str, str] | None:
    """(property, value) binding the user to an external identity, or None (a password user)."""
    for key, values in IDENTITY_BINDINGS:
        value = props.get(key)
        if isinstance(value, str) and value in values:
            return key, value
    return None


def check_atlas_user_no_password(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    for key in ("password", "passwordWo"):
        if is_set(r.props, key):
            yield (
                f"sets `{key}`: Atlas users here never have a password; bind the user to an "
                "identity instead (awsIamType=ROLE, or oidcAuthType=USER) and remove the password"
            )
    if _identity_binding(r.props) is None:
        yield (
            "is not bound to an identity (no awsIamType, oidcAuthType, ldapAuthType or x509Type), "
            "so Atlas makes it a SCRAM password user; set awsIamType=ROLE or oidcAuthType=USER"
        )


ATLAS_USER_NO_PASSWORD = ResourceRule(
    name="atlas-user-no-password",
    description="Atlas database users are bound to an identity and never have a password.",
    types=frozenset({ATLAS_USER}),
    check=check_atlas_user_no_password,
)


def check_atlas_user_external(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    binding = _identity_binding(r.props)
    if binding is None or binding == ("oidcAuthType", "IDP_GROUP"):
        return  # password users are another rule's business; IdP groups live in `admin`
    key, value = binding
    auth_db = r.props.get("authDatabaseName")
    if auth_db != EXTERNAL_AUTH_DB:
        shown = "is missing" if auth_db is None else f"is {auth_db!r}"
        yield (
            f"is an {key}={value} user but authDatabaseName {shown}; identity users must "
            f"authenticate against `{EXTERNAL_AUTH_DB}`: set authDatabaseName to `$external`"
        )


ATLAS_USER_EXTERNAL_AUTH = ResourceRule(
    name="atlas-user-external-auth",
    description="IAM and OIDC-workload Atlas users authenticate against `$external`.",
    types=frozenset({ATLAS_USER}),
    check=check_atlas_user_external,
)


def _role_problems(roles: Iterable[Any], where: str) -> Iterator[str]:
    for role in roles:
        if not isinstance(role, Mapping):
            continue
        name = role.get("roleName")
        if not isinstance(name, str):
            continue
        if name.endswith("AnyDatabase") or name in ADMIN_BUILTIN_ROLES:
            yield (
                f"{where} holds the built-in role {name!r}; grant only the pipeline's custom role "
                "(exact actions on exact collections), never an any-database or admin role"
            )


def _scope_problems(scopes: Any, where: str) -> Iterator[str]:
    items = [s for s in as_list(scopes) if isinstance(s, Mapping)]
    if not items:
        yield (
            f"{where} has no scopes, so it can reach every cluster of the project; "
            "scope it to its one cluster: scopes=[{name: <cluster>, type: CLUSTER}]"
        )
        return
    for scope in items:
        if scope.get("type") != "CLUSTER" or not scope.get("name"):
            yield (
                f"{where} has scope {dict(scope)!r}; only named CLUSTER scopes are allowed: "
                "scopes=[{name: <cluster>, type: CLUSTER}]"
            )


def check_atlas_user_scoped(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    if r.type == ATLAS_USER:
        yield from _scope_problems(r.props.get("scopes"), "the user")
        yield from _role_problems(as_list(r.props.get("roles")), "the user")
        return
    # A Vault database role: the users Vault creates are described by its creation statement.
    statements = r.props.get("creationStatements")
    if is_masked(statements):
        yield "creationStatements is secret in the plan and cannot be checked offline"
        return
    items = as_strings(statements)
    if not items or len(items) != 1:
        yield (
            "must have exactly one creation statement (the Atlas user JSON with `roles` and "
            f"`scopes`); found {len(items) if items else 0}"
        )
        return
    if is_masked(items[0]):
        yield "creationStatements is secret in the plan and cannot be checked offline"
        return
    document = json_document(items[0])
    if document is None:
        yield "the creation statement is not a JSON object; Vault's Atlas plugin expects one"
        return
    yield from _scope_problems(document.get("scopes"), "each user Vault creates")
    roles = as_list(document.get("roles"))
    if not roles:
        yield "the creation statement grants no role; grant the pipeline's custom role"
    yield from _role_problems(roles, "each user Vault creates")


ATLAS_USER_SCOPED = ResourceRule(
    name="atlas-user-scoped",
    description="Every Atlas user (declared, or created by Vault) is scoped to a cluster "
    "and holds no built-in any-database or admin role.",
    types=frozenset({ATLAS_USER, VAULT_DB_ROLE}),
    check=check_atlas_user_scoped,
)


def check_atlas_auditing(stack: StackView, _: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    atlas = stack.of_type(ATLAS_USER, ATLAS_CUSTOM_ROLE)
    if not atlas and not stack.of_type(VAULT_DB_ROLE):
        return
    audited: set[str] = set()
    any_enabled = False
    for auditing in stack.of_type(ATLAS_AUDITING):
        if auditing.props.get("enabled") is True:
            any_enabled = True
            project = auditing.props.get("projectId")
            if isinstance(project, str):
                audited.add(project)
        else:
            yield (
                auditing.urn,
                "auditing is declared but not enabled; set enabled=true so Atlas records "
                "who authenticated and what they accessed",
            )
    if not any_enabled:
        yield (
            "",
            "the stack grants Atlas access but enables no project auditing; declare "
            "mongodbatlas.Auditing(enabled=True, audit_filter=...) for the project",
        )
        return
    for resource in atlas:
        project = resource.props.get("projectId")
        if isinstance(project, str) and not is_masked(project) and project not in audited:
            yield (
                resource.urn,
                f"Atlas project {project} has no enabled auditing in this stack; enable "
                "mongodbatlas.Auditing for it",
            )


ATLAS_AUDITING_ENABLED = StackRule(
    name="atlas-auditing-enabled",
    description="A stack that grants Atlas access enables auditing for every project.",
    check=check_atlas_auditing,
)


def check_atlas_audit_success(
    stack: StackView, config: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    tier = stack_tier(stack, config)
    if tier == "dev":
        return
    for auditing in stack.of_type(ATLAS_AUDITING):
        if auditing.props.get("auditAuthorizationSuccess") is not True:
            yield (
                auditing.urn,
                f"auditAuthorizationSuccess is not true in tier {tier}: Atlas then records no "
                "successful read or write at all (docs/auditing.md); set it to true",
            )


ATLAS_AUDIT_AUTHORIZATION_SUCCESS = StackRule(
    name="atlas-audit-authorization-success",
    description="Outside dev, Atlas auditing records successful authorizations (data access).",
    check=check_atlas_audit_success,
    settings=(TIER_SETTING,),
)


def check_org_resources_owned_once(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    # A URN names its parents' types: `...::<parent type>$<type>::<name>`.
    parent_types = r.urn.split("::")[2].split("$")[:-1]
    if ORG_FEDERATION_COMPONENT not in parent_types:
        yield (
            "is declared outside the org stack: creating an identity provider needs Atlas "
            "Organization Owner, and the org config's data-access IdP list is one per "
            "organization, so each environment's `up` would unlink the others'; declare it only "
            "in the org stack (components/atlas/org.py, docs/operations.md §2.6)"
        )


ATLAS_ORG_RESOURCES_OWNED_ONCE = ResourceRule(
    name="atlas-org-resources-owned-once",
    description="Workload IdPs and the Atlas org config are declared only by the org stack.",
    types=frozenset({ATLAS_IDENTITY_PROVIDER, ATLAS_ORG_CONFIG}),
    check=check_org_resources_owned_once,
)


RULES: tuple[Rule, ...] = (
    ATLAS_USER_NO_PASSWORD,
    ATLAS_USER_EXTERNAL_AUTH,
    ATLAS_USER_SCOPED,
    ATLAS_AUDITING_ENABLED,
    ATLAS_AUDIT_AUTHORIZATION_SUCCESS,
    ATLAS_ORG_RESOURCES_OWNED_ONCE,
)
