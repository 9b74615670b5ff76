"""Stack rules: Atlas auditing, Vault audit device, MWAA options, prod protect."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy.rules import (
    ATLAS_AUDITING,
    ATLAS_CUSTOM_ROLE,
    ATLAS_USER,
    MWAA_ENVIRONMENT,
    RULES_BY_NAME,
    VAULT_AUDIT,
    VAULT_AUTH_BACKEND,
    VAULT_DB_ROLE,
    VAULT_MOUNT,
    ResourceView,
    StackRule,
    StackView,
    effective_config,
)
from policy.rules.airflow import airflow_options_problems
from tests.policy import builders as b


def run(
    rule_name: str,
    resources: list[ResourceView],
    outputs: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> list[tuple[str, str]]:
    rule = RULES_BY_NAME[rule_name]
    assert isinstance(rule, StackRule)
    stack = StackView(resources=resources, outputs=outputs or {})
    return [
        (v.urn.split("::")[-1], v.message) for v in rule.run(stack, effective_config(rule, config))
    ]


def user(project: str = b.PROJECT) -> ResourceView:
    return b.view(ATLAS_USER, {**b.atlas_iam_user(), "projectId": project}, name="user")


def auditing(enabled: Any = True, project: str = b.PROJECT, protect: bool = True) -> ResourceView:
    props = {"projectId": project, "enabled": enabled, "auditFilter": "{}"}
    return b.view(ATLAS_AUDITING, props, name="auditing", protect=protect)


# --- atlas-audit-authorization-success ---------------------------------------------------------


def audit(success: Any) -> ResourceView:
    props = {"projectId": b.PROJECT, "enabled": True, "auditAuthorizationSuccess": success}
    return b.view(ATLAS_AUDITING, props, name="auditing")


@pytest.mark.parametrize("tier", ["prod", "staging"])
def test_data_tiers_record_successful_authorizations(tier: str) -> None:
    rule = "atlas-audit-authorization-success"
    assert run(rule, [audit(True)], outputs={"tier": tier}) == []
    assert run(rule, [audit(False)], outputs={"tier": tier}) == [
        (
            "auditing",
            f"auditAuthorizationSuccess is not true in tier {tier}: Atlas then records no "
            "successful read or write at all (docs/auditing.md); set it to true",
        )
    ]
    # Unset is Atlas' default: false.
    assert len(run(rule, [audit(None)], outputs={"tier": tier})) == 1


def test_dev_may_audit_failures_only_and_an_unknown_tier_is_prod() -> None:
    rule = "atlas-audit-authorization-success"
    assert run(rule, [audit(False)], outputs={"tier": "dev"}) == []
    assert len(run(rule, [audit(False)], outputs={})) == 1
    assert run(rule, [audit(False)], config={"tier": "dev"}) == []


# --- atlas-auditing-enabled ---------------------------------------------------------------------


def test_auditing_enabled_for_the_users_project() -> None:
    assert run("atlas-auditing-enabled", [user(), auditing()]) == []


def test_no_atlas_access_needs_no_auditing() -> None:
    assert run("atlas-auditing-enabled", [b.view("aws:iam/role:Role", {})]) == []


def test_auditing_missing() -> None:
    assert run("atlas-auditing-enabled", [user()]) == [
        (
            "",
            "the stack grants Atlas access but enables no project auditing; declare "
            "mongodbatlas.Auditing(enabled=True, audit_filter=...) for the project",
        )
    ]


@pytest.mark.parametrize("enabled", [False, None])
def test_auditing_disabled_or_enabled_unset(enabled: Any) -> None:
    found = run("atlas-auditing-enabled", [user(), auditing(enabled=enabled)])
    assert [urn for urn, _ in found] == ["auditing", ""]
    assert found[0][1] == (
        "auditing is declared but not enabled; set enabled=true so Atlas records who "
        "authenticated and what they accessed"
    )


def test_auditing_of_another_project_does_not_count() -> None:
    other = "fedcba9876543210fedcba98"
    role = b.view(ATLAS_CUSTOM_ROLE, {"projectId": other, "roleName": "r"}, name="role")
    assert run("atlas-auditing-enabled", [user(), role, auditing()]) == [
        (
            "role",
            f"Atlas project {other} has no enabled auditing in this stack; enable "
            "mongodbatlas.Auditing for it",
        )
    ]


def test_vault_database_roles_count_as_atlas_access() -> None:
    role = b.view(VAULT_DB_ROLE, b.vault_db_role())
    assert [urn for urn, _ in run("atlas-auditing-enabled", [role])] == [""]


# --- vault-audit-device -------------------------------------------------------------------------


def test_vault_with_audit_device() -> None:
    resources = [b.view(VAULT_MOUNT, {"type": "database"}), b.view(VAULT_AUDIT, {"type": "file"})]
    assert run("vault-audit-device", resources) == []


def test_no_vault_needs_no_audit_device() -> None:
    assert run("vault-audit-device", [user(), b.view("pulumi:providers:vault", {})]) == []


def test_vault_without_audit_device() -> None:
    assert run("vault-audit-device", [b.view(VAULT_DB_ROLE, b.vault_db_role())]) == [
        (
            "",
            "the stack configures Vault but declares no audit device; add vault.Audit (type "
            "file, socket or syslog) so every login and credential is recorded",
        )
    ]


# --- mwaa-secrets-backend -----------------------------------------------------------------------


def environment(options: Any) -> ResourceView:
    return b.view(MWAA_ENVIRONMENT, {"airflowConfigurationOptions": options}, name="env")


def test_options_compliant_on_the_environment_and_exported() -> None:
    assert airflow_options_problems(b.airflow_options()) == []
    assert run("mwaa-secrets-backend", [environment(b.airflow_options())]) == []
    assert (
        run("mwaa-secrets-backend", [], {"airflowConfigurationOptions": b.airflow_options()}) == []
    )


def test_secret_environment_options_fall_back_to_the_export() -> None:
    outputs = {"airflowConfigurationOptions": b.airflow_options(connections_lookup_pattern="DROP")}
    assert run("mwaa-secrets-backend", [environment("[secret]")], outputs) == [
        (
            "env",
            "MWAA `secrets.backend_kwargs` has no connections_lookup_pattern, so every connection "
            "lookup reaches the backend; set a pattern matching exactly this stack's ids",
        )
    ]
    assert run("mwaa-secrets-backend", [environment("[secret]")]) == [
        (
            "env",
            "airflowConfigurationOptions is secret in the plan and the stack exports no "
            "airflowConfigurationOptions to check instead; export them",
        )
    ]


def test_the_real_value_wins_over_the_export() -> None:
    """The pack sees the environment's real options; the export is only a fallback."""
    outputs = {"airflowConfigurationOptions": b.airflow_options()}
    options = {"secrets.backend_kwargs": "{}"}
    assert [m for _, m in run("mwaa-secrets-backend", [environment(options)], outputs)] == [
        "MWAA sets no `secrets.backend`; connections must come from a secrets backend (Secrets "
        "Manager or Vault), not from the metadata database",
        "MWAA `secrets.backend_kwargs` has no connections_lookup_pattern, so every connection "
        "lookup reaches the backend; set a pattern matching exactly this stack's ids",
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (None, ["has no Airflow configuration options; set secrets.backend and backend_kwargs"]),
        (
            {"secrets.backend": "x"},
            [
                "`secrets.backend_kwargs` is missing or not a JSON object; set it with a "
                "connections_lookup_pattern"
            ],
        ),
        (
            b.airflow_options(connections_lookup_pattern="mongo_orders|"),
            [
                "connections_lookup_pattern 'mongo_orders|' also matches 'aws_default'; anchor "
                "it to exactly this stack's connection ids (^(...)$)"
            ],
        ),
        (
            b.airflow_options(connections_lookup_pattern="(["),
            [
                "connections_lookup_pattern '([' is not a regex: unterminated character set "
                "at position 1"
            ],
        ),
        (
            b.airflow_options(token="s.abc", secret_id="x"),
            [
                "`secrets.backend_kwargs` carries a static credential (secret_id); authenticate "
                "the backend with the execution role (aws_iam) instead",
                "`secrets.backend_kwargs` carries a static credential (token); authenticate the "
                "backend with the execution role (aws_iam) instead",
            ],
        ),
    ],
)
def test_options_problems(options: Any, expected: list[str]) -> None:
    assert airflow_options_problems(options) == expected


