"""Versioned plan snapshots: what every committed stack declares, in a review-friendly form.

    python -m infra.snapshot                 # regenerate snapshots/<stack>.plan.json + .access.md
    python -m infra.snapshot --check         # exit 1 if the program's plan drifted (what CI runs)
    python -m infra.snapshot --stack prod    # only some stacks
    python -m infra.snapshot --accept-urn-changes   # regenerate although URNs disappear

A snapshot is the offline plan (docs/plan-format.md: resources sorted by URN, secrets masked as
"[secret]") with every JSON document held in a string (IAM policies, audit filters, backend
kwargs, Vault creation statements) expanded under {"__json__": ...}, so a pull request shows a
policy change line by line. `collapse()` turns a snapshot back into an equivalent plan (the
documents re-serialized with sorted keys). Nothing volatile is in a plan: the mock engine derives
every computed value from the inputs.

Exit codes: 0 written or up to date, 1 drift or a disappearing URN, 2 bad input (an unknown
stack, an unreadable stack file, invalid settings, an unwritable snapshot; one line each, nothing
written).

URNs are part of the snapshot. A refactor that changes a URN makes Pulumi delete the old resource
and create a new one (an Atlas user, a Vault mount: access lost, history gone), unless the new
resource carries `aliases`. Regeneration refuses to drop a URN unless told the change was
reviewed (`--accept-urn-changes`); see CONTRIBUTING.md.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools import cli
from devtools import plan as offline_plan
from devtools.report import access_report
from devtools.snapshot_form import expand
from infra import settings as stack_settings

ROOT = offline_plan.ROOT
SNAPSHOTS = ROOT / "snapshots"
REGENERATE = "python -m infra.snapshot"
EXIT_DRIFT = 1
ORG_STACK = "org"


def render_plan(plan: dict[str, Any]) -> str:
    return json.dumps(expand(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    stack: str
    files: dict[Path, str]
    """Snapshot path -> expected content."""
    urns: frozenset[str]


def stacks(root: Path = ROOT) -> list[str]:
    """Every committed stack: Pulumi.<stack>.yaml next to Pulumi.yaml."""
    return cli.stack_names(root)


def build(stack: str, root: Path = ROOT, out: Path = SNAPSHOTS) -> Snapshot:
    plan = offline_plan.plan(offline_plan.read_stack_file(root / f"Pulumi.{stack}.yaml"))
    return Snapshot(
        stack=stack,
        files={
            out / f"{stack}.plan.json": render_plan(plan),
            out / f"{stack}.access.md": access_report(plan),
        },
        urns=frozenset(r["urn"] for r in plan["resources"]),
    )


def committed_resources(path: Path) -> dict[str, dict[str, Any]]:
    """URN -> resource of a committed snapshot (empty for a new stack)."""
    if not path.is_file():
        return {}
    return {r["urn"]: r for r in json.loads(path.read_text())["resources"]}


def committed_urns(path: Path) -> frozenset[str]:
    return frozenset(committed_resources(path))


def vanished_urns(snapshot: Snapshot, out: Path = SNAPSHOTS) -> list[str]:
    """URNs in the committed snapshot that the program no longer declares."""
    return sorted(committed_urns(out / f"{snapshot.stack}.plan.json") - snapshot.urns)


def _type_of(urn: str) -> str:
    return urn.split("::")[-2].rsplit("$", 1)[-1]


def is_removal(snapshot: Snapshot, vanished: Sequence[str], out: Path = SNAPSHOTS) -> bool:
    """Resources vanish and none of their types appears anew: something was removed (a
    pipeline, a feature), not renamed or moved. A rename deletes and creates the same types."""
    committed = committed_urns(out / f"{snapshot.stack}.plan.json")
    appeared = {_type_of(urn) for urn in snapshot.urns - committed}
    return bool(vanished) and not appeared & {_type_of(urn) for urn in vanished}


def removal_note(stack: str, vanished: Sequence[str], out: Path = SNAPSHOTS) -> str:
    """What `pulumi up` will delete, marking the protected ones (which it refuses to delete)."""
    committed = committed_resources(out / f"{stack}.plan.json")
    protected = [urn for urn in vanished if committed[urn].get("protect")]
    note = (
        f"{stack}: {len(vanished)} resource(s) removed; `pulumi up` will DELETE them:\n"
        + "".join(f"  - {urn}{' (protected)' if urn in protected else ''}\n" for urn in vanished)
    )
    if protected:
        note += (
            f"{len(protected)} of them are protected: `pulumi up` refuses to delete them until "
            "they are unprotected, after their leases are revoked and what they hold is kept "
            "(docs/operations.md §5, 'The last vault-dynamic pipeline of a stack').\n"
        )
    return note


def urn_message(stack: str, vanished: Sequence[str]) -> str:
    return (
        f"{stack}: {len(vanished)} resource URN(s) disappear from the plan; `pulumi up` would "
        "DELETE these and create new ones (an Atlas user or Vault mount: access lost, history "
        "gone):\n"
        + "".join(f"  - {urn}\n" for urn in vanished)
        + "Resources of the same types appear: if this is a rename or a move, give the new "
        "resource `opts=ResourceOptions(aliases=[pulumi.Alias(name=..., parent=...)])` and check "
        "that `pulumi preview` shows no replacement; if the deletion is intended, say so in the "
        f"pull request. Then run `{REGENERATE} --accept-urn-changes`."
    )


def drift(path: Path, expected: str, lines: int = 60) -> str | None:
    """None if the committed file equals `expected`, else a short unified diff."""
    current = path.read_text() if path.is_file() else ""
    if current == expected:
        return None
    diff = list(
        difflib.unified_diff(
            current.splitlines(),
            expected.splitlines(),
            f"{path.name} (committed)",
            f"{path.name} (program)",
            lineterm="",
        )
    )
    shown = diff[:lines] + (
        [f"... {len(diff) - lines} more diff lines"] if len(diff) > lines else []
    )
    return "\n".join(shown)


def build_all(chosen: Sequence[str]) -> list[Snapshot]:
    """Every chosen stack's snapshot; BadInput (nothing written) for an unknown stack, an
    unreadable stack file, or invalid settings, one line per problem prefixed by its stack."""
    built: list[Snapshot] = []
    problems: list[str] = []
    for stack_file in offline_plan.read_stacks(chosen):
        try:
            built.append(build(stack_file.stack))
        except stack_settings.SettingsError as error:  # a size limit, measured on the plan
            problems.extend(f"{stack_file.stack}: {problem}" for problem in error.problems)
    if problems:
        cli.fail(*problems)
    return built


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.Parser(
        prog="python -m infra.snapshot", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--stack", action="append", help="only this stack (repeatable)")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument(
        "--accept-urn-changes",
        action="store_true",
        help="regenerate although URNs disappear (after adding aliases and checking a preview)",
    )
    args = parser.parse_args(argv)
    failed = False
    for snapshot in build_all(args.stack or stacks()):
        stack = snapshot.stack
        vanished = vanished_urns(snapshot)
        if vanished and not args.check and is_removal(snapshot, vanished):
            print(removal_note(stack, vanished), file=sys.stderr)
        elif vanished and (args.check or not args.accept_urn_changes):
            print(urn_message(stack, vanished), file=sys.stderr)
            failed = True
            continue
        for path, content in snapshot.files.items():
            diff = drift(path, content)
            if diff is None:
                continue
            if args.check:
                print(
                    f"{path.relative_to(ROOT)} drifted from the program:\n{diff}", file=sys.stderr
                )
                failed = True
            else:
                cli.write_text(path, content, parents=True)
                print(f"wrote {path.relative_to(ROOT)}")
    if failed and args.check:
        print(f"review the change, then run `{REGENERATE}` and commit snapshots/", file=sys.stderr)
    return EXIT_DRIFT if failed else 0


if __name__ == "__main__":
    sys.exit(main())
