"""Each resource rule as a plain function: compliant, violating, missing property, limit."""

from __future__ import annotations

from typing import Any

import pytest

from policy import rules
from policy.rules import (
    ATLAS_USER,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    OKTA_OAUTH_APP,
    OKTA_POLICY_RULE,
    RULES_BY_NAME,
    VAULT_AWS_AUTH_ROLE,
    VAULT_DB_ROLE,
    VAULT_JWT_AUTH_ROLE,
    ConfigError,
    ResourceRule,
    effective_config,
)
from tests.policy import builders as b


def messages(
    rule_name: str, type_: str, props: dict[str, Any], config: dict[str, Any] | None = None
) -> list[str]:
    rule = RULES_BY_NAME[rule_name]
    assert isinstance(rule, ResourceRule)
    return [v.message for v in rule.run(b.view(type_, props), effective_config(rule, config))]


# --- atlas-user-no-password ---------------------------------------------------------------------


@pytest.mark.parametrize("props", [b.atlas_iam_user(), b.atlas_oidc_user()])
def test_identity_users_have_no_password(props: dict[str, Any]) -> None:
    assert messages("atlas-user-no-password", ATLAS_USER, props) == []


@pytest.mark.parametrize("key", ["password", "passwordWo"])
def test_a_password_is_a_violation_even_on_an_identity_user(key: str) -> None:
    props = {**b.atlas_iam_user(), key: "[secret]"}
    assert messages("atlas-user-no-password", ATLAS_USER, props) == [
        f"sets `{key}`: Atlas users here never have a password; bind the user to an identity "
        "instead (awsIamType=ROLE, or oidcAuthType=USER) and remove the password"
    ]


@pytest.mark.parametrize("none_value", [{}, {"awsIamType": "NONE"}, {"oidcAuthType": "NONE"}])
def test_a_user_without_identity_binding_is_a_password_user(none_value: dict[str, str]) -> None:
    props = {**b.without(b.atlas_iam_user(), "awsIamType"), **none_value}
    assert messages("atlas-user-no-password", ATLAS_USER, props) == [
        "is not bound to an identity (no awsIamType, oidcAuthType, ldapAuthType or x509Type), "
        "so Atlas makes it a SCRAM password user; set awsIamType=ROLE or oidcAuthType=USER"
    ]


def test_an_empty_password_is_not_a_password() -> None:
    assert (
        messages("atlas-user-no-password", ATLAS_USER, {**b.atlas_iam_user(), "password": ""}) == []
    )


# --- atlas-user-external-auth -------------------------------------------------------------------


@pytest.mark.parametrize("props", [b.atlas_iam_user(), b.atlas_oidc_user()])
def test_identity_users_on_external(props: dict[str, Any]) -> None:
    assert messages("atlas-user-external-auth", ATLAS_USER, props) == []


def test_iam_user_on_admin_is_a_violation() -> None:
    props = {**b.atlas_iam_user(), "authDatabaseName": "admin"}
    assert messages("atlas-user-external-auth", ATLAS_USER, props) == [
        "is an awsIamType=ROLE user but authDatabaseName is 'admin'; identity users must "
        "authenticate against `$external`: set authDatabaseName to `$external`"
    ]


def test_oidc_user_without_auth_database_is_a_violation() -> None:
    props = b.without(b.atlas_oidc_user(), "authDatabaseName")
    assert messages("atlas-user-external-auth", ATLAS_USER, props) == [
        "is an oidcAuthType=USER user but authDatabaseName is missing; identity users must "
        "authenticate against `$external`: set authDatabaseName to `$external`"
    ]


def test_idp_group_users_live_in_admin() -> None:
    props = {**b.atlas_oidc_user(), "oidcAuthType": "IDP_GROUP", "authDatabaseName": "admin"}
    assert messages("atlas-user-external-auth", ATLAS_USER, props) == []


# --- atlas-user-scoped --------------------------------------------------------------------------


def test_scoped_user_with_custom_role() -> None:
    assert messages("atlas-user-scoped", ATLAS_USER, b.atlas_iam_user()) == []


@pytest.mark.parametrize(
    "role", ["readWriteAnyDatabase", "readAnyDatabase", "atlasAdmin", "dbOwner", "clusterMonitor"]
)
def test_builtin_admin_and_any_database_roles_are_violations(role: str) -> None:
    props = {**b.atlas_iam_user(), "roles": [{"roleName": role, "databaseName": "admin"}]}
    assert messages("atlas-user-scoped", ATLAS_USER, props) == [
        f"the user holds the built-in role {role!r}; grant only the pipeline's custom role "
        "(exact actions on exact collections), never an any-database or admin role"
    ]


