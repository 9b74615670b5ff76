"""Typed, validated stack settings. The only reader of `pulumi.Config` in the program.

`load()` reads every key declared in `KEYS` (and in `Pulumi.yaml`), `parse()` turns the raw values
into frozen `Settings`, collecting every problem with its key path and the fix. Invalid settings
raise `SettingsError` before any resource is registered.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from components import access
from components.access import AuthMode, Grant, Naming, Pipeline, Problem, Tier

__all__ = ["KEYS", "Problem", "Settings", "SettingsError", "decode", "load", "parse"]
from components.wiring import SUPPORTED_AUTH_MODES, MwaaSpec, OktaSpec, VaultSpec, WiringArgs

ConfigType = Literal["string", "integer", "boolean", "array"]


@dataclass(frozen=True, kw_only=True)
class Key:
    """A declared config key: its type in `Pulumi.yaml` and what it means."""

    type: ConfigType
    description: str
    structured: bool = False
    """A list of objects: documented in Pulumi.yaml comments, not declarable in its schema."""


# Every key the program reads. Pulumi.yaml declares the same keys (a test keeps them in step),
# except the structured ones, which its schema cannot type (see the comment there).
KEYS: dict[str, Key] = {
    "tier": Key(type="string", description="dev, staging or prod; prod enforces stricter limits"),
    "namePrefix": Key(type="string", description="Prefix of every physical name (default aai)"),
    "awsAccountId": Key(type="string", description="12-digit AWS account the stack deploys to"),
    "awsRegion": Key(type="string", description="AWS region of MWAA and Secrets Manager"),
    "mwaaEnvironmentName": Key(type="string", description="Name of the MWAA environment"),
    "mwaaSourceBucketArn": Key(type="string", description="ARN of the MWAA DAG bucket"),
    "mwaaCreateEnvironment": Key(
        type="boolean",
        description="true: the program creates the MWAA environment; false: it only exports the "
        "Airflow configuration options for an existing one",
    ),
    "mwaaAirflowVersion": Key(type="string", description="Airflow version of a created MWAA env"),
    "mwaaEnvironmentClass": Key(type="string", description="mw1.micro .. mw1.2xlarge"),
    "mwaaDagS3Path": Key(type="string", description="DAG folder in the bucket (default dags)"),
    "mwaaSubnetIds": Key(type="array", description="Two private subnet ids for a created env"),
    "mwaaSecurityGroupIds": Key(type="array", description="Security groups for a created env"),
    "mwaaWebserverAccessMode": Key(
        type="string", description="PRIVATE_ONLY (default) or PUBLIC_ONLY"
    ),
    "pipelineSessionSeconds": Key(
        type="integer",
        description="Max session duration of pipeline roles, 900..43200 (prod at most 3600)",
    ),
    "secretsKmsKeyArn": Key(
        type="string", description="Customer KMS key for the connection secrets (optional)"
    ),
    "connectionsPrefix": Key(
        type="string", description="Secrets Manager prefix of connections (default airflow/<stack>)"
    ),
    "variablesPrefix": Key(
        type="string", description="Secrets Manager prefix of Variables; unset disables lookups"
    ),
    "configPrefix": Key(
        type="string", description="Secrets Manager prefix of Airflow config; unset disables"
    ),
    "atlasProjectId": Key(type="string", description="24-hex id of the Atlas project"),
    "atlasClusters": Key(type="array", description="Clusters: [{name, srvHost}]", structured=True),
    "auditAuthorizationSuccess": Key(
        type="boolean",
        description="Record every successful authorization in the Atlas audit log "
        "(costs cluster performance; default true in prod, false elsewhere)",
    ),
    "allowWildcardCollections": Key(
        type="boolean",
        description="Allow grants on '*' (every collection); default false in prod",
    ),
    "protectStatefulResources": Key(
        type="boolean",
        description="Mark auditing and the MWAA environment `protect`; default true in prod",
    ),
    "oktaAudience": Key(
        type="string",
        description="Audience of the Okta authorization server and the Atlas workload IdP "
        "(default api://<prefix>-<stack>-atlas)",
    ),
    "oktaScope": Key(type="string", description="Scope pipelines request (default mongodb.access)"),
    "oktaTokenLifetimeMinutes": Key(
        type="integer",
        description="Access-token lifetime, 5..1440 (prod: ≤ oktaProdMaxTokenLifetimeMinutes)",
    ),
    "oktaProdMaxTokenLifetimeMinutes": Key(
        type="integer", description="Cap on the token lifetime in prod (default 15)"
    ),
    "oktaKeyRotationHours": Key(
        type="integer", description="Rotate each pipeline's signing key this often (default 24)"
    ),
    "oktaKeysPrefix": Key(
        type="string",
        description="Secrets Manager prefix of signing keys (default airflow/<stack>/okta-keys)",
    ),
    "atlasOrgId": Key(type="string", description="Atlas organization (okta-oidc pipelines)"),
    "atlasFederationSettingsId": Key(
        type="string", description="Atlas federation settings of that org (okta-oidc pipelines)"
    ),
    "atlasOrgConfigImported": Key(
        type="boolean",
        description="The org's federation config has been imported (see README); only then the "
        "stack links its workload IdP to the org",
    ),
    "atlasOtherDataAccessIdpIds": Key(
        type="array",
        description="Workload IdPs of other stacks in the same org, kept in the org config",
    ),
    "secretsBackend": Key(
        type="string",
        description="Where Airflow reads connection definitions: secrets-manager or vault",
    ),
    "vaultAddress": Key(type="string", description="https URL of Vault as workers reach it"),
    "vaultIamServerIdHeaderValue": Key(
        type="string",
        description="X-Vault-AWS-IAM-Server-ID value logins must sign (default: Vault's host name)",
    ),
    "vaultAudit": Key(
        type="array",
        description="Audit device {type: file|socket|syslog, options}; required when Vault is used",
        structured=True,
    ),
    "vaultDefaultTtlSeconds": Key(
        type="integer", description="Default TTL of Vault-issued Atlas users (prod default 900)"
    ),
    "vaultMaxTtlSeconds": Key(
        type="integer", description="Max TTL of Vault-issued Atlas users (prod default 3600)"
    ),
    "vaultTtlCeilingSeconds": Key(
        type="integer", description="Upper bound for vaultMaxTtlSeconds (prod 3600, else 86400)"
    ),
    "atlasVaultApiKeyAccessList": Key(
        type="array",
        description="Vault egress IPs/CIDRs: the only places Vault's Atlas API key works from",
    ),
    "atlasApiKeyRotationDays": Key(
        type="integer", description="Replace Vault's Atlas API key this often (default 30)"
    ),
    "pipelines": Key(
        type="array",
        description="Pipelines: [{name, authMode, cluster, defaultDatabase, grants: "
        "[{database, collections, access | actions}]}]",
        structured=True,
    ),
}

_TRUE_FALSE = {"true": True, "false": False}
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
ATLAS_PROJECT_ID = re.compile(r"^[0-9a-f]{24}$")
S3_BUCKET_ARN = re.compile(r"^arn:aws:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KMS_KEY_ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
MWAA_NAME = re.compile(r"^[a-zA-Z][0-9a-zA-Z_-]{0,79}$")
SRV_HOST = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+\.mongodb\.net$")
NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,11}$")
SECRETS_PREFIX = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,200}$")
ENVIRONMENT_CLASSES = ("mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge")
ACCESS_MODES = ("PRIVATE_ONLY", "PUBLIC_ONLY")
SESSION_MIN, SESSION_MAX, PROD_SESSION_MAX = 900, 43200, 3600
TOKEN_LIFETIME_MIN, TOKEN_LIFETIME_MAX, PROD_TOKEN_LIFETIME_CAP = 5, 1440, 15
KEY_ROTATION_MIN, KEY_ROTATION_MAX = 1, 8760
OKTA_SCOPE = re.compile(r"^[A-Za-z0-9._:/-]{1,100}$")
AUDIENCE = re.compile(r"^\S{1,512}$")


class SettingsError(Exception):
    """Invalid stack settings: every problem, each naming its config key path."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, kw_only=True)
