"""The OIDC callback: assertion shape, KMS signing, caching, re-authentication, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import boto3
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from moto import mock_aws
from pymongo.auth_oidc import OIDCCallbackContext

from atlas_identity.contract import KmsSigningKey, OktaOidcIdentity, PipelineRole
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.oidc import (
    CLIENT_ASSERTION_TYPE,
    KmsSigner,
    OktaOidcCallback,
    OktaTokenSource,
    der_to_jose,
    sign_jwt,
)


def kms_public_key(kms: Any, arn: str) -> ec.EllipticCurvePublicKey:
    """The public half of a KMS signing key (ECC_NIST_P256), as KMS hands it out (DER)."""
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=arn)["PublicKey"])
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public


TOKEN_URL = "https://acme.okta.com/oauth2/aus1/v1/token"
REGION = "eu-west-1"
KEY_ARN = "arn:aws:kms:eu-west-1:210987654321:key/0d5e6b2a-1c3f-4a5b-9c8d-7e6f5a4b3c2d"
IDENTITY = OktaOidcIdentity(
    pipeline="events-export",
    token_url=TOKEN_URL,
    client_id="0oa1client",
    scope="atlas",
    signing_key=KmsSigningKey(kms_key_arn=KEY_ARN, kid="k1", alg="ES256"),
    role=PipelineRole(
        role_arn="arn:aws:iam::210987654321:role/r", region=REGION, session_seconds=900
    ),
)
CONTEXT = OIDCCallbackContext(timeout_seconds=60, username="", version=1)


class LocalSigner:
    """An in-process ES256 signer for the tests that are about caching, not about KMS."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = "k1"
        self.alg = "ES256"

    def sign(self, signing_input: bytes) -> bytes:
        return der_to_jose(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())), 32)


SIGNER = LocalSigner()


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
        signer=lambda: SIGNER,
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
        SIGNER.key.public_key(),
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
        signer=lambda: SIGNER,
    )
    with pytest.raises(AtlasIdentityError) as caught:
        tokens.token()
    assert str(caught.value) == (
        "connection 'mongo_events_export': token endpoint failed: could not reach "
        "http://127.0.0.1:9/t: ConnectionError"
    )


def test_a_rejected_assertion_makes_a_new_signer_once() -> None:
    """A rotation while the task held the previous key: Okta says invalid_client once."""
    endpoint, reads = FakeEndpoint(refusals=1), []

    def load() -> LocalSigner:
        reads.append(1)
        return SIGNER

    tokens = OktaTokenSource(
        conn_id="mongo_events_export", identity=IDENTITY, signer=load, session=endpoint
    )
    assert tokens.token().value == "at-2"
    assert (len(reads), len(endpoint.forms)) == (2, 2)


def test_a_second_rejection_is_an_error_not_a_loop() -> None:
    endpoint, reads = FakeEndpoint(refusals=5), []

    def load() -> LocalSigner:
        reads.append(1)
        return SIGNER

    tokens = OktaTokenSource(
        conn_id="mongo_events_export", identity=IDENTITY, signer=load, session=endpoint
    )
    with pytest.raises(AtlasIdentityError):
        tokens.token()
    assert (len(reads), len(endpoint.forms)) == (2, 2)


def test_der_signatures_become_fixed_width_r_and_s() -> None:
    # Small r and s: DER drops leading zero bytes, JOSE keeps 32 bytes each (RFC 7518 §3.4).
    der = encode_dss_signature(1, 2**255 + 7)
    raw = der_to_jose(der, 32)
    assert raw == (1).to_bytes(32, "big") + (2**255 + 7).to_bytes(32, "big")
    assert len(raw) == 64


# -- KMS (moto) ---------------------------------------------------------------------------------