def test_database_scoped_builtin_read_is_allowed() -> None:
    props = {**b.atlas_iam_user(), "roles": [{"roleName": "read", "databaseName": "sales"}]}
    assert messages("atlas-user-scoped", ATLAS_USER, props) == []


@pytest.mark.parametrize("scopes", [None, []])
def test_missing_scopes_are_a_violation(scopes: list[Any] | None) -> None:
    props = {**b.atlas_iam_user(), "scopes": scopes}
    assert messages("atlas-user-scoped", ATLAS_USER, props) == [
        "the user has no scopes, so it can reach every cluster of the project; scope it to its "
        "one cluster: scopes=[{name: <cluster>, type: CLUSTER}]"
    ]


def test_data_lake_scope_is_a_violation() -> None:
    props = {**b.atlas_iam_user(), "scopes": [{"name": "lake", "type": "DATA_LAKE"}]}
    assert messages("atlas-user-scoped", ATLAS_USER, props) == [
        "the user has scope {'name': 'lake', 'type': 'DATA_LAKE'}; only named CLUSTER scopes are "
        "allowed: scopes=[{name: <cluster>, type: CLUSTER}]"
    ]


def test_vault_created_users_are_checked_through_the_creation_statement() -> None:
    assert messages("atlas-user-scoped", VAULT_DB_ROLE, b.vault_db_role()) == []
    statement = b.creation_statement(
        scopes=None, roles=[{"databaseName": "admin", "roleName": "readWriteAnyDatabase"}]
    )
    props = {**b.vault_db_role(), "creationStatements": [statement]}
    assert messages("atlas-user-scoped", VAULT_DB_ROLE, props) == [
        "each user Vault creates has no scopes, so it can reach every cluster of the project; "
        "scope it to its one cluster: scopes=[{name: <cluster>, type: CLUSTER}]",
        "each user Vault creates holds the built-in role 'readWriteAnyDatabase'; grant only the "
        "pipeline's custom role (exact actions on exact collections), never an any-database or "
        "admin role",
    ]


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (
            None,
            "must have exactly one creation statement (the Atlas user JSON with `roles` and "
            "`scopes`); found 0",
        ),
        (
            ["{}", "{}"],
            "must have exactly one creation statement (the Atlas user JSON with "
            "`roles` and `scopes`); found 2",
        ),
        (
            ["db.createUser()"],
            "the creation statement is not a JSON object; Vault's Atlas plugin expects one",
        ),
        ("[secret]", "creationStatements is secret in the plan and cannot be checked offline"),
    ],
)
def test_unreadable_creation_statements(statements: Any, expected: str) -> None:
    props = {**b.vault_db_role(), "creationStatements": statements}
    assert messages("atlas-user-scoped", VAULT_DB_ROLE, props)[0] == expected


# --- vault-database-role-ttl --------------------------------------------------------------------


def test_short_database_role_ttls_comply() -> None:
    assert messages("vault-database-role-ttl", VAULT_DB_ROLE, b.vault_db_role()) == []


def test_default_ttl_above_max_ttl() -> None:
    props = {**b.vault_db_role(), "defaultTtl": 1200.0}
    assert messages("vault-database-role-ttl", VAULT_DB_ROLE, props) == [
        "`defaultTtl` (1200s) exceeds `maxTtl` (900s); lower defaultTtl or raise maxTtl"
    ]


def test_max_ttl_above_default_limit() -> None:
    props = {**b.vault_db_role(), "maxTtl": 3601.0}
    assert messages("vault-database-role-ttl", VAULT_DB_ROLE, props) == [
        "`maxTtl` (3601s) exceeds the limit of 3600s (setting maxTtlSeconds); lower it"
    ]


def test_max_ttl_equal_to_limit_complies() -> None:
    props = {**b.vault_db_role(), "maxTtl": 3600.0}
    assert messages("vault-database-role-ttl", VAULT_DB_ROLE, props) == []


def test_configured_limit_applies() -> None:
    config = {"maxTtlSeconds": 600.0}  # the engine sends config numbers as floats too
    assert messages("vault-database-role-ttl", VAULT_DB_ROLE, b.vault_db_role(), config) == [
        "`maxTtl` (900s) exceeds the limit of 600s (setting maxTtlSeconds); lower it"
    ]
    assert (
        messages(
            "vault-database-role-ttl", VAULT_DB_ROLE, b.vault_db_role(), {"maxTtlSeconds": 900}
        )
        == []
    )


