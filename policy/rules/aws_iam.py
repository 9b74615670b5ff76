"""AWS IAM rules: no wildcard actions, confused-deputy conditions on roles MWAA may assume."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.rules.framework import (
    ResourceRule,
    ResourceView,
    Rule,
    as_list,
    is_masked,
    json_document,
)
from policy.rules.tokens import (
    IAM_GROUP_POLICY,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_USER_POLICY,
)

MWAA_SERVICE_PRINCIPALS = frozenset({"airflow.amazonaws.com", "airflow-env.amazonaws.com"})


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _sid(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index}"


def _policy_documents(r: ResourceView) -> Iterator[tuple[str, Any]]:
    """(where, document value) of every IAM policy document the resource carries."""
    if r.type == IAM_ROLE:
        if "assumeRolePolicy" in r.props:
            yield "assumeRolePolicy", r.props.get("assumeRolePolicy")
        for index, inline in enumerate(as_list(r.props.get("inlinePolicies"))):
            if isinstance(inline, Mapping) and "policy" in inline:
                yield f"inlinePolicies[{index}].policy", inline.get("policy")
    elif "policy" in r.props:
        yield "policy", r.props.get("policy")


def check_iam_no_wildcard_actions(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    found = False
    for where, value in _policy_documents(r):
        found = True
        if is_masked(value):
            yield f"{where} is secret in the plan and cannot be checked offline"
            continue
        document = json_document(value)
        if document is None:
            yield f"{where} is not a JSON policy document"
            continue
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            sid = _sid(statement, index)
            if "NotAction" in statement:
                yield f"{where} {sid} allows NotAction, i.e. every other action; list the actions"
            for action in as_list(statement.get("Action")):
                if isinstance(action, str) and "*" in action:
                    yield (
                        f"{where} {sid} allows the wildcard action {action!r}; "
                        "list the exact actions"
                    )
    if not found and r.type != IAM_ROLE:
        yield "has no `policy` document"


IAM_NO_WILDCARD_ACTIONS = ResourceRule(
    name="iam-no-wildcard-actions",
    description="IAM policy documents allow no `*` actions and no NotAction.",
    types=frozenset({IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY}),
    check=check_iam_no_wildcard_actions,
)


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
                keys.setdefault(str(key).lower(), []).extend(as_list(block[key]))
    return keys


def check_mwaa_trust(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    value = r.props.get("assumeRolePolicy")
    if is_masked(value):
        yield "assumeRolePolicy is secret in the plan and cannot be checked offline"
        return
    document = json_document(value)
    if document is None:
        return  # iam-no-wildcard-actions reports unreadable documents
    for index, statement in enumerate(_statements(document)):
        principal = statement.get("Principal")
        services = (
            {s for s in as_list(principal.get("Service")) if isinstance(s, str)}
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


MWAA_TRUST_CONDITIONS = ResourceRule(
    name="mwaa-trust-conditions",
    description="Roles MWAA may assume carry aws:SourceAccount and aws:SourceArn conditions.",
    types=frozenset({IAM_ROLE}),
    check=check_mwaa_trust,
)


RULES: tuple[Rule, ...] = (
    IAM_NO_WILDCARD_ACTIONS,
    MWAA_TRUST_CONDITIONS,
)
