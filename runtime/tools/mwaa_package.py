"""Build what an MWAA environment needs to run the atlas-identity runtime.

`build_package()` returns, as bytes, the `plugins.zip` and `requirements.txt` for one MWAA Airflow
version and the providers a stack needs; `scripts/mwaa-package` writes them to a folder. The
Pulumi program can call it too (import this module; it needs neither Airflow nor Pulumi) and
hash the bytes: the same inputs give the same bytes (fixed zip timestamps, sorted entries).

- `plugins.zip` holds the runtime's wheel and MWAA's constraints file for that Airflow version
  (requirements/mwaa-<version>.txt). MWAA unpacks plugins.zip to /usr/local/airflow/plugins
  before it installs requirements, so `requirements.txt` refers to both by that local path and
  pip needs no internet URL for the constraints (MWAA's private-network pattern).
- `requirements.txt`: `--constraint` on that local file, Airflow pinned to the environment's
  version, the providers at the versions the constraints pin, the runtime wheel and its
  dependencies (versions chosen by the constraints).
- `offline=True` (`--offline`) also puts the wheel of every requirement the MWAA image does not
  already have into plugins.zip and makes pip use only those (`--no-index --find-links`), for
  environments without internet. Which wheels that is, is asked of pip in an environment like
  the MWAA image (`--image-python`, e.g. the venv of scripts/check-mwaa or MWAA's local runner).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

RUNTIME = Path(__file__).resolve().parent.parent
REQUIREMENTS = RUNTIME.parent / "requirements"
# Where MWAA unpacks plugins.zip on every scheduler/worker/webserver container (MWAA user guide,
# "Installing Python dependencies" / private-network pattern; also AIRFLOW_HOME/plugins in
# aws/amazon-mwaa-docker-images, mwaa/utils/user_requirements.py).
PLUGINS_DIR = "/usr/local/airflow/plugins"
# MWAA's wheels run on Amazon Linux 2023, x86_64 (aws/amazon-mwaa-docker-images Dockerfile.base).
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
# A zip entry's date: the earliest a zip can hold, so that the bytes depend on content only.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Provider short name -> distribution. `mongo` is always needed (the hook builds a MongoClient
# through it); `hashicorp` when Airflow's secrets backend is Vault or a pipeline reads Vault
# dynamic credentials (MWAA does not preinstall it; VaultBackend cannot load without it).
PROVIDERS = {
    "mongo": "apache-airflow-providers-mongo",
    "hashicorp": "apache-airflow-providers-hashicorp",
}


class PackageError(RuntimeError):
    """The package cannot be built as asked (unsupported version, unpinned provider, pip)."""


def supported_versions() -> tuple[str, ...]:
    """MWAA Airflow versions whose constraints file is kept in requirements/."""
    found = (
        p.name.removeprefix("mwaa-").removesuffix(".txt") for p in REQUIREMENTS.glob("mwaa-*.txt")
    )
    return tuple(sorted(v for v in found if re.fullmatch(r"\d+\.\d+\.\d+", v)))


def constraints_path(airflow_version: str) -> Path:
    path = REQUIREMENTS / f"mwaa-{airflow_version}.txt"
    if not path.is_file():
        raise PackageError(
            f"no MWAA constraints for Airflow {airflow_version} in requirements/ "
            f"(supported: {', '.join(supported_versions())})"
        )
    return path


def python_version(constraints: str) -> str:
    """MWAA's Python for these constraints, from the source URL in the file's header."""
    match = re.search(r"/constraints-\d+\.\d+\.\d+/constraints-(\d+\.\d+)\.txt", constraints)
    if match is None:
        raise PackageError("the constraints file does not name its source constraints-<py>.txt")
    return match.group(1)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(constraints: str) -> dict[str, str]:
    """Normalized distribution name -> version, for every `name==version` line."""
    found = {}
    for line in constraints.splitlines():
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line.strip())
        if match:
            found[_normalize(match.group(1))] = match.group(2)
    return found


def stack_providers(*, vault_backend: bool, vault_dynamic: bool) -> frozenset[str]:
    """The providers a stack needs: see PROVIDERS."""
    return frozenset({"mongo", *(["hashicorp"] if vault_backend or vault_dynamic else [])})


def _zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip of `entries` whose bytes depend only on names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _pip(python: str, *args: str) -> None:
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [python, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"},
    )
    if result.returncode != 0:
        raise PackageError(f"pip {args[0]} failed:\n{result.stderr[-3000:]}")


# Built wheels, one folder per hash of the runtime's sources: building one takes pip seconds and
# fetches the pinned build backend, and the program plans every stack with the same sources.
WHEEL_CACHE = RUNTIME.parent / "build" / "mwaa-wheels"
_SOURCE_SKIP = ("build", "*.egg-info", "__pycache__", "tools")


def source_hash() -> str:
    """sha256 over the runtime's source files (path and content): what the wheel is built from."""
    digest = hashlib.sha256()
    skipped = shutil.ignore_patterns(*_SOURCE_SKIP)
    pending = [RUNTIME]
    files: list[Path] = []
    while pending:
        folder = pending.pop()
        names = sorted(os.listdir(folder))
        ignored = skipped(str(folder), names)
        for name in names:
            path = folder / name
            if name in ignored:
                continue
            (pending if path.is_dir() else files).append(path)
    for path in sorted(files):
        digest.update(str(path.relative_to(RUNTIME)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def runtime_wheel(python: str = sys.executable) -> tuple[str, bytes]:
    """The runtime's wheel (name, bytes), built once per source hash (WHEEL_CACHE)."""
    cached = WHEEL_CACHE / source_hash()
    found = sorted(cached.glob("*.whl")) if cached.is_dir() else []
    if len(found) == 1:
        return found[0].name, found[0].read_bytes()
    name, data = _build_wheel(python)
    cached.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, then renamed: a concurrent reader sees all or nothing.
    partial = cached / f".{name}.{os.getpid()}"
    partial.write_bytes(data)
    partial.replace(cached / name)
    return name, data


# Calls the runtime's PEP 517 backend (runtime/pyproject.toml [build-system]) in `python`, which
# must hold exactly the pinned backend (the `plan` dependency group of pyproject.toml pins the same
# one): no pip and no isolated build environment fetched from the network while planning. The
# backend writes its version into the wheel, so another version would change every pluginsSha256.
_BUILD_WHEEL = """
import importlib, importlib.metadata, sys
name, version, backend, out = sys.argv[1:]
try:
    found = importlib.metadata.version(name)
except importlib.metadata.PackageNotFoundError:
    found = "none"
if found != version:
    sys.exit(f"the runtime's wheel is built with {name}=={version} (runtime/pyproject.toml), "
             f"{sys.executable} has {found}: run bash scripts/setup")
importlib.import_module(backend).build_wheel(out)
"""


def build_backend() -> tuple[str, str, str]:
    """(distribution, version, backend module) of runtime/pyproject.toml's pinned build system."""
    system = tomllib.loads((RUNTIME / "pyproject.toml").read_text())["build-system"]
    pinned = [re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", r) for r in system["requires"]]
    if len(pinned) != 1 or pinned[0] is None:
        raise PackageError("runtime/pyproject.toml must pin exactly one build requirement (==)")
    return pinned[0].group(1), pinned[0].group(2), system["build-backend"]


def _build_wheel(python: str) -> tuple[str, bytes]:
    """The runtime's wheel (name, bytes), re-zipped so that its bytes depend on content only."""
    with tempfile.TemporaryDirectory() as tmp:
        # Build from a copy: setuptools leaves build/ and *.egg-info next to the sources, and two
        # builds at once (two venvs) would share them.
        source = Path(tmp) / "src"
        shutil.copytree(
            RUNTIME, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
        )
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [python, "-c", _BUILD_WHEEL, *build_backend(), tmp],
            cwd=source,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"},
        )
        if result.returncode != 0:
            raise PackageError(f"building the runtime's wheel failed:\n{result.stderr[-3000:]}")
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as built:
            entries = [(i.filename, built.read(i)) for i in built.infolist() if not i.is_dir()]
    return wheel.name, _zip(entries)


def requirements_txt(
    *,
    airflow_version: str,
    providers: Iterable[str],
    wheel: str,
    constraints: str,
    plugins_dir: str = PLUGINS_DIR,
    offline: bool = False,
) -> str:
    pinned = pins(constraints)
    lines = [
        "# Generated by scripts/mwaa-package (runtime/tools/mwaa_package.py): the atlas-identity",
        f"# runtime and the providers this stack needs, for MWAA's Airflow {airflow_version}.",
        *(["--no-index", f"--find-links {plugins_dir}"] if offline else []),
        f"--constraint {plugins_dir}/{constraints_name(airflow_version)}",
        f"apache-airflow=={airflow_version}",
    ]
    for short in sorted(set(providers)):
        if short not in PROVIDERS:
            raise PackageError(f"unknown provider {short!r} (known: {', '.join(PROVIDERS)})")
        version = pinned.get(PROVIDERS[short])
        if version is None:
            raise PackageError(
                f"MWAA's constraints for {airflow_version} do not pin {PROVIDERS[short]}"
            )
        lines.append(f"{PROVIDERS[short]}=={version}")
    project = tomllib.loads((RUNTIME / "pyproject.toml").read_text())["project"]
    lines += [f"{plugins_dir}/{wheel}", *project["dependencies"]]
    return "\n".join(lines) + "\n"


def constraints_name(airflow_version: str) -> str:
    return f"constraints-airflow-{airflow_version}.txt"


@dataclass(frozen=True, kw_only=True)
class MwaaPackage:
    airflow_version: str
    plugins_zip: bytes
    requirements_txt: bytes
    wheel: str

    @property
    def plugins_sha256(self) -> str:
        return hashlib.sha256(self.plugins_zip).hexdigest()

    @property
    def requirements_sha256(self) -> str:
        return hashlib.sha256(self.requirements_txt).hexdigest()

    def write(self, out: Path) -> tuple[Path, Path]:
        out.mkdir(parents=True, exist_ok=True)
        (out / "plugins.zip").write_bytes(self.plugins_zip)
        (out / "requirements.txt").write_bytes(self.requirements_txt)
        return out / "plugins.zip", out / "requirements.txt"


def _image_wheels(
    *, requirements: str, constraints: Path, image_python: str, python: str, wheel: Path
) -> list[tuple[str, bytes]]:
    """Wheels of what pip would add to the image (`image_python`), for MWAA's platform."""
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "requirements.txt"
        kept = [
            str(wheel) if line.endswith(wheel.name) else line
            for line in requirements.splitlines()
            if not line.startswith(("--", "#"))
        ]
        local.write_text("\n".join(kept) + "\n")
        report = Path(tmp) / "report.json"
        _pip(
            image_python,
            "install",
            "--dry-run",
            "--report",
            str(report),
            "-c",
            str(constraints),
            "-r",
            str(local),
        )
        needed = [
            f"{item['metadata']['name']}=={item['metadata']['version']}"
            for item in json.loads(report.read_text())["install"]
            if _normalize(item["metadata"]["name"]) != "airflow-atlas-identity-runtime"
        ]
        downloads = Path(tmp) / "wheels"
        if needed:
            platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
            _pip(
                image_python,
                "download",
                "--no-deps",
                "--only-binary=:all:",
                *platform_args,
                "--python-version",
                python,
                "--dest",
                str(downloads),
                *needed,
            )
        return [(p.name, p.read_bytes()) for p in sorted(downloads.glob("*.whl"))]


def build_package(
    *,
    airflow_version: str,
    providers: Iterable[str],
    plugins_dir: str = PLUGINS_DIR,
    offline: bool = False,
    image_python: str | None = None,
) -> MwaaPackage:
    """plugins.zip + requirements.txt for MWAA's Airflow `airflow_version` (see module doc).

    `plugins_dir` is where plugins.zip will be unpacked (MWAA's path unless a test unpacks it
    elsewhere). `offline` needs `image_python`, a Python environment like MWAA's image.
    """
    path = constraints_path(airflow_version)
    constraints = path.read_text()
    wheel_name, wheel_bytes = runtime_wheel()
    requirements = requirements_txt(
        airflow_version=airflow_version,
        providers=providers,
        wheel=wheel_name,
        constraints=constraints,
        plugins_dir=plugins_dir,
        offline=offline,
    )
    entries = [(wheel_name, wheel_bytes), (constraints_name(airflow_version), constraints.encode())]
    if offline:
        if image_python is None:
            raise PackageError("offline packaging needs image_python (an MWAA-like Python)")
        with tempfile.TemporaryDirectory() as tmp:
            local_wheel = Path(tmp) / wheel_name
            local_wheel.write_bytes(wheel_bytes)
            entries += _image_wheels(
                requirements=requirements,
                constraints=path,
                image_python=image_python,
                python=python_version(constraints),
                wheel=local_wheel,
            )
    return MwaaPackage(
        airflow_version=airflow_version,
        plugins_zip=_zip(entries),
        requirements_txt=requirements.encode(),
        wheel=wheel_name,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/mwaa"))
    parser.add_argument(
        "--airflow-version",
        required=True,
        choices=supported_versions(),
        help="the environment's MWAA Airflow version (the stack's mwaaAirflowVersion)",
    )
    parser.add_argument(
        "--provider",
        action="append",
        choices=sorted(PROVIDERS),
        default=[],
        help="a provider the stack needs besides mongo (hashicorp: Vault backend or vault-dynamic)",
    )
    parser.add_argument("--plugins-dir", default=PLUGINS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--offline", action="store_true", help="bundle every wheel (no internet)")
    parser.add_argument("--image-python", help="Python of an MWAA-like environment (--offline)")
    args = parser.parse_args(argv)
    try:
        package = build_package(
            airflow_version=args.airflow_version,
            providers={"mongo", *args.provider},
            plugins_dir=args.plugins_dir,
            offline=args.offline,
            image_python=args.image_python,
        )
    except PackageError as e:
        print(f"mwaa-package: {e}", file=sys.stderr)
        return 2
    plugins, requirements = package.write(args.out)
    print(f"wrote {requirements} and {plugins} ({package.wheel}, sha256 {package.plugins_sha256})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
