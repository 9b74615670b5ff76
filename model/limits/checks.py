"""Planned resources measured against the service limits of `model/limits/__init__.py`.

The offline plan JSON and the policy pack see resources the same way (type token, URN, inputs
with the engine's camelCase names), so both call these functions; values may be pulumi_policy
proxies, so only `Mapping`/`Sequence` are assumed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from model.limits import (
    ATLAS_CUSTOM_ROLES_PER_PROJECT,
    ATLAS_CUSTOM_ROLES_PER_USER,
    ATLAS_USERS_PER_PROJECT,
    IAM_MANAGED_POLICY,
    IAM_ROLE_INLINE_POLICIES,
    IAM_ROLE_NAME,
    IAM_TRUST_POLICY,
    MWAA_OPTION_KEY,
    MWAA_OPTION_VALUE,
    OKTA_APP_LABEL,
    OKTA_AUTH_SERVER_NAME,
    VAULT_STORAGE_ENTRY,
    Exceeded,
    exceeds,
    plain,
    policy_characters,
)

IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
ATLAS_USER = "mongodbatlas:index/databaseUser:DatabaseUser"
ATLAS_CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
MWAA_ENVIRONMENT = "aws:mwaa/environment:Environment"
MASKED = "[secret]"  # how the plan shows a secret value (devtools/offline/values.py, mask_secrets)
OKTA_APP = "okta:app/oAuth:OAuth"
OKTA_AUTH_SERVER = "okta:auth/server:Server"
VAULT_POLICY = "vault:index/policy:Policy"
VAULT_KV_V2 = "vault:kv/secretV2:SecretV2"
VAULT_DATABASE_CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"


@dataclass(frozen=True, kw_only=True)
class Planned:
    """A planned resource: type token, URN and its inputs (engine camelCase names)."""

    type: str
    urn: str
    props: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.urn.split("::")[-1]


def _document(value: Any) -> str | Mapping[str, Any] | None:
    return value if isinstance(value, str | Mapping) else None


def iam_exceeded(resources: Iterable[Planned]) -> list[Exceeded]:
    """Inline-policy aggregate per role, trust and managed policy lengths, role names."""
    found: list[Exceeded | None] = []
    inline: Counter[str] = Counter()
    role_urns: dict[str, str] = {}
    for r in resources:
        if r.type == IAM_ROLE_POLICY and isinstance(r.props.get("role"), str):
            document = _document(r.props.get("policy"))
            if document is not None:
                inline[r.props["role"]] += policy_characters(document)
        elif r.type == IAM_ROLE:
            trust = _document(r.props.get("assumeRolePolicy"))
            name = r.props.get("name")
            label = f"role {name or r.name}"
            if isinstance(name, str):
                role_urns[name] = r.urn
            if trust is not None:
                found.append(
                    exceeds(
                        IAM_TRUST_POLICY,
                        policy_characters(trust),
                        subject=f"{label} trust policy",
                        urn=r.urn,
                        fix="trust fewer principals, or raise the quota "
                        f"({IAM_TRUST_POLICY.raise_how}, up to {IAM_TRUST_POLICY.maximum})",
                    )
                )
            if isinstance(name, str):
                found.append(
                    exceeds(
                        IAM_ROLE_NAME,
                        len(name),
                        subject=label,
                        fix="shorten namePrefix or the pipeline name",
                        urn=r.urn,
                    )
                )
        elif r.type == IAM_POLICY:
            document = _document(r.props.get("policy"))
            if document is not None:
                found.append(
                    exceeds(
                        IAM_MANAGED_POLICY,
                        policy_characters(document),
                        subject=f"managed policy {r.name}",
                        urn=r.urn,
                        fix="split the policy or scope statements by prefix and tags",
                    )
                )
    for role, size in sorted(inline.items()):
        found.append(
            exceeds(
                IAM_ROLE_INLINE_POLICIES,
                size,
                subject=f"role {role} inline policies",
                urn=role_urns.get(role, ""),
                fix="the execution-role policy lists one ARN per pipeline: plan fewer pipelines "
                "in this stack (split it into several stacks) until its policy is scoped by "
                "prefix and tags instead of ARNs",
            )
        )
    return [e for e in found if e is not None]


def atlas_exceeded(
    resources: Iterable[Planned],
    *,
    raised: Mapping[str, Mapping[str, int]] | None = None,
) -> list[Exceeded]:
    """Declared database users and custom roles per project, custom roles per user.

    `raised`: project id -> the limits it was raised to (`databaseUsers`, `customRoles`, as in
    the `atlasProjectLimits` setting); other projects have Atlas' defaults. Users Vault creates
    at run time are not resources: `infra/settings/limits.py` counts them.
    """
    raised = raised or {}
    users: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    found: list[Exceeded | None] = []
    for r in resources:
        project = r.props.get("projectId")
        if r.type == ATLAS_USER and isinstance(project, str):
            users[project] += 1
            held = r.props.get("roles")
            count = len(held) if isinstance(held, Sequence) and not isinstance(held, str) else 0
            found.append(
                exceeds(
                    ATLAS_CUSTOM_ROLES_PER_USER,
                    count,
                    subject=f"database user {r.name}",
                    urn=r.urn,
                    fix="give the user one custom role that holds all its privileges",
                )
            )
        elif r.type == ATLAS_CUSTOM_ROLE and isinstance(project, str):
            roles[project] += 1
    for project, count in sorted(users.items()):
        found.append(
            exceeds(
                ATLAS_USERS_PER_PROJECT,
                count,
                allowed=raised.get(project, {}).get("databaseUsers", ATLAS_USERS_PER_PROJECT.value),
                subject=f"Atlas project {project}",
                fix=f"spread the pipelines over more Atlas projects, or "
                f"{ATLAS_USERS_PER_PROJECT.raise_how} (at most {ATLAS_USERS_PER_PROJECT.maximum})",
            )
        )
    for project, count in sorted(roles.items()):
        found.append(
            exceeds(
                ATLAS_CUSTOM_ROLES_PER_PROJECT,
                count,
                allowed=raised.get(project, {}).get(
                    "customRoles", ATLAS_CUSTOM_ROLES_PER_PROJECT.value
                ),
                subject=f"Atlas project {project}",
                fix=f"spread the pipelines over more Atlas projects, or "
                f"{ATLAS_CUSTOM_ROLES_PER_PROJECT.raise_how} "
                f"(at most {ATLAS_CUSTOM_ROLES_PER_PROJECT.maximum})",
            )
        )
    return [e for e in found if e is not None]


def option_value_text(value: Any) -> str | None:
    """An Airflow option value as MWAA receives it; snapshots show JSON values parsed."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"__json__"}:
        return json.dumps(plain(value["__json__"]), sort_keys=True)
    return None


