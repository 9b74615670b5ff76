"""The Atlas audit filter: what a project's database auditing records, independent of scale.

Messages follow MongoDB's `mongo` audit schema ({atype, ts, users: [{user, db}], roles, param,
result}; "mongo Schema Audit Messages", https://www.mongodb.com/docs/manual/reference/audit-message/mongo/):
`authenticate` carries `param: {user, db, mechanism}`, `authCheck` carries
`param: {command, ns, args}` and `result` 0 on success, 13 (Unauthorized) on a denial. Atlas
records a successful `authCheck` only with `auditAuthorizationSuccess` ("auditConfig",
https://www.mongodb.com/docs/manual/reference/cluster-parameters/auditConfig/: "To audit read and
write operations, auditAuthorizationSuccess must be set to true").

The filter names no individual user: pipeline identities are matched by the naming pattern of the
stack (its pipeline role ARNs, its workload IdP's users, Vault's `v-` users), so its size does not
grow with the number of pipelines (docs/auditing.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

EXTERNAL_AUTH_DB = "$external"
ADMIN_DB = "admin"
# Vault's MongoDB Atlas plugin names users v-<display name>-<role>-<random>-<time>, on `admin`.
VAULT_USER_PATTERN = "^v-"
AUTHORIZED = 0
# Successful authorization checks recorded for every user: reads, writes and change streams.
# A change stream is an `aggregate` with a `$changeStream` stage, continued by `getMore`
# ("Change Streams", https://www.mongodb.com/docs/manual/changeStreams/); `bulkWrite` is MongoDB
# 8.0's cross-collection write command (pymongo's MongoClient.bulk_write).
AUDITED_COMMANDS: tuple[str, ...] = (
    "aggregate",
    "bulkWrite",
    "count",
    "delete",
    "distinct",
    "explain",
    "find",
    "findAndModify",
    "getMore",
    "insert",
    "mapReduce",
    "update",
    "createIndexes",
    "dropIndexes",
    "listCollections",
    "listIndexes",
)


@dataclass(frozen=True, kw_only=True)
class PipelineUserPatterns:
    """Regexes (MongoDB `$regex`, PCRE) matching the usernames of one stack's pipelines."""

    iam_role_arns: str
    """`$external` users that are the stack's pipeline roles (MONGODB-AWS)."""
    workload_idp_users: str | None = None
    """`$external` users of the stack's workload IdP (`<idpId>/<sub>`, OIDC)."""
    vault_users: bool = False
    """`admin` users Vault creates for vault-dynamic pipelines."""


def iam_role_pattern(account_id: str, role_name_prefix: str) -> str:
    """Role ARNs (and their STS session ARNs) of roles whose name starts with the prefix.

    A MONGODB-AWS user is the role ARN; the session ARN `arn:aws:sts::<account>:assumed-role/...`
    is matched too, so the filter holds whichever form Atlas reports for the caller.
    """
    return (
        f"^arn:aws:(iam|sts)::{re.escape(account_id)}:(role|assumed-role)/"
        f"{re.escape(role_name_prefix)}"
    )


def workload_idp_pattern(idp_id: str) -> str:
    """Every user of one workload IdP: Atlas names them `<idpId>/<token sub>`."""
    return f"^{re.escape(idp_id)}/"


def audit_filter_document(patterns: PipelineUserPatterns) -> dict[str, Any]:
    """The filter as a MongoDB query document over audit messages.

    Recorded: every authentication on `$external` and `admin` (success or failure); every denied
    authorization, whatever the command or user; every successful data command (AUDITED_COMMANDS)
    by any user, including users created out of band; and anything a pipeline identity does.
    """
    pipeline_users: list[dict[str, Any]] = [
        {"db": EXTERNAL_AUTH_DB, "user": {"$regex": patterns.iam_role_arns}}
    ]
    if patterns.workload_idp_users is not None:
        pipeline_users.append(
            {"db": EXTERNAL_AUTH_DB, "user": {"$regex": patterns.workload_idp_users}}
        )
    if patterns.vault_users:
        pipeline_users.append({"db": ADMIN_DB, "user": {"$regex": VAULT_USER_PATTERN}})
    return {
        "$or": [
            {"atype": "authenticate", "param.db": {"$in": [EXTERNAL_AUTH_DB, ADMIN_DB]}},
            {"atype": "authCheck", "result": {"$ne": AUTHORIZED}},
            {"atype": "authCheck", "param.command": {"$in": list(AUDITED_COMMANDS)}},
            *({"atype": "authCheck", "users": {"$elemMatch": who}} for who in pipeline_users),
        ]
    }


def audit_filter(*, iam_role_arns: str, workload_idp_id: str | None, vault_users: bool) -> str:
    """`audit_filter_document` as the JSON string Atlas takes."""
    return json.dumps(
        audit_filter_document(
            PipelineUserPatterns(
                iam_role_arns=iam_role_arns,
                workload_idp_users=(
                    workload_idp_pattern(workload_idp_id) if workload_idp_id else None
                ),
                vault_users=vault_users,
            )
        )
    )
