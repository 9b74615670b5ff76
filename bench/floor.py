"""The benchmark's floor: the program's resource graph registered with nothing but SDK calls.

    python -m bench.floor --plan plan.json --graph graph.json --json out.json --graph-out g.json
    python -m bench.floor ... --raw       # untyped pulumi.CustomResource, for reference

Input: what `python -m infra.plan --json plan.json --graph graph.json` wrote for a stack. The
floor registers every resource of that plan (parents, providers, dependencies first) with the same
type, name, parent, `protect`, provider, options and inputs, and the same dependency edges: each
input that depended on other resources is an Output of those resources' URNs. Custom resources
go through the provider SDK's typed class for their type token (`aws:iam/role:Role` ->
`pulumi_aws.iam.Role`), components through `pulumi.ComponentResource`; `--raw` uses
`pulumi.CustomResource` with the engine's input names instead. Values the plan masks as
"[secret]" are passed as secret Outputs of the mask, so the plan masks them again.

It runs in its own process like the CLI: same imports (devtools.plan and every provider SDK the
program imports), same mocks, monitor, GC pause and stack-trace skip (devtools.offline.run_program),
same post-processing and JSON write (devtools.plan.plan_of, write_json), same exit. What it does not
do is what the program adds: settings, Wiring and components, and lifting of nested values.
The benchmark checks that its plan JSON and graph are byte-identical to the program's.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi
import pulumi_aws
import pulumi_mongodbatlas
import pulumi_okta
import pulumi_vault
import pulumiverse_time
from pulumi import _types as sdk_types

from devtools import plan as offline_plan
from devtools.offline import SECRET, PlanMocks, run_program, to_config_strings
from devtools.perf import gc_paused

# Type-token package -> provider SDK, the same set the program's components import.
PACKAGES: dict[str, Any] = {
    "aws": pulumi_aws,
    "mongodbatlas": pulumi_mongodbatlas,
    "okta": pulumi_okta,
    "time": pulumiverse_time,
    "vault": pulumi_vault,
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def resource_class(token: str) -> type[pulumi.Resource]:
    """The typed SDK class of a type token: `aws:iam/role:Role` -> `pulumi_aws.iam.Role`."""
    if token.startswith("pulumi:providers:"):
        return PACKAGES[token.rsplit(":", 1)[1]].Provider  # type: ignore[no-any-return]
    package, module, name = token.split(":")
    root = PACKAGES[package]
    top = module.split("/")[0]
    owner = root if top == "index" else importlib.import_module(f"{root.__name__}.{top}")
    cls = getattr(owner, name)
    if not (isinstance(cls, type) and issubclass(cls, pulumi.Resource)):
        raise TypeError(f"{token}: {owner.__name__}.{name} is not a resource class")
    return cls


_PY_NAMES: dict[type, dict[str, str]] = {}


def python_name(cls: type, engine_name: str) -> str:
    """The typed class's keyword for an engine input name (from the class's own metadata)."""
    names = _PY_NAMES.get(cls)
    if names is None:
        names = _PY_NAMES[cls] = sdk_types.resource_pulumi_to_py_names(cls)
    # Provider classes expose few of their inputs as properties; their keywords are snake_case.
    return names.get(engine_name) or _CAMEL.sub("_", engine_name).lower()


def with_secrets(value: Any) -> Any:
    """The plan's "[secret]" masks as secret Outputs again."""
    if value == SECRET:
        return pulumi.Output.secret(SECRET)
    if isinstance(value, dict):
        return {k: with_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_secrets(v) for v in value]
    return value


def _after(dependencies: Sequence[pulumi.Resource], value: Any) -> pulumi.Output[Any]:
    """`value` as an Output that depends on `dependencies` (one Output per input)."""
    return pulumi.Output.all(*(d.urn for d in dependencies)).apply(lambda _: value)


def _provider_urn(node: Mapping[str, Any]) -> str | None:
    reference: str = node["provider"]  # `urn::id`
    return reference.rsplit("::", 1)[0] if reference else None


