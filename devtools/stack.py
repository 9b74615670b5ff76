"""Add an environment stack in one command, shaped like an existing one.

    python -m infra.stack add staging --like dev    # every file a new stack needs, then its plan
    python -m infra.stack list                      # the committed environment stacks

`add` writes, and only after the new stack plans without a problem (else exit 2, nothing
written):
- `Pulumi.<name>.yaml`: the other stack's file, every value that names the other stack as a word
  renamed (`analytics-dev` -> `analytics-staging`), its tier kept, its `atlasWorkloadIdpId`
  dropped (the org stack has not created the new stack's IdP yet);
- `policy/<name>.json`: the other stack's pack config (the same tier's limits);
- `bootstrap/Pulumi.<name>.yaml`: the other stack's deployer, renamed the same way;
- `.github/workflows/*.yml`: the new stack wherever the other one is listed (matrices, choice
  options, a deploy job of its own with the same `needs`);
- `Pulumi.org.yaml`: with okta-oidc pipelines, the new stack's `atlasWorkloadIdps` entry with
  `issuerUri: pending` (its Okta server exists only after its first deploy);
- `snapshots/<name>.*` (and the org stack's, when its file changed).
Then it prints what only a person can do: real account values, GitHub environments, variables.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from devtools import cli, snapshot
from devtools import plan as offline_plan
from devtools.report import access_report
from infra import settings as stack_settings
from infra.settings.org import PENDING

ROOT = offline_plan.ROOT
PROJECT = "airflow-atlas-identity"
ORG_STACK = "org"
# A stack name becomes part of every physical name (`<prefix>-<stack>-...`).
STACK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")


def round_trip_yaml() -> YAML:
    """Round-trips this repository's YAML byte for byte (comments, quotes, indentation)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def dump(data: Any) -> str:
    out = io.StringIO()
    round_trip_yaml().dump(data, out)
    return out.getvalue()


def environment_stacks(root: Path = ROOT) -> list[str]:
    return [s for s in snapshot.stacks(root) if s != ORG_STACK]


def renamer(old: str, new: str) -> Callable[[str], str]:
    """Renames `old` where it stands as a word (`analytics-dev`, `vars.X_DEV`), nowhere else."""
    words = [
        (re.compile(rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])"), new),
        (
            re.compile(
                rf"(?<![A-Za-z0-9]){re.escape(old.upper().replace('-', '_'))}(?![A-Za-z0-9])"
            ),
            new.upper().replace("-", "_"),
        ),
    ]

    def rename(text: str) -> str:
        for pattern, replacement in words:
            text = pattern.sub(replacement, text)
        return text

    return rename


def _variable(stack: str) -> str:
    """How a stack is spelled in a variable name: `vars.VAULT_ADDR_PROD_EU`."""
    return stack.upper().replace("-", "_")


def renamed(value: Any, rename: Callable[[str], str]) -> Any:
    """A deep copy of a YAML value with every string (and mapping key) renamed."""
    value = copy.deepcopy(value)
    if isinstance(value, dict):
        for key in list(value):
            item = renamed(value.pop(key), rename)
            value[rename(key) if isinstance(key, str) else key] = item
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = renamed(item, rename)
        return value
    return rename(value) if isinstance(value, str) else value


@dataclass(frozen=True, kw_only=True)
class NewStack:
    name: str
    like: str
    files: dict[Path, str]
    """Every file to write, with its content; nothing is written before all are known."""


def stack_file_text(like_text: str, like: str, name: str) -> str:
    """The other stack's file, values renamed, tier kept, atlasWorkloadIdpId (and its comment)
    dropped, with a header saying where it came from."""
    rename = renamer(like, name)
    lines = [
        f"# The {name} stack, created from {like} by `python -m infra.stack add {name} --like "
        f"{like}`:",
        "# review every value (account, region, hosts, buckets) before the first deploy.",
    ]
    body = like_text.splitlines()
    while body and body[0].startswith("#"):
        body.pop(0)
    for line in body:
        if f"{PROJECT}:atlasWorkloadIdpId" in line:
            while lines and lines[-1].lstrip().startswith("#"):
                lines.pop()  # the comment about the dropped key
            continue
        lines.append(line if f"{PROJECT}:tier:" in line else rename(line))
    return "\n".join(lines) + "\n"


