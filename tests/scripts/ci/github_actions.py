"""Run a workflow's `run:` steps the way a GitHub-hosted Linux runner runs them.

Semantics taken from GitHub's documentation and the runner's source (actions/runner), not
restated from our workflows:
- The shell: a step without `shell:` runs `bash -e {0}`, one with `shell: bash` runs
  `bash --noprofile --norc -e -o pipefail {0}` ("Workflow syntax for GitHub Actions",
  jobs.<job_id>.steps[*].shell; runner: ScriptHandler.cs picks `sh`'s arguments with bash's
  path when no shell is given, ScriptHandlerHelpers.cs holds the argument formats). The script
  is written to a temporary file, run with the workspace as working directory.
- Workflow commands ("Workflow commands for GitHub Actions"): each output line, stdout and
  stderr alike (both go through the runner's OutputManager and ActionCommandManager), that
  starts with `::name ...::data` after leading blanks is a command. `::add-mask::VALUE`
  registers VALUE (and each of its lines) with the job's secret masker, is not echoed, and
  every line printed after it shows `***` in its place (runner: AddMaskCommandExtension,
  SecretMasker.MaskSecrets merging overlapping matches). Command data unescapes %0D, %0A, %25
  (ActionCommand.UnescapeData). `::stop-commands::TOKEN` suspends commands until `::TOKEN::`.
  The step's stdout and stderr are read through one pipe here, which keeps their exact order.
- Environment files ("Workflow commands for GitHub Actions", "Environment files"): every step
  gets fresh GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STATE and GITHUB_STEP_SUMMARY
  files; `NAME=value` and `NAME<<DELIMITER` lines are read after the step (runner:
  FileCommandManager.cs, EnvFileKeyValuePairs); GITHUB_ENV values and GITHUB_PATH entries
  reach the later steps of the job.
- Expressions: `${{ <context>.<name>... }}` with the contexts `github`, `inputs`, `matrix`,
  `vars`, `steps`, `env`; `if:` with `!`, `&&`, `||`, `==`, `!=`, string literals and the
  status functions. Anything else raises, so a workflow change the harness does not model
  fails loudly instead of running differently.
- Reusable workflows: a job with `uses: ./.github/workflows/x.yml` runs x.yml's job with the
  caller's `with:` as `inputs` (defaults from `on.workflow_call.inputs`); its OIDC token names
  x.yml in `job_workflow_ref` and the caller in `workflow_ref` (GitHub's "OpenID Connect
  reference").
- `uses:` action steps (checkout, setup, tool installs) are not run: the test prepares what
  they leave behind (a checked-out workspace, tools on PATH) and the step is reported skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
PATH_EXPRESSION = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$")
DEFAULT_SHELL = "bash -e {0}"
SHELLS = {"bash": "bash --noprofile --norc -e -o pipefail {0}", "sh": "sh -e {0}"}
STEP_TIMEOUT_SECONDS = 300


class UnsupportedWorkflow(RuntimeError):
    """The workflow uses something this harness does not model."""


def load_workflow(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise UnsupportedWorkflow(f"{path} is not a mapping")
    return document


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """YAML 1.1 reads the key `on` as the boolean True."""
    on = workflow.get("on", workflow.get(True))
    return on if isinstance(on, dict) else {on: None}


# -- masking ---------------------------------------------------------------------------------


def unescape_data(data: str) -> str:
    """ActionCommand.UnescapeData: %0D, %0A and %25, in that order."""
    return data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


@dataclass
class SecretMasker:
    """The job's masker: values registered by `::add-mask::`, applied to every later line."""

    values: set[str] = field(default_factory=set)

    def add(self, value: str) -> None:
        if value:
            self.values.add(value)
            self.values.update(p.strip() for p in re.split(r"[\r\n]+", value) if p.strip())

    def mask(self, line: str) -> str:
        spans: list[tuple[int, int]] = []
        for value in self.values:
            start = line.find(value)
            while start >= 0:
                spans.append((start, start + len(value)))
                start = line.find(value, start + 1)
        if not spans:
            return line
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        out, index = [], 0
        for start, end in merged:
            out.append(line[index:start] + "***")
            index = end
        return "".join(out) + line[index:]


