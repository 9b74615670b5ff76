"""The security invariants, as plain functions over resource and stack views.

Importable without starting a policy pack: `policy/__main__.py` adapts these rules to
`pulumi_policy` (real `pulumi preview --policy-pack policy/`), `policy/check.py` runs the very
same functions over an offline plan JSON. Both paths report the same rule names and messages.

Rules are data: each names the Pulumi type tokens it applies to (checked against the installed
SDKs), its settings with defaults, and a check that returns messages. Property names are the
engine's camelCase names (`defaultTtl`, `boundIamPrincipalArns`, ...); numbers may arrive as
floats; values may be `pulumi_policy` proxies, so only `Mapping`/`Sequence` are assumed, never
`dict`/`list`. Offline, secret values read `"[secret]"`: a rule that needs one fails closed with
a message saying so, except where the stack exports a reviewable copy (MWAA options).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

SECRET_MASK = "[secret]"  # noqa: S105 (the plan's mask, not a credential)
STACK_TYPE = "pulumi:pulumi:Stack"

# Type tokens, verified in pulumi-mongodbatlas 4.18.0, pulumi-aws 7.51.1, pulumi-vault 7.14.0 and
# pulumi-okta 7.0.1 (the `super().__init__('<token>', ...)` of each resource module).
ATLAS_USER = "mongodbatlas:index/databaseUser:DatabaseUser"
ATLAS_CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
ATLAS_AUDITING = "mongodbatlas:index/auditing:Auditing"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
MWAA_ENVIRONMENT = "aws:mwaa/environment:Environment"
VAULT_DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
VAULT_DB_MOUNT = "vault:database/secretsMount:SecretsMount"
VAULT_AWS_AUTH_ROLE = "vault:aws/authBackendRole:AuthBackendRole"
VAULT_JWT_AUTH_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
VAULT_AUDIT = "vault:index/audit:Audit"
VAULT_MOUNT = "vault:index/mount:Mount"
VAULT_AUTH_BACKEND = "vault:index/authBackend:AuthBackend"
VAULT_JWT_AUTH_BACKEND = "vault:jwt/authBackend:AuthBackend"
OKTA_POLICY_RULE = "okta:auth/serverPolicyRule:ServerPolicyRule"
OKTA_OAUTH_APP = "okta:app/oAuth:OAuth"

EXTERNAL_AUTH_DB = "$external"
MWAA_SERVICE_PRINCIPALS = frozenset({"airflow.amazonaws.com", "airflow-env.amazonaws.com"})
CLIENT_CREDENTIALS = "client_credentials"
PRIVATE_KEY_JWT = "private_key_jwt"

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
# Backends that accept `connections_lookup_pattern` (apache-airflow-providers-amazon 9.39.0).
# The HashiCorp VaultBackend (providers-hashicorp 4.8.4) has no such option: with it, connections
# must come from a dedicated mount and path, and Variable/config lookups must be off.
LOOKUP_PATTERN_BACKENDS = frozenset(
    {
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend",
    }
)
VAULT_BACKEND = "airflow.providers.hashicorp.secrets.vault.VaultBackend"
# Connection ids no lookup pattern may match: a pattern matching these lets every id through.
LOOKUP_PROBE_IDS = ("aws_default", "__policy_probe_any_connection__")
# backend_kwargs keys that would put a static credential into the MWAA configuration.
STATIC_CREDENTIAL_KWARGS = frozenset(
    {"token", "secret_id", "password", "client_secret", "aws_secret_access_key", "private_key"}
)
DEFAULT_PROTECTED_TYPES: tuple[str, ...] = (
    VAULT_MOUNT,
    VAULT_DB_MOUNT,
    VAULT_AUTH_BACKEND,
    VAULT_JWT_AUTH_BACKEND,
    ATLAS_AUDITING,
    MWAA_ENVIRONMENT,
)
TIERS = ("dev", "staging", "prod")


# --- views -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ResourceView:
    """One resource as a rule sees it: type, URN, properties (camelCase), `protect`."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False


