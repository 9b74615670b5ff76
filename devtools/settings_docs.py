"""Render the settings tables into the project files and the settings reference.

    python -m infra.settings.generate           # rewrite the files below from the tables
    python -m infra.settings.generate --check   # exit 1 if any of them is stale

Writes `Pulumi.yaml`, `bootstrap/Pulumi.yaml` and `docs/settings.md`. Exit codes: 0 written or
up to date, 1 stale (`--check`), 2 bad input: an unreadable project file (file:line:col), a
missing generated-block marker, an unwritable output (one line each, nothing written).
Sources: `infra/settings/keys.py` (main program) and `bootstrap/keys.py` (bootstrap). In each
`Pulumi.yaml` everything from the generated-block marker on is rewritten; the lines above it
(name, runtime, main) are kept as written.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bootstrap.keys import KEYS as BOOTSTRAP_KEYS
from devtools import cli
from infra.settings.keys import KEYS
from infra.settings.namespaces import ENGINE_NAMESPACE, PROVIDER_NAMESPACES
from model.config_keys import Key

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m infra.settings.generate"
MARKER = "# Generated from "
SETTINGS_DOC = ROOT / "docs" / "settings.md"
EXIT_STALE = 1


@dataclass(frozen=True, kw_only=True)
class Table:
    """One Pulumi project's keys: where the table lives and which project file it renders into."""

    title: str
    source: str
    project_file: Path
    stack_files: str
    keys: Mapping[str, Key]
    notes: tuple[str, ...] = ()
    """Lines of the reference under the table's heading, before the table."""

    @property
    def project(self) -> str:
        return cli.project_name(self.project_file)


TABLES = (
    Table(
        title="Stack settings",
        source="infra/settings/keys.py",
        project_file=ROOT / "Pulumi.yaml",
        stack_files="Pulumi.<stack>.yaml",
        keys=KEYS,
        notes=(
            "Other keys of a stack file are provider settings: "
            + ", ".join(f"`{n}:`" for n in PROVIDER_NAMESPACES)
            + " (each checked against the settings its installed SDK reads) and the engine's "
            f"`{ENGINE_NAMESPACE}:`. A key of any other namespace is refused, as is `okta:orgName` "
            "or `okta:baseUrl` missing when a pipeline uses okta-oidc (the Okta org is "
            "`https://<orgName>.<baseUrl>`, e.g. `acme` and `okta.com`; never defaulted).",
        ),
    ),
    Table(
        title="Bootstrap settings",
        source="bootstrap/keys.py",
        project_file=ROOT / "bootstrap" / "Pulumi.yaml",
        stack_files="bootstrap/Pulumi.<environment>.yaml",
        keys=BOOTSTRAP_KEYS,
    ),
)