def mwaa_options_exceeded(options: Any, *, subject: str, urn: str = "") -> list[Exceeded]:
    """Every Airflow configuration option's name and value length (MWAA API shapes)."""
    if not isinstance(options, Mapping):
        return []  # masked ("[secret]") or absent: the stack's export is checked instead
    found: list[Exceeded | None] = []
    for key, value in sorted(options.items()):
        found.append(
            exceeds(
                MWAA_OPTION_KEY,
                len(str(key)),
                subject=f"{subject} option {key}",
                fix="use Airflow's own option names (section.key)",
                urn=urn,
            )
        )
        text = option_value_text(value)
        if text is not None:
            found.append(
                exceeds(
                    MWAA_OPTION_VALUE,
                    len(text),
                    subject=f"{subject} option {key}",
                    fix="the lookup pattern names every connection id: split the pipelines "
                    "over more stacks (MWAA environments)",
                    urn=urn,
                )
            )
    return [e for e in found if e is not None]


def mwaa_exceeded(resources: Iterable[Planned], outputs: Mapping[str, Any]) -> list[Exceeded]:
    """The options of each MWAA environment, or the stack's export when there is none.

    Offline the provider's secret marking masks an environment's options; the stack exports the
    same options for review, so those are measured instead (the real pack sees the real value).
    """
    exported = outputs.get("airflowConfigurationOptions")
    found: list[Exceeded] = []
    environments = [r for r in resources if r.type == MWAA_ENVIRONMENT]
    for r in environments:
        options = r.props.get("airflowConfigurationOptions")
        found += mwaa_options_exceeded(
            options if isinstance(options, Mapping) else exported,
            subject=f"MWAA environment {r.name}",
            urn=r.urn,
        )
    if not environments:
        found += mwaa_options_exceeded(exported, subject="exported airflowConfigurationOptions")
    return found


