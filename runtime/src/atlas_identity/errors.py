"""One error type that names the connection and the step that failed, never a secret."""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """The steps the hook goes through; every error names one of them."""

    CONNECTION_LOOKUP = "connection lookup"
    CONTRACT = "connection definition"
    ASSUME_ROLE = "assume role"
    ASSERTION_SIGNING = "assertion signing"
    TOKEN_ENDPOINT = "token endpoint"  # noqa: S105 - a step name, not a secret
    VAULT_LOGIN = "Vault login"
    CREDS_READ = "creds read"
    LEASE_RENEW = "lease renew"
    LEASE_REVOKE = "lease revoke"
    AUTHENTICATE = "authenticate"


class AtlasIdentityError(Exception):
    """Raised when the hook cannot obtain credentials for a connection.

    The message is built from the connection id, the step and a description that callers
    must keep free of secrets (they pass status codes, error codes and service messages,
    never request bodies or credentials).
    """

    def __init__(self, conn_id: str, step: Step, detail: str) -> None:
        self.conn_id = conn_id
        self.step = step
        self.detail = detail
        super().__init__(f"connection '{conn_id}': {step.value} failed: {detail}")
