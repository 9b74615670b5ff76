"""Service limits: each trips exactly at its boundary, and the values match their oracles."""

from __future__ import annotations

import json
from typing import Any

import botocore.loaders
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model import limits
from model.limits import checks as checks
from tests.paths import ROOT

EXEC = "aai-t-mwaa-exec"


def planned(type_: str, resource: str, /, **props: Any) -> checks.Planned:
    return checks.Planned(type=type_, urn=f"urn:pulumi:t::p::{type_}::{resource}", props=props)


def document_of_size(size: int) -> str:
    """An IAM policy document of exactly `size` non-whitespace characters, pretty-printed."""
    statement = {"Sid": ""}
    skeleton = {"Version": "2012-10-17", "Statement": [statement]}
    padding = size - limits.policy_characters(skeleton)
    assert padding >= 0
    statement["Sid"] = "S" * padding
    text = json.dumps(skeleton, indent=4)
    assert limits.policy_characters(text) == size
    return text


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(limits.LIMITS))
def test_every_limit_trips_exactly_above_its_value(measured: int, limit: limits.Limit) -> None:
    found = limits.exceeds(limit, measured, subject="s", fix="f")
    assert (found is not None) == (measured > limit.value)
    if found is not None:
        assert (found.measured, found.allowed) == (measured, limit.value)


