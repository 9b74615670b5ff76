"""Typed, validated settings of the bootstrap stack; the only reader of its `pulumi.Config`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from bootstrap.github import DeployerArgs, VaultCiArgs
from bootstrap.keys import KEYS
from model.naming import DEFAULT_NAME_PREFIX, NAME_PREFIX_PATTERN, NAME_PREFIX_RULE

PROJECT = "airflow-atlas-identity-bootstrap"
__all__ = ["KEYS", "PROJECT", "BootstrapSettings", "SettingsError", "load", "parse"]
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_GITHUB_ID = re.compile(r"^[1-9]\d{0,19}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_OIDC_ARN = re.compile(
    r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)


class SettingsError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


@dataclass(frozen=True, kw_only=True)
class BootstrapSettings:
    deployer: DeployerArgs


class _Reader:
    """Reads raw values, recording one problem per bad key: the key, what is wrong, the fix."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.problems: list[str] = []

    def text(self, key: str, pattern: re.Pattern[str], fix: str, default: str | None = None) -> str:
        value = self.values.get(key, default)
        if not isinstance(value, str) or not pattern.match(value):
            shown = "missing" if value is None else f"{value!r} is not valid"
            self.problems.append(f"{key}: {shown}; {fix}")
            return ""
        return value


def parse(values: Mapping[str, Any]) -> BootstrapSettings:
    """Every problem at once, each naming its key and the fix."""
    r = _Reader(values)
    for key in sorted(set(values) - set(KEYS)):
        r.problems.append(f"{key}: unknown key; use one of {', '.join(KEYS)}")
    repository, repository_id, owner_id = _repository(r)
    environment = r.text("environment", _NAME, "use the main program's stack name, e.g. dev")
    account = r.text("awsAccountId", re.compile(r"^\d{12}$"), "use the 12-digit account id")
    region = r.text("awsRegion", re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$"), "e.g. eu-west-1")
    prefix = r.text(
        "namePrefix",
        NAME_PREFIX_PATTERN,
        f"use {NAME_PREFIX_RULE}, the main stack's namePrefix",
        DEFAULT_NAME_PREFIX,
    )
    bucket = r.text("stateBucketName", _BUCKET, "3-63 lowercase letters, digits, '.' or '-'")
    github_environments = _github_environments(r, environment)
    managed, package_bucket, provider_prefix = _program_locations(r, environment)
    existing = values.get("existingOidcProviderArn")
    if existing is not None and (not isinstance(existing, str) or not _OIDC_ARN.match(existing)):
        r.problems.append(
            "existingOidcProviderArn: use arn:aws:iam::<account>:oidc-provider/"
            "token.actions.githubusercontent.com, or remove the key to create the provider"
        )
    preview = values.get("createPreviewRole", True)
    if not isinstance(preview, bool):
        r.problems.append("createPreviewRole: use true or false")
    vault_ci = _vault_ci(r, stack_prefix=f"{prefix}-{environment}")
    if r.problems:
        raise SettingsError(r.problems)
    return BootstrapSettings(
        deployer=DeployerArgs(
            repository=repository,
            repository_id=repository_id,
            owner_id=owner_id,
            environment=environment,
            github_environments=github_environments,
            account_id=account,
            region=region,
            name_prefix=prefix,
            state_bucket_name=bucket,
            managed_secret_prefixes=managed,
            mwaa_package_bucket=package_bucket,
            provider_secrets_prefix=provider_prefix,
            existing_oidc_provider_arn=existing,
            create_preview_role=bool(preview),
            vault_ci=vault_ci,
            tags={"managed-by": "pulumi", "project": PROJECT},
        )
    )


def _repository(r: _Reader) -> tuple[str, str, str]:
    """The repository whose workflows may deploy: its name and GitHub's immutable ids."""
    repository = r.text(
        "githubRepository", _REPO, "use exactly owner/repo, e.g. acme/airflow-atlas-identity"
    )
    # `gh api repos/<owner>/<repo> --jq '.id, .owner.id'`: ids survive renames and are never reused.
    repository_id = r.text(
        "githubRepositoryId",
        _GITHUB_ID,
        "use the repository's numeric id (gh api repos/<o>/<r> --jq .id)",
    )
    owner_id = r.text(
        "githubOwnerId",
        _GITHUB_ID,
        "use the owner's numeric id (gh api repos/<o>/<r> --jq .owner.id)",
    )
    return repository, repository_id, owner_id


def _github_environments(r: _Reader, environment: str) -> tuple[str, ...]:
    github_environments = r.values.get("githubEnvironments", [environment] if environment else [])
    if (
        not isinstance(github_environments, list)
        or not github_environments
        or not all(isinstance(e, str) and _NAME.match(e) for e in github_environments)
    ):
        r.problems.append(
            "githubEnvironments: list GitHub environment names (letters, digits, '.', '_', '-'; "
            "no wildcards), e.g. [prod, prod-rotation]; each must have required reviewers"
        )
        return ()
    return tuple(github_environments)


def _program_locations(r: _Reader, environment: str) -> tuple[tuple[str, ...], str | None, str]:
    """Where the main program writes (secret prefixes, the MWAA package bucket) and where the CI
    provider credentials live."""
    managed = r.values.get("managedSecretPrefixes", [f"airflow/{environment}/"])
    if not isinstance(managed, list) or not all(
        isinstance(m, str) and m.strip("/") and "*" not in m for m in managed
    ):
        r.problems.append(
            "managedSecretPrefixes: list the Secrets Manager prefixes the stack writes, without "
            "wildcards, e.g. [airflow/prod/]"
        )
        managed = []
    package_bucket = r.values.get("mwaaPackageBucket")
    if package_bucket is not None:
        package_bucket = r.text(
            "mwaaPackageBucket",
            _BUCKET,
            "use the bucket name of the main stack's mwaaSourceBucketArn",
        )
    provider_prefix = r.values.get(
        "providerSecretsPrefix", f"ci/airflow-atlas-identity/{environment}"
    )
    if not isinstance(provider_prefix, str) or not provider_prefix.strip("/"):
        r.problems.append("providerSecretsPrefix: use a Secrets Manager prefix, e.g. ci/<app>/prod")
        provider_prefix = ""
    return tuple(managed), package_bucket or None, provider_prefix.rstrip("/")


def _vault_ci(r: _Reader, *, stack_prefix: str) -> VaultCiArgs | None:
    """The Vault JWT login for GitHub: both keys or neither."""
    mount, audience = r.values.get("vaultCiMount"), r.values.get("vaultCiAudience")
    if (mount is None) != (audience is None):
        r.problems.append(
            "vaultCiMount/vaultCiAudience: set both (Vault JWT login for GitHub) or neither"
        )
    for key, value in (("vaultCiMount", mount), ("vaultCiAudience", audience)):
        if value is not None and (not isinstance(value, str) or not value):
            r.problems.append(f"{key}: use a non-empty string (see docs/settings.md)")
    if isinstance(mount, str) and mount and isinstance(audience, str) and audience:
        return VaultCiArgs(mount=mount, audience=audience, stack_prefix=stack_prefix)
    return None


def load() -> BootstrapSettings:
    config = pulumi.Config()
    values: dict[str, Any] = {}
    for key in KEYS:
        if config.get(key) is None:
            continue
        # Lists and booleans arrive as JSON text; strings as they are.
        values[key] = config.get(key) if KEYS[key].type == "string" else config.get_object(key)
    return parse(values)
