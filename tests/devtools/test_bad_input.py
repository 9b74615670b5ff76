"""Bad input is a clear exit 2 everywhere: one line per problem, no traceback, nothing written.

Each row of CASES gives a command bad input built by mutating the committed stack files (or the
project file, a plan, a policy config), and the exact stderr it must answer with. Rows marked
`scratch` run in a copy of the project (their bad input is a file the command finds by its
place: `Pulumi.<stack>.yaml`, `Pulumi.yaml`), as a real subprocess; at least one row per command
is a subprocess. The other rows call the command's `main(argv)`, the same code `python -m` runs.
Where a position comes from the mutation, the expected line and column are taken from it; where
PyYAML or `json` say what is wrong, their own account is the oracle for the words.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools import cli, settings_docs, snapshot
from devtools import plan as offline_plan
from infra.settings import namespaces
from policy import check
from policy.rules import RULES_BY_NAME
from tests.journeys.scratch import scratch_clone
from tests.stacks_discovery import ROOT

PROJECT = "airflow-atlas-identity"
P = f"{PROJECT}:"
MAINS: dict[str, Callable[[list[str]], int]] = {
    "infra.plan": offline_plan.main,
    "infra.snapshot": snapshot.main,
    "policy.check": check.main,
    "infra.settings.generate": settings_docs.main,
}
SUBPROCESS_TIMEOUT = 300

# The message contract, stated once (each message names the key path and the fix).
DB_WILDCARD = (
    "is not a database name: a grant names one database, never a wildcard (a role on every "
    "database would reach every application's data in the cluster); add one grant per database"
)
DUPLICATE = "keep one: YAML keys are unique, and PyYAML would keep only the last"
ORG_NAME_HINT = "set the Okta org of the okta-oidc pipelines: its subdomain, e.g. acme for https://acme.okta.com"
BASE_URL_HINT = (
    "set the domain of the Okta org of the okta-oidc pipelines, without https://, e.g. okta.com "
    "or oktapreview.com"
)
MODES = "use one of aws-iam, okta-oidc, vault-dynamic"
TIERS = "use one of dev, staging, prod"


# --- inputs, by mutation of what is committed ---------------------------------------------


def stack_text(stack: str) -> str:
    return (ROOT / f"Pulumi.{stack}.yaml").read_text()


def line_of(text: str, prefix: str) -> int:
    """The 1-based number of the first line starting with `prefix`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(prefix))


def with_line(text: str, prefix: str, new: str, *, after: bool = False) -> str:
    """`text` with the line starting with `prefix` replaced by `new` (or `new` added after it)."""
    lines = text.splitlines()
    index = line_of(text, prefix) - 1
    lines[index : index + 1] = [lines[index], new] if after else [new]
    return "\n".join(lines) + "\n"


def mutated(stack: str, change: Callable[[dict[str, Any]], object]) -> str:
    """The committed stack file, loaded, its `config` changed, dumped again."""
    document = yaml.safe_load(stack_text(stack))
    change(document["config"])
    return yaml.safe_dump(document, sort_keys=False)


def grant(config: dict[str, Any], pipeline: int, index: int = 0) -> dict[str, Any]:
    return config[f"{P}pipelines"][pipeline]["grants"][index]  # type: ignore[no-any-return]


def pipeline_named(config: dict[str, Any], auth_mode: str) -> dict[str, Any]:
    return next(p for p in config[f"{P}pipelines"] if p["authMode"] == auth_mode)


def index_of(stack: str, auth_mode: str) -> int:
    pipelines = yaml.safe_load(stack_text(stack))["config"][f"{P}pipelines"]
    return next(i for i, p in enumerate(pipelines) if p["authMode"] == auth_mode)


def pyyaml_error(text: str) -> yaml.MarkedYAMLError:
    """PyYAML's own account of what is wrong in `text`, and where."""
    with pytest.raises(yaml.MarkedYAMLError) as raised:
        yaml.safe_load(text)
    return raised.value


