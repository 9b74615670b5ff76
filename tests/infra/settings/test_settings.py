"""Stack settings: typed parsing, tier defaults, and every problem reported with its key path."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from infra import settings as s
from infra.settings import SettingsError
from model.access import AuthMode, Grant, Tier
from model.limits.values import MWAA_AIRFLOW_VERSIONS
from model.specs import AuditDevice
from tests.infra.settings import messages


def parse(values: dict[str, Any], stack: str = "test") -> s.Settings:
    return s.parse(values, project="airflow-atlas-identity", stack=stack)


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        parse(values)
    return [str(p) for p in raised.value.problems]


def test_valid_config_becomes_typed_frozen_settings(base_config: dict[str, Any]) -> None:
    settings = parse(base_config)
    w = settings.wiring
    assert settings.tier is Tier.DEV
    assert w.naming.base == "aai-test"
    assert w.connections_prefix == "airflow/test/connections"
    assert w.cluster_hosts == {"core": "core.ab1cd.mongodb.net"}
    assert w.pipeline_session_seconds == 3600
    assert w.mwaa is None
    assert [p.name for p in w.pipelines] == ["orders-ingest", "revenue-report"]
    first = w.pipelines[0]
    assert first.auth_mode is AuthMode.AWS_IAM
    assert first.cluster == "core"  # the only cluster is the default
    assert first.default_database == "sales"  # the first grant's database
    assert first.grants[1] == Grant(
        database="reference",
        collections=("currencies",),
        actions=("FIND", "LIST_INDEXES", "COLL_STATS"),
    )
    with pytest.raises(AttributeError):
        settings.tier = Tier.PROD  # type: ignore[misc]


def test_tier_sets_the_secure_defaults(base_config: dict[str, Any]) -> None:
    dev = parse(base_config).wiring
    assert (dev.audit_authorization_success, dev.protect_stateful_resources) == (True, False)
    prod = parse({**base_config, "tier": "prod"}).wiring
    assert (prod.audit_authorization_success, prod.protect_stateful_resources) == (True, True)


def test_only_dev_may_turn_off_audited_authorization_successes(
    base_config: dict[str, Any],
) -> None:
    off = {**base_config, "auditAuthorizationSuccess": False}
    assert parse(off).wiring.audit_authorization_success is False
    for tier in ("staging", "prod"):
        with pytest.raises(SettingsError) as raised:
            parse({**off, "tier": tier})
        assert [str(p) for p in raised.value.problems] == [
            f"auditAuthorizationSuccess: must be true in tier {tier}: without it Atlas records "
            "no successful data access (docs/auditing.md); remove the key"
        ]


def test_explicit_booleans_override_the_tier_defaults(base_config: dict[str, Any]) -> None:
    w = parse({**base_config, "tier": "prod", "protectStatefulResources": False}).wiring
    assert w.protect_stateful_resources is False


def test_values_arrive_as_the_cli_passes_them_strings_and_json(base_config: dict[str, Any]) -> None:
    as_cli = {
        **base_config,
        "pipelineSessionSeconds": "1800",
        "auditAuthorizationSuccess": "true",
        "atlasClusters": '[{"name": "core", "srvHost": "core.ab1cd.mongodb.net"}]',
    }
    w = parse(as_cli).wiring
    assert w.pipeline_session_seconds == 1800
    assert w.audit_authorization_success is True


def test_load_reads_the_stack_config_through_pulumi(base_config: dict[str, Any]) -> None:
    from devtools.offline import to_config_strings

    saved = dict(pulumi.runtime.config.CONFIG.get())
    try:
        pulumi.runtime.set_all_config(to_config_strings("airflow-atlas-identity", base_config))
        settings = s.load(pulumi.Config("airflow-atlas-identity"))
    finally:
        pulumi.runtime.set_all_config(saved)
    assert [p.connection_id for p in settings.wiring.pipelines] == [
        "mongo_orders_ingest",
        "mongo_revenue_report",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"tier": "production"},
            "tier: 'production' is not valid; use one of dev, staging, prod",
        ),
        (
            {"awsAccountId": "12345"},
            "awsAccountId: '12345' is not valid; use the 12-digit account id, e.g. 123456789012",
        ),
        (
            {"atlasProjectId": None},
            "atlasProjectId: is required; use the 24-character hex project id from the Atlas UI",
        ),
        (
            {"pipelineSessionSeconds": 60},
            "pipelineSessionSeconds: 60 is outside 900..43200 for tier dev; use a value in that range",
        ),
        (
            {"regoin": "eu-west-1"},
            "regoin: unknown key; known keys are " + ", ".join(sorted(s.KEYS)),
        ),
        (
            {"mwaaSubnetIds": ["subnet-1", "subnet-2"]},
            "mwaaSubnetIds: only applies when mwaaCreateEnvironment is true; remove it or set "
            "mwaaCreateEnvironment: true",
        ),
        (
            {"atlasClusters": [{"name": "core", "srvHost": "localhost"}]},
            "atlasClusters[0].srvHost: 'localhost' is not valid; use the SRV host from the Atlas "
            "connect dialog, e.g. core.ab1cd.mongodb.net",
        ),
    ],
)
def test_top_level_problems_name_the_key_and_the_fix(
    base_config: dict[str, Any], change: dict[str, Any], expected: str
) -> None:
    config = {**base_config, **change}
    config = {k: v for k, v in config.items() if v is not None}
    assert problems(config) == [expected]


def test_prod_caps_the_pipeline_session(base_config: dict[str, Any]) -> None:
    assert problems({**base_config, "tier": "prod", "pipelineSessionSeconds": 7200}) == [
        "pipelineSessionSeconds: 7200 is outside 900..3600 for tier prod; use a value in that range"
    ]


def grant_problems(base_config: dict[str, Any], grant: dict[str, Any]) -> list[str]:
    base_config["pipelines"][1]["grants"] = [grant]
    return problems(base_config)


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        (
            {"database": "sales", "collections": ["orders"], "access": "readwrite"},
            [messages.not_a_preset("pipelines[1].grants[0].access", "readwrite")],
        ),
        (
            {"database": "sales", "collections": ["orders"], "actions": ["FIND", "DROP_DATABASE"]},
            [messages.not_grantable("pipelines[1].grants[0].actions[1]", "DROP_DATABASE")],
        ),
        (
            {"database": "sales", "collections": ["orders"]},
            [messages.neither_preset_nor_actions("pipelines[1].grants[0]")],
        ),
        (
            {"database": "admin", "collections": ["system.users"], "access": "read"},
            [
                "pipelines[1].grants[0].database: 'admin' is reserved by MongoDB and cannot be "
                "granted; grant an application database",
                "pipelines[1].grants[0].collections[0]: 'system.users' is not a valid collection "
                "name (no '$', not system.*)",
            ],
        ),
        (
            {"database": "sales", "collections": [], "access": "read"},
            ["pipelines[1].grants[0].collections: is empty; list the collections, or '*' for all"],
        ),
        (
            {"database": "sales", "collections": ["orders", "*"], "access": "read"},
            [
                "pipelines[1].grants[0].collections: '*' already means every collection; list '*' "
                "alone"
            ],
        ),
    ],
)
def test_grant_problems_name_the_exact_path(
    base_config: dict[str, Any], grant: dict[str, Any], expected: list[str]
) -> None:
    assert grant_problems(base_config, grant) == expected


def test_every_problem_is_reported_together(base_config: dict[str, Any]) -> None:
    base_config["awsRegion"] = "Europe"
    base_config["pipelines"][0]["grants"][0]["access"] = "readwrite"
    base_config["pipelines"][1]["name"] = "orders_ingest"
    base_config["pipelines"].append({"name": "empty", "authMode": "aws-iam", "grants": []})
    assert problems(base_config) == [
        "awsRegion: 'Europe' is not valid; use e.g. eu-west-1",
        messages.not_a_preset("pipelines[0].grants[0].access", "readwrite"),
        "pipelines[2].grants: is empty; a pipeline needs at least one grant (database, "
        "collections, access)",
        # pipelines[0] was invalid, so orders_ingest has no earlier twin to collide with.
    ]


def test_sanitized_name_collision_is_reported(base_config: dict[str, Any]) -> None:
    base_config["pipelines"][1]["name"] = "orders_ingest"
    assert problems(base_config) == [
        "pipelines[1].name: 'orders_ingest' and 'orders-ingest' both map to connection id "
        "'mongo_orders_ingest'; rename one of them"
    ]


def test_pipeline_shape_problems(base_config: dict[str, Any]) -> None:
    base_config["atlasClusters"].append(
        {"name": "analytics", "srvHost": "analytics.ab1cd.mongodb.net"}
    )
    base_config["pipelines"][0].update({"name": "Orders", "authMode": "iam", "colour": "red"})
    assert problems(base_config) == [
        "pipelines[0].colour: unknown key; known keys are authMode, cluster, concurrentLeases, "
        "defaultDatabase, description, grants, name",
        "pipelines[0].name: 'Orders' is not valid; use lowercase letters, digits, '-' or '_', "
        "starting with a letter",
        "pipelines[0].authMode: 'iam' is not valid; use one of aws-iam, okta-oidc, vault-dynamic",
        "pipelines[0].cluster: is required; name one of atlasClusters (required when there are "
        "several)",
        "pipelines[1].cluster: is required; name one of atlasClusters (required when there are "
        "several)",
    ]


def test_created_mwaa_environment_needs_its_network(base_config: dict[str, Any]) -> None:
    config = {
        **base_config,
        "mwaaCreateEnvironment": True,
        "mwaaAirflowVersion": "3.0.6",
        "mwaaSubnetIds": ["subnet-1"],
    }
    assert problems(config) == [
        "mwaaSubnetIds: MWAA needs exactly 2 private subnets, got 1",
        "mwaaSecurityGroupIds: must be a list of non-empty strings",
    ]


def test_created_mwaa_environment_settings(base_config: dict[str, Any]) -> None:
    config = {
        **base_config,
        "mwaaCreateEnvironment": True,
        "mwaaAirflowVersion": "3.0.6",
        "mwaaSubnetIds": ["subnet-1", "subnet-2"],
        "mwaaSecurityGroupIds": ["sg-1"],
    }
    mwaa = parse(config).wiring.mwaa
    assert mwaa is not None
    assert (mwaa.environment_class, mwaa.dag_s3_path, mwaa.webserver_access_mode) == (
        "mw1.small",
        "dags",
        "PRIVATE_ONLY",
    )


def test_the_package_version_follows_mwaa_airflow_version(base_config: dict[str, Any]) -> None:
    # Not created: optional, and set it only builds what the stack exports (mwaaPackage).
    assert parse(base_config).wiring.mwaa_package_version is None
    existing = parse({**base_config, "mwaaAirflowVersion": "3.0.6"}).wiring
    assert (existing.mwaa, existing.mwaa_package_version) == (None, "3.0.6")
    created = {
        **base_config,
        "mwaaCreateEnvironment": True,
        "mwaaAirflowVersion": "3.0.6",
        "mwaaSubnetIds": ["subnet-1", "subnet-2"],
        "mwaaSecurityGroupIds": ["sg-1"],
    }
    assert parse(created).wiring.mwaa_package_version == "3.0.6"
    del created["mwaaAirflowVersion"]
    assert problems(created) == [
        "mwaaAirflowVersion: (missing) is not valid; use one of " + ", ".join(MWAA_AIRFLOW_VERSIONS)
    ]


def test_a_version_without_kept_constraints_cannot_be_packaged(
    base_config: dict[str, Any],
) -> None:
    # MWAA offers 2.10.3, but requirements/ keeps no constraints for it: no package to build.
    assert problems({**base_config, "mwaaAirflowVersion": "2.10.3"}) == [
        "mwaaAirflowVersion: '2.10.3' has no MWAA constraints kept in requirements/, so its "
        "package cannot be built; use one of 3.0.6, 3.3.1"
    ]


OKTA = {
    "atlasWorkloadIdpId": "6c1d2e3f40516273849a5b6c",
}


def okta_config(base_config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base_config["pipelines"][1]["authMode"] = "okta-oidc"
    return {**base_config, **OKTA, **extra}


def test_okta_defaults_depend_on_the_tier(base_config: dict[str, Any]) -> None:
    dev = parse(okta_config(base_config)).wiring.okta
    assert dev is not None
    assert (dev.audience, dev.scope, dev.token_lifetime_minutes, dev.key_rotation_hours) == (
        "api://aai-test-atlas",
        "mongodb.access",
        60,
        24,
    )
    prod = parse({**okta_config(base_config), "tier": "prod"}).wiring.okta
    assert prod is not None
    assert prod.token_lifetime_minutes == 15


@pytest.mark.parametrize(
    ("tier", "extra", "expected"),
    [
        (
            "prod",
            {"oktaTokenLifetimeMinutes": 30},
            "oktaTokenLifetimeMinutes: 30 is outside 5..15 for tier prod "
            "(oktaProdMaxTokenLifetimeMinutes is 15); use a value in that range",
        ),
        (
            "dev",
            {"oktaTokenLifetimeMinutes": 2},
            "oktaTokenLifetimeMinutes: 2 is outside 5..1440; use a value in that range",
        ),
        (
            "dev",
            {"oktaKeyRotationHours": 0},
            "oktaKeyRotationHours: 0 is outside 1..8760; use a value in that range",
        ),
        (
            "dev",
            {"atlasWorkloadIdpId": "acme"},
            "atlasWorkloadIdpId: 'acme' is not valid; use the 24-character hex id from the Atlas "
            "UI (the org stack's workloadIdpIds.<stack> output)",
        ),
        (
            "dev",
            {"atlasOrgId": "5f0e1d2c3b4a596877665544"},
            "atlasOrgId: only applies with vault-dynamic pipelines; remove it",
        ),
    ],
)
def test_okta_problems(
    base_config: dict[str, Any], tier: str, extra: dict[str, Any], expected: str
) -> None:
    assert problems({**okta_config(base_config, **extra), "tier": tier}) == [expected]


def test_prod_token_cap_is_configurable(base_config: dict[str, Any]) -> None:
    config = {
        **okta_config(base_config, oktaProdMaxTokenLifetimeMinutes=30, oktaTokenLifetimeMinutes=30),
        "tier": "prod",
    }
    okta = parse(config).wiring.okta
    assert okta is not None
    assert okta.token_lifetime_minutes == 30


def test_okta_settings_need_an_okta_pipeline(base_config: dict[str, Any]) -> None:
    assert problems({**base_config, "oktaScope": "x"}) == [
        "oktaScope: only applies when a pipeline uses authMode okta-oidc; remove it"
    ]


def test_okta_pipelines_need_no_atlas_organization_setting(base_config: dict[str, Any]) -> None:
    base_config["pipelines"][1]["authMode"] = "okta-oidc"
    # The workload IdP and the org config are the org stack's; until the IdP exists the
    # pipeline waits for its Atlas user (tests/infra/test_program.py).
    okta = parse(base_config).wiring.okta
    assert okta is not None
    assert okta.atlas_workload_idp_id is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "atlasFederationSettingsId",
            "6a1b2c3d4e5f60718293a4b5",
            "the org stack creates the workload IdP now (creating one needs Atlas Organization "
            "Owner); remove this key and set atlasWorkloadIdpId to the id the org stack exports "
            "(migration: docs/operations.md, 'The org stack')",
        ),
        (
            "atlasWorkloadIdpStacks",
            ["prod"],
            "belongs to the org stack, where atlasWorkloadIdps replaces it; remove it",
        ),
        (
            "atlasWorkloadIdps",
            [],
            "belongs to the org stack (tier org), which creates the workload IdPs; move it there",
        ),
    ],
)
def test_org_level_keys_in_an_environment_say_where_they_went(
    base_config: dict[str, Any], key: str, value: Any, message: str
) -> None:
    assert problems(okta_config(base_config, **{key: value})) == [f"{key}: {message}"]


VAULT = {
    "vaultAddress": "https://vault.acme.internal:8200",
    "vaultAudit": [
        {"type": "file", "options": {"file_path": "/vault/audit/audit.log"}},
        {"type": "socket", "options": {"address": "collector:9090", "socket_type": "tcp"}},
    ],
    "atlasOrgId": "5f0e1d2c3b4a596877665544",
    "atlasVaultApiKeyAccessList": ["10.0.0.0/24", "192.0.2.10"],
}


def vault_config(base_config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base_config["pipelines"][1]["authMode"] = "vault-dynamic"
    return {**base_config, **VAULT, **extra}


def test_vault_defaults_depend_on_the_tier(base_config: dict[str, Any]) -> None:
    dev = parse(vault_config(base_config)).wiring.vault
    assert dev is not None
    assert (dev.default_ttl, dev.max_ttl) == (3600, 14400)
    assert dev.iam_server_id_header_value == "vault.acme.internal"
    assert dev.secrets_backend is False
    assert dev.api_key_access_list == ("10.0.0.0/24", "192.0.2.10")
    assert dev.api_key_rotation_days == 30
    prod = parse({**vault_config(base_config), "tier": "prod"}).wiring.vault
    assert prod is not None
    assert (prod.default_ttl, prod.max_ttl) == (900, 3600)
    assert prod.audit_devices == (
        AuditDevice(type="file", options={"file_path": "/vault/audit/audit.log"}),
        AuditDevice(type="socket", options={"address": "collector:9090", "socket_type": "tcp"}),
    )


def test_a_single_audit_object_is_one_device_outside_prod(base_config: dict[str, Any]) -> None:
    """The form written before the list: accepted, so existing stack files need no edit."""
    device = {"type": "file", "options": {"file_path": "/vault/audit/audit.log"}}
    dev = parse(vault_config(base_config, vaultAudit=device)).wiring.vault
    assert dev is not None
    assert dev.audit_devices == (
        AuditDevice(type="file", options={"file_path": "/vault/audit/audit.log"}),
    )
    assert problems({**vault_config(base_config, vaultAudit=device), "tier": "prod"}) == [
        "vaultAudit: prod needs at least 2 audit devices: Vault answers no request (logins, "
        "credentials, connection definitions) while every enabled device is blocked; add a "
        "device on another failure domain, e.g. file and socket"
    ]


def test_vault_as_backend_without_dynamic_pipelines(base_config: dict[str, Any]) -> None:
    config = {
        **base_config,
        "secretsBackend": "vault",
        "vaultAddress": VAULT["vaultAddress"],
        "vaultAudit": VAULT["vaultAudit"],
    }
    vault = parse(config).wiring.vault
    assert vault is not None
    assert vault.secrets_backend is True
    assert vault.api_key_access_list == ()


@pytest.mark.parametrize(
    ("tier", "change", "expected"),
    [
        (
            "dev",
            {"vaultDefaultTtlSeconds": 7200, "vaultMaxTtlSeconds": 3600},
            [
                "vaultDefaultTtlSeconds: 7200 exceeds vaultMaxTtlSeconds (3600): lower "
                "vaultDefaultTtlSeconds or raise vaultMaxTtlSeconds"
            ],
        ),
        (
            "prod",
            {"vaultMaxTtlSeconds": 7200},
            [
                "vaultMaxTtlSeconds: 7200 exceeds vaultTtlCeilingSeconds (3600): lower "
                "vaultMaxTtlSeconds or raise vaultTtlCeilingSeconds"
            ],
        ),
        (
            "dev",
            {"vaultAudit": None},
            [
                "vaultAudit: is required when Vault is used; add e.g. [{type: file, options: "
                "{file_path: /vault/audit/audit.log}}]"
            ],
        ),
        (
            "dev",
            {"vaultAudit": {"type": "socket", "options": {}}},
            ["vaultAudit.options.address: is required for a socket audit device"],
        ),
        (
            "dev",
            {"vaultAudit": "file"},
            [
                "vaultAudit: must be a list of audit devices {type, options}, e.g. [{type: "
                "file, options: {file_path: /vault/audit/audit.log}}]"
            ],
        ),
        (
            "prod",
            {
                "vaultAudit": [
                    {"type": "file", "options": {"file_path": "/a", "log_raw": "true"}},
                    {"type": "file", "options": {"file_path": "/b", "hmac_accessor": "f"}},
                    {"type": "syslog", "options": {"hmac_accessor": "maybe"}},
                ]
            },
            [
                "vaultAudit[0].options.log_raw: 'true' writes every secret Vault returns in "
                "clear; remove the option",
                "vaultAudit[1].options.hmac_accessor: 'f' writes token accessors in clear; "
                "remove the option",
                "vaultAudit[2].options.hmac_accessor: 'maybe' is not a boolean; use true or false",
                "vaultAudit[1].type: a second file device; list each device type once (its "
                "Vault path is <prefix>-<stack>-file)",
            ],
        ),
        (
            "prod",
            {"vaultAudit": [{"type": "socket", "options": {"address": "c:1"}}, "file"]},
            [
                "vaultAudit[1]: must be an object {type, options}",
            ],
        ),
        (
            "dev",
            {"vaultAddress": "http://vault:8200"},
            [
                "vaultAddress: 'http://vault:8200' is not valid; use the https URL workers reach Vault "
                "at, e.g. https://vault.acme.internal:8200"
            ],
        ),
        (
            "dev",
            {"atlasVaultApiKeyAccessList": ["0.0.0.0/0", "vault"]},
            [
                "atlasVaultApiKeyAccessList[0]: '0.0.0.0/0' allows every address; list Vault's egress",
                "atlasVaultApiKeyAccessList[1]: 'vault' is not an IP address or CIDR",
            ],
        ),
        (
            "dev",
            {"atlasVaultApiKeyAccessList": None},
            [
                "atlasVaultApiKeyAccessList: is required with vault-dynamic pipelines: list Vault's "
                "egress IPs or CIDRs"
            ],
        ),
        (
            "dev",
            {"secretsBackend": "ssm"},
            ["secretsBackend: 'ssm' is not valid; use one of secrets-manager, vault"],
        ),
    ],
)
def test_vault_problems(
    base_config: dict[str, Any], tier: str, change: dict[str, Any], expected: list[str]
) -> None:
    config = {**vault_config(base_config), "tier": tier, **change}
    assert problems({k: v for k, v in config.items() if v is not None}) == expected


def test_vault_settings_need_vault_in_use(base_config: dict[str, Any]) -> None:
    assert problems(
        {**base_config, "vaultAddress": VAULT["vaultAddress"], "atlasApiKeyRotationDays": 7}
    ) == [
        "atlasApiKeyRotationDays: only applies when a pipeline uses authMode vault-dynamic; remove it",
        "vaultAddress: only applies when Vault is used (a vault-dynamic pipeline or secretsBackend: "
        "vault); remove it",
    ]
