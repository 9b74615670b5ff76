"""Offline policy check: the pack's rules over plan JSON, no cloud credentials needed.

    python -m policy.check plan.json [more.json ...] [--config policy-config.json]
    python -m policy.check --stack dev --stack prod     # plan the committed stacks, then check
                                                        # (with policy/<stack>.json if present)

Same validators and messages as `pulumi preview --policy-pack policy/`. `--config` takes the file
`pulumi preview --policy-pack-config` takes (`{"<rule>": {"<setting>": value, "enforcementLevel":
"advisory"}}` or `{"<rule>": "disabled"}`). Exit codes: 0 no mandatory violation, 1 at least one,
2 bad input: an unreadable or invalid plan or config (file:line:col), an unknown stack, a stack
with invalid settings or a usage error, one line each (devtools/cli.py).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools import cli
from policy.rules import (
    RULES_BY_NAME,
    ConfigError,
    ResourceView,
    StackView,
    Violation,
    evaluate,
)

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2
POLICY_DIR = Path(__file__).resolve().parent
ENFORCEMENT_LEVELS = ("mandatory", "advisory", "disabled", "remediate")


def stack_view(plan: Mapping[str, Any]) -> StackView:
    """The plan JSON (docs/plan-format.md) as the rules see a stack."""
    resources = [
        ResourceView(
            type=str(r["type"]),
            urn=str(r["urn"]),
            name=str(r["name"]),
            props=r.get("inputs") or {},
            protect=bool(r.get("protect", False)),
        )
        for r in plan.get("resources", [])
    ]
    return StackView(resources=resources, outputs=plan.get("outputs") or {})


@dataclass(frozen=True, kw_only=True)
class PackConfig:
    """Policy-pack config split into per-rule settings and enforcement levels."""

    settings: dict[str, dict[str, Any]]
    levels: dict[str, str]

    def level(self, rule: str) -> str:
        return self.levels.get(rule, self.levels.get("all", "mandatory"))


def parse_config(raw: Mapping[str, Any]) -> PackConfig:
    """Read a `--policy-pack-config` document; raises ConfigError naming the bad key."""
    settings: dict[str, dict[str, Any]] = {}
    levels: dict[str, str] = {}
    for key, value in raw.items():
        if key != "all" and key not in RULES_BY_NAME:
            raise ConfigError(f"{key}: unknown rule; known rules: {', '.join(RULES_BY_NAME)}")
        if isinstance(value, str):
            levels[key] = value
        elif isinstance(value, Mapping):
            body = dict(value)
            level = body.pop("enforcementLevel", None)
            if level is not None:
                levels[key] = str(level)
            settings[key] = body
        else:
            raise ConfigError(f"{key}: expected an enforcement level or an object")
    for key, level in levels.items():
        if level not in ENFORCEMENT_LEVELS:
            raise ConfigError(
                f"{key}: enforcement level {level!r} is not one of mandatory, advisory, disabled"
            )
    return PackConfig(settings=settings, levels=levels)


def stack_config(stack: str) -> PackConfig | None:
    """`policy/<stack>.json`, the pack config `pulumi preview` uses for that stack, if any."""
    path = POLICY_DIR / f"{stack}.json"
    if not stack or not path.is_file():
        return None
    return config_file(path)


def config_file(path: Path) -> PackConfig:
    """A pack config file; BadInput naming the file and what is wrong in it."""
    raw = cli.load_json(path)
    if not isinstance(raw, Mapping):
        cli.fail(f"{cli.shown(path)}: a policy-pack config is a JSON object {{rule: settings}}")
    try:
        return parse_config(raw)
    except ConfigError as error:
        cli.fail(f"{cli.shown(path)}: {error}")


def check_plan(plan: Mapping[str, Any], config: PackConfig | None = None) -> list[Violation]:
    """Violations of every enabled rule (any enforcement level)."""
    config = config or PackConfig(settings={}, levels={})
    found = evaluate(stack_view(plan), config.settings)
    return [v for v in found if config.level(v.rule) != "disabled"]


def plan_file(path: Path) -> dict[str, Any]:
    """A plan written by `python -m infra.plan --json`; BadInput when it is not one."""
    plan = cli.load_json(path)
    resources = plan.get("resources") if isinstance(plan, dict) else None
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and {"type", "urn", "name"} <= set(r) for r in resources
    ):
        cli.fail(
            f"{cli.shown(path)}: not a plan: expected {{resources: [{{type, urn, name, inputs}}]}}"
            ", as `python -m infra.plan --json PATH` writes it"
        )
    return dict(plan)


def stack_plans(stacks: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """Plan each stack file, all validated first; BadInput with every stack's settings problems,
    each prefixed by its stack."""
    from devtools import plan as offline_plan  # only needed when planning here
    from infra.settings import SettingsError

    plans: list[tuple[str, dict[str, Any]]] = []
    problems: list[str] = []
    for stack_file in offline_plan.read_stacks(stacks) if stacks else []:
        try:
            plans.append((stack_file.stack, offline_plan.plan(stack_file)))
        except SettingsError as error:  # a size limit, measured on the plan
            problems.extend(f"{stack_file.stack}: {problem}" for problem in error.problems)
    if problems:
        cli.fail(*problems)
    return plans


def _check_all(
    plans: Sequence[tuple[str, dict[str, Any]]], config: PackConfig | None, stacks: Sequence[str]
) -> list[tuple[str, list[Violation]]]:
    """Each plan's violations, under --config or else its stack's policy/<stack>.json."""
    missing = [s for s in stacks if config is None and stack_config(s) is None]
    if missing:
        # The pack's defaults are prod's: silently applying them to another tier misreports it.
        cli.fail(
            *(
                f"{stack}: no policy/{stack}.json, the pack config its previews use; "
                f"`python -m infra.stack add` writes it (or copy a stack of the same tier's), "
                "or pass --config"
                for stack in missing
            )
        )
    results = []
    for label, plan in plans:
        chosen = config or stack_config(label if label in stacks else "")
        try:
            results.append((label, check_plan(plan, chosen)))
        except ConfigError as error:  # a rule setting out of range, found when it is applied
            cli.fail(f"{label}: policy-pack config: {error}")
    return results


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.Parser(prog="python -m policy.check", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("plans", nargs="*", type=Path, help="plan JSON files (infra.plan --json)")
    parser.add_argument(
        "--stack", action="append", default=[], help="plan Pulumi.<STACK>.yaml and check it"
    )
    parser.add_argument("--config", type=Path, help="policy-pack config JSON")
    args = parser.parse_args(argv)
    if not args.plans and not args.stack:
        parser.error("give plan JSON files or --stack NAME")
    config = config_file(args.config) if args.config else None
    plans = [(str(path), plan_file(path)) for path in args.plans]
    plans += stack_plans(args.stack)
    mandatory = 0
    for label, violations in _check_all(plans, config, args.stack):
        for violation in violations:
            level = config.level(violation.rule) if config else "mandatory"
            mandatory += level in ("mandatory", "remediate")
            print(f"{label}: [{level}] {violation}")
        print(f"{label}: {len(violations)} violation(s)")
    return EXIT_VIOLATIONS if mandatory else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
