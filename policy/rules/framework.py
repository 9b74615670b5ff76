"""The rule framework: views, settings, rule kinds, evaluation and value helpers.

Rules are data: each names the Pulumi type tokens it applies to (checked against the installed
SDKs), its settings with defaults, and a check that returns messages. Property names are the
engine's camelCase names (`defaultTtl`, `boundIamPrincipalArns`, ...); numbers may arrive as
floats; values may be `pulumi_policy` proxies, so only `Mapping`/`Sequence` are assumed, never
`dict`/`list`. Offline, secret values read `"[secret]"`: a rule that needs one fails closed with
a message saying so, except where the stack exports a reviewable copy (MWAA options).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

SECRET_MASK = "[secret]"  # noqa: S105 (the plan's mask, not a credential)
STACK_TYPE = "pulumi:pulumi:Stack"
TIERS = ("dev", "staging", "prod")


@dataclass(frozen=True, kw_only=True)
class ResourceView:
    """One resource as a rule sees it: type, URN, properties (camelCase), `protect`."""

    type: str
    urn: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False


@dataclass(frozen=True, kw_only=True)
class StackView:
    """The whole stack: its resources and, where known, its exports (`outputs`)."""

    resources: Sequence[ResourceView]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[ResourceView]:
        return [r for r in self.resources if r.type in types]


@dataclass(frozen=True, kw_only=True, order=True)
class Violation:
    rule: str
    urn: str
    """The resource in violation, or "" for the stack as a whole."""
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.urn or '(stack)'}: {self.message}"


SettingType = Literal["integer", "string", "array", "object"]


def stack_tier(stack: StackView, config: Mapping[str, Any]) -> str:
    """The rule's `tier` setting, else the stack's `tier` export, else prod (strictest)."""
    configured = config.get("tier", "")
    if configured:
        return str(configured)
    exported = stack.outputs.get("tier")
    return exported if isinstance(exported, str) and exported in TIERS else "prod"


@dataclass(frozen=True, kw_only=True)
class Setting:
    """A configurable value of a rule (pack config and offline `--config` alike)."""

    name: str
    type: SettingType
    default: Any
    description: str
    minimum: int | None = None
    enum: tuple[str, ...] | None = None
    entry_fields: tuple[tuple[str, int, int], ...] = ()
    """type object: maps any key to an object of these integer fields (name, minimum, maximum)."""

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.default is not None:
            schema["default"] = list(self.default) if self.type == "array" else self.default
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.type == "array":
            schema["items"] = {"type": "string"}
        if self.type == "object":
            schema["additionalProperties"] = {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    name: {"type": "integer", "minimum": low, "maximum": high}
                    for name, low, high in self.entry_fields
                },
            }
        return schema


# The setting of every tier-dependent rule; `stack_tier` reads it.
TIER_SETTING = Setting(
    name="tier",
    type="string",
    default="",
    enum=("", *TIERS),
    description="dev, staging or prod; empty: the stack's `tier` export, else prod",
)


class ConfigError(ValueError):
    """A rule setting with the wrong type or out of range."""


ResourceCheck = Callable[[ResourceView, Mapping[str, Any]], Iterable[str]]

StackCheck = Callable[[StackView, Mapping[str, Any]], Iterable[tuple[str, str]]]


@dataclass(frozen=True, kw_only=True)
class ResourceRule:
    """Runs once per resource whose type is in `types`."""

    name: str
    description: str
    types: frozenset[str]
    check: ResourceCheck
    settings: tuple[Setting, ...] = ()

    def run(self, resource: ResourceView, config: Mapping[str, Any]) -> list[Violation]:
        if resource.type not in self.types:
            return []
        return [
            Violation(rule=self.name, urn=resource.urn, message=m)
            for m in self.check(resource, config)
        ]


@dataclass(frozen=True, kw_only=True)
class StackRule:
    """Runs once per stack; its check yields (urn or "", message)."""

    name: str
    description: str
    check: StackCheck
    settings: tuple[Setting, ...] = ()

    def run(self, stack: StackView, config: Mapping[str, Any]) -> list[Violation]:
        return [
            Violation(rule=self.name, urn=urn, message=m) for urn, m in self.check(stack, config)
        ]


Rule = ResourceRule | StackRule


def effective_config(rule: Rule, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule's settings: defaults, overridden by `given` (whole floats become ints).

    Unknown keys (e.g. `enforcementLevel`) are ignored: they belong to the engine.
    """
    result: dict[str, Any] = {}
    for setting in rule.settings:
        value = (given or {}).get(setting.name, setting.default)
        result[setting.name] = _setting_value(rule.name, setting, value)
    return result


def _setting_value(rule: str, setting: Setting, value: Any) -> Any:
    where = f"{rule}.{setting.name}"
    if setting.type == "integer":
        number = _integer(where, value)
        if setting.minimum is not None and number < setting.minimum:
            raise ConfigError(f"{where}: {number} is below the minimum {setting.minimum}")
        return number
    if setting.type == "string":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {value!r} is not a string")
        if setting.enum is not None and value not in setting.enum:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(setting.enum)}")
        return value
    if setting.type == "object":
        return _object_value(where, setting, value)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{where}: {value!r} is not a list of strings")
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {value!r} is not a list of strings")
    return tuple(value)


def _object_value(where: str, setting: Setting, value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {value!r} is not an object")
    fields = {name: (low, high) for name, low, high in setting.entry_fields}
    result: dict[str, dict[str, int]] = {}
    for key, entry in value.items():
        at = f"{where}.{key}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{at}: {entry!r} is not an object")
        result[str(key)] = {}
        for name, raw in entry.items():
            if name not in fields:
                raise ConfigError(f"{at}.{name}: unknown; use {', '.join(sorted(fields))}")
            number = _integer(f"{at}.{name}", raw)
            low, high = fields[name]
            if not low <= number <= high:
                raise ConfigError(f"{at}.{name}: {number} is outside {low}..{high}")
            result[str(key)][name] = number
    return result


def _integer(where: str, value: Any) -> int:
    """A whole number (pack config may carry 1400.0), or ConfigError."""
    number = as_number(value)
    if number is None or number != int(number):
        raise ConfigError(f"{where}: {value!r} is not an integer")
    return int(number)


def evaluate(
    rules: Iterable[Rule], stack: StackView, config: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Violation]:
    """Every rule over the stack, sorted; `config` maps rule name -> settings."""
    config = config or {}
    violations: list[Violation] = []
    for rule in rules:
        settings = effective_config(rule, config.get(rule.name))
        if isinstance(rule, ResourceRule):
            for resource in stack.resources:
                violations.extend(rule.run(resource, settings))
        else:
            violations.extend(rule.run(stack, settings))
    return sorted(violations)


# --- value helpers shared by the systems' checks ----------------------------------------------


def as_number(value: Any) -> float | None:
    """A number as the engine sends it (ints arrive as floats); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def seconds_text(value: float) -> str:
    return f"{int(value)}s" if value == int(value) else f"{value}s"


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value == SECRET_MASK


def as_strings(value: Any) -> list[str] | None:
    """A list of strings, or None when the value is missing or not a list of strings."""
    if value is None or isinstance(value, str) or not isinstance(value, Sequence):
        return None
    if not all(isinstance(v, str) for v in value):
        return None
    return list(value)


def is_set(props: Mapping[str, Any], key: str) -> bool:
    """Set to something other than None or an empty string."""
    value = props.get(key)
    return value is not None and value != ""


def json_document(value: Any) -> Mapping[str, Any] | None:
    """A JSON object given as a string or already parsed; None if it is neither."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        return [value]
    return list(value)
