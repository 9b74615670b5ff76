"""Stack-level prod rule: stateful resources are `protect`ed in a prod stack."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.rules.framework import (
    TIERS,
    Rule,
    Setting,
    StackRule,
    StackView,
    stack_tier,
)
from policy.rules.tokens import (
    ATLAS_AUDITING,
    MWAA_ENVIRONMENT,
    VAULT_AUTH_BACKEND,
    VAULT_DB_MOUNT,
    VAULT_JWT_AUTH_BACKEND,
    VAULT_MOUNT,
)

DEFAULT_PROTECTED_TYPES: tuple[str, ...] = (
    VAULT_MOUNT,
    VAULT_DB_MOUNT,
    VAULT_AUTH_BACKEND,
    VAULT_JWT_AUTH_BACKEND,
    ATLAS_AUDITING,
    MWAA_ENVIRONMENT,
)


def check_prod_protected(stack: StackView, config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if stack_tier(stack, config) != "prod":
        return
    for resource in stack.of_type(*config["protectedTypes"]):
        if not resource.protect:
            yield (
                resource.urn,
                f"{resource.type} is not `protect`ed in a prod stack; deleting it revokes "
                "access or loses history: set ResourceOptions(protect=True)",
            )


PROD_STATEFUL_PROTECTED = StackRule(
    name="prod-stateful-protected",
    description="In prod, Vault mounts, Atlas auditing and the MWAA environment are `protect`ed.",
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
)


RULES: tuple[Rule, ...] = (PROD_STATEFUL_PROTECTED,)
