"""The runner harness keeps GitHub's documented semantics (see github_actions.py's docstring):
masks apply from the line after `::add-mask::` on, on stdout and stderr; a step without `shell:`
has no pipefail, one with `shell: bash` has; environment files are fresh per step and read as
the runner reads them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.scripts.ci import github_actions as gha

RUN = gha.Run(
    repository="acme/repo",
    repository_id="1",
    repository_owner_id="2",
    ref="refs/heads/main",
    sha="0" * 40,
    event_name="push",
)


def runner(tmp_path: Path, steps: list[dict[str, Any]]) -> gha.JobRunner:
    job = gha.Job(
        root=tmp_path,
        caller=tmp_path / "w.yml",
        defined_in=tmp_path / "w.yml",
        job_id="j",
        definition={"steps": steps},
        contexts={"github": RUN.context("w"), "vars": {}, "inputs": {}},
        id_token=False,
    )
    (tmp_path / "ws").mkdir()
    (tmp_path / "tmp").mkdir()
    return gha.JobRunner(
        job=job,
        workspace=tmp_path / "ws",
        temp=tmp_path / "tmp",
        machine_env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )


def test_a_mask_hides_a_value_only_in_lines_printed_after_it(tmp_path: Path) -> None:
    script = (
        "echo 'before s3cr3t-value'\n"
        "echo '::add-mask::s3cr3t-value'\n"
        "echo 'after s3cr3t-value'\n"
        "echo 'on stderr s3cr3t-value' >&2\n"
        "echo '  ::add-mask::pa%25ss'\n"
        "echo 'unescaped pa%ss'\n"
    )
    (result,) = runner(tmp_path, [{"run": script}]).run()
    assert result.log == [
        "before s3cr3t-value",
        "after ***",
        "on stderr ***",
        "unescaped ***",
    ]


def test_a_multi_line_mask_hides_each_line(tmp_path: Path) -> None:
    script = "echo '::add-mask::line-one%0Aline-two'\nprintf 'line-one\\nline-two\\n'\n"
    (result,) = runner(tmp_path, [{"run": script}]).run()
    assert result.log == ["***", "***"]


def test_stop_commands_suspends_workflow_commands(tmp_path: Path) -> None:
    script = (
        "echo '::stop-commands::tok'\necho '::add-mask::hidden-not'\necho '::tok::'\n"
        "echo 'hidden-not'\n"
    )
    (result,) = runner(tmp_path, [{"run": script}]).run()
    assert result.log == ["::add-mask::hidden-not", "hidden-not"]


@pytest.mark.parametrize(("shell", "exit_code"), [(None, 0), ("bash", 1)])
def test_only_an_explicit_bash_shell_sets_pipefail(
    tmp_path: Path, shell: str | None, exit_code: int
) -> None:
    step: dict[str, Any] = {"run": "false | true"}
    if shell:
        step["shell"] = shell
    (result,) = runner(tmp_path, [step]).run()
    assert result.exit_code == exit_code


def test_environment_files_are_fresh_per_step_and_reach_later_steps(tmp_path: Path) -> None:
    first = (
        'echo "A=1" >> "$GITHUB_ENV"\n'
        'printf "B<<EOF\\nx\\ny\\nEOF\\n" >> "$GITHUB_ENV"\n'
        'echo "out=v" >> "$GITHUB_OUTPUT"\n'
        'echo "# summary" >> "$GITHUB_STEP_SUMMARY"\n'
    )
    second = 'echo "$A|$B" ; wc -c < "$GITHUB_ENV"'
    results = runner(tmp_path, [{"id": "one", "run": first}, {"run": second}]).run()
    assert results[0].env == {"A": "1", "B": "x\ny"}
    assert results[0].outputs == {"out": "v"}
    assert results[0].summary == "# summary\n"
    assert results[1].log == ["1|x", "y", "0"]


def test_a_failed_step_skips_the_next_unless_its_condition_says_otherwise(
    tmp_path: Path,
) -> None:
    steps = [
        {"id": "a", "run": "exit 3"},
        {"run": "echo skipped"},
        {"if": "${{ !cancelled() && steps.a.outcome != 'skipped' }}", "run": "echo ran"},
    ]
    results = runner(tmp_path, steps).run()
    assert [r.outcome for r in results] == ["failure", "skipped", "success"]
    assert results[2].log == ["ran"]