def construction_order(
    plan: Mapping[str, Any], graph: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The graph's nodes with every parent, provider and dependency before its dependents."""
    nodes = {node["urn"]: node for node in graph}
    parents = {r["urn"]: r["parent"] for r in plan["resources"]}
    ordered: list[Mapping[str, Any]] = []
    seen: set[str] = set()

    def visit(urn: str) -> None:
        if urn in seen or urn not in nodes:  # the stack is not in the graph
            return
        seen.add(urn)
        node = nodes[urn]
        before = [parents[urn], _provider_urn(node), *node["dependencies"]]
        for urns in node["propertyDependencies"].values():
            before.extend(urns)
        for other in before:
            if other is not None:
                visit(other)
        ordered.append(node)

    for urn in nodes:
        visit(urn)
    return ordered


def provider_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A provider's inputs as declared: its typed class sends every non-string value as JSON."""
    declared: dict[str, Any] = {}
    for key, value in inputs.items():
        try:
            decoded = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            decoded = value
        declared[key] = value if isinstance(decoded, str) else decoded
    return declared


def floor_program(
    plan: Mapping[str, Any], graph: Sequence[Mapping[str, Any]], *, typed: bool = True
) -> Callable[[], None]:
    by_urn = {r["urn"]: r for r in plan["resources"]}
    order = construction_order(plan, graph)

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        for node in order:
            resource = by_urn[node["urn"]]
            declared = resource["inputs"]
            if typed and resource["type"].startswith("pulumi:providers:"):
                declared = provider_inputs(declared)
            inputs = {k: with_secrets(v) for k, v in declared.items()}
            covered: set[str] = set()
            for key, urns in node["propertyDependencies"].items():
                if urns:
                    inputs[key] = _after([made[u] for u in urns], inputs[key])
                    covered.update(urns)
            provider = _provider_urn(node)
            trigger = node["replacementTrigger"]
            opts = pulumi.ResourceOptions(
                parent=made.get(resource["parent"]),
                protect=resource["protect"],
                provider=made[provider] if provider else None,  # type: ignore[arg-type]
                depends_on=[made[u] for u in node["dependencies"] if u not in covered] or None,
                replacement_trigger=with_secrets(trigger) if trigger is not None else None,
                retain_on_delete=node["retainOnDelete"] or None,
                ignore_changes=node["ignoreChanges"] or None,
            )
            type_, name = resource["type"], resource["name"]
            made[resource["urn"]] = _register(type_, name, inputs, opts, resource["custom"], typed)
        for key, value in plan["outputs"].items():
            pulumi.export(key, with_secrets(value))

    return program


def _register(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    opts: pulumi.ResourceOptions,
    custom: bool,
    typed: bool,
) -> pulumi.Resource:
    if not custom:
        component = pulumi.ComponentResource(type_, name, None, opts)
        component.register_outputs({})
        return component
    if typed:
        cls = resource_class(type_)
        kwargs = {python_name(cls, k): v for k, v in inputs.items()}
        return cls(name, opts=opts, **kwargs)
    if type_.startswith("pulumi:providers:"):
        return pulumi.ProviderResource(type_.rsplit(":", 1)[1], name, inputs, opts)
    return pulumi.CustomResource(type_, name, inputs, opts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--plan", type=Path, required=True, help="the program's plan JSON")
    parser.add_argument("--graph", type=Path, required=True, help="the program's graph JSON")
    parser.add_argument("--json", type=Path, required=True, help="write the floor's plan here")
    parser.add_argument("--graph-out", type=Path, help="write the floor's graph here")
    parser.add_argument("--raw", action="store_true", help="untyped pulumi.CustomResource")
    parser.add_argument("--account", default="123456789012", help="mock AWS account")
    parser.add_argument("--region", default="eu-west-1", help="mock AWS region")
    parser.add_argument("--okta-org-url", default="https://example.okta.com", help="mock Okta org")
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    graph = json.loads(args.graph.read_text())
    with gc_paused():  # as devtools.plan.plan() runs the program
        run = run_program(
            project=plan["project"],
            stack=plan["stack"],
            config=to_config_strings(plan["project"], {}),
            mocks=PlanMocks(
                account_id=args.account, region=args.region, okta_org_url=args.okta_org_url
            ),
            program=floor_program(plan, graph, typed=not args.raw),
        )
        result = offline_plan.plan_of(run)
    if args.graph_out:
        offline_plan.write_json(args.graph_out, offline_plan.graph(run.monitor.registrations))
    offline_plan.write_json(args.json, result)
    print(f"wrote {args.json} ({len(result['resources'])} resources)")
    return 0


if __name__ == "__main__":
    offline_plan.exit_now(main())
