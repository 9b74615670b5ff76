"""Typed, validated stack settings. The only reader of `pulumi.Config` in the program.

`load()` reads every key of `KEYS` (infra/settings/keys.py, rendered into `Pulumi.yaml` and
docs/settings.md), `parse()` turns the raw values into frozen `Settings`, collecting every problem
with its key path and the fix. Invalid settings raise `SettingsError` before any resource is
registered. One module per part of the stack file:
`pipelines` (clusters, pipelines, grants), `mwaa`, `okta`, `vault`; `reader` does the typed reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.settings import limits, mwaa, namespaces, okta, org, pipelines, vault
from infra.settings.keys import KEYS
from infra.settings.reader import (
    ATLAS_ID,
    ATLAS_ID_HINT,
    SECRETS_PREFIX,
    SECRETS_PREFIX_HINT,
    Reader,
    integer,
    present,
)
from model import access
from model.access import AuthMode, Problem, Tier
from model.config_keys import Key
from model.naming import DEFAULT_NAME_PREFIX, NAME_PREFIX_PATTERN, NAME_PREFIX_RULE, Naming
from model.specs import MwaaSpec, OktaSpec, VaultSpec, WiringArgs

__all__ = [
    "KEYS",
    "Key",
    "Problem",
    "Settings",
    "SettingsError",
    "decode",
    "is_org_stack",
    "load",
    "load_org",
    "parse",
]

_TRUE_FALSE = {"true": True, "false": False}
ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
S3_BUCKET_ARN = re.compile(r"^arn:aws:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KMS_KEY_ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
# Path-less role ARN: the secrets' resource policies compare aws:PrincipalArn, which has no path.
DEPLOYER_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@-]{1,64}$")
# IAM managed policy names: 1-128 characters of [\w+=,.@-] (IAM API Reference, CreatePolicy).
POLICY_ARN = re.compile(r"^arn:aws:iam::\d{12}:policy/[\w+=,.@-]{1,128}$")
MWAA_NAME = re.compile(r"^[a-zA-Z][0-9a-zA-Z_-]{0,79}$")
SESSION_MIN, SESSION_MAX, PROD_SESSION_MAX = 900, 43200, 3600


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
    okta_org_url: str | None = None
    """`https://<okta:orgName>.<okta:baseUrl>` when a pipeline uses okta-oidc and the providers'
    keys were given to `parse`."""


def _stack_config() -> dict[str, Any]:
    """Every key of the stack's config, namespaced, as the engine gave it to the program.

    The same two sources `pulumi.Config` reads (pulumi/runtime/config.py, get_config): the map
    set by the runtime, then the `PULUMI_CONFIG` JSON the language host passes the program.
    """
    from pulumi.runtime import config as runtime_config

    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def _raw(config: pulumi.Config | None) -> dict[str, str]:
    config = config or pulumi.Config()
    raw = {key: config.get(key) for key in (*KEYS, *sorted(org.REMOVED_KEYS))}
    # Keys of this namespace that no setting reads: parse() reports each as an unknown key.
    prefix = f"{config.name}:"
    for key, value in _stack_config().items():
        if key.startswith(prefix) and key.removeprefix(prefix) not in raw:
            raw[key.removeprefix(prefix)] = value
    return {k: v for k, v in raw.items() if v is not None}


def _providers(config: pulumi.Config | None) -> dict[str, Any]:
    """The stack's keys outside this project's namespace (`okta:orgName`, `aws:region`, ...)."""
    prefix = f"{(config or pulumi.Config()).name}:"
    return {k: v for k, v in _stack_config().items() if not k.startswith(prefix)}


def load(config: pulumi.Config | None = None) -> Settings:
    """Read the current stack's config and return validated settings (or raise SettingsError)."""
    return parse(
        _raw(config),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        providers=_providers(config),
    )


def is_org_stack(config: pulumi.Config | None = None) -> bool:
    """The current stack is the `org` stack (tier org), not an environment."""
    return org.is_org(_raw(config))


