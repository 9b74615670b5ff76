"""Example: a pipeline that uses a database user Vault creates for minutes (`vault-dynamic`).

The hook logs in to Vault as the pipeline (AWS IAM auth with the pipeline role on MWAA; AppRole
or JWT elsewhere, see `[atlas_identity] vault_login`), reads `<db_mount>/creds/<db_role>`,
renews or replaces the user before it ends, and revokes it when the hook closes. Trigger with
`{"dry_run": true}` to build the client without contacting Atlas.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from atlas_identity import AtlasIdentityMongoHook

CONN_ID = "mongo_ledger_sync"
log = logging.getLogger(__name__)


@dag(
    schedule=None,
    catchup=False,
    params={"dry_run": Param(False, type="boolean", description="build the client only")},
    tags=["atlas-identity", "vault-dynamic"],
)
def atlas_vault_dynamic_example() -> None:
    @task
    def sync_ledger() -> dict[str, Any]:
        dry_run = bool(get_current_context()["params"]["dry_run"])
        kwargs = {"connect": False} if dry_run else {}
        # Closing the hook revokes the Vault lease: the user disappears from Atlas.
        with AtlasIdentityMongoHook(CONN_ID, client_kwargs=kwargs) as hook:
            summary = hook.describe_identity()
            log.info("authenticating to Atlas as %s", summary)
            if not dry_run:
                entries = hook.get_collection("entries")
                summary["open_entries"] = entries.count_documents({"state": "open"})
        return summary

    sync_ledger()


atlas_vault_dynamic_example()