@given(st.integers(min_value=1, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_a_raised_limit_trips_exactly_above_the_raised_value(allowed: int, measured: int) -> None:
    found = limits.exceeds(limits.ATLAS_CUSTOM_ROLES_PER_PROJECT, measured, subject="s", fix="f",
                           allowed=allowed)  # fmt: skip
    assert (found is not None) == (measured > allowed)


def test_message_names_limit_measured_value_source_and_fix() -> None:
    found = limits.exceeds(
        limits.ATLAS_USERS_PER_PROJECT, 150, subject="Atlas project p", fix="split it", allowed=120
    )
    assert found is not None
    assert found.message == (
        "Atlas project p: 150 database users exceed the limit of 120 (raised from 100) on Atlas "
        "database users in one project (vault-dynamic leases are users too) "
        "[atlas-database-users-per-project; Atlas Service Limits, "
        "https://www.mongodb.com/docs/atlas/reference/atlas-limits/]; fix: split it"
    )


def test_policy_size_ignores_whitespace_as_iam_counts_it() -> None:
    compact = '{"Version":"2012-10-17","Statement":[]}'
    assert limits.policy_characters(compact) == len(compact)
    assert limits.policy_characters(json.dumps(json.loads(compact), indent=8)) == len(compact)
    assert limits.policy_characters(json.loads(compact)) == len(compact)


@pytest.mark.parametrize("split", [1, 2, 5])
def test_inline_policies_of_a_role_count_together_and_trip_above_10240(split: int) -> None:
    role = planned("aws:iam/role:Role", "exec", name=EXEC, assumeRolePolicy="{}")
    per_policy = 10_240 // split

    def policies(total: int) -> list[checks.Planned]:
        sizes = [per_policy] * (split - 1) + [total - per_policy * (split - 1)]
        return [
            planned("aws:iam/rolePolicy:RolePolicy", f"p{i}", role=EXEC, policy=document_of_size(n))
            for i, n in enumerate(sizes)
        ]

    assert checks.iam_exceeded([role, *policies(10_240)]) == []
    [found] = checks.iam_exceeded([role, *policies(10_241)])
    assert (found.limit, found.measured, found.urn) == (
        limits.IAM_ROLE_INLINE_POLICIES,
        10_241,
        role.urn,
    )
    # Policies of another role do not count towards this one.
    other = planned("aws:iam/rolePolicy:RolePolicy", "o", role="other", policy=document_of_size(60))
    assert checks.iam_exceeded([role, *policies(10_240), other]) == []


@pytest.mark.parametrize(
    ("limit", "make"),
    [
        (
            limits.IAM_TRUST_POLICY,
            lambda n: planned(
                "aws:iam/role:Role", "r", name="r", assumeRolePolicy=document_of_size(n)
            ),
        ),
        (
            limits.IAM_MANAGED_POLICY,
            lambda n: planned("aws:iam/policy:Policy", "m", policy=document_of_size(n)),
        ),
        (
            limits.IAM_ROLE_NAME,
            lambda n: planned("aws:iam/role:Role", "r", name="r" * n, assumeRolePolicy="{}"),
        ),
    ],
    ids=lambda v: getattr(v, "key", ""),
)
def test_iam_document_and_name_limits_trip_at_their_boundary(
    limit: limits.Limit, make: Any
) -> None:
    assert checks.iam_exceeded([make(limit.value)]) == []
    [found] = checks.iam_exceeded([make(limit.value + 1)])
    assert (found.limit, found.measured) == (limit, limit.value + 1)


def atlas_stack(users: int, roles: int, project: str = "p1") -> list[checks.Planned]:
    role = [{"roleName": "r", "databaseName": "admin"}]
    return [
        planned(
            "mongodbatlas:index/databaseUser:DatabaseUser", f"u{i}", projectId=project, roles=role
        )
        for i in range(users)
    ] + [
        planned("mongodbatlas:index/customDbRole:CustomDbRole", f"r{i}", projectId=project)
        for i in range(roles)
    ]


def test_atlas_users_and_custom_roles_per_project_trip_above_100() -> None:
    assert checks.atlas_exceeded(atlas_stack(100, 100)) == []
    found = checks.atlas_exceeded(atlas_stack(101, 101))
    assert [(e.limit, e.measured, e.allowed) for e in found] == [
        (limits.ATLAS_USERS_PER_PROJECT, 101, 100),
        (limits.ATLAS_CUSTOM_ROLES_PER_PROJECT, 101, 100),
    ]
    # Each project has its own limit.
    assert checks.atlas_exceeded(atlas_stack(100, 100) + atlas_stack(100, 100, "p2")) == []


def test_raised_custom_role_limit_is_the_boundary() -> None:
    raised = {"p1": {"customRoles": 1400}}
    assert checks.atlas_exceeded(atlas_stack(1, 1400), raised=raised) == []
    [found] = checks.atlas_exceeded(atlas_stack(1, 1401), raised=raised)
    assert (found.measured, found.allowed) == (1401, 1400)
    # The raise is the project's own: the same count in another project meets Atlas' default.
    [other] = checks.atlas_exceeded(atlas_stack(1, 101, project="p2"), raised=raised)
    assert (other.measured, other.allowed) == (101, 100)


@pytest.mark.parametrize(("held", "exceeded"), [(20, False), (21, True)])
def test_custom_roles_per_user_trip_above_20(held: int, exceeded: bool) -> None:
    roles = [{"roleName": f"r{i}", "databaseName": "admin"} for i in range(held)]
    user = planned("mongodbatlas:index/databaseUser:DatabaseUser", "u", projectId="p", roles=roles)
    found = checks.atlas_exceeded([user])
    assert [(e.limit, e.measured, e.urn) for e in found] == (
        [(limits.ATLAS_CUSTOM_ROLES_PER_USER, held, user.urn)] if exceeded else []
    )


def test_mwaa_option_key_and_value_lengths_trip_at_their_boundary() -> None:
    ok = {"k" * 64: "v" * 65_536}
    assert checks.mwaa_exceeded([], {"airflowConfigurationOptions": ok}) == []
    bad = {"k" * 65: "v", "secrets.backend_kwargs": "v" * 65_537}
    found = checks.mwaa_exceeded([], {"airflowConfigurationOptions": bad})
    assert sorted((e.limit.key, e.measured) for e in found) == [
        ("mwaa-configuration-option-key", 65),
        ("mwaa-configuration-option-value", 65_537),
    ]


def test_a_masked_environment_is_measured_by_the_stack_export() -> None:
    env = planned("aws:mwaa/environment:Environment", "env", airflowConfigurationOptions="[secret]")
    found = checks.mwaa_exceeded([env], {"airflowConfigurationOptions": {"a": "v" * 65_537}})
    assert [(e.urn, e.measured) for e in found] == [(env.urn, 65_537)]


def test_mwaa_option_limits_are_the_botocore_service_model() -> None:
    """The oracle: the MWAA API model botocore ships (uv.lock pins botocore)."""
    model = botocore.loaders.Loader().load_service_model("mwaa", "service-2")
    shapes = model["shapes"]
    options = shapes["AirflowConfigurationOptions"]
    assert shapes[options["key"]["shape"]]["max"] == limits.MWAA_OPTION_KEY.value
    assert shapes[options["value"]["shape"]]["max"] == limits.MWAA_OPTION_VALUE.value


@pytest.mark.parametrize(
    ("limit", "make"),
    [
        (limits.OKTA_APP_LABEL, lambda n: planned("okta:app/oAuth:OAuth", "app", label="a" * n)),
        (
            limits.OKTA_AUTH_SERVER_NAME,
            lambda n: planned("okta:auth/server:Server", "server", name="s" * n),
        ),
    ],
    ids=lambda v: getattr(v, "key", ""),
)
def test_okta_names_trip_at_their_boundary(limit: limits.Limit, make: Any) -> None:
    assert checks.okta_exceeded([make(limit.value)]) == []
    [found] = checks.okta_exceeded([make(limit.value + 1)])
    assert (found.limit, found.measured, found.urn) == (limit, limit.value + 1, make(1).urn)


def test_okta_name_message_names_the_limit_its_source_and_the_fix() -> None:
    [found] = checks.okta_exceeded([planned("okta:auth/server:Server", "s", name="s" * 51)])
    assert found.message == (
        f"Okta authorization server {'s' * 51}: 51 characters exceed the limit of 50 on Okta "
        "authorization server name [okta-authorization-server-name; Okta Support: Character "
        "Limits for Various Okta Features and Fields, https://support.okta.com/help/s/article/"
        "What-Are-the-Character-Limits-for-Certain-Fields-in-the-Okta-Console]; fix: shorten "
        "namePrefix or the stack name (the server is named <namePrefix>-<stack>-atlas)"
    )


MIB = 1_048_576


def hcl_of_size(size: int) -> str:
    """A Vault policy of exactly `size` UTF-8 bytes: one path block and a padding comment."""
    block = 'path "kv/data/x" {\n  capabilities = ["read"]\n}\n# '
    return block + "é" * ((size - len(block)) // 2) + "x" * ((size - len(block)) % 2)


def definition_of_size(size: int) -> dict[str, Any]:
    """A connection definition whose `json.dumps` is exactly `size` bytes."""
    empty = len(json.dumps({"conn_type": "mongo", "extra": ""}))
    return {"conn_type": "mongo", "extra": "x" * (size - empty)}


def kv_secret(data_json: Any) -> checks.Planned:
    return planned(
        "vault:kv/secretV2:SecretV2", "kv", name="connections/mongo_a", dataJson=data_json
    )


@pytest.mark.parametrize(
    ("make", "outputs"),
    [
        (lambda n: planned("vault:index/policy:Policy", "p", name="p", policy=hcl_of_size(n)), {}),
        (lambda n: kv_secret(json.dumps(definition_of_size(n))), {}),
        # The snapshot form of a JSON string.
        (lambda n: kv_secret({"__json__": definition_of_size(n)}), {}),
        # Offline the provider masks dataJson: the exported definition is measured.
        (
            lambda n: kv_secret("[secret]"),
            lambda n: {"connectionDefinitions": {"mongo_a": definition_of_size(n)}},
        ),
        (
            lambda n: planned(
                "vault:database/secretBackendConnection:SecretBackendConnection",
                "c",
                name="atlas",
                allowedRoles=["r" * (n - 4)],  # ["…"]: 4 bytes of JSON around the name
            ),
            {},
        ),
    ],
    ids=["policy", "kv-text", "kv-snapshot-form", "kv-masked-export", "connection-roles"],
)
def test_vault_storage_entries_trip_above_one_mib(make: Any, outputs: Any) -> None:
    def stack_outputs(n: int) -> dict[str, Any]:
        return dict(outputs(n) if callable(outputs) else outputs)

    assert checks.vault_exceeded([make(MIB)], stack_outputs(MIB)) == []
    [found] = checks.vault_exceeded([make(MIB + 1)], stack_outputs(MIB + 1))
    assert (found.limit, found.measured, found.urn) == (
        limits.VAULT_STORAGE_ENTRY,
        MIB + 1,
        make(1).urn,
    )


def test_a_masked_kv_secret_without_an_exported_definition_is_not_measured() -> None:
    assert checks.kv_secret_bytes("[secret]", "connections/mongo_a", {}) is None
    assert checks.vault_exceeded([kv_secret("[secret]")], {"connectionDefinitions": {}}) == []


def test_vault_message_names_the_limit_its_source_and_the_fix() -> None:
    policy = planned("vault:index/policy:Policy", "p", name="aai-t-a", policy=hcl_of_size(MIB + 1))
    [found] = checks.vault_exceeded([policy], {})
    assert found.message == (
        "Vault policy aai-t-a: 1048577 bytes exceed the limit of 1048576 on one Vault storage "
        "entry (integrated storage's default; Consul storage: 512 KiB): an ACL policy, a KV v2 "
        "secret version, a database connection's configuration [vault-storage-entry; Vault "
        "limits and maximums, https://developer.hashicorp.com/vault/docs/internals/limits]; "
        "fix: split its rules over more policies (a login role can attach several)"
    )


def test_sources_are_named_with_https_urls_and_raisable_limits_say_how() -> None:
    assert len({limit.key for limit in limits.LIMITS}) == len(limits.LIMITS)
    for limit in limits.LIMITS:
        name, url = limit.source
        assert name, limit.key
        assert url.startswith("https://"), limit.key
        assert limit.maximum is None or limit.maximum > limit.value, limit.key
    assert {limit.key for limit in limits.LIMITS if limit.raisable} == {
        "iam-role-trust-policy",
        "iam-roles-per-account",
        "atlas-database-users-per-project",
        "atlas-custom-roles-per-project",
        "vault-storage-entry",
    }


def test_docs_list_every_limit_as_the_module_renders_them() -> None:
    text = (ROOT / "docs" / "limits.md").read_text()
    assert limits.markdown_table() in text
