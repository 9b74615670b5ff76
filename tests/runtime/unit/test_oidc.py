"""The OIDC callback: assertion shape, caching, re-authentication, errors without secrets."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pymongo.auth_oidc import OIDCCallbackContext

from atlas_identity.contract import AwsSecretsManagerKey, OktaOidcIdentity, PipelineRole
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.oidc import CLIENT_ASSERTION_TYPE, OktaOidcCallback, OktaTokenSource

TOKEN_URL = "https://acme.okta.com/oauth2/aus1/v1/token"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
IDENTITY = OktaOidcIdentity(
    pipeline="events-export",
    token_url=TOKEN_URL,
    client_id="0oa1client",
    scope="atlas",
    key_id="k1",
    private_key=AwsSecretsManagerKey(secret_id="k", region="eu-west-1"),
    role=PipelineRole(
        role_arn="arn:aws:iam::210987654321:role/r", region="eu-west-1", session_seconds=900
    ),
)
CONTEXT = OIDCCallbackContext(timeout_seconds=60, username="", version=1)


class FakeEndpoint(requests.Session):
    def __init__(self, status: int = 200, lifetime: int = 300) -> None:
        super().__init__()
        self.status = status
        self.lifetime = lifetime
        self.forms: list[dict[str, list[str]]] = []

    def post(self, url: str | bytes, data: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.forms.append(parse_qs(requests.models.RequestEncodingMixin._encode_params(data)))
        response = requests.Response()
        response.status_code = self.status
        if self.status == 200:
            body = {"access_token": f"at-{len(self.forms)}", "expires_in": self.lifetime}
        else:
            body = {"error": "invalid_client", "error_description": "assertion rejected"}
        response._content = json.dumps(body).encode()
        return response


def source(endpoint: FakeEndpoint, clock: list[float]) -> OktaTokenSource:
    return OktaTokenSource(
        conn_id="mongo_events_export",
        identity=IDENTITY,
        private_key=lambda: PEM,
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
        algorithms=["RS256"],
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
        private_key=lambda: PEM,
    )
    with pytest.raises(AtlasIdentityError) as caught:
        tokens.token()
    assert str(caught.value) == (
        "connection 'mongo_events_export': token endpoint failed: could not reach "
        "http://127.0.0.1:9/t: ConnectionError"
    )
