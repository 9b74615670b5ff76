"""Bad input, the same way in every command: one line per problem on stderr, exit code 2.

The commands (`python -m infra.plan`, `infra.snapshot`, `infra.stack`, `policy.check`,
`infra.settings.generate`) read stack files, JSON documents and paths from their command line.
None answers bad input with a traceback: each problem is one line naming the file (with line and
column for YAML and JSON) or the option, what is wrong and the fix; the exit code is 2 and
nothing is written. A command uses it like this:

    parser = cli.Parser(prog="python -m infra.x", description="...")
    parser.add_argument("--json", type=cli.output_path)   # refused before any work is done

    @cli.command
    def main(argv: Sequence[str] | None = None) -> int:
        args = parser.parse_args(argv)        # a usage error is one line, exit 2
        path = cli.stack_file(args.stack)      # an unknown stack lists the known ones
        document = cli.load_yaml(path)         # file:line:col, duplicate keys refused
        cli.fail("what is wrong; the fix")     # anywhere below main: one line, exit 2
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """Input a command cannot use; each line says what is wrong, where, and the fix."""

    def __init__(self, *lines: str) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(lines))


def fail(*lines: str) -> NoReturn:
    """Stop the command: `command` prints these lines on stderr and exits 2."""
    raise BadInput(*lines)


class Main(Protocol):
    """A command's entry point: `main()` reads sys.argv, `main([...])` the given arguments."""

    def __call__(self, argv: Sequence[str] | None = None, /) -> int: ...


def command(main: Main) -> Main:
    """Wrap a command's `main(argv)`: BadInput becomes its lines on stderr and exit code 2."""

    @functools.wraps(main)
    def run(argv: Sequence[str] | None = None, /) -> int:
        try:
            return main(argv)
        except BadInput as bad:
            for line in bad.lines:
                print(line, file=sys.stderr)
            return EXIT_BAD_INPUT
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as the Python docs advise ("Note on
            # SIGPIPE", signal module): point stdout at devnull so the final flush succeeds.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return run


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (argparse prints the usage block and the error)."""

    def error(self, message: str) -> NoReturn:
        fail(f"{self.prog}: {message}; see {self.prog} --help")


def shown(path: Path) -> str:
    """A path as the user reads it: relative to the working directory when it lies below it."""
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return str(path)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{shown(path)}: no such file")
    except IsADirectoryError:
        fail(f"{shown(path)}: is a directory, not a file")
    except UnicodeDecodeError as error:
        fail(f"{shown(path)}: not UTF-8 text ({error.reason} at byte {error.start})")
    except OSError as error:
        fail(f"{shown(path)}: cannot read: {error.strerror or error}")


# --- YAML -----------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a repeated mapping key instead of keeping the last value.

    YAML 1.2 (§3.2.1.1): a mapping is a set of key/value pairs "with the restriction that each of
    the keys is unique"; go-yaml v3, the decoder of Go tools, refuses a repeated key by default
    (decode.go: "mapping key ... already defined at line N"). PyYAML silently keeps the last one.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges keys; an explicit key may override them
            key = self.construct_object(key_node, deep=True)
            try:
                earlier = first.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the base loader reports it
            if earlier is not key_node:
                raise yaml.constructor.ConstructorError(
                    problem=f"duplicate key {key!r} (first at line {earlier.start_mark.line + 1})",
                    problem_mark=key_node.start_mark,
                    note="keep one: YAML keys are unique, and PyYAML would keep only the last",
                )
        return super().construct_mapping(node, deep=deep)


def _yaml_hint(error: yaml.MarkedYAMLError) -> str:
    """The fix for the usual mistakes; otherwise what the parser was reading, and where."""
    problem, context, mark = error.problem or "", error.context or "", error.context_mark
    at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    if getattr(error, "note", None):
        return str(error.note)
    if "'\\t'" in problem:
        return "indent with spaces: YAML does not allow tabs"
    openers = {"flow sequence": "'['", "flow mapping": "'{'", "quoted scalar": "quote"}
    for kind, opener in openers.items():
        if kind in context and at:
            return f"close the {opener} opened at {at}"
    if "mapping values are not allowed" in problem:
        return "check this line's indentation, or quote a value that contains ': '"
    if "block mapping" in context and at:
        return f"indent this line like the other keys of the mapping at {at}"
    return f"{context} at {at}" if context and at else ""


def yaml_problem(path: Path, error: yaml.MarkedYAMLError) -> str:
    """`file:line:col: problem; fix` (1-based, as editors count)."""
    mark = error.problem_mark or error.context_mark
    where = f"{shown(path)}:{mark.line + 1}:{mark.column + 1}" if mark else shown(path)
    problem = error.problem or error.context or "not valid YAML"
    hint = _yaml_hint(error)
    return f"{where}: {problem}{'; ' + hint if hint else ''}"


def load_yaml(path: Path) -> Any:
    """A YAML file's document; BadInput naming file:line:col for a syntax error or repeated key."""
    text = read_text(path)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        fail(yaml_problem(path, error))
    except yaml.YAMLError as error:
        fail(f"{shown(path)}: not valid YAML: {error}")


def project_name(project_file: Path) -> str:
    """The `name:` of a Pulumi project file (`Pulumi.yaml`)."""
    document = load_yaml(project_file)
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        fail(f"{shown(project_file)}: has no `name:`; a Pulumi project file names its project")
    return str(document["name"])


# --- JSON -----------------------------------------------------------------------------------


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}; keep one")
        seen[key] = value
    return seen


