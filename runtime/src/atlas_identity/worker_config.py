"""Worker-side choices that are not part of the connection: how this worker logs in to Vault.

Read from Airflow's configuration, section `[atlas_identity]` (env vars
`AIRFLOW__ATLAS_IDENTITY__<KEY>`). Values may contain `{pipeline}`, replaced by the pipeline name.

| key | default | meaning |
|---|---|---|
| `vault_login` | `aws-iam` | `aws-iam` (MWAA), `approle` or `jwt` (workers outside AWS) |
| `vault_approle_mount` | `approle` | AppRole auth mount |
| `vault_approle_role_id_file` | | file holding the pipeline's role id |
| `vault_approle_secret_id_file` | | file holding the pipeline's secret id |
| `vault_jwt_mount` | `jwt` | JWT auth mount |
| `vault_jwt_role` | `{pipeline}` | JWT auth role |
| `vault_jwt_file` | | file holding a current JWT for the pipeline |
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from atlas_identity.aws import AssumedRoleCredentials
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.vault import AppRoleLogin, AwsIamLogin, JwtLogin, VaultLogin, file_text

SECTION = "atlas_identity"


class VaultLoginKind(StrEnum):
    AWS_IAM = "aws-iam"
    APPROLE = "approle"
    JWT = "jwt"


def _get(key: str, default: str = "") -> str:
    from airflow.configuration import conf

    return str(conf.get(SECTION, key, fallback=default))


def vault_login(
    *,
    conn_id: str,
    pipeline: str,
    auth_mount: str,
    auth_role: str,
    iam_server_id_header_value: str,
    credentials: Callable[[], AssumedRoleCredentials],
    getter: Callable[[str, str], str] = _get,
) -> VaultLogin:
    """The login this worker is configured for, for one pipeline.

    `auth_mount`, `auth_role` and `iam_server_id_header_value` come from the connection and
    apply to AWS IAM auth; AppRole and JWT take their mounts and roles from the worker config.
    """

    def setting(key: str, default: str = "") -> str:
        return getter(key, default).replace("{pipeline}", pipeline)

    kind_value = setting("vault_login", VaultLoginKind.AWS_IAM.value)
    kinds = tuple(k.value for k in VaultLoginKind)
    if kind_value not in kinds:
        raise AtlasIdentityError(
            conn_id,
            Step.VAULT_LOGIN,
            f"[{SECTION}] vault_login is '{kind_value}'; use one of {', '.join(kinds)}",
        )
    kind = VaultLoginKind(kind_value)
    if kind is VaultLoginKind.AWS_IAM:
        return AwsIamLogin(
            credentials=credentials(),
            mount=auth_mount,
            role=auth_role,
            iam_server_id_header_value=iam_server_id_header_value,
        )

    def read(key: str) -> str:
        path = setting(key)
        if not path:
            raise AtlasIdentityError(
                conn_id,
                Step.VAULT_LOGIN,
                f"[{SECTION}] {key} is required when vault_login is {kind.value}",
            )
        try:
            return file_text(path)
        except OSError as e:
            raise AtlasIdentityError(
                conn_id, Step.VAULT_LOGIN, f"cannot read {key} file {path}: {e.strerror}"
            ) from None

    if kind is VaultLoginKind.APPROLE:
        return AppRoleLogin(
            role_id=read("vault_approle_role_id_file"),
            secret_id=read("vault_approle_secret_id_file"),
            mount=setting("vault_approle_mount", "approle"),
        )
    return JwtLogin(
        role=setting("vault_jwt_role", "{pipeline}"),
        jwt=lambda: read("vault_jwt_file"),
        mount=setting("vault_jwt_mount", "jwt"),
    )