@pytest.fixture
def kms_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """An ECC_NIST_P256 SIGN_VERIFY key in moto's KMS, and the KMS client."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        yield key["Arn"], kms


def kms_signer(arn: str, kid: str = "kid-1") -> KmsSigner:
    return KmsSigner(
        conn_id="mongo_events_export",
        key=KmsSigningKey(kms_key_arn=arn, kid=kid, alg="ES256"),
        session=lambda: boto3.Session(region_name=REGION),
    )


def test_kms_signs_an_assertion_that_verifies_with_the_kms_public_key(
    kms_key: tuple[str, Any],
) -> None:
    arn, kms = kms_key
    public = kms_public_key(kms, arn)
    assertion = sign_jwt({"iss": "0oa1client", "aud": TOKEN_URL}, kms_signer(arn))
    assert jwt.get_unverified_header(assertion) == {"alg": "ES256", "kid": "kid-1", "typ": "JWT"}
    claims = jwt.decode(assertion, public, algorithms=["ES256"], audience=TOKEN_URL)
    assert claims == {"iss": "0oa1client", "aud": TOKEN_URL}
    # KMS itself agrees: the JOSE signature, back in DER, verifies over the signing input.
    signing_input, _, signature = assertion.rpartition(".")
    raw = jwt.utils.base64url_decode(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    verified = kms.verify(
        KeyId=arn,
        Message=signing_input.encode(),
        MessageType="RAW",
        Signature=der,
        SigningAlgorithm="ECDSA_SHA_256",
    )
    assert verified["SignatureValid"] is True
    # A different key's public half does not verify it.
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    other_public = kms_public_key(kms, other)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(assertion, other_public, algorithms=["ES256"], audience=TOKEN_URL)


def test_a_key_kms_refuses_to_sign_with_is_a_clear_error(kms_key: tuple[str, Any]) -> None:
    """KMS' refusal (here: an encryption key) names the key and KMS' reason, nothing else.

    (A retired key pending deletion is refused the same way by KMS, KMSInvalidStateException;
    moto 5.2 does not model key states, so that case is not reproducible here.)
    """
    _, kms = kms_key
    arn = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"][
        "Arn"
    ]
    with pytest.raises(AtlasIdentityError) as caught:
        sign_jwt({"iss": "x"}, kms_signer(arn))
    assert caught.value.step is Step.ASSERTION_SIGNING
    assert str(caught.value).startswith(
        f"connection 'mongo_events_export': assertion signing failed: KMS refused to sign "
        f"with {arn} (ValidationException: "
    )


def test_an_unknown_key_is_a_clear_error(kms_key: tuple[str, Any]) -> None:
    arn = KEY_ARN.replace("210987654321", "123456789012")
    with pytest.raises(AtlasIdentityError) as caught:
        sign_jwt({"iss": "x"}, kms_signer(arn))
    assert caught.value.step is Step.ASSERTION_SIGNING
    assert f"KMS refused to sign with {arn} (NotFoundException: " in str(caught.value)


def test_the_token_source_signs_with_kms(kms_key: tuple[str, Any]) -> None:
    arn, kms = kms_key
    public = kms_public_key(kms, arn)
    endpoint = FakeEndpoint()
    OktaTokenSource(
        conn_id="mongo_events_export",
        identity=IDENTITY,
        signer=lambda: kms_signer(arn, kid="k-current"),
        session=endpoint,
    ).token()
    assertion = endpoint.forms[0]["client_assertion"][0]
    assert jwt.get_unverified_header(assertion)["kid"] == "k-current"
    claims = jwt.decode(assertion, public, algorithms=["ES256"], audience=TOKEN_URL)
    assert claims["iss"] == claims["sub"] == "0oa1client"


def test_only_es256_is_accepted() -> None:
    with pytest.raises(ValueError, match="signing algorithm 'RS256' is not one of"):
        KmsSigner(
            conn_id="c",
            key=KmsSigningKey(kms_key_arn=KEY_ARN, kid="k", alg="RS256"),
            session=boto3.Session,
        )


def test_an_assertion_over_kms_raw_limit_is_refused_before_calling_kms() -> None:
    calls: list[int] = []

    def session() -> boto3.Session:
        calls.append(1)
        return boto3.Session(region_name=REGION)

    signer = KmsSigner(
        conn_id="mongo_events_export",
        key=KmsSigningKey(kms_key_arn=KEY_ARN, kid="k", alg="ES256"),
        session=session,
    )
    with pytest.raises(AtlasIdentityError) as caught:
        signer.sign(b"x" * 4097)
    assert caught.value.detail == "the assertion is 4097 bytes; KMS signs at most 4096 raw bytes"
    assert calls == []