def workflow_with_stack(data: Any, like: str, name: str, stacks: Sequence[str]) -> bool:
    """Adds `name` wherever the workflow lists `like`: a list of the stacks, a matrix entry or a
    job for `like` (copied, renamed). True if anything was added."""
    rename = renamer(like, name)
    changed = False

    def visit(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            jobs = node.get("jobs") if "jobs" in node else None
            for value in list(node.values()):
                visit(value)
            if isinstance(jobs, dict):
                changed |= _copy_jobs(jobs, like, name, rename)
        elif isinstance(node, list):
            for item in list(node):
                visit(item)
            if (
                node
                and all(isinstance(i, str) for i in node)
                and like in node
                and set(node) <= set(stacks)
                and name not in node
            ):
                node.append(name)
                changed = True
            else:
                entries = {i.get("stack"): i for i in node if isinstance(i, dict)}
                if like in entries and name not in entries:
                    node.append(renamed(entries[like], rename))
                    changed = True

    visit(data)
    return changed


def _copy_jobs(jobs: Any, like: str, name: str, rename: Callable[[str], str]) -> bool:
    """A job whose `with.stack` is `like` gets a twin for `name`, placed right after it."""
    for key in list(jobs):
        job = jobs[key]
        inputs = job.get("with") if isinstance(job, dict) else None
        if not isinstance(inputs, dict) or inputs.get("stack") != like:
            continue
        new_key = rename(key) if rename(key) != key else f"{key}-{name}"
        if new_key in jobs:
            return False
        twin = renamed(job, rename)
        if "needs" in job:
            twin["needs"] = copy.deepcopy(job["needs"])  # the same place in the order
        jobs.insert(list(jobs).index(key) + 1, new_key, twin)
        return True
    return False


def org_entry(plan: dict[str, Any]) -> dict[str, str] | None:
    """The new stack's atlasWorkloadIdps entry, its issuer pending; None without okta-oidc."""
    exported = plan["outputs"].get("atlasWorkloadIdp")
    if exported is None:
        return None
    return {
        "stack": exported["stack"],
        "name": exported["name"],
        "issuerUri": PENDING,
        "audience": exported["audience"],
    }


def problems_with_name(name: str, like: str, root: Path) -> list[str]:
    stacks = environment_stacks(root)
    if not STACK_NAME.match(name):
        return [
            f"{name}: not a stack name; use 2-20 lowercase letters, digits or '-', starting "
            "with a letter"
        ]
    if name in (*stacks, ORG_STACK):
        return [f"{name}: Pulumi.{name}.yaml exists already"]
    if like not in stacks:
        return [f"--like {like}: no such environment stack; use one of {', '.join(stacks)}"]
    # Names are `<prefix>-<stack>-...` and matched by prefix: `prod-eu` would fall under `prod`'s.
    clash = [s for s in stacks if name.startswith(f"{s}-") or s.startswith(f"{name}-")]
    if clash:
        return [
            f"{name}: its names would match {clash[0]}'s name patterns (<prefix>-{clash[0]}-*); "
            "choose a name that neither starts with nor is the start of another stack's"
        ]
    return []


def build(name: str, like: str, root: Path = ROOT) -> NewStack:
    """Every file of the new stack, its plan checked; raises SettingsError if it does not plan."""
    rename = renamer(like, name)
    files: dict[Path, str] = {}
    stack_text = stack_file_text((root / f"Pulumi.{like}.yaml").read_text(), like, name)
    files[root / f"Pulumi.{name}.yaml"] = stack_text
    config = (round_trip_yaml().load(stack_text) or {}).get("config") or {}
    plan = offline_plan.plan(
        offline_plan.StackFile(
            project=offline_plan.project_name(root), stack=name, config=dict(config)
        )
    )
    snapshots = root / "snapshots"
    files[snapshots / f"{name}.plan.json"] = snapshot.render_plan(plan)
    files[snapshots / f"{name}.access.md"] = access_report(plan)
    like_policy = root / "policy" / f"{like}.json"
    if like_policy.is_file():
        files[root / "policy" / f"{name}.json"] = like_policy.read_text()
    like_bootstrap = root / "bootstrap" / f"Pulumi.{like}.yaml"
    if like_bootstrap.is_file():
        files[root / "bootstrap" / f"Pulumi.{name}.yaml"] = rename(like_bootstrap.read_text())
    stacks = environment_stacks(root)
    for workflow in sorted((root / ".github" / "workflows").glob("*.yml")):
        data = round_trip_yaml().load(workflow.read_text())
        if workflow_with_stack(data, like, name, stacks):
            files[workflow] = dump(data)
    entry = org_entry(plan)
    org_file = root / f"Pulumi.{ORG_STACK}.yaml"
    if entry is not None and org_file.is_file():
        org = round_trip_yaml().load(org_file.read_text())
        org["config"].setdefault(f"{PROJECT}:atlasWorkloadIdps", []).append(entry)
        files[org_file] = dump(org)
        org_plan = offline_plan.plan(
            offline_plan.StackFile(
                project=offline_plan.project_name(root),
                stack=ORG_STACK,
                config=dict(org["config"]),
            )
        )
        files[snapshots / f"{ORG_STACK}.plan.json"] = snapshot.render_plan(org_plan)
        files[snapshots / f"{ORG_STACK}.access.md"] = access_report(org_plan)
    return NewStack(name=name, like=like, files=files)


def next_steps(new: NewStack, root: Path) -> str:
    variables = sorted(
        {
            match
            for path, text in new.files.items()
            if path.suffix == ".yml"
            for match in re.findall(r"vars\.([A-Z0-9_]+)", text)
            if match.endswith(_variable(new.name))
        }
    )
    steps = [
        f"review Pulumi.{new.name}.yaml and bootstrap/Pulumi.{new.name}.yaml: account, region, "
        "hosts and buckets are still the other stack's, renamed",
        f"GitHub: create the environments {new.name}, {new.name}-preview and "
        f"{new.name}-vault-structure with required reviewers (docs/operations.md §1)",
    ]
    if variables:
        steps.append(f"GitHub: set the repository variables {', '.join(variables)}")
    steps.append(
        f"deploy the bootstrap stack {new.name} (docs/operations.md §1), then merge: CI deploys it"
    )
    if root / f"Pulumi.{ORG_STACK}.yaml" in new.files:
        steps.append(
            f"after its first deploy, set its Pulumi.{ORG_STACK}.yaml issuerUri (now {PENDING}) "
            "to its oktaIssuer output, deploy the org stack, then set its atlasWorkloadIdpId "
            "(docs/operations.md, 'The org stack')"
        )
    return "\n".join(f"  {i}. {step}" for i, step in enumerate(steps, 1))


def add(name: str, like: str, root: Path = ROOT) -> int:
    problems = problems_with_name(name, like, root)
    if problems:
        cli.fail(*problems)
    cli.load_yaml(root / f"Pulumi.{like}.yaml")  # its mistakes named file:line:col, not copied
    try:
        new = build(name, like, root)
    except stack_settings.SettingsError as error:
        cli.fail(
            f"{name}: the new stack would not plan, nothing written",
            *(f"{name}: {problem}" for problem in error.problems),
        )
    for path, content in new.files.items():
        cli.write_text(path, content, parents=True)
        print(f"wrote {path.relative_to(root)}")
    print(f"next steps for {name}:\n{next_steps(new, root)}")
    return 0


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.Parser(prog="python -m infra.stack", description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="add an environment stack shaped like another")
    adding.add_argument("name", help="the new stack's name, e.g. staging")
    adding.add_argument("--like", required=True, help="the stack to copy, e.g. dev")
    listing = commands.add_parser("list", help="the committed environment stacks")
    listing.add_argument("--json", action="store_true", help="as a JSON array")
    args = parser.parse_args(argv)
    if args.command == "list":
        stacks = environment_stacks()
        print(json.dumps(stacks) if args.json else "\n".join(stacks))
        return 0
    return add(args.name, args.like)


if __name__ == "__main__":
    raise SystemExit(main())
