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

from infra.settings import limits, mwaa, okta, org, pipelines, vault
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
from model.specs import MwaaSpec, WiringArgs

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


def _raw(config: pulumi.Config | None) -> dict[str, str]:
    config = config or pulumi.Config()
    raw = {key: config.get(key) for key in (*KEYS, *sorted(org.REMOVED_KEYS))}
    return {k: v for k, v in raw.items() if v is not None}


def load(config: pulumi.Config | None = None) -> Settings:
    """Read the current stack's config and return validated settings (or raise SettingsError)."""
    return parse(_raw(config), project=pulumi.get_project(), stack=pulumi.get_stack())


def is_org_stack(config: pulumi.Config | None = None) -> bool:
    """The current stack is the `org` stack (tier org), not an environment."""
    return org.is_org(_raw(config))


def load_org(config: pulumi.Config | None = None) -> org.OrgSettings:
    """The `org` stack's validated settings (or raise SettingsError)."""
    values = {k: decode(k, v) for k, v in _raw(config).items()}
    return org.parse_org(values, project=pulumi.get_project(), stack=pulumi.get_stack())


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


def parse(values: Mapping[str, Any], *, project: str, stack: str) -> Settings:
    """Validate raw config values (bare keys, decoded) into Settings, or raise SettingsError."""
    problems: list[Problem] = []
    r = Reader(problems)
    values = {
        key: decode(key, value) if isinstance(value, str) else value
        for key, value in values.items()
    }
    r.unknown_keys({k: v for k, v in values.items() if k not in org.REMOVED_KEYS}, set(KEYS), "")
    problems.extend(org.environment_problems(values))

    tier_name = r.choice(values, "tier", "", tuple(t.value for t in Tier))
    tier = Tier(tier_name) if tier_name else Tier.PROD  # strictest while reporting
    prefix = r.string(
        values,
        "namePrefix",
        "",
        pattern=NAME_PREFIX_PATTERN,
        default=DEFAULT_NAME_PREFIX,
        hint=f"use {NAME_PREFIX_RULE}",
    )
    naming = Naming(prefix=prefix or DEFAULT_NAME_PREFIX, stack=stack)
    aws = _aws(r, values, tier=tier, naming=naming)
    airflow = _airflow(r, values, stack=stack)
    atlas = _atlas(r, values, tier=tier)
    protect = r.boolean(values, "protectStatefulResources", default=tier is Tier.PROD)
    indexed = _pipelines(r, values, tier=tier, naming=naming)
    modes = {p.auth_mode for _, p in indexed}
    org_id = _vault_org_id(r, values, modes)
    okta_spec = okta.okta(r, values, tier=tier, stack=stack, prefix=naming.prefix, indexed=indexed)
    vault_spec = vault.vault(r, values, tier=tier, modes=modes, org_id=org_id)
    limits.check(
        r,
        values,
        indexed=indexed,
        session_seconds=aws.session_seconds,
        project_id=atlas.project_id,
        cluster_projects=atlas.cluster_projects,
    )
    if problems:
        raise SettingsError(problems)
    return Settings(
        project=project,
        stack=stack,
        tier=tier,
        wiring=WiringArgs(
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
            protect_stateful_resources=protect,
            pipelines=tuple(p for _, p in indexed),
            okta=okta_spec,
            vault=vault_spec,
        ),
    )


@dataclass(frozen=True, kw_only=True)
class _AwsSettings:
    account_id: str | None
    region: str | None
    session_seconds: int
    deployer_role_arn: str
    workload_boundary_arn: str
    secrets_kms_key_arn: str | None


def _aws(r: Reader, values: Mapping[str, Any], *, tier: Tier, naming: Naming) -> _AwsSettings:
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
        f" for tier {tier.value}",
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
    environment = mwaa.mwaa_environment(r, values)
    package_version = mwaa.package_version(r, values)

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


def _atlas(r: Reader, values: Mapping[str, Any], *, tier: Tier) -> _AtlasSettings:
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
    if not audit_success and tier is not Tier.DEV:
        r.fail(
            "auditAuthorizationSuccess",
            f"must be true in tier {tier.value}: without it Atlas records no successful data "
            "access (docs/auditing.md); remove the key",
        )
    return _AtlasSettings(
        project_id=project_id,
        cluster_hosts=clusters,
        cluster_projects=projects,
        audit_authorization_success=audit_success,
    )


def _pipelines(
    r: Reader, values: Mapping[str, Any], *, tier: Tier, naming: Naming
) -> list[tuple[int, access.Pipeline]]:
    """The pipelines (with their index in the list), checked against the declared clusters."""
    allow_wildcard = r.boolean(values, "allowWildcardCollections", default=tier is not Tier.PROD)
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
            indexed, clusters=declared, allow_wildcard_collections=allow_wildcard
        )
    )
    return indexed


def _vault_org_id(r: Reader, values: Mapping[str, Any], modes: set[AuthMode]) -> str | None:
    """The Atlas organization of Vault's API key: the only organization resource here (the
    workload IdP and the org config are the org stack's)."""
    if AuthMode.VAULT_DYNAMIC in modes:
        return r.string(values, "atlasOrgId", "", pattern=ATLAS_ID, hint=ATLAS_ID_HINT)
    if "atlasOrgId" in values:
        r.fail("atlasOrgId", "only applies with vault-dynamic pipelines; remove it")
    return None