def at(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark
    assert mark is not None
    return f"{mark.line + 1}:{mark.column + 1}"


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    command: str
    args: Callable[[Path], list[str]]
    """Writes the bad input under the directory given (a temp dir or the scratch project) and
    returns the command's arguments."""
    expected: Callable[[Path], list[str]]
    """The exact stderr lines, given the same directory."""
    scratch: bool = False
    """Run in a copy of the project, as a subprocess."""
    subprocess: bool = False


def stack_file_case(
    id: str, text: Callable[[], str | bytes], expected: Callable[[Path, str | bytes], list[str]]
) -> Case:
    """`python -m infra.plan --config-file <bad file> --json <out>` (the out file is never written)."""

    def args(base: Path) -> list[str]:
        path = base / f"Pulumi.{id}.yaml"
        content = text()
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return ["--config-file", str(path), "--json", str(base / "plan.json")]

    return Case(
        id=id,
        command="infra.plan",
        args=args,
        expected=lambda base: expected(base / f"Pulumi.{id}.yaml", text()),
    )


def settings_case(
    id: str, stack: str, change: Callable[[dict[str, Any]], object], *expected: str
) -> Case:
    """A committed stack with one change: exactly `expected` (settings problems), in order."""
    return stack_file_case(id, lambda: mutated(stack, change), lambda _path, _text: list(expected))


def tab(path: Path, text: str | bytes) -> list[str]:
    assert isinstance(text, str)
    line = line_of(text, "\t")
    problem = pyyaml_error(text).problem
    return [f"{path}:{line}:1: {problem}; indent with spaces: YAML does not allow tabs"]


def unclosed(opener: str, char: str, key: str) -> Callable[[Path, str | bytes], list[str]]:
    """The parser fails further on; the fix points back at the opener the mutation left open."""

    def expected(path: Path, text: str | bytes) -> list[str]:
        assert isinstance(text, str)
        line = line_of(text, f"  {P}{key}")
        column = text.splitlines()[line - 1].index(char) + 1
        error = pyyaml_error(text)
        return [
            f"{path}:{at(error)}: {error.problem}; close the {opener} opened at line {line}, "
            f"column {column}"
        ]

    return expected


def indent(path: Path, text: str | bytes) -> list[str]:
    assert isinstance(text, str)
    line = line_of(text, f"   {P}awsRegion")
    first_key = line_of(text, "config:") + 1
    return [
        f"{path}:{line}:4: {pyyaml_error(text).problem}; indent this line like the other keys "
        f"of the mapping at line {first_key}, column 3"
    ]


def duplicate(
    key: str, first: str, second: str, column: int
) -> Callable[[Path, str | bytes], list[str]]:
    """At the last line starting with `second`, naming the line of `first`."""

    def expected(path: Path, text: str | bytes) -> list[str]:
        assert isinstance(text, str)
        lines = text.splitlines()
        again = max(i for i, line in enumerate(lines, 1) if line.startswith(second))
        return [
            f"{path}:{again}:{column}: duplicate key '{key}' (first at line "
            f"{line_of(text, first)}); {DUPLICATE}"
        ]

    return expected


def not_utf8(path: Path, content: str | bytes) -> list[str]:
    assert isinstance(content, bytes)
    with pytest.raises(UnicodeDecodeError) as raised:
        content.decode("utf-8")
    error = raised.value
    return [f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"]


YAML_CASES = [
    stack_file_case(
        "tab",
        lambda: with_line(stack_text("dev"), f"  {P}awsRegion", f"\t{P}awsRegion: eu-west-1"),
        tab,
    ),
    stack_file_case(
        "unclosed-bracket",
        lambda: with_line(
            stack_text("dev"),
            f"  {P}atlasVaultApiKeyAccessList",
            f"  {P}atlasVaultApiKeyAccessList: [10.20.0.0/24",
        ),
        unclosed("'['", "[", "atlasVaultApiKeyAccessList"),
    ),
    stack_file_case(
        "unclosed-brace",
        lambda: stack_text("prod") + f"  {P}namePrefix: {{a: 1\n",
        unclosed("'{'", "{", "namePrefix"),
    ),
    stack_file_case(
        "unclosed-quote",
        lambda: stack_text("dev") + f'  {P}namePrefix: "aai\n',
        unclosed("quote", '"', "namePrefix"),
    ),
    stack_file_case(
        "bad-indent",
        lambda: with_line(stack_text("dev"), f"  {P}awsRegion", f"   {P}awsRegion: eu-west-1"),
        indent,
    ),
    stack_file_case(
        "duplicate-key",
        lambda: with_line(
            stack_text("dev"), f"  {P}awsRegion", f"  {P}awsRegion: us-east-1", after=True
        ),
        duplicate(f"{P}awsRegion", f"  {P}awsRegion", f"  {P}awsRegion", 3),
    ),
    stack_file_case(
        "duplicate-nested-key",
        lambda: with_line(
            stack_text("prod"), "      authMode: okta-oidc", "      authMode: aws-iam", after=True
        ),
        duplicate("authMode", "      authMode: okta-oidc", "      authMode: aws-iam", 7),
    ),
    stack_file_case(
        "duplicate-config",
        lambda: stack_text("dev") + "config:\n  okta:orgName: other\n",
        duplicate("config", "config:", "config:", 1),
    ),
    stack_file_case(
        "not-a-mapping",
        lambda: "- config\n- tier: dev\n",
        lambda path, _t: [f"{path}: a stack file is a mapping with a `config:` key"],
    ),
    stack_file_case(
        "config-not-a-mapping",
        lambda: f"config:\n  - {P}tier: dev\n",
        lambda path, _t: [
            f"{path}: `config:` must be a mapping of `<namespace>:<key>: value`, e.g. "
            f"`{P}tier: dev`"
        ],
    ),
    stack_file_case(
        "not-utf8",
        lambda: stack_text("dev").encode().replace(b"analytics-dev", b"analytics-d\xe9v"),
        not_utf8,
    ),
]


def drop(key: str) -> Callable[[dict[str, Any]], object]:
    return lambda config: config.pop(key)


def put(key: str, value: Any) -> Callable[[dict[str, Any]], object]:
    return lambda config: config.__setitem__(key, value)


def both(*changes: Callable[[dict[str, Any]], object]) -> Callable[[dict[str, Any]], object]:
    return lambda config: [change(config) for change in changes]


def rename(old: str, new: str) -> Callable[[dict[str, Any]], object]:
    return lambda config: config.__setitem__(new, config.pop(old))


def _namespace_message(key: str, guess: str) -> str:
    namespace = key.split(":", 1)[0]
    return (
        f"{key}: unknown namespace '{namespace}': nothing reads this key; {guess}this stack's "
        f"settings are {P}<key>, provider settings "
        + ", ".join(f"{n}:<key>" for n in (*namespaces.PROVIDER_NAMESPACES, "pulumi"))
    )


DEV_OKTA, DEV_VAULT = index_of("dev", "okta-oidc"), index_of("dev", "vault-dynamic")
PROD_VAULT = index_of("prod", "vault-dynamic")

SETTINGS_CASES = [
    # Namespaces: nothing may be silently ignored.
    settings_case(
        "misspelled-project-namespace",
        "dev",
        rename(f"{P}pipelines", "airflow-atlas-identiy:pipelines"),
        _namespace_message("airflow-atlas-identiy:pipelines", f"did you mean {P}pipelines? "),
    ),
    settings_case(
        "unknown-namespace",
        "prod",
        put("atlas:projectId", "65c8a1d2b3e4f5a6b7c8d9e0"),
        _namespace_message("atlas:projectId", ""),
    ),
    settings_case(
        "key-without-namespace",
        "dev",
        put("tier", "dev"),
        f"tier: has no namespace; write {P}tier (or a provider's, e.g. okta:tier)",
    ),
    settings_case(
        "misspelled-okta-setting",
        "dev",
        put("okta:orgname", "acme-dev"),
        "okta:orgname: not a setting of the okta provider; did you mean okta:orgName?",
    ),
    settings_case(
        "misspelled-aws-setting",
        "prod",
        put("aws:regoin", "eu-west-1"),
        "aws:regoin: not a setting of the aws provider; did you mean aws:region?",
    ),
    # The Okta org: required with okta-oidc, never invented.
    settings_case(
        "okta-org-missing",
        "dev",
        drop("okta:orgName"),
        f"okta:orgName: is required; {ORG_NAME_HINT}",
    ),
    settings_case(
        "okta-base-url-missing",
        "prod",
        drop("okta:baseUrl"),
        f"okta:baseUrl: is required; {BASE_URL_HINT}",
    ),
    settings_case(
        "okta-org-both-missing",
        "prod",
        both(drop("okta:orgName"), drop("okta:baseUrl")),
        f"okta:orgName: is required; {ORG_NAME_HINT}",
        f"okta:baseUrl: is required; {BASE_URL_HINT}",
    ),
    settings_case(
        "okta-org-is-a-url",
        "dev",
        put("okta:orgName", "https://acme-dev.oktapreview.com"),
        f"okta:orgName: 'https://acme-dev.oktapreview.com' is not valid; {ORG_NAME_HINT}",
    ),
    settings_case(
        "okta-base-url-with-scheme",
        "prod",
        put("okta:baseUrl", "https://okta.com"),
        f"okta:baseUrl: 'https://okta.com' is not valid; {BASE_URL_HINT}",
    ),
    # Databases are named, in every tier.
    settings_case(
        "database-wildcard-prod",
        "prod",
        lambda c: grant(c, 0).update(database="*"),
        f"pipelines[0].grants[0].database: '*' {DB_WILDCARD}",
    ),
    settings_case(
        "database-wildcard-dev",
        "dev",
        lambda c: grant(c, DEV_VAULT, 1).update(database="*"),
        f"pipelines[{DEV_VAULT}].grants[1].database: '*' {DB_WILDCARD}",
    ),
    settings_case(
        "database-prefix-wildcard",
        "dev",
        lambda c: grant(c, 0).update(database="sales*"),
        f"pipelines[0].grants[0].database: 'sales*' {DB_WILDCARD}",
    ),
    # An invalid tier or mode: one line, and nothing that assumes a value for it.
    settings_case(
        "tier-misspelled-dev",  # dev declares '*' collections and a 3600 s session
        "dev",
        put(f"{P}tier", "dve"),
        f"tier: 'dve' is not valid; {TIERS}",
    ),
    settings_case(
        "tier-misspelled-no-audit",  # no prod (nor staging) rule on auditAuthorizationSuccess
        "dev",
        both(put(f"{P}tier", "stagng"), put(f"{P}auditAuthorizationSuccess", False)),
        f"tier: 'stagng' is not valid; {TIERS}",
    ),
    settings_case(
        "tier-misspelled-prod",
        "prod",
        put(f"{P}tier", "prdo"),
        f"tier: 'prdo' is not valid; {TIERS}",
    ),
    settings_case(
        "tier-misspelled-org",
        "org",
        put(f"{P}tier", "orgg"),
        "tier: 'orgg' is not valid; this file sets the org stack's keys (atlasFederationSettingsId,"
        " atlasWorkloadIdps): use org for the org stack, or one of dev, staging, prod for an "
        "environment without them",
    ),
    settings_case(
        "auth-mode-misspelled-okta",  # the correct Okta keys are not called superfluous
        "dev",
        lambda c: pipeline_named(c, "okta-oidc").update(authMode="okta-odic"),
        f"pipelines[{DEV_OKTA}].authMode: 'okta-odic' is not valid; {MODES}",
    ),
    settings_case(
        "auth-mode-misspelled-vault",  # nor the Vault keys, nor atlasOrgId
        "prod",
        lambda c: pipeline_named(c, "vault-dynamic").update(authMode="vault"),
        f"pipelines[{PROD_VAULT}].authMode: 'vault' is not valid; {MODES}",
    ),
    settings_case(
        "auth-mode-missing",
        "dev",
        lambda c: pipeline_named(c, "okta-oidc").pop("authMode"),
        f"pipelines[{DEV_OKTA}].authMode: (missing) is not valid; {MODES}",
    ),
    settings_case(
        "auth-mode-misspelled-with-okta-org-missing",  # not required, not refused: unknown
        "dev",
        both(
            lambda c: pipeline_named(c, "okta-oidc").update(authMode="oidc"),
            drop("okta:orgName"),
        ),
        f"pipelines[{DEV_OKTA}].authMode: 'oidc' is not valid; {MODES}",
    ),
    settings_case(
        "create-environment-not-boolean",  # its keys are not called superfluous
        "prod",
        put(f"{P}mwaaCreateEnvironment", "yes"),
        "mwaaCreateEnvironment: 'yes' is not a boolean; use true or false",
    ),
    settings_case(
        "wildcard-switch-not-boolean",  # prod's '*' collections are not refused on a guess
        "prod",
        both(
            put(f"{P}allowWildcardCollections", "maybe"),
            lambda c: grant(c, 0).update(collections=["*"]),
        ),
        "allowWildcardCollections: 'maybe' is not a boolean; use true or false",
    ),
    settings_case(
        "secrets-backend-misspelled",  # dev's Vault keys stand: its vault-dynamic pipeline
        "dev",
        put(f"{P}secretsBackend", "vualt"),
        "secretsBackend: 'vualt' is not valid; use one of secrets-manager, vault",
    ),
    settings_case(
        "several-problems",
        "prod",
        both(
            put(f"{P}awsAccountId", "not-an-account"),
            lambda c: grant(c, 1).update(access="readwrite"),
        ),
        "awsAccountId: 'not-an-account' is not valid; use the 12-digit account id, e.g. "
        "123456789012",
        "pipelines[1].grants[0].access: 'readwrite' is not a preset; use one of read, read-write, "
        "insert-only, read-changes, or list explicit actions",
    ),
    settings_case(
        "encrypted-value",
        "dev",
        put(f"{P}atlasProjectId", {"secure": "AAABAC=="}),
        f"{P}atlasProjectId: is encrypted; the offline plan cannot decrypt it. Provide the value "
        "through a plan-only stack file or leave it to `pulumi preview`",
    ),
]


def plan_args(*args: str) -> Callable[[Path], list[str]]:
    return lambda _base: list(args)


def known_stacks() -> str:
    """The stack files next to Pulumi.yaml, listed by the filesystem itself."""
    return ", ".join(sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml")))


def unknown(stack: str, guess: str | None = None) -> str:
    """The refusal of an unknown stack; its "did you mean" is difflib's closest known stack (a
    stack a user adds may become the closest), unless the case names the one it expects."""
    if guess is None:
        close = difflib.get_close_matches(stack, known_stacks().split(", "), n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
    return (
        f"unknown stack '{stack}': there is no Pulumi.{stack}.yaml next to Pulumi.yaml; "
        f"{guess}known stacks: {known_stacks()}"
    )


def usage(prog: str, message: str) -> Callable[[Path], list[str]]:
    return lambda _base: [f"python -m {prog}: {message}; see python -m {prog} --help"]


def outside(base: Path, name: str) -> Path:
    """A path in a directory that does not exist."""
    return base / "no" / "such" / "dir" / name


def file_as_parent(base: Path) -> Path:
    (base / "afile").write_text("")
    return base / "afile" / "report.md"


PLAN_CLI_CASES = [
    Case(
        id="plan-unknown-stack",
        command="infra.plan",
        args=plan_args("--stack", "stagng"),
        expected=lambda _b: [unknown("stagng")],
    ),
    Case(
        id="plan-unknown-stack-close",
        command="infra.plan",
        args=plan_args("--stack", "prd"),
        expected=lambda _b: [unknown("prd", "did you mean 'prod'? ")],
    ),
    Case(
        id="plan-missing-stack-file",
        command="infra.plan",
        args=lambda base: ["--config-file", str(base / "Pulumi.gone.yaml")],
        expected=lambda base: [f"stack file {base / 'Pulumi.gone.yaml'} does not exist"],
    ),
    Case(
        id="plan-json-in-missing-dir",
        command="infra.plan",
        args=lambda base: ["--stack", "dev", "--json", str(outside(base, "p.json"))],
        expected=lambda base: [
            f"cannot write {outside(base, 'p.json')}: directory {outside(base, 'p.json').parent} "
            "does not exist; create it first"
        ],
        subprocess=True,
    ),
    Case(
        id="plan-report-under-a-file",
        command="infra.plan",
        args=lambda base: ["--stack", "prod", "--report", str(file_as_parent(base))],
        expected=lambda base: [
            f"cannot write {base / 'afile' / 'report.md'}: {base / 'afile'} is not a directory"
        ],
    ),
    Case(
        id="plan-graph-is-a-directory",
        command="infra.plan",
        args=lambda base: ["--stack", "dev", "--graph", str(base)],
        expected=lambda base: [f"cannot write {base}: it is a directory"],
    ),
    Case(
        id="plan-no-stack",
        command="infra.plan",
        args=plan_args(),
        expected=usage("infra.plan", "one of the arguments --stack --config-file is required"),
    ),
    Case(
        id="plan-unknown-option",
        command="infra.plan",
        args=plan_args("--stack", "dev", "--jsn", "p.json"),
        expected=usage("infra.plan", "unrecognized arguments: --jsn p.json"),
    ),
]


def json_file(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.write_text(text)
    return path


def json_error(path: Path, text: str) -> list[str]:
    with pytest.raises(json.JSONDecodeError) as raised:  # the parser's own account
        json.loads(text)
    e = raised.value
    return [f"{path}:{e.lineno}:{e.colno}: {e.msg}; not valid JSON"]


def committed_plan() -> str:
    """A real plan file: the committed dev snapshot collapsed back into plan JSON."""
    from devtools.snapshot_form import collapse

    return json.dumps(collapse(json.loads((ROOT / "snapshots" / "dev.plan.json").read_text())))


POLICY_CASES = [
    Case(
        id="check-unknown-stack",
        command="policy.check",
        args=plan_args("--stack", "dev", "--stack", "stagng"),
        expected=lambda _b: [unknown("stagng")],
    ),
    Case(
        id="check-plan-not-json",
        command="policy.check",
        args=lambda base: [str(json_file(base, "plan.json", '{"resources": [}'))],
        expected=lambda base: json_error(base / "plan.json", '{"resources": [}'),
    ),
    Case(
        id="check-plan-missing",
        command="policy.check",
        args=lambda base: [str(base / "plan.json")],
        expected=lambda base: [f"{base / 'plan.json'}: no such file"],
    ),
    Case(
        id="check-not-a-plan",
        command="policy.check",
        args=lambda base: [str(json_file(base, "plan.json", '{"stack": "dev"}'))],
        expected=lambda base: [
            f"{base / 'plan.json'}: not a plan: expected {{resources: [{{type, urn, name, "
            "inputs}]}, as `python -m infra.plan --json PATH` writes it"
        ],
    ),
    Case(
        id="check-config-duplicate-key",
        command="policy.check",
        args=lambda base: [
            str(json_file(base, "plan.json", committed_plan())),
            "--config",
            str(json_file(base, "c.json", '{"all": "advisory", "all": "disabled"}')),
        ],
        expected=lambda base: [f"{base / 'c.json'}: duplicate key 'all'; keep one"],
    ),
    Case(
        id="check-config-unknown-rule",
        command="policy.check",
        args=lambda base: [
            str(json_file(base, "plan.json", committed_plan())),
            "--config",
            str(json_file(base, "c.json", '{"no-such-rule": "disabled"}')),
        ],
        expected=lambda base: [
            f"{base / 'c.json'}: no-such-rule: unknown rule; known rules: "
            + ", ".join(RULES_BY_NAME)
        ],
    ),
    Case(
        id="check-nothing-to-check",
        command="policy.check",
        args=plan_args(),
        expected=usage("policy.check", "give plan JSON files or --stack NAME"),
    ),
]

SNAPSHOT_CASES = [
    Case(
        id="snapshot-unknown-stacks",
        command="infra.snapshot",
        args=plan_args("--stack", "stagng", "--stack", "dev", "--stack", "prd"),
        expected=lambda _b: [unknown("stagng"), unknown("prd", "did you mean 'prod'? ")],
    ),
    Case(
        id="snapshot-unknown-option",
        command="infra.snapshot",
        args=plan_args("--chek"),
        expected=usage("infra.snapshot", "unrecognized arguments: --chek"),
    ),
    Case(
        id="generate-unknown-option",
        command="infra.settings.generate",
        args=plan_args("--chek"),
        expected=usage("infra.settings.generate", "unrecognized arguments: --chek"),
    ),
]


def in_scratch(
    id: str,
    command: str,
    change: Callable[[Path], object],
    argv: list[str],
    expected: Callable[[Path], list[str]],
) -> Case:
    """A case whose bad input is a file of the project itself: run in a copy, as a subprocess."""

    def args(base: Path) -> list[str]:
        change(base)
        return argv

    return Case(id=id, command=command, args=args, expected=expected, scratch=True)


def write(relative: str, text: str) -> Callable[[Path], object]:
    return lambda base: (base / relative).write_text(text)


def directory_instead(relative: str) -> Callable[[Path], object]:
    def change(base: Path) -> None:
        (base / relative).unlink()
        (base / relative).mkdir()

    return change


def scratch_settings(
    stack: str, change: Callable[[dict[str, Any]], object]
) -> Callable[[Path], object]:
    return write(f"Pulumi.{stack}.yaml", mutated(stack, change))


PROD_TAB = with_line(stack_text("prod"), f"  {P}awsRegion", f"\t{P}awsRegion: eu-west-1")
PROJECT_TAB = with_line((ROOT / "Pulumi.yaml").read_text(), "main:", "\tmain: infra/")

SCRATCH_CASES = [
    in_scratch(
        # dev's snapshot is stale and comes first: still nothing is written while prod is bad
        "snapshot-invalid-settings",
        "infra.snapshot",
        lambda base: [
            scratch_settings("prod", lambda c: grant(c, 0).update(database="*"))(base),
            (base / "snapshots" / "dev.access.md").write_text("stale\n"),
        ],
        ["--stack", "dev", "--stack", "prod"],
        lambda _b: [f"prod: pipelines[0].grants[0].database: '*' {DB_WILDCARD}"],
    ),
    in_scratch(
        "snapshot-tab",
        "infra.snapshot",
        write("Pulumi.prod.yaml", PROD_TAB),
        ["--stack", "prod"],
        lambda _b: tab(Path("Pulumi.prod.yaml"), PROD_TAB),
    ),
    in_scratch(
        "check-invalid-settings",
        "policy.check",
        scratch_settings("prod", both(drop("okta:orgName"), put("oka:orgName", "acme"))),
        ["--stack", "dev", "--stack", "prod"],
        lambda _b: [
            "prod: " + _namespace_message("oka:orgName", "did you mean okta:orgName? "),
            f"prod: okta:orgName: is required; {ORG_NAME_HINT}",
        ],
    ),
    in_scratch(
        "plan-org-stack-namespace",
        "infra.plan",
        scratch_settings("org", put("airflow-atlas:atlasOrgId", "5f0e1d2c3b4a596877665544")),
        ["--stack", "org"],
        lambda _b: [_namespace_message("airflow-atlas:atlasOrgId", "")],
    ),
    in_scratch(
        "generate-project-file-tab",
        "infra.settings.generate",
        write("Pulumi.yaml", PROJECT_TAB),
        [],
        lambda _b: tab(Path("Pulumi.yaml"), PROJECT_TAB),
    ),
    in_scratch(
        "generate-marker-removed",
        "infra.settings.generate",
        write(
            "bootstrap/Pulumi.yaml",
            (ROOT / "bootstrap" / "Pulumi.yaml").read_text().replace(settings_docs.MARKER, "# "),
        ),
        ["--check"],
        lambda _b: [
            f"bootstrap/Pulumi.yaml: no line starting with {settings_docs.MARKER!r}; restore it "
            "(the lines from it on are generated, the lines above it are kept)"
        ],
    ),
    in_scratch(
        "generate-output-is-a-directory",
        "infra.settings.generate",
        directory_instead("docs/settings.md"),
        [],
        lambda _b: ["cannot write docs/settings.md: it is a directory"],
    ),
]

CASES = [
    *YAML_CASES,
    *SETTINGS_CASES,
    *PLAN_CLI_CASES,
    *POLICY_CASES,
    *SNAPSHOT_CASES,
    *SCRATCH_CASES,
]
# A few of the in-process rows again as real subprocesses: the entry points are the same code.
SUBPROCESS_AGAIN = (
    "tab",
    "misspelled-project-namespace",
    "okta-org-missing",
    "check-plan-not-json",
)


# --- running a case -------------------------------------------------------------------------


@cache
def project_files() -> tuple[str, ...]:
    """What a clone of the project holds (tracked and new files, not the virtualenv)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return tuple(f for f in listed if (ROOT / f).is_file() and not (ROOT / f).is_symlink())


def scratch_copy(target: Path) -> Path:
    for name in project_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root and its bytes (bytecode aside)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.relative_to(root).parts
    }


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run_subprocess(command: str, argv: list[str], cwd: Path) -> Outcome:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", command, *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


class Unchanged:
    """Directories that must hold the same files after the command as before it."""

    def __init__(self) -> None:
        self.before: dict[Path, dict[str, bytes]] = {}

    def add(self, *paths: Path) -> None:
        self.before.update({path: tree(path) for path in paths})

    def check(self) -> None:
        for path, before in self.before.items():
            after = tree(path)
            changed = sorted(
                k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
            )
            assert changed == [], f"bad input wrote under {path}"


@pytest.fixture
def unchanged() -> Iterator[Unchanged]:
    watched = Unchanged()
    yield watched
    watched.check()


def assert_refused(outcome: Outcome, expected: list[str]) -> None:
    assert "Traceback" not in outcome.out + outcome.err
    assert outcome.err.splitlines() == expected
    assert outcome.out == ""
    assert outcome.code == cli.EXIT_BAD_INPUT


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line_and_exit_2(
    case: Case,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    unchanged: Unchanged,
) -> None:
    if case.scratch:
        base = scratch_copy(tmp_path / "project")
        argv = case.args(base)
        unchanged.add(base)
        outcome = run_subprocess(case.command, argv, cwd=base)
    else:
        base = tmp_path
        argv = case.args(base)
        unchanged.add(base, ROOT / "snapshots")
        if case.subprocess:
            outcome = run_subprocess(case.command, argv, cwd=ROOT)
        else:
            monkeypatch.chdir(ROOT)  # paths are shown relative to the working directory
            code = MAINS[case.command](argv)
            captured = capsys.readouterr()
            outcome = Outcome(code, captured.out, captured.err)
    assert_refused(outcome, case.expected(base))


@pytest.mark.parametrize("case_id", SUBPROCESS_AGAIN)
def test_the_same_rows_as_python_m(case_id: str, tmp_path: Path, unchanged: Unchanged) -> None:
    case = next(c for c in CASES if c.id == case_id)
    argv = case.args(tmp_path)
    unchanged.add(tmp_path)
    assert_refused(run_subprocess(case.command, argv, cwd=ROOT), case.expected(tmp_path))


def test_the_table_covers_every_command_and_enough_inputs() -> None:
    assert len(CASES) >= 40
    assert {c.command for c in CASES} == set(MAINS)
    by_subprocess = {c.command for c in CASES if c.scratch or c.subprocess} | {
        c.command for c in CASES if c.id in SUBPROCESS_AGAIN
    }
    assert by_subprocess == set(MAINS)


# --- what the table cannot say in one row ---------------------------------------------------


def readable_by_others(path: Path) -> bool:
    """Every folder down to `path` lets other users in, and `path` lets them read."""
    folders = [*reversed(path.parents), path]
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in folders) and bool(
        path.stat().st_mode & stat.S_IROTH
    )


def test_a_read_only_directory_is_one_line(tmp_path: Path) -> None:
    """Run as an unprivileged user: root writes into a read-only directory anyway."""
    demote = (
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    )
    directory = Path(tempfile.mkdtemp())  # /tmp: reachable by that user, unlike tmp_path
    project, python = ROOT, sys.executable
    if demote and not readable_by_others(ROOT):
        # A checkout under a private folder (a journey's scratch clone): that user runs a copy.
        project = scratch_clone(Path(tempfile.mkdtemp()))
        for folder in (project.parent, project):
            folder.chmod(0o755)
        python = str((project / ".venv").resolve() / "bin" / "python")
    try:
        directory.chmod(
            stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
        )
        done = subprocess.run(
            [
                *demote,
                python,
                "-m",
                "infra.plan",
                "--stack",
                "dev",
                "--json",
                str(directory / "p.json"),
            ],
            cwd=project,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )
        assert_refused(
            Outcome(done.returncode, done.stdout, done.stderr),
            [f"cannot write {directory / 'p.json'}: directory {directory} is not writable"],
        )
        assert list(directory.iterdir()) == []
    finally:
        directory.chmod(stat.S_IRWXU)
        shutil.rmtree(directory)
        if project != ROOT:
            shutil.rmtree(project.parent)


def test_a_refusal_at_write_time_is_one_line() -> None:
    """What no check before writing can tell (here: a /proc file), the OS says when written."""
    target = Path("/proc/version")
    try:
        target.write_text("x")  # the OS's own answer
    except OSError as error:
        strerror = error.strerror
    else:
        pytest.fail(f"{target} was writable")
    with pytest.raises(cli.BadInput) as refused:
        cli.write_text(target, "x")
    assert refused.value.lines == (f"cannot write {target}: {strerror}",)


def test_a_merge_key_may_be_overridden_but_a_key_not_repeated(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("base: &b {a: 1, b: 2}\nderived:\n  <<: *b\n  a: 3\n")
    assert cli.load_yaml(path) == {"base": {"a": 1, "b": 2}, "derived": {"a": 3, "b": 2}}
    path.write_text("a: 1\nb:\n  c: 1\n  c: 2\n")
    with pytest.raises(cli.BadInput) as refused:
        cli.load_yaml(path)
    assert refused.value.lines == (f"{path}:4:3: duplicate key 'c' (first at line 3); {DUPLICATE}",)


def sdk_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent


def test_provider_namespaces_are_the_sdks_the_program_imports() -> None:
    """Each allowed provider namespace is the config namespace of an SDK the program imports."""
    import ast

    imported: set[str] = set()
    for source in [*ROOT.glob("components/**/*.py"), *ROOT.glob("infra/**/*.py")]:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    with_config = {
        name.removeprefix("pulumi_").removeprefix("pulumiverse_")
        for name in imported
        if name.startswith(("pulumi_", "pulumiverse_"))
        and (sdk_dir(name) / "config" / "vars.py").is_file()
    }
    assert set(namespaces.PROVIDER_NAMESPACES) == with_config
    assert {"orgName", "baseUrl"} <= namespaces.provider_settings("okta")


def test_the_plan_does_not_invent_an_okta_org(tmp_path: Path) -> None:
    """The org the stack names is the one the issuer, and so the org stack's hand-off, carries."""
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(
        mutated("dev", both(put("okta:orgName", "acme-qa"), put("okta:baseUrl", "okta-emea.com")))
    )
    plan = offline_plan.plan(offline_plan.read_stack_file(path))
    issuer = plan["outputs"]["oktaIssuer"]
    assert issuer.startswith("https://acme-qa.okta-emea.com/oauth2/")
    assert plan["outputs"]["atlasWorkloadIdp"]["issuerUri"] == issuer
    assert "example.okta.com" not in json.dumps(plan)


def test_pulumi_up_refuses_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the engine the program reads the whole stack config, here as the `PULUMI_CONFIG`
    JSON a language host passes it: a foreign namespace and a missing Okta org fail there too."""
    import pulumi

    from devtools.offline import to_config_strings
    from infra import settings as stack_settings

    config = yaml.safe_load(
        mutated("dev", both(drop("okta:orgName"), put("atlas:projectId", "x")))
    )["config"]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(to_config_strings(PROJECT, config)))
    monkeypatch.setattr(pulumi, "get_project", lambda: PROJECT)  # as the engine's settings say
    saved = dict(pulumi.runtime.config.CONFIG.get())
    pulumi.runtime.set_all_config({})
    try:
        with pytest.raises(stack_settings.SettingsError) as raised:
            stack_settings.load(pulumi.Config(PROJECT))
    finally:
        pulumi.runtime.set_all_config(saved)
    assert [str(p) for p in raised.value.problems] == [
        _namespace_message("atlas:projectId", ""),
        f"okta:orgName: is required; {ORG_NAME_HINT}",
    ]