@pytest.mark.parametrize("key", ["defaultTtl", "maxTtl"])
def test_missing_database_role_ttl(key: str) -> None:
    assert messages(
        "vault-database-role-ttl", VAULT_DB_ROLE, b.without(b.vault_db_role(), key)
    ) == [
        f"`{key}` is not set, so Vault falls back to the mount or system default (32 days unless "
        "tuned); set it explicitly to at most 3600s"
    ]


@pytest.mark.parametrize("value", [0.0, -1.0, "1h", True])
def test_non_positive_or_non_numeric_ttl(value: Any) -> None:
    props = {**b.vault_db_role(), "defaultTtl": value}
    assert messages("vault-database-role-ttl", VAULT_DB_ROLE, props) == [
        f"`defaultTtl` is {value!r}; set a positive number of seconds, at most 3600s"
    ]


def test_bad_limit_config_is_refused() -> None:
    rule = RULES_BY_NAME["vault-database-role-ttl"]
    with pytest.raises(ConfigError, match=r"vault-database-role-ttl.maxTtlSeconds: 0 is below"):
        effective_config(rule, {"maxTtlSeconds": 0})
    with pytest.raises(ConfigError, match=r"maxTtlSeconds: 'x' is not an integer"):
        effective_config(rule, {"maxTtlSeconds": "x"})
    with pytest.raises(ConfigError, match=r"maxTtlSeconds: 1.5 is not an integer"):
        effective_config(rule, {"maxTtlSeconds": 1.5})


# --- vault-auth-role-bound ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "props"),
    [(VAULT_AWS_AUTH_ROLE, b.vault_aws_role()), (VAULT_JWT_AUTH_ROLE, b.vault_jwt_role())],
)
def test_bound_auth_roles_comply(type_: str, props: dict[str, Any]) -> None:
    assert messages("vault-auth-role-bound", type_, props) == []


def test_aws_role_with_wildcard_principal_and_ec2_auth() -> None:
    props = {
        **b.vault_aws_role(),
        "authType": "ec2",
        "boundIamPrincipalArns": [f"arn:aws:iam::{b.ACCOUNT}:role/*"],
    }
    assert messages("vault-auth-role-bound", VAULT_AWS_AUTH_ROLE, props) == [
        "authType is 'ec2'; use `iam` with boundIamPrincipalArns",
        f"`boundIamPrincipalArns` contains 'arn:aws:iam::{b.ACCOUNT}:role/*'; wildcards are not "
        "allowed, list exact values",
    ]


def test_aws_role_without_principals() -> None:
    props = b.without(b.vault_aws_role(), "boundIamPrincipalArns")
    assert messages("vault-auth-role-bound", VAULT_AWS_AUTH_ROLE, props) == [
        "`boundIamPrincipalArns` is empty or missing; bind the role to explicit values"
    ]


def test_jwt_role_unbound() -> None:
    props = {
        **b.without(b.vault_jwt_role(), "boundSubject", "roleType"),
        "boundAudiences": ["*"],
    }
    assert messages("vault-auth-role-bound", VAULT_JWT_AUTH_ROLE, props) == [
        "roleType is not set (Vault defaults to `oidc`); machine logins use `jwt`",
        "`boundAudiences` contains '*'; wildcards are not allowed, list exact values",
        "binds no principal: set boundSubject (the client id) or boundClaims, otherwise any "
        "token for the audience may log in",
    ]


def test_jwt_role_bound_by_exact_claims_complies_and_glob_claims_do_not() -> None:
    props = {**b.without(b.vault_jwt_role(), "boundSubject"), "boundClaims": {"cid": "0oa1"}}
    assert messages("vault-auth-role-bound", VAULT_JWT_AUTH_ROLE, props) == []
    props = {**props, "boundClaims": {"cid": "0oa*"}, "boundClaimsType": "glob"}
    assert messages("vault-auth-role-bound", VAULT_JWT_AUTH_ROLE, props) == [
        "boundClaimsType is `glob`; use `string` (exact match)",
        "`boundClaims.cid` is '0oa*'; use exact values, no wildcards",
    ]


def test_jwt_role_without_audiences() -> None:
    props = b.without(b.vault_jwt_role(), "boundAudiences")
    assert messages("vault-auth-role-bound", VAULT_JWT_AUTH_ROLE, props) == [
        "`boundAudiences` is empty or missing; bind the role to explicit values"
    ]