def test_lookup_pattern_is_case_insensitive_like_airflow() -> None:
    """Airflow applies the pattern with re.IGNORECASE: `^MONGO_` still lets mongo_x through."""
    options = b.airflow_options(connections_lookup_pattern="^(AWS_DEFAULT|mongo_orders)$")
    assert airflow_options_problems(options) == [
        "connections_lookup_pattern '^(AWS_DEFAULT|mongo_orders)$' also matches 'aws_default'; "
        "anchor it to exactly this stack's connection ids (^(...)$)"
    ]


# --- prod-stateful-protected --------------------------------------------------------------------


def stateful(protect: bool) -> list[ResourceView]:
    return [
        b.view(VAULT_MOUNT, {"type": "kv"}, name="kv", protect=protect),
        b.view(VAULT_AUTH_BACKEND, {"type": "aws"}, name="aws-auth", protect=protect),
        auditing(protect=protect),
        b.view(MWAA_ENVIRONMENT, {}, name="env", protect=protect),
    ]


def test_protected_in_prod() -> None:
    assert run("prod-stateful-protected", stateful(True), {"tier": "prod"}) == []


def test_unprotected_in_prod() -> None:
    found = run("prod-stateful-protected", stateful(False), {"tier": "prod"})
    assert [urn for urn, _ in found] == ["kv", "aws-auth", "auditing", "env"]
    assert found[0][1] == (
        "vault:index/mount:Mount is not `protect`ed in a prod stack; deleting it revokes access "
        "or loses history: set ResourceOptions(protect=True)"
    )


