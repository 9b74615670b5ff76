"""Reserved pipeline names: derived from Naming and the bootstrap's names, refused by settings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra import settings as s
from infra.settings import SettingsError
from model import access, reserved
from model.naming import Naming
from tests.delivery.bootstrap_run import run_bootstrap, stack_values

NAMING = Naming(prefix="aai", stack="prod")
RESERVED = reserved.reserved_pipeline_names(NAMING)
FAMILIES = tuple(f"{NAMING.base}-{n[:-1]}" for n in reserved.BOOTSTRAP_NAMES if n.endswith("*"))


def listed(pipeline: str) -> bool:
    """Reserved according to the list users see (`stem*` entries are prefixes)."""
    return any(pipeline.startswith(r[:-1]) if r.endswith("*") else pipeline == r for r in RESERVED)


def derived_collision(pipeline: str) -> bool:
    """Computed forward, the way the program would name things for this pipeline."""
    taken = reserved.stack_names(NAMING)
    derived = {
        NAMING.pipeline_role(pipeline),
        NAMING.atlas_role(pipeline),
        NAMING.okta_app_label(pipeline),
        NAMING.vault_pipeline_policy(pipeline),
    }
    return any(name in taken or name.startswith(FAMILIES) for name in derived)


def test_the_reserved_list_names_what_the_program_and_bootstrap_use() -> None:
    assert RESERVED == (
        "airflow",
        "airflow-connections",
        "atlas",
        "aws",
        "aws-airflow",
        "ci-*",
        "file",
        "github-*",
        "github-deploy",
        "mwaa-exec",
        "okta-workloads",
        "pulumi",
        "socket",
        "syslog",
        "workload-boundary",
    )


def test_every_pipeline_taking_naming_method_is_checked() -> None:
    """A new Naming method of a pipeline joins `pipeline_names` without a list to update."""
    assert reserved.pipeline_names(NAMING, "x1") == {
        "aai-prod-pipeline-x1",
        "aai-prod-x1",
    }


pipeline_names = st.one_of(
    st.from_regex(access.PIPELINE_NAME_PATTERN, fullmatch=True).filter(
        lambda n: len(n) <= access.PIPELINE_NAME_MAX
    ),
    st.sampled_from([r.rstrip("*") + "x1" if r.endswith("*") else r for r in RESERVED]),
)


@given(pipeline_names)
def test_no_accepted_pipeline_name_collides(pipeline: str) -> None:
    assert reserved.collides(NAMING, pipeline) == derived_collision(pipeline) == listed(pipeline)


def test_every_name_the_bootstrap_gives_its_environment_is_reserved() -> None:
    """Every `<base>-...` name the bootstrap plans (IAM roles and policies, Vault policies, the
    KMS alias) is a stack name or in a family, so BOOTSTRAP_NAMES cannot drift from it."""
    run = run_bootstrap(stack_values("prod"))
    names = {
        str(r.inputs[key]).removeprefix("alias/")
        for r in run.monitor.registrations
        for key in ("name", "roleName")
        if isinstance(r.inputs.get(key), str)
    }
    ours = sorted(n for n in names if n.startswith(f"{NAMING.base}-"))
    assert ours, "the bootstrap plans no name of the environment"
    taken = reserved.stack_names(NAMING)
    assert [n for n in ours if n not in taken and not n.startswith(FAMILIES)] == []
    # The CI policies and roles are among them: `ci-*` and `github-*` are not hypothetical.
    assert any(n.startswith(FAMILIES[0]) for n in ours)
    assert any(n.startswith(FAMILIES[1]) for n in ours)


@pytest.mark.parametrize("name", ["airflow-connections", "ci-deploy", "github-x", "mwaa-exec"])
def test_settings_refuse_a_reserved_pipeline_name(base_config: dict[str, Any], name: str) -> None:
    base_config["pipelines"][0]["name"] = name
    with pytest.raises(SettingsError) as raised:
        s.parse(base_config, project="airflow-atlas-identity", stack="prod")
    problems = [str(p) for p in raised.value.problems]
    assert problems == [
        f"pipelines[0].name: '{name}' is reserved: a name derived from it (Vault policy, Atlas "
        "role, ...) is one the program or the bootstrap uses for something else; rename the "
        f"pipeline (reserved: {', '.join(RESERVED)})"
    ]