def test_token_ttls_missing_unordered_periodic() -> None:
    props = {**b.without(b.vault_aws_role(), "tokenMaxTtl"), "tokenPeriod": 3600.0}
    assert messages("vault-auth-role-bound", VAULT_AWS_AUTH_ROLE, props) == [
        "`tokenMaxTtl` is not set, so Vault falls back to the mount or system default (32 days "
        "unless tuned); set it explicitly to at most 3600s",
        "`tokenPeriod` makes tokens renewable forever; remove it",
    ]
    props = {**b.vault_jwt_role(), "tokenTtl": 1000.0, "tokenExplicitMaxTtl": 7200.0}
    assert messages("vault-auth-role-bound", VAULT_JWT_AUTH_ROLE, props) == [
        "`tokenTtl` (1000s) exceeds `tokenMaxTtl` (900s); lower tokenTtl or raise tokenMaxTtl",
        "`tokenExplicitMaxTtl` (7200s) exceeds the limit of 3600s",
    ]


def test_token_limit_is_configurable() -> None:
    assert messages(
        "vault-auth-role-bound",
        VAULT_AWS_AUTH_ROLE,
        b.vault_aws_role(),
        {"maxTokenTtlSeconds": 900},
    ) == ["`tokenMaxTtl` (1800s) exceeds the limit of 900s (setting maxTokenTtlSeconds); lower it"]


# --- okta-policy-rule-limits --------------------------------------------------------------------


def test_short_client_credentials_rule_complies() -> None:
    assert messages("okta-policy-rule-limits", OKTA_POLICY_RULE, b.okta_rule()) == []


def test_long_lifetime_and_other_grants() -> None:
    props = {
        **b.okta_rule(),
        "accessTokenLifetimeMinutes": 1440.0,
        "grantTypeWhitelists": ["client_credentials", "password", "implicit"],
    }
    assert messages("okta-policy-rule-limits", OKTA_POLICY_RULE, props) == [
        "accessTokenLifetimeMinutes (1440) exceeds the limit of 60 minutes (setting "
        "maxAccessTokenLifetimeMinutes); lower it",
        "grantTypeWhitelists allows 'implicit'; pipelines use only client_credentials",
        "grantTypeWhitelists allows 'password'; pipelines use only client_credentials",
    ]


def test_okta_rule_properties_missing() -> None:
    props = b.without(b.okta_rule(), "accessTokenLifetimeMinutes", "grantTypeWhitelists")
    assert messages("okta-policy-rule-limits", OKTA_POLICY_RULE, props) == [
        "accessTokenLifetimeMinutes is not set (Okta's default is 60); set it explicitly, at "
        "most 60 minutes",
        "grantTypeWhitelists is empty or missing; allow exactly [client_credentials]",
    ]


def test_okta_lifetime_limit_is_configurable() -> None:
    config = {"maxAccessTokenLifetimeMinutes": 10}
    assert messages("okta-policy-rule-limits", OKTA_POLICY_RULE, b.okta_rule(), config) == [
        "accessTokenLifetimeMinutes (15) exceeds the limit of 10 minutes (setting "
        "maxAccessTokenLifetimeMinutes); lower it"
    ]
    with pytest.raises(ConfigError, match="below the minimum 5"):
        effective_config(
            RULES_BY_NAME["okta-policy-rule-limits"], {"maxAccessTokenLifetimeMinutes": 1}
        )


# --- okta-service-app-private-key-jwt -----------------------------------------------------------


def test_private_key_jwt_service_app_complies() -> None:
    assert messages("okta-service-app-private-key-jwt", OKTA_OAUTH_APP, b.okta_app()) == []
    jwks_uri = {**b.without(b.okta_app(), "jwks"), "jwksUri": "https://keys.example/jwks"}
    assert messages("okta-service-app-private-key-jwt", OKTA_OAUTH_APP, jwks_uri) == []


def test_service_app_with_secret() -> None:
    props = {
        **b.without(b.okta_app(), "jwks"),
        "tokenEndpointAuthMethod": "client_secret_basic",
        "clientBasicSecretWo": "[secret]",
        "grantTypes": ["client_credentials", "authorization_code"],
    }
    assert messages("okta-service-app-private-key-jwt", OKTA_OAUTH_APP, props) == [
        "tokenEndpointAuthMethod is 'client_secret_basic'; use private_key_jwt",
        "sets `clientBasicSecretWo`: service apps authenticate with a signed JWT, never a secret",
        "has no `jwks` or `jwksUri`: private_key_jwt needs the app's public key",
        "grantTypes includes 'authorization_code'; service apps use only client_credentials",
    ]


