"""Pulumi.yaml declares every key the settings loader reads, with the same type."""

from __future__ import annotations

import yaml

from infra import settings
from tests.conftest import ROOT


def project() -> dict[str, object]:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())  # type: ignore[no-any-return]


def test_project_runs_the_program_in_infra_with_the_locked_venv() -> None:
    document = project()
    assert document["name"] == "airflow-atlas-identity"
    assert document["main"] == "infra/"
    assert document["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }


def test_every_scalar_key_is_declared_with_its_type_and_a_description() -> None:
    declared = project()["config"]
    assert isinstance(declared, dict)
    expected = {k for k, key in settings.KEYS.items() if not key.structured}
    assert set(declared) == expected
    for name in expected:
        assert declared[name]["type"] == settings.KEYS[name].type, name
        assert declared[name]["description"], name
        if declared[name]["type"] == "array":
            assert declared[name]["items"] == {"type": "string"}, name


def test_structured_keys_are_documented_in_the_project_file() -> None:
    text = (ROOT / "Pulumi.yaml").read_text()
    for name, key in settings.KEYS.items():
        if key.structured:
            assert f"#   {name}:" in text or f"# {name}:" in text or f"#   {name}: " in text, name