# -- expressions -----------------------------------------------------------------------------


def lookup(contexts: Mapping[str, Any], path: str) -> Any:
    if not PATH_EXPRESSION.match(path):
        raise UnsupportedWorkflow(f"expression {path!r} is not a context property")
    head, *rest = path.split(".")
    if head not in contexts:
        raise UnsupportedWorkflow(f"context {head!r} of {path!r} is not modelled")
    value: Any = contexts[head]
    if head == "vars" and len(rest) == 1 and rest[0] not in value:
        return ""  # "Contexts", vars: a variable that is not set reads as an empty string
    for part in rest:
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(f"{path}: no {part!r} (the test must provide it)")
        value = value[part]
    return value


def interpolate(text: Any, contexts: Mapping[str, Any]) -> Any:
    """Replace each `${{ ... }}` of a string; other YAML values are returned as they are."""
    if not isinstance(text, str):
        return text
    whole = EXPRESSION.fullmatch(text.strip())
    if whole and "${{" not in whole.group(1):
        return lookup(contexts, whole.group(1))
    return EXPRESSION.sub(lambda m: str(lookup(contexts, m.group(1))), text)


CONDITION_TOKEN = re.compile(
    r"\s*(\|\||&&|==|!=|!|\(|\)|'(?:[^']|'')*'|[A-Za-z_][\w.-]*\(\)|[A-Za-z_][\w.-]*)"
)


def evaluate_condition(text: str, contexts: Mapping[str, Any], status: str) -> bool:
    """A step's `if:` (implicitly wrapped in success() unless it calls a status function)."""
    source = text.strip()
    match = EXPRESSION.fullmatch(source)
    if match and "${{" not in match.group(1):
        source = match.group(1)
    tokens = []
    index = 0
    while index < len(source):
        token = CONDITION_TOKEN.match(source, index)
        if not token:
            raise UnsupportedWorkflow(f"cannot read the condition {text!r}")
        tokens.append(token.group(1))
        index = token.end()
    functions = {
        "success()": status == "success",
        "failure()": status == "failure",
        "always()": True,
        "cancelled()": False,
    }
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def primary() -> Any:
        token = take()
        if token == "!":
            return not primary()
        if token == "(":
            value = disjunction()
            take()
            return value
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token in functions:
            return functions[token]
        return lookup(contexts, token)

    def comparison() -> Any:
        left = primary()
        while peek() in ("==", "!="):
            operator, right = take(), primary()
            left = (left == right) if operator == "==" else (left != right)
        return left

    def conjunction() -> Any:
        value = comparison()
        while peek() == "&&":
            take()
            right = comparison()
            value = value and right
        return value

    def disjunction() -> Any:
        value = conjunction()
        while peek() == "||":
            take()
            right = conjunction()
            value = value or right
        return value

    result = bool(disjunction())
    if not any(f in source for f in functions):
        result = result and status == "success"
    return result


# -- jobs ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Run:
    """The workflow run's `github` context (what a trigger gives)."""

    repository: str
    repository_id: str
    repository_owner_id: str
    ref: str
    sha: str
    event_name: str
    run_id: str = "4242"
    run_attempt: str = "1"
    actor: str = "octo-reviewer"
    server_url: str = "https://github.com"
    event: Mapping[str, Any] = field(default_factory=dict)
    """The triggering event's payload (`github.event`)."""

    @property
    def repository_owner(self) -> str:
        return self.repository.split("/")[0]

    def context(self, workflow: str) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "repository_id": self.repository_id,
            "repository_owner": self.repository_owner,
            "repository_owner_id": self.repository_owner_id,
            "ref": self.ref,
            "sha": self.sha,
            "event_name": self.event_name,
            "run_id": self.run_id,
            "run_attempt": self.run_attempt,
            "actor": self.actor,
            "server_url": self.server_url,
            "workflow": workflow,
            "event": dict(self.event),
        }