class Settings:
    """A validated stack: its tier and everything the Wiring component needs."""

    project: str
    stack: str
    tier: Tier
    wiring: WiringArgs


def load(config: pulumi.Config | None = None) -> Settings:
    """Read the current stack's config and return validated settings (or raise SettingsError)."""
    config = config or pulumi.Config()
    raw = {key: config.get(key) for key in KEYS}
    return parse(
        {k: v for k, v in raw.items() if v is not None},
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
    )


def decode(key: str, text: str) -> Any:
    """A config value as Pulumi hands it to the program (a string) turned into its declared type."""
    if key not in KEYS:
        return text  # reported as an unknown key by parse()
    kind = KEYS[key].type
    if kind == "string":
        return text
    if kind == "boolean":
        return _TRUE_FALSE.get(text.lower(), text)
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class _Reader:
    """Typed access to raw values that records a Problem, with its path, for every bad value."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path=path, message=message))

    def unknown_keys(self, obj: Mapping[str, Any], known: set[str], at: str) -> None:
        for key in sorted(set(obj) - known):
            self.fail(
                f"{at}.{key}" if at else key,
                f"unknown key; known keys are {', '.join(sorted(known))}",
            )

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        at: str,
        *,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
        default: str | None = None,
        required: bool = True,
    ) -> str | None:
        path = f"{at}.{key}" if at else key
        value = obj.get(key, default)
        if value is None:
            if required:
                self.fail(path, f"is required{'; ' + hint if hint else ''}")
            return None
        if not isinstance(value, str) or not value:
            self.fail(path, f"must be a non-empty string{'; ' + hint if hint else ''}")
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(path, f"'{value}' is not valid; {hint}")
            return None
        return value

    def boolean(self, obj: Mapping[str, Any], key: str, default: bool) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"'{value}' is not a boolean; use true or false")
            return default
        return value

    def strings(self, obj: Mapping[str, Any], key: str, at: str) -> tuple[str, ...] | None:
        path = f"{at}.{key}" if at else key
        value = obj.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(path, "must be a list of non-empty strings")
            return None
        return tuple(value)

    def objects(self, obj: Mapping[str, Any], key: str, at: str) -> list[Mapping[str, Any]]:
        path = f"{at}.{key}" if at else key
        value = obj.get(key)
        if value is None:
            self.fail(path, "is required")
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(path, "must be a list of objects")
            return []
        return value

    def choice(
        self,
        obj: Mapping[str, Any],
        key: str,
        at: str,
        choices: tuple[str, ...],
        *,
        default: str | None = None,
    ) -> str | None:
        path = f"{at}.{key}" if at else key
        value = obj.get(key, default)
        if value not in choices:
            shown = "(missing)" if value is None else f"'{value}'"
            self.fail(path, f"{shown} is not valid; use one of {', '.join(choices)}")
            return None
        return str(value)


def parse(values: Mapping[str, Any], *, project: str, stack: str) -> Settings:
    """Validate raw config values (bare keys, decoded) into Settings, or raise SettingsError."""
    problems: list[Problem] = []
    r = _Reader(problems)
    values = {
        key: decode(key, value) if isinstance(value, str) else value
        for key, value in values.items()
    }
    r.unknown_keys(values, set(KEYS), "")

    tier_name = r.choice(values, "tier", "", tuple(t.value for t in Tier))
    tier = Tier(tier_name) if tier_name else Tier.PROD  # strictest while reporting
    prod = tier is Tier.PROD

    prefix = r.string(
        values,
        "namePrefix",
        "",
        pattern=NAME_PREFIX,
        default="aai",
        hint="use 1-12 lowercase letters, digits or '-', starting with a letter",
    )
    account = r.string(
        values,
        "awsAccountId",
        "",
        pattern=ACCOUNT_ID,
        hint="use the 12-digit account id, e.g. 123456789012",
    )
    region = r.string(values, "awsRegion", "", pattern=REGION, hint="use e.g. eu-west-1")
    env_name = r.string(
        values,
        "mwaaEnvironmentName",
        "",
        pattern=MWAA_NAME,
        hint="use letters, digits, '-' or '_', starting with a letter",
    )
    bucket = r.string(
        values,
        "mwaaSourceBucketArn",
        "",
        pattern=S3_BUCKET_ARN,
        hint="use the bucket ARN, e.g. arn:aws:s3:::my-mwaa-dags",
    )
    mwaa = _mwaa_environment(r, values)

    session = values.get("pipelineSessionSeconds", PROD_SESSION_MAX)
    ceiling = PROD_SESSION_MAX if prod else SESSION_MAX
    if not isinstance(session, int) or isinstance(session, bool):
        r.fail("pipelineSessionSeconds", f"'{session}' is not an integer number of seconds")
        session = PROD_SESSION_MAX
    elif not SESSION_MIN <= session <= ceiling:
        r.fail(
            "pipelineSessionSeconds",
            f"{session} is outside {SESSION_MIN}..{ceiling} for tier {tier.value}; "
            f"use a value in that range",
        )

    kms = r.string(
        values,
        "secretsKmsKeyArn",
        "",
        pattern=KMS_KEY_ARN,
        required=False,
        hint="use a key ARN, e.g. arn:aws:kms:eu-west-1:123456789012:key/<uuid>",
    )
    secrets_hint = "use letters, digits and / _ + = . @ -"
    conn_prefix = r.string(
        values,
        "connectionsPrefix",
        "",
        pattern=SECRETS_PREFIX,
        default=f"airflow/{stack}/connections",
        hint=secrets_hint,
    )
    var_prefix = r.string(
        values, "variablesPrefix", "", pattern=SECRETS_PREFIX, required=False, hint=secrets_hint
    )
    cfg_prefix = r.string(
        values, "configPrefix", "", pattern=SECRETS_PREFIX, required=False, hint=secrets_hint
    )

    project_id = r.string(
        values,
        "atlasProjectId",
        "",
        pattern=ATLAS_PROJECT_ID,
        hint="use the 24-character hex project id from the Atlas UI",
    )
    clusters = _clusters(r, values)

    audit_success = r.boolean(values, "auditAuthorizationSuccess", default=prod)
    allow_wildcard = r.boolean(values, "allowWildcardCollections", default=not prod)
    protect = r.boolean(values, "protectStatefulResources", default=prod)

    indexed = _pipelines(r, values)
    # Check references against every declared cluster name, valid or not: an invalid cluster is
    # reported once, at its own key, not again at every pipeline that names it.
    raw_clusters = values.get("atlasClusters")
    declared = (
        {c["name"] for c in raw_clusters if isinstance(c, dict) and isinstance(c.get("name"), str)}
        if isinstance(raw_clusters, list)
        else set()
    )
    problems.extend(
        access.check_pipelines(
            indexed,
            clusters=declared,
            allow_wildcard_collections=allow_wildcard,
        )
    )
    modes = {p.auth_mode for _, p in indexed}
    org_id = None
    if modes & {AuthMode.OKTA_OIDC, AuthMode.VAULT_DYNAMIC}:
        org_id = r.string(
            values,
            "atlasOrgId",
            "",
            pattern=ATLAS_PROJECT_ID,
            hint="use the 24-character hex id from the Atlas UI",
        )
    elif "atlasOrgId" in values:
        r.fail("atlasOrgId", "only applies with okta-oidc or vault-dynamic pipelines; remove it")
    okta = _okta(
        r,
        values,
        tier=tier,
        stack=stack,
        prefix=prefix or "aai",
        conn_prefix=conn_prefix,
        indexed=indexed,
        org_id=org_id,
    )
    vault = _vault(r, values, tier=tier, modes=modes, org_id=org_id)
    if problems:
        raise SettingsError(problems)
    return Settings(
        project=project,
        stack=stack,
        tier=tier,
        wiring=WiringArgs(
            stack=stack,
            naming=Naming(prefix=_present(prefix), stack=stack),
            aws_account_id=_present(account),
            aws_region=_present(region),
            mwaa_environment_name=_present(env_name),
            mwaa_source_bucket_arn=_present(bucket),
            mwaa=mwaa,
            pipeline_session_seconds=session,
            secrets_kms_key_arn=kms,
            connections_prefix=_present(conn_prefix).rstrip("/"),
            variables_prefix=var_prefix,
            config_prefix=cfg_prefix,
            atlas_project_id=_present(project_id),
            cluster_hosts=clusters,
            audit_authorization_success=audit_success,
            protect_stateful_resources=protect,
            pipelines=tuple(p for _, p in indexed),
            okta=okta,
            vault=vault,
        ),
    )


_OKTA_KEYS = (
    "oktaAudience",
    "oktaScope",
    "oktaTokenLifetimeMinutes",
    "oktaProdMaxTokenLifetimeMinutes",
    "oktaKeyRotationHours",
    "oktaKeysPrefix",
    "atlasFederationSettingsId",
    "atlasOrgConfigImported",
    "atlasOtherDataAccessIdpIds",
)


_VAULT_KEYS = (
    "vaultAddress",
    "vaultIamServerIdHeaderValue",
    "vaultAudit",
    "vaultDefaultTtlSeconds",
    "vaultMaxTtlSeconds",
    "vaultTtlCeilingSeconds",
)
_VAULT_DYNAMIC_KEYS = ("atlasVaultApiKeyAccessList", "atlasApiKeyRotationDays")
SECRETS_BACKENDS = ("secrets-manager", "vault")
AUDIT_TYPES = ("file", "socket", "syslog")
VAULT_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?/?$")
TTL_MIN, TTL_MAX = 60, 31 * 86400


def _vault(
    r: _Reader,
    values: Mapping[str, Any],
    *,
    tier: Tier,
    modes: set[AuthMode],
    org_id: str | None,
) -> VaultSpec | None:
    """Vault settings: required when a pipeline is vault-dynamic or Vault is the backend."""
    backend = r.choice(values, "secretsBackend", "", SECRETS_BACKENDS, default="secrets-manager")
    dynamic = AuthMode.VAULT_DYNAMIC in modes
    if not dynamic:
        for key in _VAULT_DYNAMIC_KEYS:
            if key in values:
                r.fail(key, "only applies when a pipeline uses authMode vault-dynamic; remove it")
    if backend != "vault" and not dynamic:
        for key in _VAULT_KEYS:
            if key in values:
                r.fail(
                    key,
                    "only applies when Vault is used (a vault-dynamic pipeline or "
                    "secretsBackend: vault); remove it",
                )
        return None
    address = r.string(
        values,
        "vaultAddress",
        "",
        pattern=VAULT_URL,
        hint="use the https URL workers reach Vault at, e.g. https://vault.acme.internal:8200",
    )
    host = address.split("://", 1)[1].split(":")[0].rstrip("/") if address else None
    header = r.string(
        values,
        "vaultIamServerIdHeaderValue",
        "",
        default=host,
        pattern=re.compile(r"^[A-Za-z0-9.-]{1,253}$"),
        hint="use a host name",
        # Without a valid vaultAddress there is no default; that problem is reported already.
        required=host is not None,
    )
    audit = _vault_audit(r, values)
    prod = tier is Tier.PROD
    ceiling = _integer(
        r, values, "vaultTtlCeilingSeconds", 3600 if prod else 86400, TTL_MIN, TTL_MAX
    )
    max_ttl = _integer(
        r, values, "vaultMaxTtlSeconds", min(3600 if prod else 14400, ceiling), TTL_MIN, TTL_MAX
    )
    default_ttl = _integer(
        r, values, "vaultDefaultTtlSeconds", min(900 if prod else 3600, max_ttl), TTL_MIN, TTL_MAX
    )
    if max_ttl > ceiling:
        r.fail(
            "vaultMaxTtlSeconds",
            f"{max_ttl} exceeds vaultTtlCeilingSeconds ({ceiling}): lower vaultMaxTtlSeconds "
            "or raise vaultTtlCeilingSeconds",
        )
    if default_ttl > max_ttl:
        r.fail(
            "vaultDefaultTtlSeconds",
            f"{default_ttl} exceeds vaultMaxTtlSeconds ({max_ttl}): lower "
            "vaultDefaultTtlSeconds or raise vaultMaxTtlSeconds",
        )
    access_list: tuple[str, ...] = ()
    rotation = 30
    if dynamic:
        access_list = _access_list(r, values)
        rotation = _integer(r, values, "atlasApiKeyRotationDays", 30, 1, 90)
    if not (address and header and audit):
        return None
    return VaultSpec(
        address=address.rstrip("/"),
        iam_server_id_header_value=header,
        audit_type=audit[0],
        audit_options=audit[1],
        default_ttl=default_ttl,
        max_ttl=max_ttl,
        secrets_backend=backend == "vault",
        atlas_org_id=org_id or "",
        api_key_access_list=access_list,
        api_key_rotation_days=rotation,
    )


def _vault_audit(r: _Reader, values: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
    raw = values.get("vaultAudit")
    if raw is None:
        r.fail(
            "vaultAudit",
            "is required when Vault is used; add e.g. "
            "{type: file, options: {file_path: /vault/audit/audit.log}}",
        )
        return None
    if not isinstance(raw, dict):
        r.fail("vaultAudit", "must be an object {type, options}")
        return None
    r.unknown_keys(raw, {"type", "options"}, "vaultAudit")
    kind = r.choice(raw, "type", "vaultAudit", AUDIT_TYPES)
    options = raw.get("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        r.fail("vaultAudit.options", "must map option names to strings")
        return None
    required = {"file": "file_path", "socket": "address"}.get(kind or "")
    if required and required not in options:
        r.fail(f"vaultAudit.options.{required}", f"is required for a {kind} audit device")
        return None
    return (kind, dict(options)) if kind else None


def _access_list(r: _Reader, values: Mapping[str, Any]) -> tuple[str, ...]:
    key = "atlasVaultApiKeyAccessList"
    if key not in values:
        r.fail(key, "is required with vault-dynamic pipelines: list Vault's egress IPs or CIDRs")
        return ()
    entries = r.strings(values, key, "")
    if entries is None:
        return ()
    if not entries:
        r.fail(key, "is empty; list Vault's egress IPs or CIDRs")
    for index, entry in enumerate(entries):
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            r.fail(f"{key}[{index}]", f"'{entry}' is not an IP address or CIDR")
            continue
        if network.prefixlen == 0:
            r.fail(f"{key}[{index}]", f"'{entry}' allows every address; list Vault's egress")
    return entries


def _integer(
    r: _Reader,
    values: Mapping[str, Any],
    key: str,
    default: int,
    low: int,
    high: int,
    why: str = "",
) -> int:
    value = values.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        r.fail(key, f"'{value}' is not an integer")
        return default
    if not low <= value <= high:
        r.fail(key, f"{value} is outside {low}..{high}{why}; use a value in that range")
    return value


def _okta(
    r: _Reader,
    values: Mapping[str, Any],
    *,
    tier: Tier,
    stack: str,
    prefix: str,
    conn_prefix: str | None,
    indexed: list[tuple[int, Pipeline]],
    org_id: str | None,
) -> OktaSpec | None:
    """Okta and Atlas federation settings, required exactly when a pipeline uses okta-oidc."""
    if not any(p.auth_mode is AuthMode.OKTA_OIDC for _, p in indexed):
        for key in _OKTA_KEYS:
            if key in values:
                r.fail(key, "only applies when a pipeline uses authMode okta-oidc; remove it")
        return None
    audience = r.string(
        values,
        "oktaAudience",
        "",
        pattern=AUDIENCE,
        default=f"api://{prefix}-{stack}-atlas",
        hint="use a URI without spaces",
    )
    scope = r.string(
        values,
        "oktaScope",
        "",
        pattern=OKTA_SCOPE,
        default="mongodb.access",
        hint="use letters, digits and . _ : / -",
    )
    cap = _integer(
        r,
        values,
        "oktaProdMaxTokenLifetimeMinutes",
        PROD_TOKEN_LIFETIME_CAP,
        TOKEN_LIFETIME_MIN,
        TOKEN_LIFETIME_MAX,
    )
    high = cap if tier is Tier.PROD else TOKEN_LIFETIME_MAX
    why = f" for tier prod (oktaProdMaxTokenLifetimeMinutes is {cap})" if tier is Tier.PROD else ""
    lifetime = _integer(
        r, values, "oktaTokenLifetimeMinutes", min(60, high), TOKEN_LIFETIME_MIN, high, why
    )
    rotation = _integer(r, values, "oktaKeyRotationHours", 24, KEY_ROTATION_MIN, KEY_ROTATION_MAX)
    keys_prefix = r.string(
        values,
        "oktaKeysPrefix",
        "",
        pattern=SECRETS_PREFIX,
        default=f"airflow/{stack}/okta-keys",
        hint="use letters, digits and / _ + = . @ -",
    )
    if keys_prefix and conn_prefix and keys_prefix.rstrip("/").startswith(conn_prefix.rstrip("/")):
        r.fail(
            "oktaKeysPrefix",
            f"'{keys_prefix}' is inside connectionsPrefix; keys must live "
            "apart from connection definitions (the execution role reads "
            "those): choose another prefix",
        )
    federation = r.string(
        values,
        "atlasFederationSettingsId",
        "",
        pattern=ATLAS_PROJECT_ID,
        hint="use the 24-character hex id from the Atlas UI",
    )
    imported = r.boolean(values, "atlasOrgConfigImported", default=False)
    others: tuple[str, ...] = ()
    if "atlasOtherDataAccessIdpIds" in values:
        others = r.strings(values, "atlasOtherDataAccessIdpIds", "") or ()
    if not (audience and scope and keys_prefix and org_id and federation):
        return None
    return OktaSpec(
        audience=audience,
        scope=scope,
        token_lifetime_minutes=lifetime,
        key_rotation_hours=rotation,
        keys_prefix=keys_prefix.rstrip("/"),
        atlas_org_id=org_id,
        atlas_federation_settings_id=federation,
        atlas_org_config_imported=imported,
        atlas_other_data_access_idp_ids=others,
    )


def _present(value: str | None) -> str:
    """A required value; every missing one has already been reported as a Problem."""
    if value is None:
        raise RuntimeError("a required setting is missing but no problem was recorded")
    return value


def _mwaa_environment(r: _Reader, values: Mapping[str, Any]) -> MwaaSpec | None:
    create = r.boolean(values, "mwaaCreateEnvironment", default=False)
    env_keys = (
        "mwaaAirflowVersion",
        "mwaaEnvironmentClass",
        "mwaaDagS3Path",
        "mwaaSubnetIds",
        "mwaaSecurityGroupIds",
        "mwaaWebserverAccessMode",
    )
    if not create:
        for key in env_keys:
            if key in values:
                r.fail(
                    key,
                    "only applies when mwaaCreateEnvironment is true; remove it or "
                    "set mwaaCreateEnvironment: true",
                )
        return None
    version = r.string(
        values,
        "mwaaAirflowVersion",
        "",
        pattern=re.compile(r"^\d+\.\d+\.\d+$"),
        hint="use an MWAA-supported version such as 3.0.6",
    )
    env_class = r.choice(
        values, "mwaaEnvironmentClass", "", ENVIRONMENT_CLASSES, default="mw1.small"
    )
    dag_path = r.string(values, "mwaaDagS3Path", "", default="dags")
    subnets = r.strings(values, "mwaaSubnetIds", "")
    if subnets is not None and len(subnets) != 2:
        r.fail("mwaaSubnetIds", f"MWAA needs exactly 2 private subnets, got {len(subnets)}")
    groups = r.strings(values, "mwaaSecurityGroupIds", "")
    mode = r.choice(values, "mwaaWebserverAccessMode", "", ACCESS_MODES, default="PRIVATE_ONLY")
    if not (version and env_class and dag_path and subnets and groups and mode):
        return None
    return MwaaSpec(
        airflow_version=version,
        environment_class=env_class,
        dag_s3_path=dag_path,
        subnet_ids=subnets,
        security_group_ids=groups,
        webserver_access_mode=mode,
    )


def _clusters(r: _Reader, values: Mapping[str, Any]) -> dict[str, str]:
    """Cluster name -> SRV host."""
    clusters: dict[str, str] = {}
    raw = r.objects(values, "atlasClusters", "")
    if "atlasClusters" in values and not raw and isinstance(values["atlasClusters"], list):
        r.fail("atlasClusters", "must list at least one cluster: [{name, srvHost}]")
    for index, item in enumerate(raw):
        at = f"atlasClusters[{index}]"
        r.unknown_keys(item, {"name", "srvHost"}, at)
        name = r.string(
            item,
            "name",
            at,
            pattern=re.compile(r"^[A-Za-z0-9-]{1,64}$"),
            hint="use the Atlas cluster name (letters, digits, '-')",
        )
        host = r.string(
            item,
            "srvHost",
            at,
            pattern=SRV_HOST,
            hint="use the SRV host from the Atlas connect dialog, e.g. core.ab1cd.mongodb.net",
        )
        if name and name in clusters:
            r.fail(f"{at}.name", f"duplicate cluster '{name}'; list each cluster once")
        elif name and host:
            clusters[name] = host
    return clusters


_PIPELINE_KEYS = {"name", "authMode", "cluster", "defaultDatabase", "grants", "description"}
_GRANT_KEYS = {"database", "collections", "access", "actions"}


def _pipelines(r: _Reader, values: Mapping[str, Any]) -> list[tuple[int, Pipeline]]:
    result: list[tuple[int, Pipeline]] = []
    raw = r.objects(values, "pipelines", "")
    if "pipelines" in values and not raw and isinstance(values["pipelines"], list):
        r.fail("pipelines", "must list at least one pipeline")
    clusters = values.get("atlasClusters")
    only_cluster = (
        clusters[0].get("name")
        if isinstance(clusters, list) and len(clusters) == 1 and isinstance(clusters[0], dict)
        else None
    )
    for index, item in enumerate(raw):
        at = f"pipelines[{index}]"
        before = len(r.problems)
        r.unknown_keys(item, _PIPELINE_KEYS, at)
        name = r.string(
            item,
            "name",
            at,
            pattern=access.PIPELINE_NAME_PATTERN,
            hint="use lowercase letters, digits, '-' or '_', starting with a letter",
        )
        if name and len(name) > access.PIPELINE_NAME_MAX:
            r.fail(
                f"{at}.name",
                f"'{name}' is longer than {access.PIPELINE_NAME_MAX} characters; shorten it",
            )
        mode = r.choice(item, "authMode", at, tuple(m.value for m in AuthMode))
        if mode and AuthMode(mode) not in SUPPORTED_AUTH_MODES:
            r.fail(
                f"{at}.authMode",
                f"'{mode}' is not available in this version yet; use one of "
                f"{', '.join(sorted(m.value for m in SUPPORTED_AUTH_MODES))}",
            )
        cluster = r.string(
            item,
            "cluster",
            at,
            default=only_cluster,
            hint="name one of atlasClusters (required when there are several)",
        )
        grants = [
            grant
            for g_index, g in enumerate(r.objects(item, "grants", at))
            if (grant := _grant(r, g, f"{at}.grants[{g_index}]")) is not None
        ]
        if isinstance(item.get("grants"), list) and not item["grants"]:
            r.fail(
                f"{at}.grants",
                "is empty; a pipeline needs at least one grant (database, collections, access)",
            )
        default_db = r.string(
            item,
            "defaultDatabase",
            at,
            default=grants[0].database if grants else None,
            required=False,
        )
        description = item.get("description", "")
        if not isinstance(description, str):
            r.fail(f"{at}.description", "must be a string")
        if len(r.problems) == before and name and mode and cluster and default_db:
            result.append(
                (
                    index,
                    Pipeline(
                        name=name,
                        auth_mode=AuthMode(mode),
                        cluster=cluster,
                        grants=tuple(grants),
                        default_database=default_db,
                        description=str(description),
                    ),
                )
            )
    return result


def _grant(r: _Reader, item: Mapping[str, Any], at: str) -> Grant | None:
    before = len(r.problems)
    r.unknown_keys(item, _GRANT_KEYS, at)
    database = r.string(
        item,
        "database",
        at,
        pattern=access.DATABASE_NAME_PATTERN,
        hint='use a MongoDB database name (no / \\ . space " $)',
    )
    if database in access.RESERVED_DATABASES:
        r.fail(
            f"{at}.database",
            f"'{database}' is reserved by MongoDB and cannot be granted; "
            "grant an application database",
        )
    collections = r.strings(item, "collections", at)
    if collections is not None:
        if not collections:
            r.fail(f"{at}.collections", "is empty; list the collections, or '*' for all")
        for c_index, name in enumerate(collections):
            if name != access.WILDCARD and not access.COLLECTION_NAME_PATTERN.match(name):
                r.fail(
                    f"{at}.collections[{c_index}]",
                    f"'{name}' is not a valid collection name (no '$', not system.*)",
                )
        if access.WILDCARD in collections and len(collections) > 1:
            r.fail(f"{at}.collections", "'*' already means every collection; list '*' alone")
    actions = _grant_actions(r, item, at)
    if len(r.problems) > before or not (database and collections and actions):
        return None
    return Grant(database=database, collections=tuple(collections), actions=actions)


def _grant_actions(r: _Reader, item: Mapping[str, Any], at: str) -> tuple[str, ...] | None:
    has_access, has_actions = "access" in item, "actions" in item
    presets = ", ".join(access.PRESETS)
    if has_access == has_actions:
        r.fail(
            at,
            f"set exactly one of access (a preset: {presets}) or actions (explicit Atlas actions)",
        )
        return None
    if has_access:
        preset = item["access"]
        if preset not in access.PRESETS:
            r.fail(
                f"{at}.access",
                f"'{preset}' is not a preset; use one of {presets}, or list explicit actions",
            )
            return None
        return access.resolve_actions(preset)
    actions = r.strings(item, "actions", at)
    if actions is None:
        return None
    if not actions:
        r.fail(f"{at}.actions", "is empty; list at least one action")
        return None
    ok = True
    for a_index, action in enumerate(actions):
        if action not in access.KNOWN_ACTIONS:
            ok = False
            r.fail(
                f"{at}.actions[{a_index}]",
                f"'{action}' is not a grantable Atlas action; use one of "
                f"{', '.join(sorted(access.KNOWN_ACTIONS))}",
            )
    return tuple(dict.fromkeys(actions)) if ok else None
