"""The security invariants, as plain functions over resource and stack views.

Importable without starting a policy pack: `policy/__main__.py` adapts these rules to
`pulumi_policy` (real `pulumi preview --policy-pack policy/`), `policy/check.py` runs the very
same functions over an offline plan JSON. Both paths report the same rule names and messages.

`framework` holds the views, settings and rule kinds; each system's module (`atlas`, `vault`,
`okta`, `aws_iam`, `airflow`, `prod`) defines its checks with their registry entries beside them.
`RULES` is assembled here, once, in the order the pack reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.rules import airflow, atlas, aws_iam, limits, okta, prod, vault
from policy.rules import framework as _framework
from policy.rules.framework import (
    SECRET_MASK,
    STACK_TYPE,
    TIERS,
    ConfigError,
    ResourceRule,
    ResourceView,
    Rule,
    Setting,
    StackRule,
    StackView,
    Violation,
    effective_config,
)
from policy.rules.tokens import (
    ATLAS_AUDITING,
    ATLAS_CUSTOM_ROLE,
    ATLAS_USER,
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_USER_POLICY,
    MWAA_ENVIRONMENT,
    OKTA_OAUTH_APP,
    OKTA_POLICY_RULE,
    VAULT_AUDIT,
    VAULT_AUTH_BACKEND,
    VAULT_AWS_AUTH_ROLE,
    VAULT_DB_MOUNT,
    VAULT_DB_ROLE,
    VAULT_JWT_AUTH_BACKEND,
    VAULT_JWT_AUTH_ROLE,
    VAULT_MOUNT,
)

RULES: tuple[Rule, ...] = (
    *atlas.RULES,
    *vault.RULES,
    *okta.RULES,
    *aws_iam.RULES,
    *airflow.RULES,
    *prod.RULES,
    *limits.RULES,
)
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def evaluate(
    stack: StackView, config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Violation]:
    """Every rule of `RULES` over the stack, sorted; `config` maps rule name -> settings."""
    return _framework.evaluate(RULES, stack, config)


__all__ = [
    "ATLAS_AUDITING",
    "ATLAS_CUSTOM_ROLE",
    "ATLAS_USER",
    "IAM_GROUP_POLICY",
    "IAM_POLICY",
    "IAM_ROLE",
    "IAM_ROLE_POLICY",
    "IAM_USER_POLICY",
    "MWAA_ENVIRONMENT",
    "OKTA_OAUTH_APP",
    "OKTA_POLICY_RULE",
    "RULES",
    "RULES_BY_NAME",
    "SECRET_MASK",
    "STACK_TYPE",
    "TIERS",
    "VAULT_AUDIT",
    "VAULT_AUTH_BACKEND",
    "VAULT_AWS_AUTH_ROLE",
    "VAULT_DB_MOUNT",
    "VAULT_DB_ROLE",
    "VAULT_JWT_AUTH_BACKEND",
    "VAULT_JWT_AUTH_ROLE",
    "VAULT_MOUNT",
    "ConfigError",
    "ResourceRule",
    "ResourceView",
    "Rule",
    "Setting",
    "StackRule",
    "StackView",
    "Violation",
    "effective_config",
    "evaluate",
]
