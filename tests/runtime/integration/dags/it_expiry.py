"""Test DAGs: tasks that run past their credentials' lifetime (short lifetimes on purpose).

Each task keeps using its hook for longer than one credential lives, checks at every step that
the credentials it is handed are valid right now (against the real service), and returns what
it saw. Every secret it touches is also logged on purpose: the masker must hide it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from airflow.sdk import dag, get_current_context, task
from botocore.config import Config

from atlas_identity import AtlasIdentityMongoHook

log = logging.getLogger(__name__)


def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


def _short_sts(region: str) -> Any:
    # Real STS refuses sessions under 900 s; the test asks moto for seconds, so skip the
    # client-side check of DurationSeconds.
    return boto3.client("sts", region_name=region, config=Config(parameter_validation=False))


@dag(
    schedule=None,
    catchup=False,
    params={"conn_id": "mongo_orders_ingest", "session_seconds": 6, "run_seconds": 14},
    tags=["integration-test"],
)
def it_aws_iam_expiry() -> None:
    @task
    def long_task() -> dict[str, Any]:
        p = _params()
        hook = AtlasIdentityMongoHook(
            p["conn_id"],
            client_kwargs={"connect": False},
            max_session_seconds=int(p["session_seconds"]),
            sts_client_factory=_short_sts,
        )
        keys: list[str] = []
        identities: set[str] = set()
        expired_uses = 0
        deadline = time.monotonic() + float(p["run_seconds"])
        with hook:
            while time.monotonic() < deadline:
                client = hook.get_conn()
                credential = client.options.pool_options._credentials
                assert credential is not None, "the hook's client carries no credentials"
                current = hook.role_credentials.get()
                if current.expiration <= datetime.now(UTC):
                    expired_uses += 1
                # The client carries exactly the current session; STS knows who it is.
                assert credential.username == current.access_key_id
                assert credential.password == current.secret_access_key
                who = boto3.client(
                    "sts",
                    region_name="eu-west-1",
                    aws_access_key_id=credential.username,
                    aws_secret_access_key=credential.password,
                    aws_session_token=credential.mechanism_properties.aws_session_token,
                ).get_caller_identity()["Arn"]
                identities.add(who)
                if not keys or keys[-1] != credential.username:
                    keys.append(credential.username)
                    # On purpose: the masker must turn these into ***.
                    log.info("secret access key in use: %s", credential.password)
                    log.info(
                        "session token in use: %s",
                        credential.mechanism_properties.aws_session_token,
                    )
                time.sleep(1)
        return {
            "sessions": len(keys),
            "assume_role_calls": hook.role_credentials.assume_count,
            "expired_uses": expired_uses,
            "identities": sorted(identities),
            "clients_built": len(keys),
        }

    long_task()


it_aws_iam_expiry()


@dag(
    schedule=None,
    catchup=False,
    params={"conn_id": "mongo_ledger_sync", "run_seconds": 14},
    tags=["integration-test"],
)
def it_vault_dynamic_expiry() -> None:
    @task
    def long_task() -> dict[str, Any]:
        p = _params()
        pg = os.environ["IT_PG_DSN"]
        psql = os.environ["IT_PSQL"]
        users: list[str] = []
        failures = 0
        deadline = time.monotonic() + float(p["run_seconds"])
        with AtlasIdentityMongoHook(p["conn_id"], client_kwargs={"connect": False}) as hook:
            while time.monotonic() < deadline:
                credential = hook.get_conn().options.pool_options._credentials
                # The stand-in database must accept the user the client carries, right now.
                check = subprocess.run(
                    [psql, f"{pg} user={credential.username}", "-tAc", "select current_user"],
                    env={**os.environ, "PGPASSWORD": credential.password},
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if check.returncode != 0 or check.stdout.strip() != credential.username:
                    failures += 1
                    log.error("login as %s failed: %s", credential.username, check.stderr)
                if not users or users[-1] != credential.username:
                    users.append(credential.username)
                    log.info("database password in use: %s", credential.password)
                time.sleep(1)
            leases = list(hook.db_credentials.leases)
            logins = hook.db_credentials.logins
            renewals = hook.db_credentials.renewals
        return {
            "users": users,
            "failed_logins": failures,
            "leases": len(leases),
            "vault_logins": logins,
            "renewals": renewals,
        }

    long_task()


it_vault_dynamic_expiry()


@dag(
    schedule=None,
    catchup=False,
    params={"conn_id": "mongo_events_export", "run_seconds": 12},
    tags=["integration-test"],
)
def it_okta_oidc_expiry() -> None:
    @task
    def long_task() -> dict[str, Any]:
        import requests
        from pymongo.auth_oidc import OIDCCallbackContext

        p = _params()
        introspect = os.environ["IT_INTROSPECT_URL"]

        def active(token: str) -> bool:
            return bool(
                requests.post(introspect, data={"token": token}, timeout=5).json()["active"]
            )

        context = OIDCCallbackContext(timeout_seconds=60, username="", version=1)
        reauths, inactive_after_fetch = 0, 0
        deadline = time.monotonic() + float(p["run_seconds"])
        with AtlasIdentityMongoHook(p["conn_id"], client_kwargs={"connect": False}) as hook:
            hook.get_conn()
            callback = hook.callback
            assert callback is not None
            token = callback.fetch(context).access_token  # pymongo's first authentication
            log.info("access token in use: %s", token)
            while time.monotonic() < deadline:
                if not active(token):
                    # What Atlas does with an expired token: error 391, pymongo asks again.
                    token = callback.fetch(context).access_token
                    reauths += 1
                    log.info("access token in use: %s", token)
                    if not active(token):
                        inactive_after_fetch += 1
                time.sleep(0.5)
            minted = hook.token_source.minted
        return {
            "reauthentications": reauths,
            "inactive_after_fetch": inactive_after_fetch,
            "minted": minted,
        }

    long_task()


it_okta_oidc_expiry()