def _yaml_scalar(value: Any) -> str:
    """A default as it is written in a stack file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def default_text(key: Key, *, prod: bool) -> str:
    value = key.prod_default if prod and key.prod_default is not None else key.default
    if value is None:
        return "required" if key.required else key.unset
    return f"`{_yaml_scalar(value)}`"


def _summary(key: Key) -> str:
    """Description plus defaults, on one line (Pulumi.yaml descriptions and comments)."""
    if key.required:
        return key.description
    if key.default is None:
        return f"{key.description} (unset: {key.unset})"
    other, prod = default_text(key, prod=False), default_text(key, prod=True)
    unset = other.strip("`") if other == prod else f"{other.strip('`')}; prod {prod.strip('`')}"
    return f"{key.description} (default: {unset})"


def project_file(table: Table, current: str) -> str:
    """The project file: its hand-written head, then the generated config declarations."""
    if MARKER not in current:
        cli.fail(
            f"{cli.shown(table.project_file)}: no line starting with {MARKER!r}; restore it (the "
            "lines from it on are generated, the lines above it are kept)"
        )
    head = current[: current.index(MARKER)]
    lines = [
        f"{MARKER}{table.source} by `{COMMAND}`:",
        "# edit the table there, not here (a test fails on drift). Reference: docs/settings.md.",
        "#",
        "# Declared (typed) below: the keys every stack sets. The Pulumi CLI refuses a stack that",
        "# lacks a declared key without a default, and its schema cannot type objects, so the",
        "# optional, conditional and structured keys are listed here instead; the program",
        "# validates every key and reports each problem with its key path and the fix.",
    ]
    optional = [(name, key) for name, key in table.keys.items() if not key.required]
    if optional:
        lines += ["#", "# Optional keys (type: meaning):"]
        lines += [f"#   {name} ({key.type}): {_summary(key)}" for name, key in optional]
    structured = [(name, key) for name, key in table.keys.items() if key.structured]
    if structured:
        lines += ["#", "# Shape of the structured keys:"]
        for name, key in structured:
            example = key.example.splitlines()
            label = f"{name} (required)" if key.required else name
            if len(example) == 1:
                lines.append(f"#   {label}: {example[0]}")
            else:
                lines.append(f"#   {label}:")
                lines += [f"#     {line}" for line in example]
    config: dict[str, Any] = {}
    for name, key in table.keys.items():
        if not key.required or key.structured:
            continue
        declared: dict[str, Any] = {"type": key.type}
        if key.type == "array":
            declared["items"] = {"type": "string"}
        declared["description"] = key.description
        config[name] = declared
    body = yaml.safe_dump({"config": config}, sort_keys=False, width=1000) if config else ""
    return head + "\n".join(lines) + "\n" + body


def _cell(text: str) -> str:
    """A table cell; outside `code`, <placeholders> are escaped so Markdown does not eat them."""
    parts = text.replace("\n", " ").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


def _example_cell(key: Key) -> str:
    if key.structured or "\n" in key.example:
        return "see below"
    return f"`{key.example}`" if key.example else ""


def markdown(tables: Sequence[Table] = TABLES) -> str:
    out = [
        "# Settings reference",
        "",
        f"<!-- Generated by `{COMMAND}` from "
        + " and ".join(f"{t.source}" for t in tables)
        + "; do not edit. -->",
        "",
        "Every key a stack file may set, with its type, what leaving it out means in each tier,",
        "its constraints and an example. `infra/settings/` (main program) and",
        "`bootstrap/settings.py` are the only readers; they report every problem at once, each",
        "with its key path and the fix (`python -m infra.plan` exits 2). *required*: every stack",
        "sets it (`Pulumi.yaml` declares it, so the Pulumi CLI refuses a stack without it).",
        "Keys whose constraints say *only with/when ...* are refused outside that case.",
        "",
        f"Adding or changing a key: edit the table, then run `{COMMAND}` (CONTRIBUTING.md).",
    ]
    for table in tables:
        out += [
            "",
            f"## {table.title}",
            "",
            f"In `{table.stack_files}`, under the `{table.project}:` namespace. "
            f"Source: `{table.source}`.",
            "",
        ]
        out += [*table.notes, ""] if table.notes else []
        # Default columns per tier only where some key's default depends on the tier.
        tiered = any(key.prod_default is not None for key in table.keys.values())
        defaults = ["default (dev, staging)", "default (prod)"] if tiered else ["default"]
        header = ["key", "type", "meaning", *defaults, "constraints", "example"]
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, key in table.keys.items():
            default = [default_text(key, prod=False)]
            if tiered:
                default.append(default_text(key, prod=True))
            cells = [f"`{name}`", key.type, key.description, *default, key.constraints]
            cells.append(_example_cell(key))
            out.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        for name, key in table.keys.items():
            if _example_cell(key) != "see below":
                continue
            out += ["", f"### `{name}`", "", "```yaml", f"{table.project}:{name}:"]
            out += [f"  {line}" for line in key.example.splitlines()]
            out.append("```")
    return "\n".join(out) + "\n"


def outputs() -> dict[Path, str]:
    """Every generated file and the text it must hold."""
    result = {t.project_file: project_file(t, cli.read_text(t.project_file)) for t in TABLES}
    result[SETTINGS_DOC] = markdown()
    return result


@cli.command
def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.Parser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = {
        path: text
        for path, text in outputs().items()
        if not (path.is_file() and cli.read_text(path) == text)
    }
    shown = ", ".join(
        str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path) for path in stale
    )
    if args.check and stale:
        print(f"stale: {shown}; run {COMMAND}", file=sys.stderr)
        return EXIT_STALE
    # Every output checked before the first is written: a refusal leaves them all as they were.
    problems = [f"cannot write {cli.shown(p)}: {why}" for p in stale if (why := cli.unwritable(p))]
    if problems:
        cli.fail(*problems)
    for path, text in stale.items():
        cli.write_text(path, text)
    print(f"rewrote {shown}" if stale else "up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