def test_unprotected_outside_prod_is_fine() -> None:
    assert run("prod-stateful-protected", stateful(False), {"tier": "dev"}) == []


def test_tier_from_config_wins_and_missing_tier_is_prod() -> None:
    assert (
        len(run("prod-stateful-protected", stateful(False), {"tier": "dev"}, {"tier": "prod"})) == 4
    )
    assert run("prod-stateful-protected", stateful(False), {"tier": "prod"}, {"tier": "dev"}) == []
    assert len(run("prod-stateful-protected", stateful(False))) == 4


def test_protected_types_are_configurable() -> None:
    config = {"protectedTypes": [MWAA_ENVIRONMENT]}
    assert run("prod-stateful-protected", stateful(False), {"tier": "prod"}, config) == [
        (
            "env",
            "aws:mwaa/environment:Environment is not `protect`ed in a prod stack; deleting it "
            "revokes access or loses history: set ResourceOptions(protect=True)",
        )
    ]


# VaultBackend (providers-hashicorp 4.8.4) has no connections_lookup_pattern option.
VAULT_BACKEND_KWARGS: dict[str, Any] = {
    "auth_mount_point": "aai-prod-aws-airflow",
    "auth_type": "aws_iam",
    "config_path": None,
    "connections_path": "connections",
    "kv_engine_version": 2,
    "mount_point": "aai-prod-airflow",
    "region": "eu-west-1",
    "role_id": "aai-prod-airflow",
    "url": "https://vault.acme.internal:8200",
    "variables_path": None,
}


def vault_options(**overrides: Any) -> dict[str, str]:
    kwargs = {**VAULT_BACKEND_KWARGS, **overrides}
    return {
        "secrets.backend": "airflow.providers.hashicorp.secrets.vault.VaultBackend",
        "secrets.backend_kwargs": json.dumps({k: v for k, v in kwargs.items() if v != "DROP"}),
    }


def test_vault_backend_scoped_to_one_mount_needs_no_lookup_pattern() -> None:
    assert airflow_options_problems(vault_options()) == []


def test_vault_backend_with_other_lookups_or_unscoped() -> None:
    options = vault_options(variables_path="variables", mount_point="DROP", token="s.abc")
    assert airflow_options_problems(options) == [
        "VaultBackend `mount_point` is not set; read connections from this stack's own KV mount "
        "and path",
        "VaultBackend `variables_path` is set, so every Variable/config lookup also reaches Vault; "
        "set variables_path to null",
        "`secrets.backend_kwargs` carries a static credential (token); authenticate the backend "
        "with the execution role (aws_iam) instead",
    ]


def test_unknown_backends_need_a_lookup_pattern() -> None:
    options = {"secrets.backend": "my.Backend", "secrets.backend_kwargs": "{}"}
    assert airflow_options_problems(options) == [
        "`secrets.backend_kwargs` has no connections_lookup_pattern, so every connection lookup "
        "reaches the backend; set a pattern matching exactly this stack's ids"
    ]
