"""The connection contract (docs/connection-contract.md), parsed and validated.

A connection definition written by the program carries, under `extra.atlas_identity`, what the
runtime needs to obtain short-lived credentials. This module turns that extra into typed, frozen
values, or reports every problem at once, each with its key path and the fix. It never sees a
secret: the contract holds none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from atlas_identity.errors import AtlasIdentityError, Step

RUNTIME_EXTRA_KEY = "atlas_identity"
CONTRACT_VERSIONS: frozenset[int] = frozenset({1, 2})
# Version 2 replaced okta-oidc's `private_key` (a key the worker read) with `signing_key` (a KMS
# key the pipeline role signs with); aws-iam and vault-dynamic are the same in both versions.
OKTA_OIDC_MIN_VERSION = 2
# STS limits for AssumeRole DurationSeconds (the role's MaxSessionDuration caps it further).
STS_SESSION_MAX = 43200
# Signing an assertion needs the pipeline role only for seconds; STS' minimum session suffices.
SIGNING_SESSION_SECONDS = 900

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@-]{1,64}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
MOUNT = re.compile(r"^[\w.-]+(/[\w.-]+)*$")
# A KMS key ARN (not an alias): the key policy names the one role that may sign with it.
KMS_KEY_ARN = re.compile(
    r"^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
# JWS algorithms a KMS key can produce for the assertion; the program creates ECC_NIST_P256 keys.
SIGNING_ALGORITHMS: tuple[str, ...] = ("ES256",)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class AuthMode(StrEnum):
    AWS_IAM = "aws-iam"
    OKTA_OIDC = "okta-oidc"
    VAULT_DYNAMIC = "vault-dynamic"


# (authMechanism, authSource) each auth mode requires in the stock extras.
MONGO_AUTH: dict[AuthMode, tuple[str, str]] = {
    AuthMode.AWS_IAM: ("MONGODB-AWS", "$external"),
    AuthMode.OKTA_OIDC: ("MONGODB-OIDC", "$external"),
    AuthMode.VAULT_DYNAMIC: ("SCRAM-SHA-256", "admin"),
}


@dataclass(frozen=True, kw_only=True)
class PipelineRole:
    """The pipeline's IAM role, assumed from the worker's own credentials."""

    role_arn: str
    region: str
    session_seconds: int
    """Upper bound of the session to request (the role's MaxSessionDuration)."""

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[1]

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]


@dataclass(frozen=True, kw_only=True)
class AwsIamIdentity:
    """`aws-iam`: assume the pipeline role, authenticate with MONGODB-AWS."""

    pipeline: str
    role: PipelineRole

    @property
    def auth_mode(self) -> AuthMode:
        return AuthMode.AWS_IAM


@dataclass(frozen=True, kw_only=True)
class KmsSigningKey:
    """The pipeline's current Okta key: a KMS key, its JWK thumbprint and JWS algorithm."""

    kms_key_arn: str
    kid: str
    """RFC 7638 thumbprint of the public key, as published in the app's JWKS."""
    alg: str

    @property
    def region(self) -> str:
        return self.kms_key_arn.split(":")[3]


@dataclass(frozen=True, kw_only=True)
class OktaOidcIdentity:
    """`okta-oidc`: client credentials with a signed JWT assertion, MONGODB-OIDC callback."""

    pipeline: str
    token_url: str
    client_id: str
    scope: str
    signing_key: KmsSigningKey
    role: PipelineRole
    """Assumed only to call kms:Sign (its key policy allows no other principal)."""

    @property
    def auth_mode(self) -> AuthMode:
        return AuthMode.OKTA_OIDC


@dataclass(frozen=True, kw_only=True)
class VaultSettings:
    url: str
    auth_mount: str
    auth_role: str
    iam_server_id_header_value: str
    db_mount: str
    db_role: str


@dataclass(frozen=True, kw_only=True)
class VaultDynamicIdentity:
    """`vault-dynamic`: log in to Vault as the pipeline, read `<db_mount>/creds/<db_role>`."""

    pipeline: str
    role: PipelineRole
    vault: VaultSettings

    @property
    def auth_mode(self) -> AuthMode:
        return AuthMode.VAULT_DYNAMIC


