"""Example: a pipeline that authenticates to Atlas with Okta tokens (auth mode `okta-oidc`).

The hook installs a MONGODB-OIDC callback: it has AWS KMS sign a client assertion with the
pipeline's key (as the pipeline role; the key never leaves KMS), exchanges it for a short-lived
access token (`client_credentials`), and mints a new one whenever Atlas asks the client to
re-authenticate.
Trigger with `{"dry_run": true}` to build the client without contacting Atlas.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from atlas_identity import AtlasIdentityMongoHook

CONN_ID = "mongo_events_export"
log = logging.getLogger(__name__)


@dag(
    schedule=None,
    catchup=False,
    params={"dry_run": Param(False, type="boolean", description="build the client only")},
    tags=["atlas-identity", "okta-oidc"],
)
def atlas_okta_oidc_example() -> None:
    @task
    def export_events() -> dict[str, Any]:
        dry_run = bool(get_current_context()["params"]["dry_run"])
        kwargs = {"connect": False} if dry_run else {}
        with AtlasIdentityMongoHook(CONN_ID, client_kwargs=kwargs) as hook:
            summary = hook.describe_identity()
            log.info("authenticating to Atlas as %s", summary)
            if not dry_run:
                summary["events"] = hook.get_collection("events").estimated_document_count()
        return summary

    export_events()


atlas_okta_oidc_example()