def test_service_app_properties_missing() -> None:
    props = b.without(b.okta_app(), "tokenEndpointAuthMethod", "grantTypes")
    assert messages("okta-service-app-private-key-jwt", OKTA_OAUTH_APP, props) == [
        "tokenEndpointAuthMethod is not set (Okta defaults to client_secret_basic); use "
        "private_key_jwt",
        "grantTypes is empty or missing; set exactly [client_credentials]",
    ]


def test_browser_apps_are_out_of_scope() -> None:
    props = {"label": "portal", "type": "browser", "grantTypes": ["authorization_code"]}
    assert messages("okta-service-app-private-key-jwt", OKTA_OAUTH_APP, props) == []


# --- iam-no-wildcard-actions --------------------------------------------------------------------


def test_exact_actions_comply_and_deny_wildcards_are_fine() -> None:
    policy = b.policy_document(
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    )
    assert messages("iam-no-wildcard-actions", IAM_ROLE_POLICY, {"policy": policy}) == []


@pytest.mark.parametrize("action", ["*", "s3:*", "s3:Get*"])
def test_wildcard_actions_are_violations(action: str) -> None:
    policy = b.policy_document(
        {"Sid": "Broad", "Effect": "Allow", "Action": action, "Resource": "*"}
    )
    assert messages("iam-no-wildcard-actions", IAM_POLICY, {"policy": policy}) == [
        f"policy statement 'Broad' allows the wildcard action {action!r}; list the exact actions"
    ]


def test_not_action_and_inline_policies_of_roles() -> None:
    inline = b.policy_document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    props = {
        "assumeRolePolicy": b.mwaa_trust(),
        "inlinePolicies": [{"name": "x", "policy": inline}],
    }
    assert messages("iam-no-wildcard-actions", IAM_ROLE, props) == [
        "inlinePolicies[0].policy statement #0 allows NotAction, i.e. every other action; list "
        "the actions"
    ]


def test_parsed_documents_and_single_statements_are_read() -> None:
    document = {"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}
    assert messages("iam-no-wildcard-actions", IAM_POLICY, {"policy": document}) == [
        "policy statement #0 allows the wildcard action 'kms:*'; list the exact actions"
    ]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({}, ["has no `policy` document"]),
        ({"policy": "not json"}, ["policy is not a JSON policy document"]),
        ({"policy": "[secret]"}, ["policy is secret in the plan and cannot be checked offline"]),
    ],
)
def test_missing_unreadable_or_secret_policy(props: dict[str, Any], expected: list[str]) -> None:
    assert messages("iam-no-wildcard-actions", IAM_ROLE_POLICY, props) == expected


# --- mwaa-trust-conditions ----------------------------------------------------------------------


def test_mwaa_trust_with_both_conditions() -> None:
    assert messages("mwaa-trust-conditions", IAM_ROLE, {"assumeRolePolicy": b.mwaa_trust()}) == []


def test_mwaa_trust_without_conditions() -> None:
    props = {"assumeRolePolicy": b.mwaa_trust(condition={})}
    assert messages("mwaa-trust-conditions", IAM_ROLE, props) == [
        "statement 'MwaaService' lets MWAA assume the role without a `aws:SourceAccount` "
        "condition (confused deputy); add it, naming this account / environment",
        "statement 'MwaaService' lets MWAA assume the role without a `aws:SourceArn` condition "
        "(confused deputy); add it, naming this account / environment",
    ]


def test_mwaa_trust_with_wildcard_source_arn() -> None:
    condition = {
        "StringEquals": {"aws:SourceAccount": b.ACCOUNT},
        "ArnLike": {"aws:SourceArn": "*"},
    }
    props = {"assumeRolePolicy": b.mwaa_trust(condition=condition)}
    assert messages("mwaa-trust-conditions", IAM_ROLE, props) == [
        "statement 'MwaaService' has `aws:SourceArn` ['*']; name the exact account / environment"
    ]


def test_roles_not_trusting_mwaa_are_out_of_scope() -> None:
    trust = b.policy_document(
        {"Effect": "Allow", "Principal": {"AWS": b.EXEC_ARN}, "Action": "sts:AssumeRole"}
    )
    assert messages("mwaa-trust-conditions", IAM_ROLE, {"assumeRolePolicy": trust}) == []
    assert messages("mwaa-trust-conditions", IAM_ROLE, {}) == []


def test_every_resource_rule_ignores_other_types() -> None:
    for rule in rules.RULES:
        if isinstance(rule, ResourceRule):
            assert rule.run(b.view("aws:s3/bucket:Bucket", {}), effective_config(rule, None)) == []
