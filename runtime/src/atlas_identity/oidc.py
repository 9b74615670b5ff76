"""Okta `client_credentials` with a `private_key_jwt` assertion, as a pymongo OIDC callback."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from pymongo.auth_oidc import OIDCCallback, OIDCCallbackContext, OIDCCallbackResult

from atlas_identity.contract import OktaOidcIdentity
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.masking import mask

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300
"""Lifetime of a client assertion: it is used once, right away."""
HTTP_TIMEOUT = (5.0, 10.0)


SIGNING_ALGORITHMS = ("ES256", "RS256")


@dataclass(frozen=True, kw_only=True)
class SigningKey:
    """The pipeline's current signing key: the document the program stores (contract v1)."""

    kid: str
    alg: str
    private_key_pem: str

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, alg={self.alg!r})"


def parse_signing_key(document: str) -> SigningKey:
    """`{"kid", "alg", "private_key_pem"}` -> SigningKey; ValueError names what is wrong."""
    shape = "a JSON object {kid, alg, private_key_pem}"
    try:
        data = json.loads(document)
    except json.JSONDecodeError:
        raise ValueError(f"the signing key is not {shape}") from None
    if not isinstance(data, dict):
        raise ValueError(f"the signing key is not {shape}")
    missing = sorted({"kid", "alg", "private_key_pem"} - set(data))
    if missing:
        raise ValueError(f"the signing key lacks {', '.join(missing)}")
    if data["alg"] not in SIGNING_ALGORITHMS:
        supported = ", ".join(SIGNING_ALGORITHMS)
        raise ValueError(f"signing algorithm {data['alg']!r} is not one of {supported}")
    return SigningKey(
        kid=str(data["kid"]), alg=str(data["alg"]), private_key_pem=str(data["private_key_pem"])
    )


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
        private_key: Callable[[], SigningKey],
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn_id = conn_id
        self._identity = identity
        self._load_key = private_key
        self._key: SigningKey | None = None
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

    def _signing_key(self) -> SigningKey:
        if self._key is None:
            self._key = self._load_key()
            mask(self._key.private_key_pem, "private_key_pem")
        return self._key

    def client_assertion(self) -> str:
        """A signed `private_key_jwt` assertion (the key's alg and kid; iss = sub = client id,
        aud = token URL)."""
        now = int(self._clock())
        i = self._identity
        key = self._signing_key()
        assertion = jwt.encode(
            {
                "iss": i.client_id,
                "sub": i.client_id,
                "aud": i.token_url,
                "iat": now,
                "nbf": now,
                "exp": now + ASSERTION_SECONDS,
                "jti": uuid.uuid4().hex,
            },
            key.private_key_pem,
            algorithm=key.alg,
            headers={"kid": key.kid},
        )
        mask(assertion, "client_assertion")
        return assertion

    def _mint(self) -> AccessToken:
        response, body = self._request_token()
        if response.status_code in (400, 401) and body.get("error") == "invalid_client":
            # The key may have rotated while this task held the previous one: re-read it once.
            self._key = None
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
