"""The settings tables are the one source: generated files match them, and they match the readers.

`infra/settings/keys.py` and `bootstrap/keys.py` render into both `Pulumi.yaml` files and
`docs/settings.md` (`python -m infra.settings.generate`). Beyond byte equality, every statement
the tables make is checked against what the readers do, on the committed stack files: a required
key is refused when missing, a documented default plans exactly like leaving the key out, every
example is accepted, every key is read. The generated project files are validated against the
Pulumi CLI's own project schema (tests/docs/pulumi_project.schema.json, copied from pulumi/pulumi).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bootstrap import settings as bootstrap_settings
from devtools import settings_docs as generate
from devtools.plan import read_stack_file
from infra import settings
from infra.settings import org as org_settings
from model.access import Tier
from model.config_keys import Key
from tests.paths import ROOT
from tests.stacks_discovery import STACKS, stack_file

PULUMI_PROJECT_SCHEMA = json.loads(
    (Path(__file__).parent / "pulumi_project.schema.json").read_text()
)
BOOTSTRAP_STACKS = sorted(p for p in (ROOT / "bootstrap").glob("Pulumi.*.yaml"))


@dataclass(frozen=True)
class Base:
    """A committed stack file's values, and how to parse a variant of them."""

    name: str
    tier: Tier
    values: dict[str, Any]
    parse: Callable[[Mapping[str, Any]], object]
    placeholders: dict[str, str]

    def outcome(self, values: Mapping[str, Any]) -> object:
        """The parsed settings, or the sorted problem paths and messages."""
        try:
            return self.parse(values)
        except (settings.SettingsError, bootstrap_settings.SettingsError) as error:
            return sorted(str(p) for p in error.problems)

    def problem_paths(self, values: Mapping[str, Any]) -> list[str]:
        result = self.outcome(values)
        return [p.split(":")[0] for p in result] if isinstance(result, list) else []

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, str):
            for placeholder, actual in self.placeholders.items():
                value = value.replace(placeholder, actual)
        return value


def main_bases() -> list[Base]:
    bases = []
    for stack in STACKS:
        values = read_stack_file(stack_file(stack)).project_values()

        def parse(v: Mapping[str, Any], stack: str = stack) -> object:
            return settings.parse(v, project="airflow-atlas-identity", stack=stack)

        prefix = values.get("namePrefix", "aai")
        placeholders = {"<stack>": stack, "<prefix>": prefix, "<account>": values["awsAccountId"]}
        bases.append(Base(stack, Tier(values["tier"]), values, parse, placeholders))
    return bases


def org_bases() -> list[Base]:
    """The org stack (tier org) reads only its own keys (infra/settings/org.py)."""
    path = ROOT / "Pulumi.org.yaml"
    values = read_stack_file(path).project_values()

    def parse(v: Mapping[str, Any]) -> object:
        return org_settings.parse_org(v, project="airflow-atlas-identity", stack="org")

    # No key of the org stack has a tier-dependent default: any tier reads the same.
    return [Base(path.name, Tier.DEV, values, parse, {})]


def bootstrap_bases() -> list[Base]:
    bases = []
    for path in BOOTSTRAP_STACKS:
        config = yaml.safe_load(path.read_text())["config"]
        namespace = f"{bootstrap_settings.PROJECT}:"
        values = {k.removeprefix(namespace): v for k, v in config.items()}
        env = values["environment"]
        tier = Tier.PROD if env == "prod" else Tier.DEV
        bases.append(
            Base(path.name, tier, values, bootstrap_settings.parse, {"<environment>": env})
        )
    return bases


TABLES: list[tuple[str, Mapping[str, Key], list[Base]]] = [
    ("main", settings.KEYS, main_bases()),
    ("bootstrap", bootstrap_settings.KEYS, bootstrap_bases()),
]
ORG_BASES = org_bases()
CASES = [
    (label, name, key, ORG_BASES if name in org_settings.ORG_ONLY_KEYS else bases)
    for label, keys, bases in TABLES
    for name, key in keys.items()
]
IDS = [f"{label}:{name}" for label, name, _, _ in CASES]


def without(values: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != key}


def test_generated_files_match_the_tables() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, text in generate.outputs().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], f"stale: {stale}; run `{generate.COMMAND}` and commit the result"


