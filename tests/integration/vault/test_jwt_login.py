"""Okta workload logins: OpenBao's JWT auth configured with the program's settings, real tokens.

A test RSA key stands in for Okta's signing key: the plan's `oidcDiscoveryUrl` (the Okta issuer)
cannot be reached offline, so the backend gets `jwt_validation_pubkeys` instead (OpenBao accepts
one or the other, not both); `bound_issuer` and every role setting are the plan's, unchanged.
Okta signs access tokens with RS256; a client-credentials token has `sub` = the app's client id.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import hvac
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.vault.conftest import PlannedStack
from tests.services.openbao import OpenBaoServer
from tests.stacks_discovery import STACKS

pytestmark = pytest.mark.integration

JWT_BACKEND = "vault:jwt/authBackend:AuthBackend"
JWT_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
ROLE_INPUTS = {
    "backend",
    "roleName",
    "roleType",
    "userClaim",
    "boundAudiences",
    "boundSubject",
    "tokenPolicies",
    "tokenTtl",
    "tokenMaxTtl",
    "expirationLeeway",
    "clockSkewLeeway",
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def api_value(value: Any) -> Any:
    """The plan's JSON numbers can be floats (the mock engine's); Vault wants integers."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class JwtStack:
    planned: PlannedStack
    mount: str
    issuer: str
    roles: dict[str, dict[str, Any]]
    """Role name -> the plan's inputs."""
    key: rsa.RSAPrivateKey

    def claims(self, role: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        inputs = self.roles[role]
        claims = {
            "iss": self.issuer,
            "aud": inputs["boundAudiences"][0],
            "sub": inputs["boundSubject"],
            "cid": inputs["boundSubject"],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "scp": ["mongodb.access"],
        }
        claims.update(overrides)
        return claims

    def sign(self, claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "test-key"})


