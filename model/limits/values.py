"""Documented value rules the provider schemas do not carry (they type these as plain strings).

Each rule names its source. Checked with the schemas by `plan_problems` over every planned
resource; `tests/devtools/schemas/` proves each rule can fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Atlas custom-role actions the Admin API accepts (actions.action), from "Custom Role Actions":
# https://www.mongodb.com/docs/atlas/reference/custom-role-actions/
ATLAS_ACTIONS = _words(
    """
    BYPASS_DOCUMENT_VALIDATION BYPASS_DEFAULT_MAX_TIME_MS FIND INSERT REMOVE UPDATE USE_UUID
    CREATE_COLLECTION CREATE_INDEX DROP_COLLECTION ENABLE_PROFILER CHANGE_STREAM COLL_MOD COMPACT
    CONVERT_TO_CAPPED DROP_DATABASE DROP_INDEX RE_INDEX RENAME_COLLECTION_SAME_DB
    SET_USER_WRITE_BLOCK BYPASS_USER_WRITE_BLOCK LIST_SESSIONS KILL_ANY_SESSION COLL_STATS
    CONN_POOL_STATS DB_HASH DB_STATS GET_CMD_LINE_OPTS GET_LOG GET_PARAMETER GET_SHARD_MAP
    HOST_INFO IN_PROG LIST_DATABASES LIST_COLLECTIONS LIST_SHARDS LIST_INDEXES REPLSET_GET_CONFIG
    REPLSET_GET_STATUS SERVER_STATUS SHARDING_STATE VALIDATE TOP KILL_OP ADD_SHARD_TO_ZONE
    REMOVE_SHARD_FROM_ZONE UPDATE_ZONE_KEY_RANGE FLUSH_ROUTER_CONFIG CHECK_METADATA_CONSISTENCY
    ENABLE_SHARDING SQL_GET_SCHEMA SQL_SET_SCHEMA VIEW_ALL_HISTORY OUT_TO_AZURE OUT_TO_GCP
    OUT_TO_S3 STORAGE_GET_CONFIG STORAGE_SET_CONFIG
    """
)
# Custom role names: letters, digits, `_` and `-`; not a built-in role, not `atlasAdmin`, not
# starting with `xgen-` (pulumi-mongodbatlas 4.18.0 `CustomDbRole.role_name`, from Atlas' docs).
ATLAS_ROLE_NAME = re.compile(r"^(?!xgen-)[A-Za-z0-9_-]+$")
# Resources each action applies to, from the MongoDB manual "Privilege Actions"
# (https://www.mongodb.com/docs/manual/reference/privilege-actions/); actions not listed here
# are not level-checked. "collection" = a named collection, "database" = collectionName "".
COLLECTION_OR_DATABASE = _words(
    """
    FIND INSERT REMOVE UPDATE BYPASS_DOCUMENT_VALIDATION COLL_STATS CREATE_INDEX DROP_INDEX
    LIST_INDEXES CREATE_COLLECTION DROP_COLLECTION COLL_MOD COMPACT CONVERT_TO_CAPPED RE_INDEX
    VALIDATE DB_HASH
    """
)
DATABASE_ONLY = _words(
    "LIST_COLLECTIONS DB_STATS DROP_DATABASE ENABLE_PROFILER RENAME_COLLECTION_SAME_DB"
)
CLUSTER_ONLY = _words(
    """
    LIST_DATABASES LIST_SESSIONS KILL_ANY_SESSION SERVER_STATUS HOST_INFO IN_PROG KILL_OP TOP
    GET_LOG GET_PARAMETER GET_CMD_LINE_OPTS CONN_POOL_STATS REPLSET_GET_CONFIG REPLSET_GET_STATUS
    LIST_SHARDS GET_SHARD_MAP FLUSH_ROUTER_CONFIG SHARDING_STATE USE_UUID
    """
)

# Okta OAuth grant types (authorization-server policy rules), as pulumi-okta 7.0.1 documents
# `grant_type_whitelists` from Okta's API; apps may also request refresh tokens. Okta Apps API:
# https://developer.okta.com/docs/api/openapi/okta-management/management/tag/Application/
OKTA_GRANT_TYPES = frozenset(
    {
        "authorization_code",
        "implicit",
        "password",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:saml2-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:device_code",
        "interaction_code",
    }
)
# token_endpoint_auth_method values (same sources).
OKTA_AUTH_METHODS = frozenset(
    {"none", "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"}
)

# Vault audit device options: common ones and per device type. Vault docs "Audit devices"
# (https://developer.hashicorp.com/vault/docs/audit) and its file/socket/syslog pages.
VAULT_AUDIT_COMMON = frozenset(
    {
        "elide_list_responses",
        "exclude",
        "fallback",
        "filter",
        "format",
        "hmac_accessor",
        "log_raw",
        "prefix",
    }
)
VAULT_AUDIT_OPTIONS = {
    "file": frozenset({"file_path", "mode"}),
    "socket": frozenset({"address", "socket_type", "write_timeout"}),
    "syslog": frozenset({"facility", "tag"}),
}

# MWAA: "Apache Airflow versions on Amazon MWAA"
# (https://docs.aws.amazon.com/mwaa/latest/userguide/airflow-versions.html) and "Amazon MWAA
# environment class" (https://docs.aws.amazon.com/mwaa/latest/userguide/environment-class.html).
# Ordered (oldest, smallest first): infra/settings/mwaa.py offers them in this order. 3.3.1: the
# image AWS publishes for it (aws/amazon-mwaa-docker-images, images/airflow/3.3.1), whose
# constraints requirements/mwaa-3.3.1.txt keeps; scripts/check-mwaa tests the runtime on it.
MWAA_AIRFLOW_VERSIONS = (
    "2.4.3",
    "2.5.1",
    "2.6.3",
    "2.7.2",
    "2.8.1",
    "2.9.2",
    "2.10.1",
    "2.10.3",
    "3.0.6",
    "3.3.1",
)
MWAA_ENVIRONMENT_CLASSES = (
    "mw1.micro",
    "mw1.small",
    "mw1.medium",
    "mw1.large",
    "mw1.xlarge",
    "mw1.2xlarge",
)


def _strings(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _one_of(value: Any, allowed: Collection[str], what: str) -> Iterator[str]:
    if isinstance(value, str) and value not in allowed and value != "[unknown]":
        yield f"{what} {value!r} is not one of {', '.join(sorted(allowed))}"


def atlas_custom_role(props: Mapping[str, Any]) -> Iterator[str]:
    name = props.get("roleName")
    if isinstance(name, str) and (not ATLAS_ROLE_NAME.match(name) or name == "atlasAdmin"):
        yield (
            f"roleName {name!r} must use letters, digits, '_' or '-', not start with 'xgen-' "
            "and not be atlasAdmin"
        )
    for index, action in enumerate(_strings(props.get("actions"))):
        if not isinstance(action, Mapping):
            continue
        name = action.get("action")
        yield from _one_of(name, ATLAS_ACTIONS, f"actions[{index}].action")
        for r_index, resource in enumerate(_strings(action.get("resources"))):
            if not isinstance(resource, Mapping):
                continue
            level = (
                "cluster"
                if resource.get("cluster") is True
                else ("collection" if resource.get("collectionName") else "database")
            )
            allowed = (
                {"collection", "database"}
                if name in COLLECTION_OR_DATABASE
                else {"database"}
                if name in DATABASE_ONLY
                else {"cluster"}
                if name in CLUSTER_ONLY
                else {"collection", "database", "cluster"}
            )
            if level not in allowed:
                yield (
                    f"actions[{index}].resources[{r_index}]: {name} applies to "
                    f"{' or '.join(sorted(allowed))} resources, not a {level}"
                )


def okta_app(props: Mapping[str, Any]) -> Iterator[str]:
    for index, grant in enumerate(_strings(props.get("grantTypes"))):
        yield from _one_of(grant, OKTA_GRANT_TYPES, f"grantTypes[{index}]")
    yield from _one_of(
        props.get("tokenEndpointAuthMethod"), OKTA_AUTH_METHODS, "tokenEndpointAuthMethod"
    )


def okta_policy_rule(props: Mapping[str, Any]) -> Iterator[str]:
    for index, grant in enumerate(_strings(props.get("grantTypeWhitelists"))):
        yield from _one_of(
            grant, OKTA_GRANT_TYPES - {"refresh_token"}, f"grantTypeWhitelists[{index}]"
        )


def vault_audit(props: Mapping[str, Any]) -> Iterator[str]:
    kind = props.get("type")
    options = props.get("options")
    if kind not in VAULT_AUDIT_OPTIONS:
        yield from _one_of(kind, frozenset(VAULT_AUDIT_OPTIONS), "type")
        return
    allowed = VAULT_AUDIT_COMMON | VAULT_AUDIT_OPTIONS[kind]
    for key in sorted(options) if isinstance(options, Mapping) else []:
        yield from _one_of(key, allowed, f"options key (for a {kind} device)")


def mwaa_environment(props: Mapping[str, Any]) -> Iterator[str]:
    yield from _one_of(props.get("airflowVersion"), MWAA_AIRFLOW_VERSIONS, "airflowVersion")
    yield from _one_of(props.get("environmentClass"), MWAA_ENVIRONMENT_CLASSES, "environmentClass")


RULES: dict[str, Callable[[Mapping[str, Any]], Iterator[str]]] = {
    "mongodbatlas:index/customDbRole:CustomDbRole": atlas_custom_role,
    "okta:app/oAuth:OAuth": okta_app,
    "okta:auth/serverPolicyRule:ServerPolicyRule": okta_policy_rule,
    "vault:index/audit:Audit": vault_audit,
    "aws:mwaa/environment:Environment": mwaa_environment,
}


def plan_problems(plan: Mapping[str, Any]) -> list[str]:
    """Value-rule problems of every planned resource a rule covers."""
    return [
        f"{resource['type']} {resource['name']}: {problem}"
        for resource in plan["resources"]
        if resource["type"] in RULES
        for problem in RULES[resource["type"]](resource.get("inputs") or {})
    ]
