"""Example: a pipeline that reaches Atlas as its own IAM role (auth mode `aws-iam`).

The connection `mongo_orders_ingest` lives in the secrets backend the program configured and
holds no secret. The hook assumes the pipeline role (session named after this DAG run) and
authenticates with MONGODB-AWS. Trigger with `{"dry_run": true}` to build the client without
contacting Atlas (what the integration tests do).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from atlas_identity import AtlasIdentityMongoHook

CONN_ID = "mongo_orders_ingest"
log = logging.getLogger(__name__)


def _client_kwargs() -> dict[str, Any]:
    dry_run = bool(get_current_context()["params"]["dry_run"])
    return {"connect": False} if dry_run else {}


@dag(
    schedule=None,
    catchup=False,
    params={"dry_run": Param(False, type="boolean", description="build the client only")},
    tags=["atlas-identity", "aws-iam"],
)
def atlas_aws_iam_example() -> None:
    @task
    def identity() -> dict[str, Any]:
        """Which identity this pipeline authenticates as (no secret in the result)."""
        with AtlasIdentityMongoHook(CONN_ID, client_kwargs=_client_kwargs()) as hook:
            summary = hook.describe_identity()
        log.info("authenticating to Atlas as %s", summary)
        return summary

    @task
    def count_recent_orders() -> int | None:
        if get_current_context()["params"]["dry_run"]:
            log.info("dry run: not contacting Atlas")
            return None
        with AtlasIdentityMongoHook(CONN_ID) as hook:
            return int(hook.get_collection("orders").count_documents({"status": "new"}))

    identity() >> count_recent_orders()


atlas_aws_iam_example()
