"""Check planned resources against the pinned providers' schemas (`providers.json`).

Every custom resource of a plan (`infra.plan` JSON, or a snapshot with its `{"__json__": ...}`
expansions) must use only inputs its provider declares, set every required input, and give each
a value of the declared type (and enum). `"[secret]"` and `"[unknown]"` stand for values the plan
cannot show and are accepted for any type. Provider resources (`pulumi:providers:*`) receive
their non-string inputs JSON-encoded, as the engine sends provider configuration.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from devtools.schemas.generate import SUBSET

OPAQUE = ("[secret]", "[unknown]")
PROVIDER_PREFIX = "pulumi:providers:"


@cache
def subset() -> dict[str, Any]:
    return dict(json.loads(SUBSET.read_text()))


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    def __init__(self, schema: Mapping[str, Any], *, provider: bool) -> None:
        self.types: Mapping[str, Any] = schema["types"]
        self.provider = provider
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def object(self, value: Mapping[str, Any], schema: Mapping[str, Any], path: str) -> None:
        properties: Mapping[str, Any] = schema["properties"]
        for key in schema["required"]:
            if key not in value:
                self.fail(f"{path}{key}", "required input is missing")
        for key, item in value.items():
            if key not in properties:
                self.fail(
                    f"{path}{key}",
                    f"unknown input; the schema declares {', '.join(sorted(properties))}",
                )
            else:
                self.value(item, properties[key], f"{path}{key}")

    def value(self, value: Any, descriptor: Mapping[str, Any], path: str) -> None:
        if isinstance(value, Mapping) and set(value) == {"__json__"}:
            # A snapshot shows JSON strings parsed; the provider received the string.
            value = value["__json__"] if self.provider else json.dumps(value["__json__"])
        if isinstance(value, str) and value in OPAQUE:
            return
        if self.provider and isinstance(value, str) and descriptor.get("type") != "string":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if "oneOf" in descriptor:
            refs = [d for d in descriptor["oneOf"] if "$ref" in d]
            if isinstance(value, str) and refs:
                # A document given as JSON text (IAM policies): the provider parses it into the
                # typed form the schema declares, so that form is what must fit.
                value = _json_object(value, value)
            if isinstance(value, Mapping) and len(refs) == 1:
                self.value(value, refs[0], path)
            elif not any(self._fits(value, d, path) for d in descriptor["oneOf"]):
                self.fail(path, f"{_describe(value)} matches none of the declared types")
            return
        if "$ref" in descriptor:
            if not isinstance(value, Mapping):
                self.fail(path, f"{_describe(value)} is not an object ({descriptor['$ref']})")
            else:
                self.object(value, self.types[descriptor["$ref"]], f"{path}.")
            return
        kind = descriptor["type"]
        if not _is(value, kind):
            self.fail(path, f"{_describe(value)} is not of type {kind}")
            return
        if "enum" in descriptor and value not in descriptor["enum"]:
            self.fail(path, f"{_describe(value)} is not one of {', '.join(descriptor['enum'])}")
        if kind == "array":
            for index, item in enumerate(value):
                self.value(item, descriptor["items"], f"{path}[{index}]")
        elif kind == "map":
            for key, item in value.items():
                self.value(item, descriptor["values"], f"{path}.{key}")

    def _fits(self, value: Any, descriptor: Mapping[str, Any], path: str) -> bool:
        probe = _Checker({"types": self.types}, provider=self.provider)
        probe.value(value, descriptor, path)
        return not probe.problems


def _json_object(text: str, default: Any) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return default
    return parsed if isinstance(parsed, Mapping) else default


def _is(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, Sequence) and not isinstance(value, str)
    if kind in ("asset", "archive"):
        # How the plan shows a pulumi.FileAsset (devtools/offline/values.py, mask_secrets).
        return isinstance(value, Mapping) and set(value) == {"fileAsset"}
    return isinstance(value, Mapping)  # map, object


def resource_problems(resource: Mapping[str, Any]) -> list[str]:
    """Schema problems of one planned resource, each prefixed with its type and name."""
    token = str(resource["type"])
    schema = subset()
    where = f"{token} {resource['name']}"
    if token not in schema["resources"]:
        return [f"{where}: no schema for this type; regenerate with scripts/provider-schemas"]
    checker = _Checker(schema, provider=token.startswith(PROVIDER_PREFIX))
    checker.object(resource.get("inputs") or {}, schema["resources"][token], "")
    return [f"{where}: {p}" for p in checker.problems]


def plan_problems(plan: Mapping[str, Any]) -> list[str]:
    """Schema problems of every custom resource of a plan."""
    return [
        problem
        for resource in plan["resources"]
        if resource.get("custom", True)
        for problem in resource_problems(resource)
    ]
