"""Pulumi.yaml runs the program in infra/ (its config block: tests/docs/test_settings_docs.py)."""

from __future__ import annotations

import yaml

from tests.paths import ROOT


def project() -> dict[str, object]:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())  # type: ignore[no-any-return]


def test_project_runs_the_program_in_infra_with_the_locked_venv() -> None:
    document = project()
    assert document["name"] == "airflow-atlas-identity"
    assert document["main"] == "infra/"
    assert document["runtime"] == {
        "name": "python",
        "options": {"toolchain": "uv", "virtualenv": ".venv"},
    }
