"""Generate the provider-schema subset the suite validates plans against.

    python -m devtools.schemas.generate            # rewrite devtools/schemas/providers.json
    python -m devtools.schemas.generate --check    # exit 1 if the committed subset is stale

The oracle is the pinned provider SDKs themselves (uv.lock): each SDK is generated
from its provider's published schema, so its `<Resource>Args` classes carry every input's engine
name, whether it is required (no default in `__init__`) and its type (the annotation), nested
input types (`_inputs.py`) and enums (`_enums.py`). Only the resource types the committed stacks'
plans (`snapshots/*.plan.json`) declare are extracted.
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
import importlib.metadata
import inspect
import json
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pulumi import _types as pulumi_types

HERE = Path(__file__).resolve().parent
SUBSET = HERE / "providers.json"
SNAPSHOTS = HERE.parent.parent / "snapshots"
# Type token package -> Python SDK module (and its distribution, for the pinned version).
PACKAGES = {
    "aws": ("pulumi_aws", "pulumi_aws"),
    "mongodbatlas": ("pulumi_mongodbatlas", "pulumi_mongodbatlas"),
    "okta": ("pulumi_okta", "pulumi_okta"),
    "vault": ("pulumi_vault", "pulumi_vault"),
    "time": ("pulumiverse_time", "pulumiverse_time"),
}
_SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "Any": "any"}
_WRAPPERS = {"Input", "Optional", "InputType"}
_ASSETS = {"Asset": "asset", "Archive": "archive"}


def resource_class(token: str) -> type:
    """The SDK class of a type token, e.g. `aws:iam/role:Role` -> pulumi_aws.iam.Role."""
    if token.startswith("pulumi:providers:"):
        module = importlib.import_module(PACKAGES[token.split(":")[2]][0])
        return module.Provider  # type: ignore[no-any-return]
    package, path, name = token.split(":")
    submodule = path.split("/")[0]
    module = importlib.import_module(PACKAGES[package][0])
    if submodule != "index":
        module = importlib.import_module(f"{module.__name__}.{submodule}")
    cls = getattr(module, name)
    source = inspect.getsource(cls)
    declared = re.findall(r"__init__\(\s*'([^']+)'", source) or re.findall(
        r"__init__\(\s*\"([^\"]+)\"", source
    )
    if token not in declared:
        raise LookupError(f"{cls.__module__}.{name} registers {declared}, not {token}")
    return cls  # type: ignore[no-any-return]


class _Extractor:
    """Walks `Args` classes and their annotations into JSON-schema-like descriptors."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}

    def args_schema(self, cls: type) -> dict[str, Any]:
        init = cls.__init__  # type: ignore[misc]
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
        function = tree.body[0]
        assert isinstance(function, ast.FunctionDef)
        names = pulumi_types.input_type_py_to_pulumi_names(cls)
        module = sys.modules[cls.__module__]
        kwonly = function.args.kwonlyargs
        defaults = function.args.kw_defaults
        properties: dict[str, Any] = {}
        required: list[str] = []
        for arg, default in zip(kwonly, defaults, strict=True):
            engine = names.get(arg.arg, arg.arg)
            assert arg.annotation is not None, f"{cls.__name__}.{arg.arg} has no annotation"
            properties[engine] = self.descriptor(arg.annotation, module)
            if default is None:
                required.append(engine)
        return {"properties": properties, "required": sorted(required)}

    def descriptor(self, node: ast.expr, module: Any) -> dict[str, Any]:
        if isinstance(node, ast.Subscript):
            head = node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id  # type: ignore[attr-defined]
            inner = node.slice
            if head in _WRAPPERS:
                return self.descriptor(inner, module)
            if head == "Sequence":
                return {"type": "array", "items": self.descriptor(inner, module)}
            if head == "Mapping":
                assert isinstance(inner, ast.Tuple)
                return {"type": "map", "values": self.descriptor(inner.elts[1], module)}
            if head == "Union":
                assert isinstance(inner, ast.Tuple)
                return {"oneOf": [self.descriptor(e, module) for e in inner.elts]}
            raise ValueError(f"unsupported annotation {ast.unparse(node)}")
        if isinstance(node, ast.Attribute | ast.Name):
            name = node.attr if isinstance(node, ast.Attribute) else node.id
            if name in _SCALARS:
                return {"type": _SCALARS[name]}
            return self.named(name, module)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return self.named(node.value, module)
        raise ValueError(f"unsupported annotation {ast.unparse(node)}")

    def named(self, name: str, module: Any) -> dict[str, Any]:
        if name in _ASSETS:
            # `pulumi.Asset`/`pulumi.Archive`: the engine uploads a file; not a plain value.
            return {"type": _ASSETS[name]}
        cls = getattr(module, name)
        if isinstance(cls, type) and issubclass(cls, enum.Enum):
            return {"type": "string", "enum": sorted(str(m.value) for m in cls)}
        if isinstance(cls, type) and name.endswith("Args"):
            key = f"{cls.__module__.split('.')[0]}.{name}"
            if key not in self.types:
                self.types[key] = {}  # break cycles
                self.types[key] = self.args_schema(cls)
            return {"$ref": key}
        # TypedDicts (`...ArgsDict`) and other shapes the SDK accepts as plain objects.
        return {"type": "object"}


def plan_types(paths: Iterable[Path]) -> list[str]:
    found: set[str] = set()
    for path in paths:
        plan = json.loads(path.read_text())
        found |= {r["type"] for r in plan["resources"] if r["custom"]}
    return sorted(found)


def generate(tokens: Sequence[str]) -> dict[str, Any]:
    extractor = _Extractor()
    resources: dict[str, Any] = {}
    used: set[str] = set()
    for token in tokens:
        cls = resource_class(token)
        module = sys.modules[cls.__module__]
        # Where a nested type already took `<Name>Args` (pulumi_aws.s3's BucketVersioning), the
        # SDK names the resource's arguments `<Name>InitArgs`.
        args = getattr(module, f"{cls.__name__}InitArgs", None) or getattr(
            module, f"{cls.__name__}Args"
        )
        resources[token] = extractor.args_schema(args)
        used.add(
            token.split(":")[2] if token.startswith("pulumi:providers:") else token.split(":")[0]
        )
    return {
        "generatedBy": "python -m devtools.schemas.generate (scripts/provider-schemas)",
        "providers": {
            PACKAGES[p][1]: importlib.metadata.version(PACKAGES[p][1]) for p in sorted(used)
        },
        "resources": resources,
        "types": dict(sorted(extractor.types.items())),
    }


def render(subset: dict[str, Any]) -> str:
    return json.dumps(subset, indent=1, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.schemas.generate")
    parser.add_argument("--check", action="store_true", help="fail if the subset is stale")
    args = parser.parse_args(argv)
    text = render(generate(plan_types(sorted(SNAPSHOTS.glob("*.plan.json")))))
    if args.check:
        if not SUBSET.is_file() or SUBSET.read_text() != text:
            print(f"{SUBSET} is stale; run scripts/provider-schemas", file=sys.stderr)
            return 1
        return 0
    SUBSET.write_text(text)
    print(f"wrote {SUBSET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
