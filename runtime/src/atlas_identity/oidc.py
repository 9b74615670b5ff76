"""Okta `client_credentials` with a `private_key_jwt` assertion, as a pymongo OIDC callback.

The assertion is signed by AWS KMS (`kms:Sign`, ECDSA_SHA_256) with the pipeline's key, as the
pipeline role: no private key is ever on the worker. okta-oidc therefore needs AWS credentials
that may assume the pipeline role, which MWAA workers have (the execution role).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pymongo.auth_oidc import OIDCCallback, OIDCCallbackContext, OIDCCallbackResult

from atlas_identity.aws import BOTO_CONFIG
from atlas_identity.contract import KmsSigningKey, OktaOidcIdentity
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.masking import mask

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300
"""Lifetime of a client assertion: it is used once, right away."""
HTTP_TIMEOUT = (5.0, 10.0)
# JWS alg -> (KMS SigningAlgorithm, bytes of r and of s in the JWS signature). RFC 7518 §3.4:
# an ES256 signature is r || s, each a 32-byte big-endian integer; KMS returns DER (RFC 3279).
KMS_ALGORITHMS: dict[str, tuple[str, int]] = {"ES256": ("ECDSA_SHA_256", 32)}
KMS_RAW_MESSAGE_MAX = 4096


class AssertionSigner(Protocol):
    """Signs JWS signing input; the private key stays wherever the signer keeps it."""

    @property
    def kid(self) -> str: ...

    @property
    def alg(self) -> str: ...

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature (for ES256: raw r || s) of `signing_input`."""
        ...


