"""Service limits the clouds enforce, as data, and pure checks against them.

Pure Python, no Pulumi: the settings (`infra/settings/limits.py`), the offline plan
(`devtools/plan.py`) and the policy pack (`policy/rules/limits.py`) all measure against these same
values. Each limit names the documentation it comes from and whether (and how) it can be raised;
`docs/limits.md` is rendered from this module (`markdown_table`, kept in step by a test).
`model/limits/checks.py` measures planned resources against them.

Sources (read when these values were written down, 2026-12):
- IAM and AWS STS quotas:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
- Role chaining (IAM roles, terms and concepts):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
- Atlas Service Limits ("Organization and Project Limits", "Database User Privilege Limits"):
  https://www.mongodb.com/docs/atlas/reference/atlas-limits/
- Atlas Admin API v2, setProjectLimit (limit names, defaults and override maxima):
  https://www.mongodb.com/docs/api/doc/atlas-admin-api-v2/operation/operation-setprojectlimit
- Amazon MWAA API (botocore service model mwaa/2020-07-01, shapes ConfigKey/ConfigValue):
  https://docs.aws.amazon.com/mwaa/latest/API/API_CreateEnvironment.html
- Okta Support, "Character Limits for Various Okta Features and Fields" (application name 100,
  authorization server name 50; the app label's 100 also in the developer release notes 2017.45,
  https://developer.okta.com/docs/release-notes/2017/#app-label-length-increase):
  https://support.okta.com/help/s/article/What-Are-the-Character-Limits-for-Certain-Fields-in-the-Okta-Console
- HashiCorp, "Vault limits and maximums" (storage entry size, policy size, KV v2 secret version):
  https://developer.hashicorp.com/vault/docs/internals/limits
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IAM_QUOTAS = (
    "IAM and AWS STS quotas",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
)
ROLE_CHAINING = (
    "IAM roles: role chaining",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html",
)
ATLAS_LIMITS = (
    "Atlas Service Limits",
    "https://www.mongodb.com/docs/atlas/reference/atlas-limits/",
)
ATLAS_IDP_API = (
    "Atlas Admin API v2: Create One Identity Provider (displayName: 1..50 characters)",
    "https://www.mongodb.com/docs/api/doc/atlas-admin-api-v2/operation/operation-createidentityprovider",
)
ATLAS_PROJECT_LIMIT_API = (
    "Atlas Admin API v2: Set One Project Limit",
    "https://www.mongodb.com/docs/api/doc/atlas-admin-api-v2/operation/operation-setprojectlimit",
)
MWAA_API = (
    "Amazon MWAA API reference, CreateEnvironment (botocore model mwaa 2020-07-01)",
    "https://docs.aws.amazon.com/mwaa/latest/API/API_CreateEnvironment.html",
)
OKTA_CHARACTER_LIMITS = (
    "Okta Support: Character Limits for Various Okta Features and Fields",
    "https://support.okta.com/help/s/article/"
    "What-Are-the-Character-Limits-for-Certain-Fields-in-the-Okta-Console",
)
VAULT_LIMITS = (
    "Vault limits and maximums",
    "https://developer.hashicorp.com/vault/docs/internals/limits",
)


@dataclass(frozen=True, kw_only=True)
class Limit:
    """One documented limit: its default value and how (if at all) it can be raised."""

    key: str
    what: str
    value: int
    unit: str
    source: tuple[str, str]
    """(document name, URL)."""
    raise_how: str = ""
    """Empty: a fixed limit. Otherwise how to raise it, and the setting that declares it."""
    maximum: int | None = None
    """The highest value it can be raised to, where documented."""

    @property
    def raisable(self) -> bool:
        return bool(self.raise_how)


IAM_ROLE_INLINE_POLICIES = Limit(
    key="iam-role-inline-policies",
    what="IAM inline policies of one role, all together (whitespace not counted)",
    value=10_240,
    unit="characters",
    source=IAM_QUOTAS,
)
IAM_MANAGED_POLICY = Limit(
    key="iam-managed-policy",
    what="IAM managed policy document (whitespace not counted)",
    value=6_144,
    unit="characters",
    source=IAM_QUOTAS,
)
IAM_TRUST_POLICY = Limit(
    key="iam-role-trust-policy",
    what="IAM role trust policy (whitespace not counted)",
    value=2_048,
    unit="characters",
    source=IAM_QUOTAS,
    raise_how="Service Quotas 'Role trust policy length' (IAM)",
    maximum=4_096,
)
IAM_ROLE_NAME = Limit(
    key="iam-role-name", what="IAM role name", value=64, unit="characters", source=IAM_QUOTAS
)
IAM_ROLES_PER_ACCOUNT = Limit(
    key="iam-roles-per-account",
    what="IAM roles in one AWS account (every stack and tool in it together)",
    value=1_000,
    unit="roles",
    source=IAM_QUOTAS,
    raise_how="Service Quotas 'Roles per account' (IAM), then declare it in awsIamRoleQuota",
)
STS_ROLE_CHAINING = Limit(
    key="sts-role-chaining",
    what="session of a role assumed with another role's session (MWAA's execution role "
    "assuming a pipeline role is role chaining)",
    value=3_600,
    unit="seconds",
    source=ROLE_CHAINING,
)
ATLAS_USERS_PER_PROJECT = Limit(
    key="atlas-database-users-per-project",
    what="Atlas database users in one project (vault-dynamic leases are users too)",
    value=100,
    unit="database users",
    source=ATLAS_LIMITS,
    raise_how="Admin API setProjectLimit atlas.project.security.databaseAccess.users, then "
    "declare it in atlasProjectLimits.<projectId>.databaseUsers",
    maximum=900,
)
ATLAS_CUSTOM_ROLES_PER_PROJECT = Limit(
    key="atlas-custom-roles-per-project",
    what="Atlas custom database roles in one project",
    value=100,
    unit="custom roles",
    source=ATLAS_LIMITS,
    raise_how="Admin API setProjectLimit atlas.project.security.databaseAccess.customRoles, "
    "then declare it in atlasProjectLimits.<projectId>.customRoles",
    maximum=1_400,
)
ATLAS_CUSTOM_ROLES_PER_USER = Limit(
    key="atlas-custom-roles-per-user",
    what="custom roles one Atlas database user holds",
    value=20,
    unit="custom roles",
    source=ATLAS_LIMITS,
)
MWAA_OPTION_KEY = Limit(
    key="mwaa-configuration-option-key",
    what="MWAA Airflow configuration option name",
    value=64,
    unit="characters",
    source=MWAA_API,
)
MWAA_OPTION_VALUE = Limit(
    key="mwaa-configuration-option-value",
    what="MWAA Airflow configuration option value",
    value=65_536,
    unit="characters",
    source=MWAA_API,
)
# Checked where the name is declared: the org stack's atlasWorkloadIdps (infra/settings/org.py);
# the name an environment exports for it is bounded to fit (model/naming.py).
ATLAS_IDP_NAME = Limit(
    key="atlas-identity-provider-name",
    what="Atlas identity provider display name",
    value=50,
    unit="characters",
    source=ATLAS_IDP_API,
)
OKTA_APP_LABEL = Limit(
    key="okta-app-label",
    what="Okta app label (the application name)",
    value=100,
    unit="characters",
    source=OKTA_CHARACTER_LIMITS,
)
OKTA_AUTH_SERVER_NAME = Limit(
    key="okta-authorization-server-name",
    what="Okta authorization server name",
    value=50,
    unit="characters",
    source=OKTA_CHARACTER_LIMITS,
)
# Integrated storage's default `max_entry_size`; the same page gives Consul storage 512 KiB. Each
# ACL policy is one entry ("maximum policy size"), so is each KV v2 secret version ("slightly
# less than one storage entry", stored as JSON), and so is a database connection's configuration
# (Vault's database engine writes it with StorageEntryJSON to config/<name>).
VAULT_STORAGE_ENTRY = Limit(
    key="vault-storage-entry",
    what="one Vault storage entry (integrated storage's default; Consul storage: 512 KiB): an "
    "ACL policy, a KV v2 secret version, a database connection's configuration",
    value=1_048_576,
    unit="bytes",
    source=VAULT_LIMITS,
    raise_how="max_entry_size in the Vault servers' raft storage stanza (the plan checks the "
    "default; large entries slow Vault down)",
)

LIMITS: tuple[Limit, ...] = (
    IAM_ROLE_INLINE_POLICIES,
    IAM_MANAGED_POLICY,
    IAM_TRUST_POLICY,
    IAM_ROLE_NAME,
    IAM_ROLES_PER_ACCOUNT,
    STS_ROLE_CHAINING,
    ATLAS_USERS_PER_PROJECT,
    ATLAS_CUSTOM_ROLES_PER_PROJECT,
    ATLAS_CUSTOM_ROLES_PER_USER,
    ATLAS_IDP_NAME,
    MWAA_OPTION_KEY,
    MWAA_OPTION_VALUE,
    OKTA_APP_LABEL,
    OKTA_AUTH_SERVER_NAME,
    VAULT_STORAGE_ENTRY,
)

# Vault-dynamic leases a pipeline is expected to hold at once when the stack does not say: the
# running task's credential plus one more (a retry or the next run starting before Vault revokes
# the previous lease at the end of its TTL). Each lease is an Atlas database user while it lives.
DEFAULT_CONCURRENT_LEASES = 2


@dataclass(frozen=True, kw_only=True)
class Exceeded:
    """A measured value above its limit, with the fix."""

    limit: Limit
    allowed: int
    """The limit as it applies here (its default, or the raised value a stack declares)."""
    measured: int
    subject: str
    """What was measured, e.g. `role aai-dev-mwaa-exec` or `project 64b7...`."""
    fix: str
    urn: str = ""
    """The resource it is about, when it is about one (the policy pack reports it there)."""

    @property
    def message(self) -> str:
        name, url = self.limit.source
        raised = f" (raised from {self.limit.value})" if self.allowed != self.limit.value else ""
        return (
            f"{self.subject}: {self.measured} {self.limit.unit} exceed the limit of "
            f"{self.allowed}{raised} on {self.limit.what} [{self.limit.key}; {name}, {url}]; "
            f"fix: {self.fix}"
        )


def exceeds(
    limit: Limit,
    measured: int,
    *,
    subject: str,
    fix: str,
    allowed: int | None = None,
    urn: str = "",
) -> Exceeded | None:
    """An `Exceeded` when `measured` is above `allowed` (default: the limit's value)."""
    bound = limit.value if allowed is None else allowed
    if measured <= bound:
        return None
    return Exceeded(
        limit=limit, allowed=bound, measured=measured, subject=subject, fix=fix, urn=urn
    )


_WHITESPACE = re.compile(r"\s")


def plain(value: Any) -> Any:
    """Mappings and sequences (the policy pack hands over proxies of them) as dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(v) for v in value]
    return value


def policy_characters(document: str | Mapping[str, Any]) -> int:
    """An IAM policy's size as IAM counts it against its quotas: characters except whitespace.

    A parsed document (as plan snapshots show it) is measured in its compact JSON form.
    """
    text = (
        document
        if isinstance(document, str)
        else json.dumps(plain(document), separators=(",", ":"))
    )
    return len(_WHITESPACE.sub("", text))


def markdown_table() -> str:
    """The limits as `docs/limits.md` lists them."""
    rows = [
        "| limit | value | raisable | source |",
        "|---|---|---|---|",
    ]
    for limit in LIMITS:
        raisable = (
            f"yes, to {limit.maximum:,}: {limit.raise_how}"
            if limit.raisable and limit.maximum
            else (f"yes: {limit.raise_how}" if limit.raisable else "no")
        )
        name, url = limit.source
        rows.append(
            f"| `{limit.key}`: {limit.what} | {limit.value:,} {limit.unit} | {raisable} "
            f"| [{name}]({url}) |"
        )
    return "\n".join(rows) + "\n"
