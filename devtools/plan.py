"""Offline plan: run the real program under the mock engine for one stack file.

    python -m infra.plan --stack dev                 # human summary and access matrix
    python -m infra.plan --stack prod --json out.json
    python -m infra.plan --config-file path/Pulumi.test.yaml
    python -m infra.plan --stack prod --report prod.access.md   # access report (devtools/report.py)
    python -m infra.plan --stack dev --json plan.json --graph graph.json  # + dependency edges

Needs no Pulumi CLI, cloud account or network. Exit codes: 0 planned, 2 invalid settings or a
service limit exceeded (one line per problem on stderr, naming the key path; model/limits/),
an unreadable stack file (file:line:col), an unknown stack, an unwritable output path or a usage
error (one line each), and nothing planned or written. Format, masking and exit codes:
docs/plan-format.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools import cli
from devtools.offline import (
    MOCK_OKTA_ORG_URL,
    PlanMocks,
    ProgramRun,
    Registration,
    mask_secrets,
    run_program,
    to_config_strings,
)
from devtools.perf import gc_paused
from infra import settings as stack_settings
from infra.settings import limits as plan_limits
from infra.settings import org as org_settings

ROOT = Path(__file__).resolve().parent.parent
EXIT_INVALID_SETTINGS = 2


@dataclass(frozen=True, kw_only=True)
class StackFile:
    project: str
    stack: str
    config: dict[str, Any]
    """Every key of the stack file, namespaced as written (`project:key`, `aws:region`)."""

    def okta_org_url(self) -> str:
        """The Okta org the provider is configured for (`okta:orgName` + `okta:baseUrl`), for
        the mock engine; never guessed: a stack without both gets MOCK_OKTA_ORG_URL, which no
        resource reads (the settings require both as soon as a pipeline uses okta-oidc)."""
        org, base = self.config.get("okta:orgName"), self.config.get("okta:baseUrl")
        return f"https://{org}.{base}" if org and base else MOCK_OKTA_ORG_URL

    def project_values(self) -> dict[str, Any]:
        prefix = f"{self.project}:"
        return {
            k[len(prefix) :]: v
            for k, v in self.config.items()
            if isinstance(k, str) and k.startswith(prefix)
        }

    def provider_values(self) -> dict[Any, Any]:
        """Every key outside the project's namespace (`okta:orgName`, `aws:region`, ...)."""
        prefix = f"{self.project}:"
        return {
            k: v
            for k, v in self.config.items()
            if not (isinstance(k, str) and k.startswith(prefix))
        }


def project_name(root: Path = ROOT) -> str:
    return cli.project_name(root / "Pulumi.yaml")


def read_stack_file(path: Path, *, stack: str | None = None, root: Path = ROOT) -> StackFile:
    """A stack file's config; BadInput (devtools/cli.py) naming file:line:col when unreadable."""
    document = cli.load_yaml(path)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        cli.fail(f"{cli.shown(path)}: a stack file is a mapping with a `config:` key")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        cli.fail(
            f"{cli.shown(path)}: `config:` must be a mapping of `<namespace>:<key>: value`, "
            "e.g. `airflow-atlas-identity:tier: dev`"
        )
    if stack is None:
        parts = path.name.split(".")
        stack = parts[1] if len(parts) == 3 and parts[0] == "Pulumi" else path.stem
    return StackFile(project=project_name(root), stack=stack, config=config)


def _unencryptable(config: Mapping[str, Any]) -> list[str]:
    """Keys holding `secure:` values: the offline plan has no key to decrypt them."""
    return sorted(k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"})


@gc_paused()  # keeps planning linear in the pipeline count (devtools/perf.py)
def plan(
    stack_file: StackFile,
    warnings: list[str] | None = None,
    registrations: list[Registration] | None = None,
    *,
    kms: Any = None,
) -> dict[str, Any]:
    """Validate and plan one stack. Raises SettingsError before anything is registered.

    What the program warns about (as `pulumi up` would show it) is appended to `warnings`, what it
    registered (in registration order, with dependency edges) to `registrations`.
    `kms`: a KMS client that creates the planned keys for real (see PlanMocks.kms).
    """
    run = run_program(
        project=stack_file.project,
        stack=stack_file.stack,
        config=to_config_strings(stack_file.project, stack_file.config),
        mocks=mocks_for(stack_file, kms=kms),
    )
    if warnings is not None:
        warnings.extend(run.warnings)
    if registrations is not None:
        registrations.extend(run.monitor.registrations)
    return plan_of(run)


def mocks_for(stack_file: StackFile, *, kms: Any = None) -> PlanMocks:
    """Validate the stack's settings (SettingsError, before anything is planned) and return the
    mock engine for it: its account, region and Okta org. Commands that plan several stacks
    call it for each first, so that a bad one is reported before any is planned."""
    encrypted = _unencryptable(stack_file.config)
    if encrypted:
        raise stack_settings.SettingsError(
            [
                stack_settings.Problem(
                    path=key,
                    message="is encrypted; the offline plan cannot decrypt it. Provide the value "
                    "through a plan-only stack file or leave it to `pulumi preview`",
                )
                for key in encrypted
            ]
        )
    values, providers = stack_file.project_values(), stack_file.provider_values()
    project, stack = stack_file.project, stack_file.stack
    if org_settings.is_org(values):
        org_settings.parse_org(values, project=project, stack=stack, providers=providers)
        return PlanMocks()
    settings = stack_settings.parse(values, project=project, stack=stack, providers=providers)
    return PlanMocks(
        account_id=settings.wiring.aws_account_id,
        region=settings.wiring.aws_region,
        okta_org_url=settings.okta_org_url or MOCK_OKTA_ORG_URL,
        kms=kms,
    )


def read_stacks(stacks: Sequence[str], root: Path = ROOT) -> list[StackFile]:
    """Several stacks read and validated before any is planned; BadInput with every problem of
    every stack otherwise, each line prefixed by its stack (`prod: pipelines[0].name: ...`)."""
    files = [read_stack_file(path, root=root) for path in cli.stack_files(stacks, root)]
    problems: list[str] = []
    for stack_file in files:
        try:
            mocks_for(stack_file)
        except stack_settings.SettingsError as error:
            problems.extend(f"{stack_file.stack}: {problem}" for problem in error.problems)
    if problems:
        cli.fail(*problems)
    return files


def plan_of(run: ProgramRun) -> dict[str, Any]:
    """The plan JSON of a run: every resource sorted by URN, secrets masked, and the exports."""
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "protect": r.protect,
            "inputs": mask_secrets(r.inputs),
        }
        for r in sorted(run.monitor.registrations, key=lambda r: r.urn)
    ]
    result = {
        "project": run.project,
        "stack": run.stack,
        "resources": resources,
        "outputs": mask_secrets(run.outputs),
    }
    # Sizes of rendered documents (IAM policies, MWAA options) against service limits.
    oversized = plan_limits.plan_problems(result)
    if oversized:
        raise stack_settings.SettingsError(oversized)
    return result


