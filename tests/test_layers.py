"""The house's layers, read from the code's own imports (every `import` statement, via ast).

settings -> access model -> wiring -> one package per external system; the policy pack, the
bootstrap, the Airflow runtime and the audit-trail command stand apart; developer tools
(devtools/, bench/) may use the program, never the other way round. Each rule here is one
sentence of CONTRIBUTING.md's "Where things live".
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.house import source_files
from tests.paths import ROOT

SYSTEMS = ("aws", "atlas", "okta", "vault", "airflow")
# The command names users type (`python -m infra.plan`, ...): thin entries into devtools/.
COMMANDS = {"infra/plan.py", "infra/snapshot.py", "infra/stack.py", "infra/settings/generate.py"}

# Which layers each layer may import (its own included). Anything not listed is refused.
ALLOWED: dict[str, frozenset[str]] = {
    "model": frozenset({"model"}),
    **{
        f"components.{system}": frozenset({"model", "components.lifting", f"components.{system}"})
        for system in SYSTEMS
    },
    "components.lifting": frozenset({"components.lifting"}),
    "components.wiring": frozenset(
        {"model", "components.lifting", *(f"components.{s}" for s in SYSTEMS)}
    ),
    "infra": frozenset(
        {"model", "infra", "components.wiring", *(f"components.{s}" for s in SYSTEMS)}
        # The MWAA package's supported Airflow versions come from the runtime's packager.
        | {"runtime.tools"}
    ),
    "commands": frozenset({"devtools"}),
    "devtools": frozenset(
        {
            "model",
            "infra",
            "devtools",
            "bootstrap",
            "policy",
            "runtime.tools",
            "components.wiring",
            "components.lifting",
            *(f"components.{s}" for s in SYSTEMS),
        }
    ),
    "policy": frozenset({"model", "policy"}),
    # The offline twin of the pack plans stacks itself.
    "policy.check": frozenset({"model", "policy", "devtools", "infra"}),
    "bootstrap": frozenset({"model", "bootstrap", *(f"components.{s}" for s in SYSTEMS)}),
    "bench": frozenset(
        {
            "bench",
            "model",
            "infra",
            "devtools",
            "policy",
            "policy.check",
            "components.wiring",
            *(f"components.{s}" for s in SYSTEMS),
        }
    ),
    "runtime": frozenset({"runtime"}),
    "runtime.tools": frozenset({"runtime.tools"}),
    "runtime.examples": frozenset({"runtime"}),
    "audit_trail": frozenset({"audit_trail"}),
}
# The program's components build the MWAA package with the runtime's own packager, the one
# `scripts/mwaa-package` runs (it imports neither Airflow nor Pulumi).
EXTRA: dict[str, frozenset[str]] = {"components.airflow": frozenset({"runtime.tools"})}
# Pure layers: no Pulumi SDK, so they run anywhere (the MWAA image, the policy check, tests).
PULUMI_FREE = ("model", "policy", "runtime", "runtime.tools", "runtime.examples", "audit_trail")


def layer_of_file(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    if path in COMMANDS:
        return "commands"
    if parts[0] == "components":
        if parts[1] in SYSTEMS:
            return f"components.{parts[1]}"
        return "components.lifting" if parts[1] == "lifting" else "components.wiring"
    if parts[0] == "policy":
        return "policy.check" if parts[1] == "check" else "policy"
    if parts[0] == "runtime":
        return {"src": "runtime", "tools": "runtime.tools", "examples": "runtime.examples"}[
            parts[1]
        ]
    return parts[0]


def layer_of_module(module: str) -> str | None:
    """The project layer an imported module belongs to; None for a third-party module."""
    parts = module.split(".")
    root = parts[0]
    if root == "components":
        if len(parts) == 1:
            return None  # the bare package: `from components import X` is checked as X
        if parts[1] in SYSTEMS:
            return f"components.{parts[1]}"
        return "components.lifting" if parts[1] == "lifting" else "components.wiring"
    if root == "infra" and f"{module.replace('.', '/')}.py" in COMMANDS:
        return "commands"
    if root == "policy":
        return "policy.check" if module == "policy.check" else "policy"
    if root == "atlas_identity":
        return "runtime"
    if root == "runtime":
        return "runtime.tools"
    if root in {"model", "infra", "devtools", "bootstrap", "bench", "tests", "audit_trail"}:
        return root
    return None


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            # `from components import lifting`: the names may be modules of a package.
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def is_module(name: str) -> bool:
    """`from components import lifting` names a module; `from model.access import X` does not."""
    path = ROOT / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").is_file() or "." not in name


@pytest.mark.parametrize("path", source_files())
def test_each_file_imports_only_what_its_layer_may(path: str) -> None:
    layer = layer_of_file(path)
    allowed = ALLOWED[layer] | EXTRA.get(layer, frozenset())
    refused = set()
    for module in imports(ROOT / path):
        target = layer_of_module(module)
        if target is not None and is_module(module) and target not in allowed:
            refused.add(f"{module} ({target})")
        # The pack's adapter is the one Pulumi import a pure layer has: pulumi_policy.
        sdk = module.split(".")[0].startswith(("pulumi", "pulumiverse"))
        if layer in PULUMI_FREE and sdk and not module.startswith("pulumi_policy"):
            refused.add(f"{module} (the Pulumi SDK)")
    assert sorted(refused) == [], f"{path} ({layer}) may import only {sorted(allowed)}"


@pytest.mark.parametrize(
    ("path", "module", "allowed"),
    [
        ("components/vault/access.py", "components.aws.identity", False),
        ("components/vault/access.py", "model.naming", True),
        ("model/access.py", "components.lifting", False),
        ("bench/secrets_lookups/__main__.py", "tests.services", False),
        ("atlas_identity_path", "infra.settings", False),
        ("infra/plan.py", "devtools.plan", True),
        ("infra/settings/okta.py", "devtools.plan", False),
        ("bootstrap/keys.py", "infra.settings.keys", False),
    ],
)
def test_the_rules_refuse_what_the_house_forbids(path: str, module: str, allowed: bool) -> None:
    layer = "runtime" if path == "atlas_identity_path" else layer_of_file(path)
    target = layer_of_module(module)
    assert target is not None
    assert (target in ALLOWED[layer] | EXTRA.get(layer, frozenset())) is allowed


def test_every_source_file_has_a_layer() -> None:
    files = source_files()
    assert len(files) > 100
    assert {layer_of_file(f) for f in files} <= set(ALLOWED)
