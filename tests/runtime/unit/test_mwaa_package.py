"""The MWAA package: requirements.txt per Airflow version and stack, deterministic plugins.zip.

That the generated files install under MWAA's constraints (and offline from plugins.zip alone)
is proven by scripts/check-mwaa, which installs the runtime exactly that way.
"""

from __future__ import annotations

import importlib.metadata
import io
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from runtime.tools import mwaa_package as pkg

PLUGINS = "/usr/local/airflow/plugins"


def test_every_kept_constraints_file_is_a_supported_version_with_its_python() -> None:
    assert pkg.supported_versions() == ("3.0.6", "3.3.1")
    for version in pkg.supported_versions():
        assert pkg.python_version(pkg.constraints_path(version).read_text()) == "3.12"


@pytest.mark.parametrize(
    ("vault_backend", "vault_dynamic", "providers"),
    [
        (False, False, {"mongo"}),
        (True, False, {"mongo", "hashicorp"}),
        (False, True, {"mongo", "hashicorp"}),
        (True, True, {"mongo", "hashicorp"}),
    ],
)
def test_stack_providers(vault_backend: bool, vault_dynamic: bool, providers: set[str]) -> None:
    assert (
        pkg.stack_providers(vault_backend=vault_backend, vault_dynamic=vault_dynamic) == providers
    )


@pytest.mark.parametrize(
    ("version", "hashicorp", "mongo"), [("3.0.6", "4.3.2", "5.2.2"), ("3.3.1", "4.8.0", "5.4.0")]
)
def test_requirements_pin_providers_to_mwaas_constraints(
    version: str, hashicorp: str, mongo: str
) -> None:
    text = pkg.requirements_txt(
        airflow_version=version,
        providers={"mongo", "hashicorp"},
        wheel="airflow_atlas_identity_runtime-0.1.0-py3-none-any.whl",
        constraints=pkg.constraints_path(version).read_text(),
    )
    assert text.splitlines()[2:] == [
        f"--constraint {PLUGINS}/constraints-airflow-{version}.txt",
        f"apache-airflow=={version}",
        f"apache-airflow-providers-hashicorp=={hashicorp}",
        f"apache-airflow-providers-mongo=={mongo}",
        f"{PLUGINS}/airflow_atlas_identity_runtime-0.1.0-py3-none-any.whl",
        "apache-airflow-providers-mongo>=5.0",
        "pymongo[aws]>=4.7",
        "boto3>=1.28",
        "hvac>=2.0",
        "PyJWT[crypto]>=2.8",
        "requests>=2.31",
    ]


def test_offline_requirements_use_only_the_unpacked_plugins() -> None:
    text = pkg.requirements_txt(
        airflow_version="3.0.6",
        providers={"mongo"},
        wheel="w.whl",
        constraints=pkg.constraints_path("3.0.6").read_text(),
        offline=True,
    )
    assert text.splitlines()[2:5] == [
        "--no-index",
        f"--find-links {PLUGINS}",
        f"--constraint {PLUGINS}/constraints-airflow-3.0.6.txt",
    ]
    assert "hashicorp" not in text


def test_unsupported_version_and_unknown_provider_are_refused() -> None:
    with pytest.raises(pkg.PackageError, match=r"no MWAA constraints for Airflow 2\.10\.3"):
        pkg.constraints_path("2.10.3")
    with pytest.raises(pkg.PackageError, match="unknown provider 'celery'"):
        pkg.requirements_txt(
            airflow_version="3.0.6", providers={"celery"}, wheel="w.whl", constraints=""
        )
    with pytest.raises(pkg.PackageError, match="do not pin apache-airflow-providers-mongo"):
        pkg.requirements_txt(
            airflow_version="3.0.6", providers={"mongo"}, wheel="w.whl", constraints="boto3==1\n"
        )


def test_the_package_is_deterministic_and_carries_wheel_and_constraints() -> None:
    first = pkg.build_package(airflow_version="3.0.6", providers={"mongo", "hashicorp"})
    again = pkg.build_package(airflow_version="3.0.6", providers={"hashicorp", "mongo"})
    assert (first.plugins_zip, first.requirements_txt) == (
        again.plugins_zip,
        again.requirements_txt,
    )
    assert first.plugins_sha256 == again.plugins_sha256
    with zipfile.ZipFile(io.BytesIO(first.plugins_zip)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == sorted([first.wheel, "constraints-airflow-3.0.6.txt"])
        assert {i.date_time for i in infos} == {pkg.ZIP_DATE}
        constraints = archive.read("constraints-airflow-3.0.6.txt")
        assert constraints == pkg.constraints_path("3.0.6").read_bytes()
        with zipfile.ZipFile(io.BytesIO(archive.read(first.wheel))) as wheel:
            names = wheel.namelist()
            assert "atlas_identity/hook.py" in names
            assert {i.date_time for i in wheel.infolist()} == {pkg.ZIP_DATE}
    assert f"{PLUGINS}/{first.wheel}" in first.requirements_txt.decode().splitlines()


def test_the_wheel_is_built_once_per_source_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "runtime"
    shutil.copytree(pkg.RUNTIME, sources, ignore=shutil.ignore_patterns(*pkg._SOURCE_SKIP))
    monkeypatch.setattr(pkg, "RUNTIME", sources)
    monkeypatch.setattr(pkg, "WHEEL_CACHE", tmp_path / "cache")
    builds: list[str] = []

    def build(python: str) -> tuple[str, bytes]:
        builds.append(pkg.source_hash())
        return "w-0.1.0-py3-none-any.whl", pkg.source_hash().encode()

    monkeypatch.setattr(pkg, "_build_wheel", build)
    first = pkg.runtime_wheel()
    assert pkg.runtime_wheel() == first
    assert len(builds) == 1
    # A changed source (not a cache or build folder) is a new hash and a new build.
    (sources / "src" / "__pycache__").mkdir(exist_ok=True)
    (sources / "src" / "__pycache__" / "x.pyc").write_bytes(b"ignored")
    assert pkg.runtime_wheel() == first
    hook = sources / "src" / "atlas_identity" / "hook.py"
    hook.write_text(hook.read_text() + "\n# changed\n")
    second = pkg.runtime_wheel()
    assert second != first
    assert builds == [first[1].decode(), second[1].decode()]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(builds)


def test_the_wheel_is_built_only_by_the_pinned_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another backend version would write other bytes: the build refuses it and says the fix."""
    sources = tmp_path / "runtime"
    shutil.copytree(pkg.RUNTIME, sources, ignore=shutil.ignore_patterns(*pkg._SOURCE_SKIP))
    project = sources / "pyproject.toml"
    name, version, _ = pkg.build_backend()
    project.write_text(project.read_text().replace(f"{name}=={version}", f"{name}==0.0.1"))
    monkeypatch.setattr(pkg, "RUNTIME", sources)
    found = re.escape(importlib.metadata.version(name))
    with pytest.raises(pkg.PackageError, match=rf"{name}==0\.0\.1 .* has {found}: run bash"):
        pkg._build_wheel(sys.executable)