@dataclass(frozen=True, kw_only=True)
class Job:
    """One job as the runner gets it: its steps, the contexts its expressions read."""

    root: Path
    caller: Path
    """The workflow file the run started from (its `workflow_ref`)."""
    defined_in: Path
    """The file holding the job's steps (its `job_workflow_ref`)."""
    job_id: str
    definition: Mapping[str, Any]
    contexts: Mapping[str, Any]
    id_token: bool
    """Whether the job (and its caller) grant `id-token: write`."""

    @property
    def environment(self) -> str:
        value = self.definition.get("environment") or ""
        if isinstance(value, Mapping):
            value = value.get("name", "")
        return str(interpolate(value, self.contexts))

    def workflow_ref(self, path: Path, run: Run) -> str:
        return f"{run.repository}/{path.relative_to(self.root)}@{run.ref}"

    @property
    def steps(self) -> list[Mapping[str, Any]]:
        return list(self.definition.get("steps", []))

    def step(self, name_or_id: str) -> Mapping[str, Any]:
        for step in self.steps:
            if name_or_id in (step.get("id"), step.get("name")):
                return step
        raise KeyError(f"{self.defined_in.name}.{self.job_id} has no step {name_or_id!r}")


def _grants_id_token(definition: Mapping[str, Any], workflow: Mapping[str, Any]) -> bool:
    permissions = definition.get("permissions", workflow.get("permissions")) or {}
    return isinstance(permissions, Mapping) and permissions.get("id-token") == "write"


def job(
    root: Path,
    workflow_file: str,
    job_id: str,
    *,
    run: Run,
    variables: Mapping[str, str],
    matrix: Mapping[str, Any] | None = None,
) -> Job:
    """The job `job_id` of `.github/workflows/<workflow_file>`, a called workflow resolved."""
    caller = root / ".github" / "workflows" / workflow_file
    workflow = load_workflow(caller)
    definition = workflow["jobs"][job_id]
    base = {"github": run.context(str(workflow.get("name", workflow_file))), "vars": variables}
    if "strategy" in definition:
        base["matrix"] = _matrix_entry(definition, matrix or {}, base)
    uses = definition.get("uses")
    if uses is None:
        return Job(
            root=root,
            caller=caller,
            defined_in=caller,
            job_id=job_id,
            definition=definition,
            contexts=base | {"inputs": {}},
            id_token=_grants_id_token(definition, workflow),
        )
    if not str(uses).startswith("./.github/workflows/"):
        raise UnsupportedWorkflow(f"{workflow_file}.{job_id}: uses {uses}")
    called_path = root / str(uses).removeprefix("./")
    called = load_workflow(called_path)
    declared = triggers(called)["workflow_call"].get("inputs", {})
    given = {k: interpolate(v, base) for k, v in (definition.get("with") or {}).items()}
    unknown = set(given) - set(declared)
    if unknown:
        raise UnsupportedWorkflow(f"{workflow_file}.{job_id} passes undeclared inputs {unknown}")
    inputs = {}
    for name, spec in declared.items():
        if name in given:
            inputs[name] = given[name]
        elif spec.get("required"):
            raise UnsupportedWorkflow(f"{workflow_file}.{job_id} lacks required input {name}")
        else:
            inputs[name] = spec.get("default", "")
    (called_id, called_job), *more = called["jobs"].items()
    if more:
        raise UnsupportedWorkflow(f"{called_path.name} has more than one job")
    return Job(
        root=root,
        caller=caller,
        defined_in=called_path,
        job_id=called_id,
        definition=called_job,
        contexts=base | {"inputs": inputs},
        id_token=_grants_id_token(definition, workflow) and _grants_id_token(called_job, called),
    )