def graph(registrations: Sequence[Registration]) -> list[dict[str, Any]]:
    """What the plan JSON leaves out: each resource's dependency edges and options, by URN.

    Together with the plan JSON this is the whole resource graph as the engine receives it (the
    benchmark's floor replays it, bench/floor.py). Secrets are masked as in the plan; an input
    without dependencies is left out (the SDK sends some of those as empty lists, some not).
    """
    return [
        {
            "urn": r.urn,
            "provider": r.provider,
            "dependencies": sorted(r.dependencies),
            "propertyDependencies": {
                key: sorted(urns) for key, urns in sorted(r.property_dependencies.items()) if urns
            },
            "replacementTrigger": r.replacement_trigger,
            "retainOnDelete": r.retain_on_delete,
            "ignoreChanges": list(r.ignore_changes),
        }
        for r in sorted(registrations, key=lambda r: r.urn)
    ]


def write_json(path: Path, value: Any) -> None:
    """The plan's JSON form: 2-space indent, sorted keys, final newline."""
    cli.write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def summary(result: Mapping[str, Any]) -> str:
    """Resource counts per type and the access matrix, for people."""
    resources = result["resources"]
    counts = Counter(r["type"] for r in resources if r["custom"])
    lines = [
        f"Plan of {result['project']}/{result['stack']}: "
        f"{sum(counts.values())} resources in {len(resources) - sum(counts.values())} components",
        "",
        *_table([("count", "type"), *((str(n), t) for t, n in sorted(counts.items()))]),
        "",
        "Access matrix",
    ]
    matrix = result["outputs"].get("accessMatrix", [])
    rows = [("pipeline", "auth", "database.collection", "actions", "identity", "connection")]
    for row in matrix:
        rows.append(
            (
                row["pipeline"],
                row["authMode"],
                f"{row['database']}.{row['collection']}",
                ",".join(row["actions"]),
                row["identity"] or "-",
                row["connectionId"],
            )
        )
    lines.extend(_table(rows))
    protected = [r["urn"].split("::")[-1] for r in resources if r["protect"]]
    lines += ["", f"Protected: {', '.join(protected) if protected else 'none'}"]
    return "\n".join(lines)


def _parser() -> cli.Parser:
    parser = cli.Parser(prog="python -m infra.plan", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="plan Pulumi.<STACK>.yaml from the project root")
    source.add_argument("--config-file", type=Path, help="plan this stack file instead")
    # Output paths are checked while parsing: a bad one costs no plan and nothing is written.
    for option, what in (
        ("--json", "the plan as JSON"),
        ("--report", "the access report"),
        ("--graph", "each resource's dependency edges and options (registration order)"),
    ):
        parser.add_argument(option, type=cli.output_path, metavar="PATH", help=f"write {what} here")
    return parser


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.config_file is not None and not args.config_file.is_file():
        cli.fail(f"stack file {args.config_file} does not exist")
    path = args.config_file or cli.stack_file(args.stack, ROOT)
    warnings: list[str] = []
    registrations: list[Registration] = []
    try:
        result = plan(read_stack_file(path), warnings, registrations)
    except stack_settings.SettingsError as error:
        cli.fail(*(str(problem) for problem in error.problems))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.graph:
        write_json(args.graph, graph(registrations))
    if args.json:
        write_json(args.json, result)
        print(f"wrote {args.json} ({len(result['resources'])} resources)")
    elif not args.report:
        print(summary(result))
    if args.report:
        from devtools.report import access_report

        cli.write_text(args.report, access_report(result))
        print(f"wrote {args.report}")
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter teardown, after flushing what this process wrote.

    Tearing down a planned heap (millions of objects) cost 0.3 s of the 1.3 s dev plan and ~2 s at
    1000 pipelines, and nothing in it needs finalizing: every file was written and
    closed with `write_text`, and only stdout/stderr are still buffered. Only for the CLI entry
    point: `main()` itself returns normally, for tests and callers.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
