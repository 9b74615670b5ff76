"""The OIDC callback: assertion shape, caching, re-authentication, errors without secrets."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo.auth_oidc import OIDCCallbackContext

from atlas_identity.contract import AwsSecretsManagerKey, OktaOidcIdentity, PipelineRole
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.oidc import (
    CLIENT_ASSERTION_TYPE,
    OktaOidcCallback,
    OktaTokenSource,
    SigningKey,
    parse_signing_key,
)

TOKEN_URL = "https://acme.okta.com/oauth2/aus1/v1/token"
# The program's keys are P-256 (ES256); the document is what it stores for the runtime.
KEY = ec.generate_private_key(ec.SECP256R1())
PEM = KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
).decode()
SIGNING_KEY = SigningKey(kid="k1", alg="ES256", private_key_pem=PEM)
IDENTITY = OktaOidcIdentity(
    pipeline="events-export",
    token_url=TOKEN_URL,
    client_id="0oa1client",
    scope="atlas",
    private_key=AwsSecretsManagerKey(secret_id="k", region="eu-west-1"),
    role=PipelineRole(
        role_arn="arn:aws:iam::210987654321:role/r", region="eu-west-1", session_seconds=900
    ),
)
CONTEXT = OIDCCallbackContext(timeout_seconds=60, username="", version=1)


class FakeEndpoint(requests.Session):
    def __init__(self, status: int = 200, lifetime: int = 300, refusals: int = 0) -> None:
        super().__init__()
        self.status = status
        self.refusals = refusals
        self.lifetime = lifetime
        self.forms: list[dict[str, list[str]]] = []

    def post(self, url: str | bytes, data: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.forms.append(parse_qs(requests.models.RequestEncodingMixin._encode_params(data)))
        response = requests.Response()
        refused = self.refusals >= len(self.forms)
        response.status_code = 401 if refused else self.status
        if response.status_code == 200:
            body = {"access_token": f"at-{len(self.forms)}", "expires_in": self.lifetime}
        else:
            body = {"error": "invalid_client", "error_description": "assertion rejected"}
        response._content = json.dumps(body).encode()
        return response


def source(endpoint: FakeEndpoint, clock: list[float]) -> OktaTokenSource:
    return OktaTokenSource(
        conn_id="mongo_events_export",
        identity=IDENTITY,
        private_key=lambda: SIGNING_KEY,
        session=endpoint,
        clock=lambda: clock[0],
    )


def test_the_request_is_client_credentials_with_a_signed_assertion() -> None:
    endpoint = FakeEndpoint()
    source(endpoint, [1_000_000.0]).token()
    form = endpoint.forms[0]
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == ["atlas"]
    assert form["client_assertion_type"] == [CLIENT_ASSERTION_TYPE]
    assertion = form["client_assertion"][0]
    assert jwt.get_unverified_header(assertion)["kid"] == "k1"
    claims = jwt.decode(
        assertion,
        KEY.public_key(),
        algorithms=["ES256"],
        audience=TOKEN_URL,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["iss"] == claims["sub"] == "0oa1client"
    assert claims["exp"] - claims["iat"] == 300
    assert len(claims["jti"]) == 32


def test_tokens_are_cached_until_shortly_before_expiry() -> None:
    endpoint, clock = FakeEndpoint(lifetime=300), [1_000_000.0]
    tokens = source(endpoint, clock)
    assert tokens.token().value == "at-1"
    clock[0] += 239  # margin: a fifth of 300 s = 60 s
    assert tokens.token().value == "at-1"
    clock[0] += 2
    assert tokens.token().value == "at-2"


def test_a_second_fetch_from_the_same_client_mints_a_new_token() -> None:
    endpoint, clock = FakeEndpoint(lifetime=3600), [1_000_000.0]
    tokens = source(endpoint, clock)
    first_client, second_client = OktaOidcCallback(tokens), OktaOidcCallback(tokens)
    assert first_client.fetch(CONTEXT).access_token == "at-1"
    # another client of the same pipeline reuses the fresh token
    assert second_client.fetch(CONTEXT).access_token == "at-1"
    # the server asked the first client to re-authenticate: its token is no good any more
    assert first_client.fetch(CONTEXT).access_token == "at-2"
    assert len(endpoint.forms) == 2


def test_endpoint_refusal_is_clear_and_holds_no_secret() -> None:
    endpoint = FakeEndpoint(status=401)
    with pytest.raises(AtlasIdentityError) as caught:
        source(endpoint, [1_000_000.0]).token()
    assert caught.value.step is Step.TOKEN_ENDPOINT
    message = str(caught.value)
    assert message == (
        "connection 'mongo_events_export': token endpoint failed: "
        f"{TOKEN_URL} answered HTTP 401 (invalid_client: assertion rejected) "
        "for client 0oa1client"
    )
    assert endpoint.forms[0]["client_assertion"][0] not in message


def test_unreachable_endpoint() -> None:
    tokens = OktaTokenSource(
        conn_id="mongo_events_export",
        identity=OktaOidcIdentity(**{**IDENTITY.__dict__, "token_url": "http://127.0.0.1:9/t"}),
        private_key=lambda: SIGNING_KEY,
    )
    with pytest.raises(AtlasIdentityError) as caught:
        tokens.token()
    assert str(caught.value) == (
        "connection 'mongo_events_export': token endpoint failed: could not reach "
        "http://127.0.0.1:9/t: ConnectionError"
    )


def test_a_rejected_assertion_re_reads_the_key_once() -> None:
    """A rotation while the task held the previous key: Okta says invalid_client once."""
    endpoint, reads = FakeEndpoint(refusals=1), []

    def load() -> SigningKey:
        reads.append(1)
        return SIGNING_KEY

    tokens = OktaTokenSource(
        conn_id="mongo_events_export", identity=IDENTITY, private_key=load, session=endpoint
    )
    assert tokens.token().value == "at-2"
    assert (len(reads), len(endpoint.forms)) == (2, 2)


def test_a_second_rejection_is_an_error_not_a_loop() -> None:
    endpoint, reads = FakeEndpoint(refusals=5), []

    def load() -> SigningKey:
        reads.append(1)
        return SIGNING_KEY

    tokens = OktaTokenSource(
        conn_id="mongo_events_export", identity=IDENTITY, private_key=load, session=endpoint
    )
    with pytest.raises(AtlasIdentityError):
        tokens.token()
    assert (len(reads), len(endpoint.forms)) == (2, 2)


def test_the_signing_key_document_is_parsed_and_checked() -> None:
    document = json.dumps({"kid": "k1", "alg": "ES256", "private_key_pem": PEM})
    assert parse_signing_key(document) == SIGNING_KEY
    assert "PRIVATE" not in repr(parse_signing_key(document))
    for bad, message in [
        ("-----BEGIN EC PRIVATE KEY-----", "the signing key is not a JSON object"),
        (json.dumps({"kid": "k1", "alg": "ES256"}), "the signing key lacks private_key_pem"),
        (
            json.dumps({"kid": "k", "alg": "HS256", "private_key_pem": PEM}),
            "signing algorithm 'HS256'",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_signing_key(bad)