def _matrix_entry(
    definition: Mapping[str, Any], wanted: Mapping[str, Any], contexts: Mapping[str, Any]
) -> dict[str, Any]:
    matrix = definition["strategy"]["matrix"]
    entries = [dict(e) for e in matrix.get("include", [])]
    if not entries:
        (name, values), *more = matrix.items()
        if more:
            raise UnsupportedWorkflow("multi-dimensional matrices are not modelled")
        entries = [{name: v} for v in values]
    for entry in entries:
        if all(entry.get(k) == v for k, v in wanted.items()):
            return {k: interpolate(v, contexts) for k, v in entry.items()}
    raise KeyError(f"no matrix entry matches {dict(wanted)}")


# -- steps -----------------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    outcome: str
    """`success`, `failure` or `skipped`, as `steps.<id>.outcome` reads."""
    exit_code: int | None
    log: list[str]
    """The step's lines as the run's log shows them: masked, commands not echoed."""
    raw: list[str]
    """What the step printed, unmasked (the test's view only)."""
    env: dict[str, str]
    outputs: dict[str, str]
    summary: str


def read_env_file(path: Path) -> dict[str, str]:
    """NAME=value and NAME<<DELIMITER ... DELIMITER, as the runner's EnvFileKeyValuePairs."""
    values: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            key, value = line.split("=", 1)
            values[key] = value
            continue
        if heredoc < 0:
            raise ValueError(f"{path.name}: invalid line {line!r}")
        key, delimiter = line.split("<<", 1)
        body = []
        while index < len(lines) and lines[index] != delimiter:
            body.append(lines[index])
            index += 1
        if index == len(lines):
            raise ValueError(f"{path.name}: no delimiter {delimiter!r} for {key}")
        index += 1
        values[key] = "\n".join(body)
    return values