def load_json(path: Path) -> Any:
    """A JSON file's value; BadInput naming file:line:col for a syntax error, or a repeated key."""
    text = read_text(path)
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as error:
        fail(f"{shown(path)}:{error.lineno}:{error.colno}: {error.msg}; not valid JSON")
    except ValueError as error:
        fail(f"{shown(path)}: {error}")


# --- stacks ---------------------------------------------------------------------------------


def stack_names(root: Path = ROOT) -> list[str]:
    """Every stack of the project: the `Pulumi.<stack>.yaml` files next to its `Pulumi.yaml`."""
    return sorted(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for path in root.glob("Pulumi.*.yaml")
    )


def stack_file(stack: str, root: Path = ROOT) -> Path:
    """`Pulumi.<stack>.yaml`, or BadInput listing the stacks that exist."""
    known = stack_names(root)
    if stack in known:
        return root / f"Pulumi.{stack}.yaml"
    close = difflib.get_close_matches(stack, known, n=1)
    guess = f"did you mean '{close[0]}'? " if close else ""
    fail(
        f"unknown stack '{stack}': there is no Pulumi.{stack}.yaml next to Pulumi.yaml; "
        f"{guess}known stacks: {', '.join(known) or '(none)'}"
    )


def stack_files(stacks: Iterable[str], root: Path = ROOT) -> list[Path]:
    """`stack_file` of each; every unknown one is reported, not only the first."""
    problems: list[str] = []
    paths: list[Path] = []
    for stack in stacks:
        try:
            paths.append(stack_file(stack, root))
        except BadInput as bad:
            problems.extend(bad.lines)
    if problems:
        fail(*problems)
    return paths


# --- output files ---------------------------------------------------------------------------


def unwritable(path: Path) -> str | None:
    """Why `path` cannot be written, if that can be told before writing it."""
    if path.is_dir():
        return "it is a directory"
    parent = path.parent
    if not parent.exists():
        return f"directory {parent} does not exist; create it first"
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"directory {parent} is not writable"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    return None


def output_path(text: str) -> Path:
    """argparse `type=` of a file the command writes: refused before any work is done."""
    path = Path(text)
    problem = unwritable(path)
    if problem:
        fail(f"cannot write {text}: {problem}")
    return path


def write_text(path: Path, text: str, *, parents: bool = False) -> None:
    """Write a file (`parents`: creating its directories); an OS refusal is one line."""
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {shown(path)}: {error.strerror or error}")