def login(server: OpenBaoServer, mount: str, role: str, token: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.post(
        f"{server.url}/v1/auth/{mount}/login", json={"role": role, "jwt": token}, timeout=10
    )


@pytest.fixture(scope="session")
def jwt_stacks(
    planned: dict[str, PlannedStack], loaded: dict[str, PlannedStack], root_client: hvac.Client
) -> dict[str, JwtStack]:
    """Each stack's JWT backend and roles, created on OpenBao exactly from the plan's inputs."""
    configured = {}
    for stack, planned_stack in loaded.items():
        backends = planned_stack.resources(JWT_BACKEND)
        if not backends:  # no Vault KV in this stack, so no JWT logins (see ROLES)
            continue
        (backend,) = backends
        inputs = backend["inputs"]
        mount, issuer = inputs["path"], inputs["boundIssuer"]
        assert inputs["type"] == "jwt"
        assert inputs["oidcDiscoveryUrl"] == issuer  # the Okta issuer: unreachable offline
        key = new_key()
        root_client.sys.enable_auth_method(method_type="jwt", path=mount)
        root_client.write(
            f"auth/{mount}/config", jwt_validation_pubkeys=[public_pem(key)], bound_issuer=issuer
        )
        roles = {}
        for resource in planned_stack.resources(JWT_ROLE):
            role_inputs = resource["inputs"]
            assert set(role_inputs) == ROLE_INPUTS, "translate every role input to the API"
            assert role_inputs["backend"] == mount
            fields = {
                snake(k): api_value(v)
                for k, v in role_inputs.items()
                if k not in {"backend", "roleName"}
            }
            response = root_client.write(f"auth/{mount}/role/{role_inputs['roleName']}", **fields)
            # 204 No Content (hvac returns the bare response): OpenBao took every field, no warning.
            assert isinstance(response, requests.Response), response
            assert response.status_code == 204
            roles[role_inputs["roleName"]] = role_inputs
        configured[stack] = JwtStack(
            planned=planned_stack, mount=mount, issuer=issuer, roles=roles, key=key
        )
    return configured


# Only stacks whose Vault KV holds connection definitions get JWT logins (dev has none: a
# login that grants nothing but `default` is not created).
ROLES = [("prod", "partner-feed")]


def test_each_stack_has_a_jwt_role_per_okta_pipeline(planned: dict[str, PlannedStack]) -> None:
    found = [
        (stack, r["inputs"]["roleName"])
        for stack in STACKS
        for r in planned[stack].resources(JWT_ROLE)
    ]
    assert found == ROLES
    for stack, role in ROLES:
        assert planned[stack].expected.pipelines[role] == "okta-oidc"


@pytest.mark.parametrize(("stack", "role"), ROLES)
def test_role_reads_back_as_the_plan_declared_it(
    jwt_stacks: dict[str, JwtStack], root_client: hvac.Client, stack: str, role: str
) -> None:
    s = jwt_stacks[stack]
    inputs = s.roles[role]
    stored = root_client.read(f"auth/{s.mount}/role/{role}")["data"]
    assert {
        "role_type": stored["role_type"],
        "user_claim": stored["user_claim"],
        "bound_audiences": stored["bound_audiences"],
        "bound_subject": stored["bound_subject"],
        "token_policies": stored["token_policies"],
        "token_ttl": stored["token_ttl"],
        "token_max_ttl": stored["token_max_ttl"],
    } == {
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_audiences": inputs["boundAudiences"],
        "bound_subject": s.planned.outputs["oktaClientIds"][role],
        "token_policies": inputs["tokenPolicies"],
        "token_ttl": api_value(inputs["tokenTtl"]),
        "token_max_ttl": api_value(inputs["tokenMaxTtl"]),
    }
    config = root_client.read(f"auth/{s.mount}/config")["data"]
    assert config["bound_issuer"] == s.planned.outputs["oktaIssuer"]


@pytest.mark.parametrize(("stack", "role"), ROLES)
def test_okta_token_with_the_right_issuer_audience_and_subject_logs_in(
    jwt_stacks: dict[str, JwtStack],
    openbao: OpenBaoServer,
    root_client: hvac.Client,
    stack: str,
    role: str,
) -> None:
    s = jwt_stacks[stack]
    inputs = s.roles[role]
    response = login(openbao, s.mount, role, s.sign(s.claims(role)))
    assert response.status_code == 200, response.text
    auth = response.json()["auth"]
    assert sorted(auth["policies"]) == sorted([*inputs["tokenPolicies"], "default"])
    assert sorted(auth["token_policies"]) == sorted([*inputs["tokenPolicies"], "default"])
    assert auth["lease_duration"] == api_value(inputs["tokenTtl"])
    assert auth["renewable"] is True
    assert auth["metadata"] == {"role": role}
    looked_up = root_client.auth.token.lookup(auth["client_token"])["data"]
    assert looked_up["explicit_max_ttl"] == 0
    assert looked_up["path"] == f"auth/{s.mount}/login"
    # The audit trail names the Okta app: display name = mount + client id (the `sub`).
    assert looked_up["display_name"] == f"{s.mount}-{inputs['boundSubject']}"


AUDIENCE = "invalid audience (aud) claim"
SUBJECT = "invalid subject (sub) claim"
ISSUER = "invalid issuer (iss) claim"


def refused_cases(
    s: JwtStack, role: str, other_subjects: list[str], other_audiences: list[str]
) -> dict[str, tuple[str, str]]:
    """Case -> (token, the reason OpenBao must give). Each token differs from a good one once."""
    now = int(time.time())
    cases = {
        "wrong audience": (s.sign(s.claims(role, aud="api://another-api")), AUDIENCE),
        "expired": (
            s.sign(s.claims(role, iat=now - 3600, nbf=now - 3600, exp=now - 1800)),
            "invalid expiration time (exp) claim: token is expired",
        ),
        "not yet valid": (
            s.sign(s.claims(role, iat=now, nbf=now + 1800, exp=now + 3600)),
            "invalid not before (nbf) claim: token not yet valid",
        ),
        "wrong issuer": (s.sign(s.claims(role, iss=s.issuer + "-other")), ISSUER),
        "org authorization server": (
            s.sign(s.claims(role, iss=s.issuer.rsplit("/oauth2/")[0])),
            ISSUER,
        ),
        "signed by another key": (
            s.sign(s.claims(role), key=new_key()),
            "no known key successfully validated the token signature",
        ),
        "no subject": (s.sign({k: v for k, v in s.claims(role).items() if k != "sub"}), SUBJECT),
    }
    for subject in other_subjects:
        cases[f"subject {subject}"] = (s.sign(s.claims(role, sub=subject, cid=subject)), SUBJECT)
    for audience in other_audiences:
        cases[f"audience {audience}"] = (s.sign(s.claims(role, aud=audience)), AUDIENCE)
    return cases


@pytest.mark.parametrize(("stack", "role"), ROLES)
def test_wrong_audience_subject_issuer_key_or_lifetime_is_refused(
    jwt_stacks: dict[str, JwtStack],
    planned: dict[str, PlannedStack],
    openbao: OpenBaoServer,
    stack: str,
    role: str,
) -> None:
    s = jwt_stacks[stack]
    # Another pipeline's client id: the other stack's Okta app, and a made-up one of Okta's shape.
    other_subjects = [
        client_id
        for other in planned.values()
        for pipeline, client_id in other.outputs["oktaClientIds"].items()
        if (other.expected.stack, pipeline) != (stack, role)
    ] + ["0oaZZZZZZZZZZZZZZZZZ"]
    other_audiences = [
        audience
        for other in planned.values()
        if other.expected.stack != stack
        for server in other.resources("okta:auth/server:Server")
        for audience in server["inputs"]["audiences"]
    ]
    # Each other stack adds its own client ids and audience; the made-up id is always there.
    assert len(other_subjects) >= 2
    assert len(other_audiences) >= 1
    outcomes = {}
    cases = refused_cases(s, role, other_subjects, other_audiences)
    for case, (token, reason) in cases.items():
        response = login(openbao, s.mount, role, token)
        body = response.json()
        errors = body.get("errors") or [""]
        outcomes[case] = (response.status_code, body.get("auth"), reason in errors[0], errors)
    assert {case: outcome[:3] for case, outcome in outcomes.items()} == dict.fromkeys(
        cases, (400, None, True)
    ), outcomes
    # Seven fixed cases, plus one per foreign subject and audience: none collapsed into another.
    assert len(outcomes) == 7 + len(other_subjects) + len(other_audiences), sorted(outcomes)


@pytest.mark.parametrize(("stack", "role"), ROLES)
def test_an_unknown_role_is_refused(
    jwt_stacks: dict[str, JwtStack], openbao: OpenBaoServer, stack: str, role: str
) -> None:
    s = jwt_stacks[stack]
    response = login(openbao, s.mount, "orders-ingest", s.sign(s.claims(role)))
    assert (response.status_code, response.json().get("auth")) == (400, None)


@pytest.mark.parametrize(("stack", "role"), ROLES)
def test_a_token_expired_moments_ago_is_refused(
    jwt_stacks: dict[str, JwtStack], openbao: OpenBaoServer, stack: str, role: str
) -> None:
    """The plan disables the expiration leeway (Vault's default accepts ~150 s after `exp`) and
    allows 10 s of clock skew: a token expired 30 s ago no longer logs in."""
    s = jwt_stacks[stack]
    now = int(time.time())
    token = s.sign(s.claims(role, iat=now - 630, nbf=now - 630, exp=now - 30))
    assert (s.roles[role]["expirationLeeway"], s.roles[role]["clockSkewLeeway"]) == (-1, 10)
    response = login(openbao, s.mount, role, token)
    assert (response.status_code, response.json().get("auth")) == (400, None)


@pytest.mark.parametrize(
    ("stack", "role"),
    [
        ("prod", "partner-feed"),
    ],
)
def test_a_jwt_login_grants_the_pipeline_policy(
    jwt_stacks: dict[str, JwtStack], openbao: OpenBaoServer, stack: str, role: str
) -> None:
    """A login that gives nothing but `default` has no purpose and still yields a live token
    (cubbyhole, response wrapping, renewal of any lease id it learns)."""
    s = jwt_stacks[stack]
    response = login(openbao, s.mount, role, s.sign(s.claims(role)))
    assert response.status_code == 200
    assert s.planned.expected.policy_name(role) in response.json()["auth"]["policies"]