RuntimeIdentity = AwsIamIdentity | OktaOidcIdentity | VaultDynamicIdentity


@dataclass(frozen=True, kw_only=True)
class ParsedConnection:
    """The stock MongoClient extras (runtime key removed) and the runtime identity."""

    mongo_extras: dict[str, Any]
    identity: RuntimeIdentity


class ContractError(AtlasIdentityError):
    """The connection definition does not follow the contract; lists every problem."""

    def __init__(self, conn_id: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(conn_id, Step.CONTRACT, "; ".join(problems))


class _Reader:
    """Collects problems with their key paths instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, obj: Mapping[str, Any], key: str, at: str) -> Mapping[str, Any]:
        value = obj.get(key)
        if not isinstance(value, Mapping):
            self.fail(f"{at}.{key}", "is required and must be an object")
            return {}
        return value

    def unknown(self, obj: Mapping[str, Any], known: set[str], at: str) -> None:
        for key in sorted(set(obj) - known):
            self.fail(
                f"{at}.{key}",
                "is not part of this contract version; upgrade the runtime or remove the key",
            )

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        at: str,
        *,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
    ) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not value:
            self.fail(f"{at}.{key}", "is required and must be a non-empty string")
            return ""
        if pattern is not None and not pattern.match(value):
            self.fail(f"{at}.{key}", f"'{value}' is not valid{'; ' + hint if hint else ''}")
        return value

    def url(self, obj: Mapping[str, Any], key: str, at: str) -> str:
        value = self.string(obj, key, at)
        if not value:
            return ""
        parts = urlsplit(value)
        loopback = parts.hostname in LOOPBACK_HOSTS
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            self.fail(
                f"{at}.{key}",
                f"'{value}' must be an https URL (plain http is accepted only on loopback)",
            )
        elif not parts.hostname:
            self.fail(f"{at}.{key}", f"'{value}' has no host")
        return value

    def integer(self, obj: Mapping[str, Any], key: str, at: str, *, low: int, high: int) -> int:
        value = obj.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(f"{at}.{key}", f"'{value}' must be a JSON integer (seconds)")
            return 0
        if not low <= value <= high:
            self.fail(f"{at}.{key}", f"{value} is outside {low}..{high}")
        return value


def _role(r: _Reader, obj: Mapping[str, Any], at: str, *, with_session: bool) -> PipelineRole:
    return PipelineRole(
        role_arn=r.string(
            obj,
            "role_arn",
            at,
            pattern=ROLE_ARN,
            hint="use a path-less role ARN, e.g. arn:aws:iam::123456789012:role/name",
        ),
        region=r.string(obj, "region", at, pattern=REGION, hint="use e.g. eu-west-1"),
        session_seconds=(
            r.integer(obj, "session_seconds", at, low=1, high=STS_SESSION_MAX)
            if with_session
            else SIGNING_SESSION_SECONDS
        ),
    )


def _signing_key(r: _Reader, parent: Mapping[str, Any], parent_at: str) -> KmsSigningKey:
    if not isinstance(parent.get("signing_key"), Mapping):
        r.mapping(parent, "signing_key", parent_at)  # reports the one problem
        return KmsSigningKey(kms_key_arn="", kid="", alg="")
    obj, at = parent["signing_key"], f"{parent_at}.signing_key"
    r.unknown(obj, {"kms_key_arn", "kid", "alg"}, at)
    alg = r.string(obj, "alg", at)
    if alg and alg not in SIGNING_ALGORITHMS:
        r.fail(f"{at}.alg", f"'{alg}' is not one of {', '.join(SIGNING_ALGORITHMS)}")
    return KmsSigningKey(
        kms_key_arn=r.string(
            obj,
            "kms_key_arn",
            at,
            pattern=KMS_KEY_ARN,
            hint="use a KMS key ARN, e.g. arn:aws:kms:eu-west-1:123456789012:key/<uuid>",
        ),
        kid=r.string(obj, "kid", at),
        alg=alg,
    )


def _identity(r: _Reader, raw: Mapping[str, Any], at: str) -> RuntimeIdentity | None:
    version = raw.get("version")
    if version not in CONTRACT_VERSIONS:
        r.fail(
            f"{at}.version",
            f"contract version {version!r} is not supported by this runtime "
            f"(supported: {', '.join(str(v) for v in sorted(CONTRACT_VERSIONS))}); "
            "upgrade airflow-atlas-identity-runtime",
        )
        return None
    pipeline = r.string(raw, "pipeline", at)
    mode_value = raw.get("auth_mode")
    modes = tuple(m.value for m in AuthMode)
    if mode_value not in modes:
        r.fail(f"{at}.auth_mode", f"'{mode_value}' is not one of {', '.join(modes)}")
        return None
    mode = AuthMode(mode_value)
    common = {"version", "pipeline", "auth_mode"}
    if mode is AuthMode.AWS_IAM:
        r.unknown(raw, common | {"role_arn", "region", "session_seconds"}, at)
        return AwsIamIdentity(pipeline=pipeline, role=_role(r, raw, at, with_session=True))
    if mode is AuthMode.OKTA_OIDC:
        if version < OKTA_OIDC_MIN_VERSION:
            r.fail(
                f"{at}.version",
                f"okta-oidc needs contract version {OKTA_OIDC_MIN_VERSION} or later (a KMS "
                f"signing key); version {version} read a private key, which no longer exists: "
                "deploy the current program",
            )
            return None
        r.unknown(
            raw,
            common | {"token_url", "client_id", "scope", "signing_key", "role_arn", "region"},
            at,
        )
        return OktaOidcIdentity(
            pipeline=pipeline,
            token_url=r.url(raw, "token_url", at),
            client_id=r.string(raw, "client_id", at),
            scope=r.string(raw, "scope", at),
            signing_key=_signing_key(r, raw, at),
            role=_role(r, raw, at, with_session=False),
        )
    r.unknown(raw, common | {"role_arn", "region", "session_seconds", "vault"}, at)
    vault = r.mapping(raw, "vault", at)
    v_at = f"{at}.vault"
    r.unknown(
        vault,
        {"url", "auth_mount", "auth_role", "iam_server_id_header_value", "db_mount", "db_role"},
        v_at,
    )
    return VaultDynamicIdentity(
        pipeline=pipeline,
        role=_role(r, raw, at, with_session=True),
        vault=VaultSettings(
            url=r.url(vault, "url", v_at),
            auth_mount=r.string(vault, "auth_mount", v_at, pattern=MOUNT),
            auth_role=r.string(vault, "auth_role", v_at),
            iam_server_id_header_value=r.string(vault, "iam_server_id_header_value", v_at),
            db_mount=r.string(vault, "db_mount", v_at, pattern=MOUNT),
            db_role=r.string(vault, "db_role", v_at),
        ),
    )


def parse_extras(extras: Mapping[str, Any], *, conn_id: str) -> ParsedConnection:
    """Split a connection's extras into stock MongoClient options and the runtime identity.

    Raises ContractError listing every problem (key path and fix) when the definition does not
    follow the contract.
    """
    r = _Reader()
    mongo_extras = {k: v for k, v in extras.items() if k != RUNTIME_EXTRA_KEY}
    at = f"extra.{RUNTIME_EXTRA_KEY}"
    raw = extras.get(RUNTIME_EXTRA_KEY)
    if not isinstance(raw, Mapping):
        raise ContractError(
            conn_id,
            [
                f"{at}: is missing; this connection was not written by the program "
                "(use the stock MongoHook for static connections)"
            ],
        )
    identity = _identity(r, raw, at)
    if identity is not None:
        mechanism, source = MONGO_AUTH[identity.auth_mode]
        for key, expected in (("authMechanism", mechanism), ("authSource", source)):
            if mongo_extras.get(key) != expected:
                r.fail(
                    f"extra.{key}",
                    f"is {mongo_extras.get(key)!r} but auth mode {identity.auth_mode.value} "
                    f"requires {expected!r}",
                )
    for forbidden in ("password", "authMechanismProperties"):
        if forbidden in mongo_extras:
            r.fail(
                f"extra.{forbidden}",
                "must not be set: the runtime provides credentials; remove it from the definition",
            )
    if r.problems or identity is None:
        raise ContractError(conn_id, r.problems)
    return ParsedConnection(mongo_extras=mongo_extras, identity=identity)