@dataclass
class JobRunner:
    """One job on one runner: its workspace, masker, environment and step results."""

    job: Job
    workspace: Path
    temp: Path
    machine_env: Mapping[str, str]
    """The runner machine's environment (PATH with the tools, HOME, endpoints)."""
    oidc: Callable[[Job], tuple[str, str]] | None = None
    """Gives (ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN) for the job."""
    masker: SecretMasker = field(default_factory=SecretMasker)
    results: dict[str, StepResult] = field(default_factory=dict)
    env_from_files: dict[str, str] = field(default_factory=dict)
    path_entries: list[str] = field(default_factory=list)
    _stop_token: str | None = None
    """`::stop-commands::TOKEN` in force: commands are not processed until `::TOKEN::`."""

    def default_env(self) -> dict[str, str]:
        github = self.job.contexts["github"]
        env = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REPOSITORY_ID": github["repository_id"],
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_REPOSITORY_OWNER_ID": github["repository_owner_id"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_REF": github["ref"],
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_ATTEMPT": github["run_attempt"],
            "GITHUB_ACTOR": github["actor"],
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_WORKFLOW": github["workflow"],
            "GITHUB_JOB": self.job.job_id,
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.temp),
        }
        if self.job.id_token and self.oidc is not None:
            url, token = self.oidc(self.job)
            # The runner masks its own tokens: this one is a job secret too.
            self.masker.add(token)
            env |= {"ACTIONS_ID_TOKEN_REQUEST_URL": url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": token}
        return env

    def contexts(self) -> dict[str, Any]:
        steps = {
            step_id: {"outcome": r.outcome, "conclusion": r.outcome, "outputs": r.outputs}
            for step_id, r in self.results.items()
        }
        return dict(self.job.contexts) | {"steps": steps, "env": dict(self.env_from_files)}

    def run(self, *, stop_at: str | None = None) -> list[StepResult]:
        """Every step in order (after a failure only those whose `if:` says so)."""
        done = []
        status = "success"
        for index, step in enumerate(self.job.steps):
            result = self.run_step(step, index=index, status=status)
            done.append(result)
            if result.outcome == "failure":
                status = "failure"
            if stop_at is not None and stop_at in (step.get("id"), step.get("name")):
                break
        return done

    def run_step(
        self, step: Mapping[str, Any], *, index: int = 0, status: str = "success"
    ) -> StepResult:
        name = str(step.get("name") or step.get("uses") or step.get("run", ""))
        key = str(step.get("id") or f"__{index}")
        contexts = self.contexts()
        condition = step.get("if")
        runs = (
            evaluate_condition(str(condition), contexts, status)
            if condition is not None
            else status == "success"
        )
        if "run" not in step or not runs:
            result = StepResult(name, "skipped", None, [], [], {}, {}, "")
            self.results[key] = result
            return result
        result = self._execute(step, name, contexts)
        self.results[key] = result
        return result

    def _execute(
        self, step: Mapping[str, Any], name: str, contexts: Mapping[str, Any]
    ) -> StepResult:
        files = self.temp / f"_runner_file_commands_{uuid.uuid4().hex}"
        files.mkdir(parents=True)
        env_files = {
            "GITHUB_ENV": files / "set_env",
            "GITHUB_OUTPUT": files / "set_output",
            "GITHUB_PATH": files / "add_path",
            "GITHUB_STATE": files / "save_state",
            "GITHUB_STEP_SUMMARY": files / "step_summary",
        }
        for path in env_files.values():
            path.touch()
        env = dict(self.machine_env) | self.default_env()
        for level in (self.job.definition.get("env") or {}, step.get("env") or {}):
            env |= {k: str(interpolate(v, contexts)) for k, v in level.items()}
        env |= self.env_from_files
        env |= {k: str(v) for k, v in env_files.items()}
        if self.path_entries:
            env["PATH"] = os.pathsep.join([*reversed(self.path_entries), env["PATH"]])
        script = self.temp / f"{uuid.uuid4()}.sh"
        script.write_text(str(interpolate(step["run"], contexts)))
        shell = step.get("shell") or (self.job.definition.get("defaults") or {}).get("run", {}).get(
            "shell"
        )
        template = DEFAULT_SHELL if not shell else SHELLS.get(shell, shell)
        argv = [part.replace("{0}", str(script)) for part in template.split()]
        log, raw = [], []
        with subprocess.Popen(
            argv,
            cwd=self.workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ) as process:
            assert process.stdout is not None
            for line in self._lines(process.stdout):
                raw.append(line)
                shown = self._process_line(line)
                if shown is not None:
                    log.append(self.masker.mask(shown))
            exit_code = process.wait(timeout=STEP_TIMEOUT_SECONDS)
        self.env_from_files |= read_env_file(env_files["GITHUB_ENV"])
        self.path_entries += [p for p in env_files["GITHUB_PATH"].read_text().splitlines() if p]
        return StepResult(
            name=name,
            outcome="success" if exit_code == 0 else "failure",
            exit_code=exit_code,
            log=log,
            raw=raw,
            env=read_env_file(env_files["GITHUB_ENV"]),
            outputs=read_env_file(env_files["GITHUB_OUTPUT"]),
            summary=env_files["GITHUB_STEP_SUMMARY"].read_text(),
        )

    def _process_line(self, line: str) -> str | None:
        """The line to log, or None for a command the runner does not echo."""
        stripped = line.lstrip()
        if self._stop_token is not None:
            if stripped == f"::{self._stop_token}::":
                self._stop_token = None
                return None
            return line
        if not stripped.startswith("::"):
            return line
        end = stripped.find("::", 2)
        if end < 0:
            return line
        command = stripped[2:end].split(" ", 1)[0]
        data = unescape_data(stripped[end + 2 :])
        if command == "add-mask":
            self.masker.add(data)
            return None
        if command == "stop-commands":
            self._stop_token = data
            return None
        return line

    @staticmethod
    def _lines(stream: Any) -> Iterator[str]:
        for chunk in stream:
            yield chunk.decode("utf-8", errors="replace").rstrip("\r\n")
