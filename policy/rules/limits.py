"""Service limits as policy rules: the checks `model/limits/__init__.py` defines, over a stack view.

The same limits fail the offline plan (`infra/settings/limits.py`, `devtools/plan.py`); here they
guard `pulumi preview --policy-pack policy/` and `python -m policy.check`, e.g. for a stack built
by other means.

Under a first `pulumi preview`, documents that embed ARNs of roles not created yet are unknown:
the analyzer reports such a rule as not run, exactly like the other stack rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from model import limits
from model.limits import checks as limit_checks
from policy.rules.framework import Rule, Setting, StackRule, StackView, is_masked

# The same shape as the stack setting `atlasProjectLimits` (infra/settings/limits.py), whose
# value a stack's pack config repeats (tests/policy/test_offline_check.py keeps them equal).
PROJECT_LIMITS_SETTING = "projectLimits"


def _planned(stack: StackView) -> list[limit_checks.Planned]:
    return [limit_checks.Planned(type=r.type, urn=r.urn, props=r.props) for r in stack.resources]


def check_iam_policy_sizes(stack: StackView, _: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for exceeded in limit_checks.iam_exceeded(_planned(stack)):
        yield exceeded.urn, exceeded.message


def check_atlas_project_limits(
    stack: StackView, config: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    found = limit_checks.atlas_exceeded(_planned(stack), raised=config[PROJECT_LIMITS_SETTING])
    for exceeded in found:
        yield exceeded.urn, exceeded.message


def check_mwaa_option_sizes(stack: StackView, _: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for exceeded in limit_checks.mwaa_exceeded(_planned(stack), stack.outputs):
        yield exceeded.urn, exceeded.message


def check_okta_name_lengths(stack: StackView, _: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for exceeded in limit_checks.okta_exceeded(_planned(stack)):
        yield exceeded.urn, exceeded.message


def check_vault_storage_entries(
    stack: StackView, _: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    planned = _planned(stack)
    for secret in (r for r in planned if r.type == limit_checks.VAULT_KV_V2):
        name, data = secret.props.get("name"), secret.props.get("dataJson")
        if is_masked(data) and limit_checks.kv_secret_bytes(data, name, stack.outputs) is None:
            # Fails closed: the program exports every definition it writes (the real pack sees
            # the real value).
            yield (
                secret.urn,
                f"dataJson of KV secret {name} is secret in the plan and the stack exports no "
                "connectionDefinitions entry for it to measure instead; export it",
            )
    for exceeded in limit_checks.vault_exceeded(planned, stack.outputs):
        yield exceeded.urn, exceeded.message


_USERS, _ROLES = limits.ATLAS_USERS_PER_PROJECT, limits.ATLAS_CUSTOM_ROLES_PER_PROJECT

RULES: tuple[Rule, ...] = (
    StackRule(
        name="iam-policy-size-limits",
        description="IAM inline policies per role (10,240 characters together), trust "
        "policies, managed policies and role names stay within IAM's quotas.",
        check=check_iam_policy_sizes,
    ),
    StackRule(
        name="atlas-project-limits",
        description="Each Atlas project holds at most its limit of database users and "
        "custom roles; no user holds more than 20 custom roles.",
        check=check_atlas_project_limits,
        settings=(
            Setting(
                name=PROJECT_LIMITS_SETTING,
                type="object",
                default={},
                description="Projects whose limits were raised (Admin API setProjectLimit): "
                "project id -> {databaseUsers, customRoles}, as the stack's atlasProjectLimits; "
                f"others have Atlas' defaults ({_USERS.value} and {_ROLES.value})",
                entry_fields=(
                    ("databaseUsers", _USERS.value, _USERS.maximum or _USERS.value),
                    ("customRoles", _ROLES.value, _ROLES.maximum or _ROLES.value),
                ),
            ),
        ),
    ),
    StackRule(
        name="mwaa-configuration-option-limits",
        description="MWAA Airflow configuration option names (64) and values (65,536 "
        "characters) fit the MWAA API.",
        check=check_mwaa_option_sizes,
    ),
    StackRule(
        name="okta-name-limits",
        description=f"Okta app labels ({limits.OKTA_APP_LABEL.value} characters) and "
        f"authorization server names ({limits.OKTA_AUTH_SERVER_NAME.value}) fit Okta's field "
        "limits.",
        check=check_okta_name_lengths,
    ),
    StackRule(
        name="vault-storage-entry-limits",
        description="Each Vault ACL policy, KV v2 secret version and database connection "
        f"configuration fits one storage entry ({limits.VAULT_STORAGE_ENTRY.value:,} bytes, "
        "integrated storage's default).",
        check=check_vault_storage_entries,
    ),
)