def okta_exceeded(resources: Iterable[Planned]) -> list[Exceeded]:
    """Names Okta bounds: each app's label, each authorization server's name."""
    found: list[Exceeded | None] = []
    for r in resources:
        if r.type == OKTA_APP and isinstance(label := r.props.get("label"), str):
            found.append(
                exceeds(
                    OKTA_APP_LABEL,
                    len(label),
                    subject=f"Okta app {label}",
                    fix="shorten namePrefix, the stack name or the pipeline name (an app is "
                    "labelled <namePrefix>-<stack>-<pipeline>)",
                    urn=r.urn,
                )
            )
        elif r.type == OKTA_AUTH_SERVER and isinstance(name := r.props.get("name"), str):
            found.append(
                exceeds(
                    OKTA_AUTH_SERVER_NAME,
                    len(name),
                    subject=f"Okta authorization server {name}",
                    fix="shorten namePrefix or the stack name (the server is named "
                    "<namePrefix>-<stack>-atlas)",
                    urn=r.urn,
                )
            )
    return [e for e in found if e is not None]


def _utf8_bytes(text: str) -> int:
    return len(text.encode())


def kv_secret_bytes(data_json: Any, name: Any, outputs: Mapping[str, Any]) -> int | None:
    """The JSON a KV v2 secret version stores, in bytes; None when it cannot be known here.

    Offline the provider's secret marking masks `dataJson`; the program writes each connection
    definition it exports under `connectionDefinitions` as `<connections path>/<connection id>`,
    so that export is measured instead (the same dict through the same `json.dumps`).
    """
    text = option_value_text(data_json)
    if text is not None and text != MASKED:
        return _utf8_bytes(text)
    definitions = outputs.get("connectionDefinitions")
    if not isinstance(name, str) or not isinstance(definitions, Mapping):
        return None
    definition = definitions.get(name.rsplit("/", 1)[-1])
    if not isinstance(definition, Mapping):
        return None
    return _utf8_bytes(json.dumps(plain(definition)))


def _vault_entry(r: Planned, outputs: Mapping[str, Any]) -> tuple[int, str, str] | None:
    """(bytes, subject, fix) of a resource Vault stores in one entry; None for other resources."""
    if r.type == VAULT_POLICY and isinstance(policy := r.props.get("policy"), str):
        return (
            _utf8_bytes(policy),
            f"Vault policy {r.props.get('name')}",
            "split its rules over more policies (a login role can attach several)",
        )
    if r.type == VAULT_KV_V2:
        name = r.props.get("name")
        size = kv_secret_bytes(r.props.get("dataJson"), name, outputs)
        if size is None:
            return None
        return (
            size,
            f"Vault KV secret {name}",
            "keep connection definitions to how to connect (Airflow reads each whole)",
        )
    roles = r.props.get("allowedRoles")
    if (
        r.type == VAULT_DATABASE_CONNECTION
        and isinstance(roles, Sequence)
        and not isinstance(roles, str)
    ):
        return (
            _utf8_bytes(json.dumps(plain(roles))),
            f"Vault database connection {r.props.get('name')} allowed_roles",
            "spread the vault-dynamic pipelines over more Atlas projects "
            "(atlasClusters[].projectId; one connection per project)",
        )
    return None


def vault_exceeded(resources: Iterable[Planned], outputs: Mapping[str, Any]) -> list[Exceeded]:
    """What Vault keeps in one storage entry each: ACL policies, KV v2 secret versions, and
    database connection configurations. A connection is measured by its `allowed_roles` alone,
    the part that grows with the project's vault-dynamic pipelines (the stored entry is larger).
    """
    found: list[Exceeded | None] = []
    for r in resources:
        entry = _vault_entry(r, outputs)
        if entry is not None:
            measured, subject, fix = entry
            found.append(
                exceeds(VAULT_STORAGE_ENTRY, measured, subject=subject, fix=fix, urn=r.urn)
            )
    return [e for e in found if e is not None]


def documents_exceeded(resources: Iterable[Planned], outputs: Mapping[str, Any]) -> list[Exceeded]:
    """Limits on rendered documents and names: IAM policies and role names, MWAA configuration
    options, Okta names, Vault storage entries.

    (Atlas counts need the stack's declared project limits: `atlas_exceeded` takes them.)
    """
    listed = list(resources)
    return (
        iam_exceeded(listed)
        + mwaa_exceeded(listed, outputs)
        + okta_exceeded(listed)
        + vault_exceeded(listed, outputs)
    )
