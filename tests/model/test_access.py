"""The pure access model: presets, privileges, naming and cross-pipeline rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.settings.org import IDP_NAME
from model import access
from model.access import AuthMode, Grant, Pipeline, Privilege
from model.naming import IAM_ROLE_NAME_MAX, Naming

pipeline_names = st.from_regex(r"[a-z][a-z0-9_-]{0,60}[a-z0-9]", fullmatch=True)


def pipeline(name: str = "orders-ingest", *grants: Grant, **kwargs: object) -> Pipeline:
    fields: dict[str, object] = {
        "name": name,
        "auth_mode": AuthMode.AWS_IAM,
        "cluster": "core",
        "grants": grants or (Grant(database="sales", collections=("orders",), actions=("FIND",)),),
        "default_database": "sales",
    }
    fields.update(kwargs)
    return Pipeline(**fields)  # type: ignore[arg-type]


def test_connection_id_turns_dashes_into_underscores() -> None:
    assert access.connection_id("orders-ingest") == "mongo_orders_ingest"
    assert access.connection_id("a_b-c") == "mongo_a_b_c"


def test_presets_resolve_to_exact_atlas_actions() -> None:
    assert access.resolve_actions("read") == ("FIND", "LIST_INDEXES", "COLL_STATS")
    assert access.resolve_actions("read-write") == (
        "FIND",
        "INSERT",
        "UPDATE",
        "REMOVE",
        "LIST_INDEXES",
        "COLL_STATS",
    )
    assert access.resolve_actions("insert-only") == ("INSERT",)
    assert access.resolve_actions("read-changes") == ("FIND", "CHANGE_STREAM")
    with pytest.raises(KeyError):
        access.resolve_actions("readwrite")


def test_every_preset_action_is_grantable() -> None:
    for actions in access.PRESETS.values():
        assert set(actions) <= access.KNOWN_ACTIONS


def test_privileges_are_per_collection_sorted_and_unique() -> None:
    p = pipeline(
        "p",
        Grant(database="sales", collections=("orders", "items"), actions=("INSERT", "FIND")),
        Grant(database="sales", collections=("orders",), actions=("FIND",)),
    )
    assert access.privileges(p) == (
        Privilege(action="FIND", database="sales", collection="items"),
        Privilege(action="FIND", database="sales", collection="orders"),
        Privilege(action="INSERT", database="sales", collection="items"),
        Privilege(action="INSERT", database="sales", collection="orders"),
    )


def test_wildcard_and_database_actions_apply_to_the_whole_database() -> None:
    p = pipeline(
        "p",
        Grant(database="crm", collections=("*",), actions=("FIND",)),
        Grant(database="sales", collections=("orders",), actions=("LIST_COLLECTIONS", "FIND")),
    )
    assert access.privileges(p) == (
        Privilege(action="FIND", database="crm", collection=""),
        Privilege(action="FIND", database="sales", collection="orders"),
        Privilege(action="LIST_COLLECTIONS", database="sales", collection=""),
    )


def test_lookup_pattern_matches_exactly_the_given_ids() -> None:
    pattern = re.compile(access.lookup_pattern(["mongo_b", "mongo_a.x", "mongo_b"]))
    assert pattern.pattern == r"^(mongo_a\.x|mongo_b)$"
    assert pattern.match("mongo_b")
    assert pattern.match("mongo_a.x")
    for other in ("mongo_ax", "mongo_b2", "xmongo_b", "aws_default", "mongo_", ""):
        assert not pattern.match(other), other


@given(st.lists(pipeline_names, min_size=1, max_size=5, unique=True), st.text(max_size=30))
def test_lookup_pattern_never_matches_an_id_outside_the_set(names: list[str], other: str) -> None:
    ids = [access.connection_id(n) for n in names]
    matched = re.match(access.lookup_pattern(ids), other) is not None
    assert matched == (other in ids)


def test_names_are_derived_from_prefix_stack_and_pipeline() -> None:
    naming = Naming(prefix="aai", stack="prod")
    assert naming.execution_role() == "aai-prod-mwaa-exec"
    assert naming.pipeline_role("orders-ingest") == "aai-prod-pipeline-orders-ingest"
    assert naming.atlas_role("orders-ingest") == "aai-prod-orders-ingest"


def test_long_names_are_bounded_with_a_hash_suffix() -> None:
    naming = Naming(prefix="aai", stack="production-eu")
    name = "x" * 40
    role = naming.pipeline_role(name)
    assert len(role) == IAM_ROLE_NAME_MAX
    assert role.startswith("aai-production-eu-pipeline-xxxx")
    assert re.fullmatch(r".*-[0-9a-f]{8}", role)
    assert naming.pipeline_role(name) == role  # deterministic


def test_the_workload_idp_name_always_fits_atlas_display_name() -> None:
    # aai-<stack>-okta-workloads is 19 characters besides the stack name.
    assert Naming(prefix="aai", stack="s" * 31).atlas_workload_idp() == (
        f"aai-{'s' * 31}-okta-workloads"
    )
    bounded = Naming(prefix="aai", stack="s" * 32).atlas_workload_idp()
    assert len(bounded) == 50
    assert re.fullmatch(rf"aai-{'s' * 32}-okta-[0-9a-f]{{8}}", bounded)
    # The org stack accepts what an environment exports (infra/settings/org.py).
    assert IDP_NAME.match(bounded)


@given(
    st.lists(pipeline_names, min_size=2, max_size=2, unique=True),
    st.sampled_from(["dev", "a-very-long-stack-name"]),
)
def test_bounded_names_never_collide_and_fit_limits(names: list[str], stack: str) -> None:
    naming = Naming(prefix="aai", stack=stack)
    first, second = (naming.pipeline_role(n) for n in names)
    assert first != second
    assert len(first) <= IAM_ROLE_NAME_MAX
    atlas_first, atlas_second = (naming.atlas_role(n) for n in names)
    assert atlas_first != atlas_second
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", atlas_first)


def check(*pipelines: Pipeline, allow_wildcard: bool = True) -> list[str]:
    problems = access.check_pipelines(
        list(enumerate(pipelines)), clusters=["core"], allow_wildcard_collections=allow_wildcard
    )
    return [str(p) for p in problems]


def test_valid_pipelines_have_no_problems() -> None:
    assert check(pipeline("a"), pipeline("b")) == []


def test_duplicate_pipelines_are_rejected() -> None:
    assert check(pipeline("a"), pipeline("a")) == [
        "pipelines[1].name: duplicate pipeline 'a'; pipeline names must be unique: rename one "
        "or merge their grants"
    ]


def test_names_that_sanitize_to_the_same_connection_id_are_rejected() -> None:
    assert check(pipeline("orders-ingest"), pipeline("orders_ingest")) == [
        "pipelines[1].name: 'orders_ingest' and 'orders-ingest' both map to connection id "
        "'mongo_orders_ingest'; rename one of them"
    ]


def test_unknown_cluster_and_ungranted_default_database_are_rejected() -> None:
    assert check(pipeline("a", cluster="other", default_database="crm")) == [
        "pipelines[0].cluster: unknown cluster 'other'; use one of core",
        "pipelines[0].defaultDatabase: 'crm' is not granted to this pipeline; use one of sales",
    ]


def test_wildcard_collections_need_explicit_permission() -> None:
    wildcard = pipeline("a", Grant(database="sales", collections=("*",), actions=("FIND",)))
    assert check(wildcard, allow_wildcard=True) == []
    assert check(wildcard, allow_wildcard=False) == [
        "pipelines[0].grants[0].collections: '*' (every collection) is not allowed in this "
        "stack; list the collections, or set allowWildcardCollections: true to accept it"
    ]


def test_vault_okta_and_atlas_names_of_a_stack() -> None:
    naming = Naming(prefix="aai", stack="prod")
    assert [
        naming.vault_database_mount(),
        naming.vault_aws_auth_mount(),
        naming.vault_kv_mount(),
        naming.vault_airflow_auth_mount(),
        naming.vault_airflow_role(),
        naming.vault_pipeline_policy("finance"),
        naming.vault_execution_policy(),
        naming.vault_audit_path("file"),
        naming.okta_auth_server(),
        naming.okta_app_label("partner-feed"),
        naming.default_okta_audience(),
        naming.atlas_workload_idp(),
    ] == [
        "aai-prod-atlas",
        "aai-prod-aws",
        "aai-prod-airflow",
        "aai-prod-aws-airflow",
        "aai-prod-airflow",
        "aai-prod-finance",
        "aai-prod-airflow-connections",
        "aai-prod-file",
        "aai-prod-atlas",
        "aai-prod-partner-feed",
        "api://aai-prod-atlas",
        "aai-prod-okta-workloads",
    ]


def test_credential_lifetime_is_the_modes_own_limit() -> None:
    limits: dict[str, Any] = {
        "session_seconds": 3600,
        "okta_token_minutes": 15,
        "vault_max_ttl": 1800,
    }
    assert {mode: access.credential_lifetime(mode, **limits) for mode in AuthMode} == {
        AuthMode.AWS_IAM: 3600,
        AuthMode.OKTA_OIDC: 900,
        AuthMode.VAULT_DYNAMIC: 1800,
    }
    unset: dict[str, Any] = {
        "session_seconds": 3600,
        "okta_token_minutes": None,
        "vault_max_ttl": None,
    }
    assert {access.credential_lifetime(mode, **unset) for mode in AuthMode} == {3600}


def test_access_matrix_has_a_row_per_namespace_with_the_identity_that_holds_it() -> None:
    orders = pipeline(
        "orders-ingest",
        Grant(database="sales", collections=("orders",), actions=("FIND", "INSERT")),
        Grant(database="sales", collections=("*",), actions=("LIST_COLLECTIONS",)),
    )
    finance = pipeline("finance", auth_mode=AuthMode.VAULT_DYNAMIC)
    rows = access.access_matrix(
        [orders, finance],
        naming=Naming(prefix="aai", stack="dev"),
        identities={"orders-ingest": "arn:aws:iam::1:role/r"},
        custom_roles={"orders-ingest": "aai-dev-orders-ingest", "finance": "aai-dev-finance"},
        lifetimes={AuthMode.AWS_IAM: 3600, AuthMode.VAULT_DYNAMIC: 900},
    )
    assert [
        (r["pipeline"], r["identity"], r["database"], r["collection"], r["actions"]) for r in rows
    ] == [
        ("orders-ingest", "arn:aws:iam::1:role/r", "sales", "*", ["LIST_COLLECTIONS"]),
        ("orders-ingest", "arn:aws:iam::1:role/r", "sales", "orders", ["FIND", "INSERT"]),
        ("finance", "vault:aai-dev-atlas/creds/finance", "sales", "orders", ["FIND"]),
    ]
    assert [r["credentialLifetimeSeconds"] for r in rows] == [3600, 3600, 900]


@pytest.mark.parametrize(
    "stack", ["prod", "x" * 40, "a-very-long-environment-name_with_underscore__"]
)
def test_every_pipeline_role_name_starts_with_the_audited_prefix(stack: str) -> None:
    """The audit filter matches pipeline roles by this prefix (components/atlas/audit_filter.py)."""
    naming = Naming(prefix="aai", stack=stack)
    prefix = naming.pipeline_role_prefix()
    assert prefix.startswith(f"aai-{stack}"[:40])
    for pipeline in ("a1", "orders-ingest", "p" * 40):
        assert naming.pipeline_role(pipeline).startswith(prefix), (stack, pipeline)
    # The execution role is not a pipeline: it must not match.
    assert not naming.execution_role().startswith(prefix)