def load_org(config: pulumi.Config | None = None) -> org.OrgSettings:
    """The `org` stack's validated settings (or raise SettingsError)."""
    values = {k: decode(k, v) for k, v in _raw(config).items()}
    return org.parse_org(
        values,
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        providers=_providers(config),
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


def parse(
    values: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    providers: Mapping[Any, Any] | None = None,
) -> Settings:
    """Validate raw config values (bare keys, decoded) into Settings, or raise SettingsError.

    `providers`: the stack's keys outside the project's namespace, as written (`okta:orgName`,
    `aws:region`, ...); each is checked (infra/settings/namespaces.py) and the Okta org is read
    from them. A namespaced key in `values` is one of them too (no project key has a `:`).
    None and no namespaced key in `values`: the caller holds only the project's keys, and the
    providers' are not checked.

    A tier or an auth mode that is invalid is reported once; no check then assumes a value for
    it (the tier's limits, the keys a mode requires or refuses): each reports only what is wrong
    whatever the value turns out to be.
    """
    problems: list[Problem] = []
    r = Reader(problems)
    namespaced = {k: v for k, v in values.items() if isinstance(k, str) and ":" in k}
    if namespaced:
        providers = {**(providers or {}), **namespaced}
    values = {
        key: decode(key, value) if isinstance(value, str) else value
        for key, value in values.items()
        if key not in namespaced
    }
    r.unknown_keys({k: v for k, v in values.items() if k not in org.REMOVED_KEYS}, set(KEYS), "")
    if providers is not None:
        problems.extend(namespaces.namespace_problems(providers, project=project))
    tier = _tier(r, values)
    if tier is None and org.ORG_ONLY_KEYS & set(values):
        raise SettingsError(problems)  # an org stack's tier misspelled: nothing else applies
    problems.extend(org.environment_problems(values))
    prefix = r.string(
        values,
        "namePrefix",
        "",
        pattern=NAME_PREFIX_PATTERN,
        default=DEFAULT_NAME_PREFIX,
        hint=f"use {NAME_PREFIX_RULE}",
    )
    naming = Naming(prefix=prefix or DEFAULT_NAME_PREFIX, stack=stack)
    parts = _Parts(
        aws=_aws(r, values, tier=tier, naming=naming),
        airflow=_airflow(r, values, stack=stack),
        atlas=_atlas(r, values, tier=tier),
        protect=r.boolean(values, "protectStatefulResources", default=tier is Tier.PROD),
        indexed=_pipelines(r, values, tier=tier, naming=naming),
    )
    modes = declared_modes(values)
    org_id = _vault_org_id(r, values, modes)
    okta_spec = okta.okta(r, values, tier=tier, stack=stack, prefix=naming.prefix, modes=modes)
    okta_org = okta.org_url(r, providers, modes=modes) if providers is not None else None
    vault_spec = vault.vault(r, values, tier=tier, modes=modes, org_id=org_id)
    limits.check(
        r,
        values,
        indexed=parts.indexed,
        session_seconds=parts.aws.session_seconds,
        project_id=parts.atlas.project_id,
        cluster_projects=parts.atlas.cluster_projects,
    )
    if problems or tier is None:
        raise SettingsError(namespaces.first_order(problems, providers, project=project))
    return Settings(
        project=project,
        stack=stack,
        tier=tier,
        wiring=_wiring(stack, naming, parts, okta_spec=okta_spec, vault_spec=vault_spec),
        okta_org_url=okta_org,
    )


def _tier(r: Reader, values: Mapping[str, Any]) -> Tier | None:
    """The stack's tier; None when it is invalid (reported), so that no check guesses one."""
    choices = tuple(t.value for t in Tier)
    if org.ORG_ONLY_KEYS & set(values) and values.get("tier") not in choices:
        keys = ", ".join(sorted(org.ORG_ONLY_KEYS & set(values)))
        shown = f"'{values['tier']}'" if "tier" in values else "(missing)"
        r.fail(
            "tier",
            f"{shown} is not valid; this file sets the org stack's "
            f"keys ({keys}): use {org.ORG_TIER} for the org stack, or one of "
            f"{', '.join(choices)} for an environment without them",
        )
        return None
    name = r.choice(values, "tier", "", choices)
    return Tier(name) if name else None


def declared_modes(values: Mapping[str, Any]) -> set[AuthMode] | None:
    """The auth modes the pipelines declare, whether or not a pipeline is otherwise valid.

    None when a pipeline's authMode is missing or invalid, or the pipelines cannot be read: that
    is reported at the pipeline, and the settings that depend on which modes are used are then
    neither required nor refused.
    """
    raw = values.get("pipelines")
    if not isinstance(raw, list):
        return None
    known = {m.value for m in AuthMode}
    modes: set[AuthMode] = set()
    for item in raw:
        mode = item.get("authMode") if isinstance(item, dict) else None
        if mode not in known:
            return None
        modes.add(AuthMode(mode))
    return modes


@dataclass(frozen=True, kw_only=True)
class _Parts:
    aws: _AwsSettings
    airflow: _AirflowSettings
    atlas: _AtlasSettings
    protect: bool
    indexed: list[tuple[int, access.Pipeline]]


def _wiring(
    stack: str,
    naming: Naming,
    parts: _Parts,
    *,
    okta_spec: OktaSpec | None,
    vault_spec: VaultSpec | None,
) -> WiringArgs:
    aws, airflow, atlas = parts.aws, parts.airflow, parts.atlas
    return WiringArgs(
        stack=stack,
        naming=naming,
        aws_account_id=present(aws.account_id),
        aws_region=present(aws.region),
        mwaa_environment_name=present(airflow.environment_name),
        mwaa_source_bucket_arn=present(airflow.source_bucket_arn),
        mwaa=airflow.environment,
        mwaa_package_version=airflow.package_version,
        pipeline_session_seconds=aws.session_seconds,
        deployer_role_arn=aws.deployer_role_arn,
        workload_boundary_arn=aws.workload_boundary_arn,
        secrets_kms_key_arn=aws.secrets_kms_key_arn,
        connections_prefix=present(airflow.connections_prefix).rstrip("/"),
        variables_prefix=airflow.variables_prefix,
        config_prefix=airflow.config_prefix,
        atlas_project_id=present(atlas.project_id),
        cluster_hosts=atlas.cluster_hosts,
        cluster_projects=atlas.cluster_projects,
        audit_authorization_success=atlas.audit_authorization_success,
        protect_stateful_resources=parts.protect,
        pipelines=tuple(p for _, p in parts.indexed),
        okta=okta_spec,
        vault=vault_spec,
    )


@dataclass(frozen=True, kw_only=True)
class _AwsSettings:
    account_id: str | None
    region: str | None
    session_seconds: int
    deployer_role_arn: str
    workload_boundary_arn: str
    secrets_kms_key_arn: str | None


def _aws(
    r: Reader, values: Mapping[str, Any], *, tier: Tier | None, naming: Naming
) -> _AwsSettings:
    """The account, its region and what the stack's roles are created with."""
    account = r.string(
        values,
        "awsAccountId",
        "",
        pattern=ACCOUNT_ID,
        hint="use the 12-digit account id, e.g. 123456789012",
    )
    region = r.string(values, "awsRegion", "", pattern=REGION, hint="use e.g. eu-west-1")
    session = integer(
        r,
        values,
        "pipelineSessionSeconds",
        PROD_SESSION_MAX,
        SESSION_MIN,
        PROD_SESSION_MAX if tier is Tier.PROD else SESSION_MAX,
        f" for tier {tier.value}" if tier else "",
    )
    deployer = r.string(
        values,
        "deployerRoleArn",
        "",
        pattern=DEPLOYER_ROLE_ARN,
        required=False,
        hint="use a path-less role ARN, e.g. arn:aws:iam::123456789012:role/aai-prod-github-deploy",
    ) or (
        # The bootstrap's deploy role of this environment.
        f"arn:aws:iam::{account}:role/{naming.deploy_role()}"
    )
    boundary = r.string(
        values,
        "workloadBoundaryArn",
        "",
        pattern=POLICY_ARN,
        required=False,
        hint="use a path-less managed policy ARN, e.g. "
        "arn:aws:iam::123456789012:policy/aai-prod-workload-boundary",
    ) or (
        # The bootstrap creates it under this name and may create roles only with it.
        f"arn:aws:iam::{account}:policy/{naming.workload_boundary()}"
    )
    kms = r.string(
        values,
        "secretsKmsKeyArn",
        "",
        pattern=KMS_KEY_ARN,
        required=False,
        hint="use a key ARN, e.g. arn:aws:kms:eu-west-1:123456789012:key/<uuid>",
    )
    return _AwsSettings(
        account_id=account,
        region=region,
        session_seconds=session,
        deployer_role_arn=deployer,
        workload_boundary_arn=boundary,
        secrets_kms_key_arn=kms,
    )


@dataclass(frozen=True, kw_only=True)
class _AirflowSettings:
    environment_name: str | None
    source_bucket_arn: str | None
    environment: MwaaSpec | None
    package_version: str | None
    connections_prefix: str | None
    variables_prefix: str | None
    config_prefix: str | None


def _airflow(r: Reader, values: Mapping[str, Any], *, stack: str) -> _AirflowSettings:
    """The MWAA environment (created or not) and where Airflow's secrets backend looks."""
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
    create = r.tristate(values, "mwaaCreateEnvironment", default=False)
    environment = mwaa.mwaa_environment(r, values, create=create)
    package_version = mwaa.package_version(r, values, create=create)

    def secrets_prefix(key: str, default: str | None = None) -> str | None:
        return r.string(
            values,
            key,
            "",
            pattern=SECRETS_PREFIX,
            default=default,
            required=default is not None,
            hint=SECRETS_PREFIX_HINT,
        )

    return _AirflowSettings(
        environment_name=env_name,
        source_bucket_arn=bucket,
        environment=environment,
        package_version=package_version,
        connections_prefix=secrets_prefix("connectionsPrefix", f"airflow/{stack}/connections"),
        variables_prefix=secrets_prefix("variablesPrefix"),
        config_prefix=secrets_prefix("configPrefix"),
    )


@dataclass(frozen=True, kw_only=True)
class _AtlasSettings:
    project_id: str | None
    cluster_hosts: dict[str, str]
    cluster_projects: dict[str, str]
    audit_authorization_success: bool


def _atlas(r: Reader, values: Mapping[str, Any], *, tier: Tier | None) -> _AtlasSettings:
    """The home project, the clusters pipelines use, and what auditing records."""
    project_id = r.string(
        values,
        "atlasProjectId",
        "",
        pattern=ATLAS_ID,
        hint="use the 24-character hex project id from the Atlas UI",
    )
    clusters = pipelines.clusters(r, values)
    projects = pipelines.cluster_projects(r, values, project_id)
    # Without it Atlas records no successful read or write at all (docs/auditing.md): required
    # wherever real data lives; only dev may trade the trail for cluster performance.
    audit_success = r.boolean(values, "auditAuthorizationSuccess", default=True)
    if not audit_success and tier not in (None, Tier.DEV):
        r.fail(
            "auditAuthorizationSuccess",
            f"must be true in tier {tier}: without it Atlas records no successful data "
            "access (docs/auditing.md); remove the key",
        )
    return _AtlasSettings(
        project_id=project_id,
        cluster_hosts=clusters,
        cluster_projects=projects,
        audit_authorization_success=audit_success,
    )


def _pipelines(
    r: Reader, values: Mapping[str, Any], *, tier: Tier | None, naming: Naming
) -> list[tuple[int, access.Pipeline]]:
    """The pipelines (with their index in the list), checked against the declared clusters."""
    # Unknown (an invalid tier or value): '*' collections are neither accepted nor refused.
    allow_wildcard = r.tristate(values, "allowWildcardCollections", default=tier is not Tier.PROD)
    indexed = pipelines.pipelines(r, values, naming=naming)
    # Check references against every declared cluster name, valid or not: an invalid cluster is
    # reported once, at its own key, not again at every pipeline that names it.
    raw_clusters = values.get("atlasClusters")
    declared = (
        {c["name"] for c in raw_clusters if isinstance(c, dict) and isinstance(c.get("name"), str)}
        if isinstance(raw_clusters, list)
        else set()
    )
    r.problems.extend(
        access.check_pipelines(
            indexed, clusters=declared, allow_wildcard_collections=allow_wildcard is not False
        )
    )
    return indexed


def _vault_org_id(r: Reader, values: Mapping[str, Any], modes: set[AuthMode] | None) -> str | None:
    """The Atlas organization of Vault's API key: the only organization resource here (the
    workload IdP and the org config are the org stack's)."""
    if modes is None or AuthMode.VAULT_DYNAMIC in modes:
        return r.string(
            values,
            "atlasOrgId",
            "",
            pattern=ATLAS_ID,
            hint=ATLAS_ID_HINT,
            required=modes is not None,
        )
    if "atlasOrgId" in values:
        r.fail("atlasOrgId", "only applies with vault-dynamic pipelines; remove it")
    return None
