"""The rules of `policy.rules` as pulumi_policy policies (no pack is started here).

`pulumi preview --policy-pack policy/` runs `policy/__main__.py`, which hands `policies()` to a
`PolicyPack`. Each policy converts pulumi_policy's arguments into the views the rules take, so
the real engine and `python -m policy.check` run the same functions and report the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import (
    RULES,
    STACK_TYPE,
    ResourceRule,
    ResourceView,
    Rule,
    StackRule,
    StackView,
    effective_config,
)

PACK_NAME = "airflow-atlas-identity"


def resource_view(args: ResourceValidationArgs) -> ResourceView:
    return ResourceView(
        type=args.resource_type,
        urn=args.urn,
        name=args.name,
        props=args.props,
        protect=bool(args.opts.protect),
    )


def stack_view(args: StackValidationArgs) -> StackView:
    """The stack's resources; its exports are the properties of the `pulumi:pulumi:Stack` one."""
    outputs: Mapping[str, Any] = {}
    resources = []
    for resource in args.resources:
        if resource.resource_type == STACK_TYPE:
            outputs = resource.props
            continue
        resources.append(
            ResourceView(
                type=resource.resource_type,
                urn=resource.urn,
                name=resource.name,
                props=resource.props,
                protect=bool(resource.opts.protect),
            )
        )
    return StackView(resources=resources, outputs=outputs)


def _schema(rule: Rule) -> PolicyConfigSchema | None:
    if not rule.settings:
        return None
    return PolicyConfigSchema(properties={s.name: s.schema() for s in rule.settings})


def _resource_policy(rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        config = effective_config(rule, args.get_config())
        for violation in rule.run(resource_view(args), config):
            report(violation.message, None)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_schema(rule),
    )


def _stack_policy(rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = effective_config(rule, args.get_config())
        for violation in rule.run(stack_view(args), config):
            report(violation.message, violation.urn or None)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_schema(rule),
    )


def policies() -> list[Policy]:
    """One mandatory pulumi_policy policy per rule, in rule order."""
    return [
        _resource_policy(rule) if isinstance(rule, ResourceRule) else _stack_policy(rule)
        for rule in RULES
    ]