def der_to_jose(der: bytes, size: int) -> bytes:
    """A DER ECDSA signature (SEQUENCE {r, s}) as the JWS form r || s, each `size` bytes."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


class KmsSigner:
    """Signs with a KMS asymmetric key, as whoever `session` holds credentials for.

    KMS gets the JWS signing input itself (`MessageType=RAW`: KMS hashes it with the algorithm's
    SHA-256 before signing). AWS KMS API Reference, Sign: "Messages can be 0-4096 bytes. To sign
    a larger message, provide a message digest" (`DIGEST`). An assertion is a few hundred bytes
    and holds nothing secret; RAW is also what moto implements (it ignores DIGEST), so the tests
    exercise the exact call production makes.
    """

    def __init__(
        self, *, conn_id: str, key: KmsSigningKey, session: Callable[[], boto3.Session]
    ) -> None:
        if key.alg not in KMS_ALGORITHMS:
            raise ValueError(
                f"signing algorithm {key.alg!r} is not one of {sorted(KMS_ALGORITHMS)}"
            )
        self._conn_id = conn_id
        self._key = key
        self._session = session

    @property
    def kid(self) -> str:
        return self._key.kid

    @property
    def alg(self) -> str:
        return self._key.alg

    def sign(self, signing_input: bytes) -> bytes:
        algorithm, size = KMS_ALGORITHMS[self._key.alg]
        arn = self._key.kms_key_arn
        if len(signing_input) > KMS_RAW_MESSAGE_MAX:
            raise AtlasIdentityError(
                self._conn_id,
                Step.ASSERTION_SIGNING,
                f"the assertion is {len(signing_input)} bytes; KMS signs at most "
                f"{KMS_RAW_MESSAGE_MAX} raw bytes",
            )
        try:
            kms = self._session().client("kms", region_name=self._key.region, config=BOTO_CONFIG)
            response = kms.sign(
                KeyId=arn,
                Message=signing_input,
                MessageType="RAW",
                SigningAlgorithm=algorithm,
            )
        except ClientError as e:
            error = e.response.get("Error", {})
            raise AtlasIdentityError(
                self._conn_id,
                Step.ASSERTION_SIGNING,
                f"KMS refused to sign with {arn} "
                f"({error.get('Code', 'error')}: {error.get('Message', '')})",
            ) from None
        except BotoCoreError as e:
            raise AtlasIdentityError(
                self._conn_id,
                Step.ASSERTION_SIGNING,
                f"could not call KMS to sign with {arn}: {type(e).__name__}: {e}",
            ) from None
        return der_to_jose(response["Signature"], size)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_segment(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


def sign_jwt(claims: dict[str, Any], signer: AssertionSigner) -> str:
    """A compact JWS (RFC 7515) of `claims`, header `{alg, kid, typ}`, signed by `signer`."""
    header = {"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}
    signing_input = f"{_json_segment(header)}.{_json_segment(claims)}"
    return f"{signing_input}.{_b64url(signer.sign(signing_input.encode()))}"


@dataclass(frozen=True, kw_only=True)
class AccessToken:
    value: str
    expires_at: float

    def __repr__(self) -> str:
        return f"AccessToken(expires_at={self.expires_at})"


def default_refresh_margin(lifetime_seconds: float) -> float:
    """Treat a token as stale this long before it expires: a fifth of its life, at most 60 s."""
    return min(60.0, lifetime_seconds / 5)


class OktaTokenSource:
    """Mints access tokens for one pipeline and caches them until shortly before expiry.

    Thread-safe. Shared by every client a hook builds, so a rebuilt client reuses a fresh token
    instead of asking Okta again.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        identity: OktaOidcIdentity,
        signer: Callable[[], AssertionSigner],
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn_id = conn_id
        self._identity = identity
        self._load_signer = signer
        self._signer: AssertionSigner | None = None
        self._session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._current: AccessToken | None = None
        self._margin = 0.0
        self.minted = 0

    def token(self, *, reject: str | None = None) -> AccessToken:
        """A token valid for longer than the refresh margin, never the one in `reject`."""
        with self._lock:
            current = self._current
            if (
                current is None
                or current.value == reject
                or current.expires_at - self._clock() <= self._margin
            ):
                current = self._current = self._mint()
            return current

    def _current_signer(self) -> AssertionSigner:
        if self._signer is None:
            self._signer = self._load_signer()
        return self._signer

    def client_assertion(self) -> str:
        """A signed `private_key_jwt` assertion (the key's alg and kid; iss = sub = client id,
        aud = token URL)."""
        now = int(self._clock())
        i = self._identity
        assertion = sign_jwt(
            {
                "iss": i.client_id,
                "sub": i.client_id,
                "aud": i.token_url,
                "iat": now,
                "nbf": now,
                "exp": now + ASSERTION_SECONDS,
                "jti": uuid.uuid4().hex,
            },
            self._current_signer(),
        )
        mask(assertion, "client_assertion")
        return assertion

    def _mint(self) -> AccessToken:
        response, body = self._request_token()
        if response.status_code in (400, 401) and body.get("error") == "invalid_client":
            # The key may have rotated while this task held the previous one: sign anew once.
            self._signer = None
            response, body = self._request_token()
        return self._accept(response, body)

    def _request_token(self) -> tuple[requests.Response, dict[str, Any]]:
        i = self._identity
        assertion = self.client_assertion()
        try:
            response = self._session.post(
                i.token_url,
                data={
                    "grant_type": "client_credentials",
                    "scope": i.scope,
                    "client_assertion_type": CLIENT_ASSERTION_TYPE,
                    "client_assertion": assertion,
                },
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
            )
        except requests.RequestException as e:
            raise AtlasIdentityError(
                self._conn_id,
                Step.TOKEN_ENDPOINT,
                f"could not reach {i.token_url}: {type(e).__name__}",
            ) from None
        return response, _json(response)

    def _accept(self, response: requests.Response, body: dict[str, Any]) -> AccessToken:
        i = self._identity
        if response.status_code != 200:
            # OAuth error responses carry `error` / `error_description`; never echo the request.
            raise AtlasIdentityError(
                self._conn_id,
                Step.TOKEN_ENDPOINT,
                f"{i.token_url} answered HTTP {response.status_code} "
                f"({body.get('error', 'no error code')}: {body.get('error_description', '')}) "
                f"for client {i.client_id}",
            )
        value = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(value, str) or not value:
            raise AtlasIdentityError(
                self._conn_id, Step.TOKEN_ENDPOINT, f"{i.token_url} returned no access_token"
            )
        mask(value, "access_token")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 300.0
        self._margin = default_refresh_margin(lifetime)
        self.minted += 1
        return AccessToken(value=value, expires_at=self._clock() + lifetime)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class OktaOidcCallback(OIDCCallback):
    """pymongo's MONGODB-OIDC machine callback for one MongoClient.

    pymongo calls `fetch` when it first authenticates and again when the server asks for
    re-authentication (error 391) or rejects the token. The first call may reuse a cached, fresh
    token; every later call from the same client means the token it had is no longer good, so a
    new one is minted.
    """

    def __init__(self, source: OktaTokenSource) -> None:
        self._source = source
        self._last: str | None = None
        self.calls = 0

    def fetch(self, context: OIDCCallbackContext) -> OIDCCallbackResult:
        token = self._source.token(reject=self._last)
        self._last = token.value
        self.calls += 1
        return OIDCCallbackResult(
            access_token=token.value,
            expires_in_seconds=max(0.0, token.expires_at - time.time()),
        )