@dataclass(frozen=True, kw_only=True)
class StackView:
    """The whole stack: its resources and, where known, its exports (`outputs`)."""

    resources: Sequence[ResourceView]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[ResourceView]:
        return [r for r in self.resources if r.type in types]


@dataclass(frozen=True, kw_only=True, order=True)
class Violation:
    rule: str
    urn: str
    """The resource in violation, or "" for the stack as a whole."""
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.urn or '(stack)'}: {self.message}"


# --- settings --------------------------------------------------------------------------------

SettingType = Literal["integer", "string", "array"]


@dataclass(frozen=True, kw_only=True)
class Setting:
    """A configurable value of a rule (pack config and offline `--config` alike)."""

    name: str
    type: SettingType
    default: Any
    description: str
    minimum: int | None = None
    enum: tuple[str, ...] | None = None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.default is not None:
            schema["default"] = list(self.default) if self.type == "array" else self.default
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.type == "array":
            schema["items"] = {"type": "string"}
        return schema


class ConfigError(ValueError):
    """A rule setting with the wrong type or out of range."""


ResourceCheck = Callable[[ResourceView, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[StackView, Mapping[str, Any]], Iterable[tuple[str, str]]]


@dataclass(frozen=True, kw_only=True)
class ResourceRule:
    """Runs once per resource whose type is in `types`."""

    name: str
    description: str
    types: frozenset[str]
    check: ResourceCheck
    settings: tuple[Setting, ...] = ()

    def run(self, resource: ResourceView, config: Mapping[str, Any]) -> list[Violation]:
        if resource.type not in self.types:
            return []
        return [
            Violation(rule=self.name, urn=resource.urn, message=m)
            for m in self.check(resource, config)
        ]


@dataclass(frozen=True, kw_only=True)
class StackRule:
    """Runs once per stack; its check yields (urn or "", message)."""

    name: str
    description: str
    check: StackCheck
    settings: tuple[Setting, ...] = ()

    def run(self, stack: StackView, config: Mapping[str, Any]) -> list[Violation]:
        return [
            Violation(rule=self.name, urn=urn, message=m) for urn, m in self.check(stack, config)
        ]


Rule = ResourceRule | StackRule


def effective_config(rule: Rule, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule's settings: defaults, overridden by `given` (whole floats become ints).

    Unknown keys (e.g. `enforcementLevel`) are ignored: they belong to the engine.
    """
    result: dict[str, Any] = {}
    for setting in rule.settings:
        value = (given or {}).get(setting.name, setting.default)
        result[setting.name] = _setting_value(rule.name, setting, value)
    return result


def _setting_value(rule: str, setting: Setting, value: Any) -> Any:
    where = f"{rule}.{setting.name}"
    if setting.type == "integer":
        number = _number(value)
        if number is None or number != int(number):
            raise ConfigError(f"{where}: {value!r} is not an integer")
        if setting.minimum is not None and number < setting.minimum:
            raise ConfigError(f"{where}: {int(number)} is below the minimum {setting.minimum}")
        return int(number)
    if setting.type == "string":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {value!r} is not a string")
        if setting.enum is not None and value not in setting.enum:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(setting.enum)}")
        return value
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{where}: {value!r} is not a list of strings")
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {value!r} is not a list of strings")
    return tuple(value)


# --- value helpers ---------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A number as the engine sends it (ints arrive as floats); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _seconds(value: float) -> str:
    return f"{int(value)}s" if value == int(value) else f"{value}s"


def _masked(value: Any) -> bool:
    return isinstance(value, str) and value == SECRET_MASK


def _strings(value: Any) -> list[str] | None:
    """A list of strings, or None when the value is missing or not a list of strings."""
    if value is None or isinstance(value, str) or not isinstance(value, Sequence):
        return None
    if not all(isinstance(v, str) for v in value):
        return None
    return list(value)


def _present(props: Mapping[str, Any], key: str) -> bool:
    """Set to something other than None or an empty string."""
    value = props.get(key)
    return value is not None and value != ""


def _json_document(value: Any) -> Mapping[str, Any] | None:
    """A JSON object given as a string or already parsed; None if it is neither."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _sid(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index}"


# --- Atlas -----------------------------------------------------------------------------------

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
        if _present(r.props, key):
            yield (
                f"sets `{key}`: Atlas users here never have a password; bind the user to an "
                "identity instead (awsIamType=ROLE, or oidcAuthType=USER) and remove the password"
            )
    if _identity_binding(r.props) is None:
        yield (
            "is not bound to an identity (no awsIamType, oidcAuthType, ldapAuthType or x509Type), "
            "so Atlas makes it a SCRAM password user; set awsIamType=ROLE or oidcAuthType=USER"
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
    items = [s for s in _as_list(scopes) if isinstance(s, Mapping)]
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
        yield from _role_problems(_as_list(r.props.get("roles")), "the user")
        return
    # A Vault database role: the users Vault creates are described by its creation statement.
    statements = r.props.get("creationStatements")
    if _masked(statements):
        yield "creationStatements is secret in the plan and cannot be checked offline"
        return
    items = _strings(statements)
    if not items or len(items) != 1:
        yield (
            "must have exactly one creation statement (the Atlas user JSON with `roles` and "
            f"`scopes`); found {len(items) if items else 0}"
        )
        return
    if _masked(items[0]):
        yield "creationStatements is secret in the plan and cannot be checked offline"
        return
    document = _json_document(items[0])
    if document is None:
        yield "the creation statement is not a JSON object; Vault's Atlas plugin expects one"
        return
    yield from _scope_problems(document.get("scopes"), "each user Vault creates")
    roles = _as_list(document.get("roles"))
    if not roles:
        yield "the creation statement grants no role; grant the pipeline's custom role"
    yield from _role_problems(roles, "each user Vault creates")


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
        if isinstance(project, str) and not _masked(project) and project not in audited:
            yield (
                resource.urn,
                f"Atlas project {project} has no enabled auditing in this stack; enable "
                "mongodbatlas.Auditing for it",
            )


# --- Vault -----------------------------------------------------------------------------------


def _ttl_problems(
    props: Mapping[str, Any], low: str, high: str, limit: int, limit_name: str
) -> Iterator[str]:
    """`low` <= `high` <= limit, both set and positive."""
    values: dict[str, float] = {}
    for key in (low, high):
        value = props.get(key)
        number = _number(value)
        if value is None:
            yield (
                f"`{key}` is not set, so Vault falls back to the mount or system default "
                f"(32 days unless tuned); set it explicitly to at most {limit}s"
            )
        elif number is None or number <= 0:
            yield f"`{key}` is {value!r}; set a positive number of seconds, at most {limit}s"
        else:
            values[key] = number
    if low in values and high in values and values[low] > values[high]:
        yield (
            f"`{low}` ({_seconds(values[low])}) exceeds `{high}` ({_seconds(values[high])}); "
            f"lower {low} or raise {high}"
        )
    if high in values and values[high] > limit:
        yield (
            f"`{high}` ({_seconds(values[high])}) exceeds the limit of {limit}s "
            f"({limit_name}); lower it"
        )


def check_vault_database_role_ttl(r: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    yield from _ttl_problems(
        r.props, "defaultTtl", "maxTtl", config["maxTtlSeconds"], "setting maxTtlSeconds"
    )


def _wildcard_problems(values: list[str] | None, key: str, required: bool) -> Iterator[str]:
    if not values:
        if required:
            yield f"`{key}` is empty or missing; bind the role to explicit values"
        return
    for value in values:
        if "*" in value or not value.strip():
            yield f"`{key}` contains {value!r}; wildcards are not allowed, list exact values"


def check_vault_auth_role(r: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    p = r.props
    if r.type == VAULT_AWS_AUTH_ROLE:
        auth_type = p.get("authType")
        if auth_type is not None and auth_type != "iam":
            yield f"authType is {auth_type!r}; use `iam` with boundIamPrincipalArns"
        yield from _wildcard_problems(
            _strings(p.get("boundIamPrincipalArns")), "boundIamPrincipalArns", required=True
        )
    else:
        role_type = p.get("roleType")
        if role_type is None:
            yield "roleType is not set (Vault defaults to `oidc`); machine logins use `jwt`"
        elif role_type != "jwt":
            yield f"roleType is {role_type!r}; machine logins use `jwt`"
        yield from _wildcard_problems(
            _strings(p.get("boundAudiences")), "boundAudiences", required=True
        )
        subject = p.get("boundSubject")
        claims = p.get("boundClaims")
        has_claims = isinstance(claims, Mapping) and len(claims) > 0
        if not (isinstance(subject, str) and subject) and not has_claims:
            yield (
                "binds no principal: set boundSubject (the client id) or boundClaims, "
                "otherwise any token for the audience may log in"
            )
        if isinstance(subject, str) and "*" in subject:
            yield f"`boundSubject` is {subject!r}; wildcards are not allowed"
        if has_claims:
            assert isinstance(claims, Mapping)
            if p.get("boundClaimsType") == "glob":
                yield "boundClaimsType is `glob`; use `string` (exact match)"
            for key in claims:
                value = claims[key]
                if not isinstance(value, str) or "*" in value or not value:
                    yield f"`boundClaims.{key}` is {value!r}; use exact values, no wildcards"
    limit = config["maxTokenTtlSeconds"]
    yield from _ttl_problems(p, "tokenTtl", "tokenMaxTtl", limit, "setting maxTokenTtlSeconds")
    explicit = _number(p.get("tokenExplicitMaxTtl"))
    if explicit is not None and explicit > limit:
        yield f"`tokenExplicitMaxTtl` ({_seconds(explicit)}) exceeds the limit of {limit}s"
    period = _number(p.get("tokenPeriod"))
    if period is not None and period > 0:
        yield "`tokenPeriod` makes tokens renewable forever; remove it"


def check_vault_audit_device(stack: StackView, _: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if not any(r.type.startswith("vault:") for r in stack.resources):
        return
    if not stack.of_type(VAULT_AUDIT):
        yield (
            "",
            "the stack configures Vault but declares no audit device; add vault.Audit "
            "(type file, socket or syslog) so every login and credential is recorded",
        )


# --- Okta ------------------------------------------------------------------------------------


def check_okta_policy_rule(r: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    limit = config["maxAccessTokenLifetimeMinutes"]
    value = r.props.get("accessTokenLifetimeMinutes")
    minutes = _number(value)
    if value is None:
        yield (
            "accessTokenLifetimeMinutes is not set (Okta's default is 60); set it explicitly, "
            f"at most {limit} minutes"
        )
    elif minutes is None or minutes <= 0:
        yield f"accessTokenLifetimeMinutes is {value!r}; set a positive number of minutes"
    elif minutes > limit:
        yield (
            f"accessTokenLifetimeMinutes ({int(minutes)}) exceeds the limit of {limit} minutes "
            "(setting maxAccessTokenLifetimeMinutes); lower it"
        )
    grants = _strings(r.props.get("grantTypeWhitelists"))
    if not grants:
        yield "grantTypeWhitelists is empty or missing; allow exactly [client_credentials]"
    else:
        for grant in sorted(set(grants) - {CLIENT_CREDENTIALS}):
            yield f"grantTypeWhitelists allows {grant!r}; pipelines use only client_credentials"


def check_okta_service_app(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    p = r.props
    grants = _strings(p.get("grantTypes")) or []
    if p.get("type") != "service" and CLIENT_CREDENTIALS not in grants:
        return  # not a machine client
    method = p.get("tokenEndpointAuthMethod")
    if method is None:
        yield (
            "tokenEndpointAuthMethod is not set (Okta defaults to client_secret_basic); "
            "use private_key_jwt"
        )
    elif method != PRIVATE_KEY_JWT:
        yield f"tokenEndpointAuthMethod is {method!r}; use private_key_jwt"
    for key in ("clientBasicSecret", "clientBasicSecretWo"):
        if _present(p, key):
            yield f"sets `{key}`: service apps authenticate with a signed JWT, never a secret"
    if not _present(p, "jwks") and not _present(p, "jwksUri"):
        yield "has no `jwks` or `jwksUri`: private_key_jwt needs the app's public key"
    for grant in sorted(set(grants) - {CLIENT_CREDENTIALS}):
        yield f"grantTypes includes {grant!r}; service apps use only client_credentials"
    if not grants:
        yield "grantTypes is empty or missing; set exactly [client_credentials]"


# --- AWS -------------------------------------------------------------------------------------


def _policy_documents(r: ResourceView) -> Iterator[tuple[str, Any]]:
    """(where, document value) of every IAM policy document the resource carries."""
    if r.type == IAM_ROLE:
        if "assumeRolePolicy" in r.props:
            yield "assumeRolePolicy", r.props.get("assumeRolePolicy")
        for index, inline in enumerate(_as_list(r.props.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and "policy" in inline:
                yield f"inlinePolicies[{index}].policy", inline.get("policy")
    elif "policy" in r.props:
        yield "policy", r.props.get("policy")


def check_iam_no_wildcard_actions(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    found = False
    for where, value in _policy_documents(r):
        found = True
        if _masked(value):
            yield f"{where} is secret in the plan and cannot be checked offline"
            continue
        document = _json_document(value)
        if document is None:
            yield f"{where} is not a JSON policy document"
            continue
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            sid = _sid(statement, index)
            if "NotAction" in statement:
                yield f"{where} {sid} allows NotAction, i.e. every other action; list the actions"
            for action in _as_list(statement.get("Action")):
                if isinstance(action, str) and "*" in action:
                    yield (
                        f"{where} {sid} allows the wildcard action {action!r}; "
                        "list the exact actions"
                    )
    if not found and r.type != IAM_ROLE:
        yield "has no `policy` document"


def _condition_keys(statement: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Condition key (lower case) -> values, across every operator."""
    keys: dict[str, list[Any]] = {}
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return keys
    for operator in condition:
        block = condition[operator]
        if isinstance(block, Mapping):
            for key in block:
                keys.setdefault(str(key).lower(), []).extend(_as_list(block[key]))
    return keys


def check_mwaa_trust(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    value = r.props.get("assumeRolePolicy")
    if _masked(value):
        yield "assumeRolePolicy is secret in the plan and cannot be checked offline"
        return
    document = _json_document(value)
    if document is None:
        return  # iam-no-wildcard-actions reports unreadable documents
    for index, statement in enumerate(_statements(document)):
        principal = statement.get("Principal")
        services = (
            {s for s in _as_list(principal.get("Service")) if isinstance(s, str)}
            if isinstance(principal, Mapping)
            else set()
        )
        if statement.get("Effect", "Allow") != "Allow" or not services & MWAA_SERVICE_PRINCIPALS:
            continue
        sid = _sid(statement, index)
        keys = _condition_keys(statement)
        for key in ("aws:SourceAccount", "aws:SourceArn"):
            values = keys.get(key.lower())
            if not values:
                yield (
                    f"{sid} lets MWAA assume the role without a `{key}` condition "
                    "(confused deputy); add it, naming this account / environment"
                )
            elif any(not isinstance(v, str) or v.strip() in ("", "*") for v in values):
                yield f"{sid} has `{key}` {values!r}; name the exact account / environment"


def airflow_options_problems(options: Any) -> list[str]:
    """What is wrong with MWAA `airflowConfigurationOptions` (shared by every path)."""
    if not isinstance(options, Mapping):
        return ["has no Airflow configuration options; set secrets.backend and backend_kwargs"]
    problems: list[str] = []
    backend = options.get("secrets.backend")
    if not isinstance(backend, str) or not backend.strip():
        problems.append(
            "sets no `secrets.backend`; connections must come from a secrets backend "
            "(Secrets Manager or Vault), not from the metadata database"
        )
    raw = options.get("secrets.backend_kwargs")
    kwargs = _json_document(raw)
    if kwargs is None:
        problems.append(
            "`secrets.backend_kwargs` is missing or not a JSON object; set it with a "
            "connections_lookup_pattern"
        )
        return problems
    if backend == VAULT_BACKEND:
        problems.extend(_vault_backend_problems(kwargs))
    else:
        problems.extend(_lookup_pattern_problems(kwargs))
    for key in sorted(STATIC_CREDENTIAL_KWARGS & set(kwargs)):
        problems.append(
            f"`secrets.backend_kwargs` carries a static credential ({key}); authenticate "
            "the backend with the execution role (aws_iam) instead"
        )
    return problems


def _vault_backend_problems(kwargs: Mapping[str, Any]) -> list[str]:
    """VaultBackend cannot filter ids: scope it to one mount and path, lookups of nothing else."""
    problems = []
    for key in ("mount_point", "connections_path"):
        value = kwargs.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(
                f"VaultBackend `{key}` is not set; read connections from this stack's own "
                "KV mount and path"
            )
    for key in ("variables_path", "config_path"):
        if kwargs.get(key) is not None:
            problems.append(
                f"VaultBackend `{key}` is set, so every Variable/config lookup also reaches "
                f"Vault; set {key} to null"
            )
    return problems


def _lookup_pattern_problems(kwargs: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    pattern = kwargs.get("connections_lookup_pattern")
    if not isinstance(pattern, str) or not pattern:
        problems.append(
            "`secrets.backend_kwargs` has no connections_lookup_pattern, so every connection "
            "lookup reaches the backend; set a pattern matching exactly this stack's ids"
        )
    else:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            problems.append(f"connections_lookup_pattern {pattern!r} is not a regex: {error}")
        else:
            loose = [i for i in LOOKUP_PROBE_IDS if compiled.match(i)]
            if loose:
                problems.append(
                    f"connections_lookup_pattern {pattern!r} also matches {loose[0]!r}; "
                    "anchor it to exactly this stack's connection ids (^(...)$)"
                )
    return problems


def check_mwaa_secrets_backend(stack: StackView, _: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    exported = stack.outputs.get("airflowConfigurationOptions")
    environments = stack.of_type(MWAA_ENVIRONMENT)
    for environment in environments:
        options = environment.props.get("airflowConfigurationOptions")
        if _masked(options):
            # Offline the provider's secret marking hides the value; the stack exports the
            # same options for review, and the real pack sees the real value.
            if exported is None or _masked(exported):
                yield (
                    environment.urn,
                    "airflowConfigurationOptions is secret in the plan and the stack exports no "
                    "airflowConfigurationOptions to check instead; export them",
                )
                continue
            options = exported
        for problem in airflow_options_problems(options):
            yield environment.urn, f"MWAA {problem}"
    if not environments and exported is not None and not _masked(exported):
        # The program only exports the options for an environment it does not manage.
        for problem in airflow_options_problems(exported):
            yield "", f"exported airflowConfigurationOptions: {problem}"


def _tier(stack: StackView, config: Mapping[str, Any]) -> str:
    configured = config.get("tier", "")
    if configured:
        return str(configured)
    exported = stack.outputs.get("tier")
    return exported if isinstance(exported, str) and exported in TIERS else "prod"


def check_prod_protected(stack: StackView, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if _tier(stack, config) != "prod":
        return
    for resource in stack.of_type(*config["protectedTypes"]):
        if not resource.protect:
            yield (
                resource.urn,
                f"{resource.type} is not `protect`ed in a prod stack; deleting it revokes "
                "access or loses history: set ResourceOptions(protect=True)",
            )


# --- the rule set ----------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    ResourceRule(
        name="atlas-user-no-password",
        description="Atlas database users are bound to an identity and never have a password.",
        types=frozenset({ATLAS_USER}),
        check=check_atlas_user_no_password,
    ),
    ResourceRule(
        name="atlas-user-external-auth",
        description="IAM and OIDC-workload Atlas users authenticate against `$external`.",
        types=frozenset({ATLAS_USER}),
        check=check_atlas_user_external,
    ),
    ResourceRule(
        name="atlas-user-scoped",
        description="Every Atlas user (declared, or created by Vault) is scoped to a cluster "
        "and holds no built-in any-database or admin role.",
        types=frozenset({ATLAS_USER, VAULT_DB_ROLE}),
        check=check_atlas_user_scoped,
    ),
    StackRule(
        name="atlas-auditing-enabled",
        description="A stack that grants Atlas access enables auditing for every project.",
        check=check_atlas_auditing,
    ),
    ResourceRule(
        name="vault-database-role-ttl",
        description="Vault database roles: 0 < default_ttl <= max_ttl <= the configured limit.",
        types=frozenset({VAULT_DB_ROLE}),
        check=check_vault_database_role_ttl,
        settings=(
            Setting(
                name="maxTtlSeconds",
                type="integer",
                default=3600,
                minimum=1,
                description="Upper bound of max_ttl of a dynamic Atlas credential, in seconds",
            ),
        ),
    ),
    ResourceRule(
        name="vault-auth-role-bound",
        description="Vault AWS/JWT auth roles are bound to explicit principals and audiences "
        "(no wildcards) and issue tokens with bounded TTLs.",
        types=frozenset({VAULT_AWS_AUTH_ROLE, VAULT_JWT_AUTH_ROLE}),
        check=check_vault_auth_role,
        settings=(
            Setting(
                name="maxTokenTtlSeconds",
                type="integer",
                default=3600,
                minimum=1,
                description="Upper bound of token_max_ttl of a pipeline's Vault token, in seconds",
            ),
        ),
    ),
    StackRule(
        name="vault-audit-device",
        description="A stack that configures Vault declares at least one audit device.",
        check=check_vault_audit_device,
    ),
    ResourceRule(
        name="okta-policy-rule-limits",
        description="Okta authorization-server policy rules allow only client_credentials and "
        "an access-token lifetime within the configured limit.",
        types=frozenset({OKTA_POLICY_RULE}),
        check=check_okta_policy_rule,
        settings=(
            Setting(
                name="maxAccessTokenLifetimeMinutes",
                type="integer",
                default=60,
                minimum=5,
                description="Upper bound of accessTokenLifetimeMinutes (Okta allows 5..1440)",
            ),
        ),
    ),
    ResourceRule(
        name="okta-service-app-private-key-jwt",
        description="Okta service apps authenticate with private_key_jwt and hold no secret.",
        types=frozenset({OKTA_OAUTH_APP}),
        check=check_okta_service_app,
    ),
    ResourceRule(
        name="iam-no-wildcard-actions",
        description="IAM policy documents allow no `*` actions and no NotAction.",
        types=frozenset({IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY}),
        check=check_iam_no_wildcard_actions,
    ),
    ResourceRule(
        name="mwaa-trust-conditions",
        description="Roles MWAA may assume carry aws:SourceAccount and aws:SourceArn conditions.",
        types=frozenset({IAM_ROLE}),
        check=check_mwaa_trust,
    ),
    StackRule(
        name="mwaa-secrets-backend",
        description="MWAA's Airflow options name a secrets backend and a connections lookup "
        "pattern (VaultBackend, which has none: one mount and path, no other lookups), and "
        "carry no static credential.",
        check=check_mwaa_secrets_backend,
    ),
    StackRule(
        name="prod-stateful-protected",
        description="In prod, Vault mounts, Atlas auditing and the MWAA environment are "
        "`protect`ed.",
        check=check_prod_protected,
        settings=(
            Setting(
                name="tier",
                type="string",
                default="",
                enum=("", *TIERS),
                description="dev, staging or prod; empty: the stack's `tier` export, else prod",
            ),
            Setting(
                name="protectedTypes",
                type="array",
                default=DEFAULT_PROTECTED_TYPES,
                description="Type tokens that must be protected in prod",
            ),
        ),
    ),
)
# Service-limit rules live in their own module; it builds them from the classes defined above.
from policy.limit_rules import limit_rules  # noqa: E402

RULES = (*RULES, *limit_rules())
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def evaluate(
    stack: StackView, config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Violation]:
    """Every rule over the stack, sorted; `config` maps rule name -> settings."""
    config = config or {}
    violations: list[Violation] = []
    for rule in RULES:
        settings = effective_config(rule, config.get(rule.name))
        if isinstance(rule, ResourceRule):
            for resource in stack.resources:
                violations.extend(rule.run(resource, settings))
        else:
            violations.extend(rule.run(stack, settings))
    return sorted(violations)