def test_generate_check_reports_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "settings.md"
    doc.write_text("hand-edited\n")
    monkeypatch.setattr(generate, "SETTINGS_DOC", doc)
    assert generate.main(["--check"]) == generate.EXIT_STALE
    assert doc.read_text() == "hand-edited\n"
    assert generate.main([]) == 0
    assert doc.read_text() == generate.markdown()


@pytest.mark.parametrize("table", generate.TABLES, ids=lambda t: t.source)
def test_project_file_is_valid_for_the_pulumi_cli(table: generate.Table) -> None:
    document = yaml.safe_load(table.project_file.read_text())
    jsonschema.Draft202012Validator(PULUMI_PROJECT_SCHEMA).validate(document)
    declared = document.get("config", {})
    assert set(declared) == {n for n, k in table.keys.items() if k.required and not k.structured}
    for name, declaration in declared.items():
        assert declaration["type"] == table.keys[name].type, name
        assert declaration["description"] == table.keys[name].description, name
        assert "default" not in declaration, name


@pytest.mark.parametrize(
    ("table", "stack_paths"),
    [
        (generate.TABLES[0], [stack_file(s) for s in STACKS]),
        (generate.TABLES[1], BOOTSTRAP_STACKS),
    ],
    ids=["main", "bootstrap"],
)
def test_every_committed_stack_sets_every_declared_key(
    table: generate.Table, stack_paths: list[Path]
) -> None:
    # The CLI refuses a stack lacking a declared key that has no default ("Stack 'dev' is missing
    # configuration value ...", pulumi/pulumi sdk/go/common/workspace/project_test.go).
    declared = yaml.safe_load(table.project_file.read_text()).get("config", {})
    assert stack_paths
    for path in stack_paths:
        config = yaml.safe_load(path.read_text())["config"]
        missing = [k for k in declared if f"{table.project}:{k}" not in config]
        assert missing == [], path.name


def test_the_bases_cover_prod_and_a_lower_tier() -> None:
    for _, _, bases in TABLES:
        assert {b.tier is Tier.PROD for b in bases} == {True, False}


@pytest.mark.parametrize(("label", "name", "key", "bases"), CASES, ids=IDS)
def test_a_required_key_is_refused_when_missing(
    label: str, name: str, key: Key, bases: list[Base]
) -> None:
    if not key.required:
        assert key.default is not None or key.unset, f"{name}: say what leaving it out means"
        return
    for base in bases:
        assert name in base.problem_paths(without(base.values, name)), base.name


def _applying(bases: list[Base], name: str, value: Callable[[Base], Any]) -> Iterator[Base]:
    """The bases in which `name: value` is accepted (a key may apply only to some stacks)."""
    for base in bases:
        if not isinstance(base.outcome({**base.values, name: value(base)}), list):
            yield base


@pytest.mark.parametrize(("label", "name", "key", "bases"), CASES, ids=IDS)
def test_the_documented_default_plans_like_leaving_the_key_out(
    label: str, name: str, key: Key, bases: list[Base]
) -> None:
    if key.default is None:
        return
    checked = list(_applying(bases, name, lambda b: b.resolve(key.default_for(b.tier))))
    assert checked, f"{name}: the documented default is refused by every committed stack"
    for base in checked:
        explicit = {**base.values, name: base.resolve(key.default_for(base.tier))}
        assert base.outcome(without(base.values, name)) == base.outcome(explicit), base.name


@pytest.mark.parametrize(("label", "name", "key", "bases"), CASES, ids=IDS)
def test_the_example_is_accepted(label: str, name: str, key: Key, bases: list[Base]) -> None:
    assert key.example, f"{name}: give an example"
    example = yaml.safe_load(key.example)
    assert list(_applying(bases, name, lambda _: example)), f"{name}: example refused everywhere"


_WRONG_TYPE: dict[str, Any] = {
    "string": 12345,
    "integer": "many",
    "boolean": "maybe",
    "array": "not-a-list",
    "object": "not-an-object",
}


@pytest.mark.parametrize(("label", "name", "key", "bases"), CASES, ids=IDS)
def test_every_key_is_read(label: str, name: str, key: Key, bases: list[Base]) -> None:
    # A key in the table that no reader looks at would be accepted with any value.
    reported = [
        base
        for base in bases
        if any(
            name in path.replace("/", " ").replace(".", " ").replace("[", " ").split()
            for path in base.problem_paths({**base.values, name: _WRONG_TYPE[key.type]})
        )
    ]
    assert reported == bases, f"{name}: a wrong-typed value is not reported"
