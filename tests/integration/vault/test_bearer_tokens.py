"""A bearer token is never a key: attacks on the plan's own Vault, on a real OpenBao.

The attacker holds one Okta access token of a pipeline. Atlas receives such a token in every
MONGODB-OIDC handshake, so a log line or a malicious DAG can see it; its audience is the Atlas
workload IdP's (the Okta authorization server has that single audience).

1. It must not log in to Vault. Every JWT/OIDC auth backend and role the plan declares is created
   on OpenBao exactly from the plan's inputs, trusting a test key that signs the attacker's token
   (the plan's `oidcDiscoveryUrl`, the Okta issuer, cannot be reached offline). The token is then
   presented to each of them and to the mount the program used for Okta logins before (`<base>-okta`).
   Today the plan declares none, so every attempt is refused; a change that re-adds a login bound to
   the Atlas audience makes the login succeed and this test fail.
2. No Vault identity of the plan can read signing material: a decoy "private key" is written where
   Vault KV held Okta keys before they moved to KMS, and a token with the policies of each login role
   the plan declares (and of every policy it writes, and `default` alone) tries to read it.
"""

from __future__ import annotations

import json
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
from hvac.exceptions import Forbidden

from devtools.services.openbao import OpenBaoServer
from tests.integration.vault.conftest import PlannedStack
from tests.paths import ROOT
from tests.stacks_discovery import STACKS

pytestmark = pytest.mark.integration

OKTA_SERVER = "okta:auth/server:Server"
ATLAS_IDP = "mongodbatlas:index/federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"
AUTH_BACKEND = "vault:index/authBackend:AuthBackend"
AWS_LOGIN_ROLE = "vault:aws/authBackendRole:AuthBackendRole"
DECOY_KEY = {"kid": "decoy", "alg": "ES256", "private_key_pem": "decoy, not a key"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def api_value(value: Any) -> Any:
    """The plan's JSON numbers can be floats (the mock engine's); Vault wants integers."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def jwt_resources(planned: PlannedStack) -> list[dict[str, Any]]:
    """Every JWT/OIDC auth resource of the plan, whatever resource type declares it."""
    return [
        r
        for r in planned.plan["resources"]
        if r["type"].startswith(("vault:jwt/", "vault:oidc/"))
        or (r["type"] == AUTH_BACKEND and r["inputs"].get("type") in ("jwt", "oidc"))
    ]


@dataclass(frozen=True)
class Attack:
    planned: PlannedStack
    key: rsa.RSAPrivateKey
    logins: list[tuple[str, str]]
    """(mount, role) pairs to try: the plan's JWT roles, and `<base>-okta` with each pipeline."""

    def atlas_token(self, client_id: str) -> str:
        """An access token as the stack's Okta server issues it to the pipeline's app."""
        outputs = self.planned.outputs
        (server,) = self.planned.resources(OKTA_SERVER)
        (audience,) = server["inputs"]["audiences"]
        now = int(time.time())
        claims = {
            "iss": outputs["oktaIssuer"],
            "aud": audience,
            "sub": client_id,
            "cid": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "scp": ["mongodb.access"],
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "test-key"})


def login(server: OpenBaoServer, mount: str, role: str, token: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.post(
        f"{server.url}/v1/auth/{mount}/login", json={"role": role, "jwt": token}, timeout=10
    )


@pytest.fixture(scope="session")
def attacks(loaded: dict[str, PlannedStack], root_client: hvac.Client) -> dict[str, Attack]:
    """Each stack's JWT logins created on OpenBao from the plan, and the logins to attack."""
    result = {}
    for stack, planned in loaded.items():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        logins = [
            (f"{planned.expected.base}-okta", pipeline)
            for pipeline in planned.expected.with_mode("okta-oidc")
        ]
        for resource in jwt_resources(planned):
            inputs = resource["inputs"]
            if "roleName" not in inputs:  # a backend: mount it, trusting the test key
                mount = inputs["path"]
                root_client.sys.enable_auth_method(method_type=inputs["type"], path=mount)
                root_client.write(
                    f"auth/{mount}/config",
                    jwt_validation_pubkeys=[public_pem],
                    bound_issuer=inputs.get("boundIssuer"),
                )
        for resource in jwt_resources(planned):
            inputs = resource["inputs"]
            if "roleName" in inputs:
                fields = {
                    snake(k): api_value(v)
                    for k, v in inputs.items()
                    if k not in {"backend", "roleName"}
                }
                root_client.write(f"auth/{inputs['backend']}/role/{inputs['roleName']}", **fields)
                logins.append((inputs["backend"], inputs["roleName"]))
        result[stack] = Attack(planned=planned, key=key, logins=sorted(set(logins)))
    return result


@pytest.mark.parametrize("stack", STACKS)
def test_the_okta_audience_is_the_atlas_audience(
    planned: dict[str, PlannedStack], stack: str
) -> None:
    """The premise: a pipeline's Okta token is exactly what Atlas receives (the org stack
    creates the stack's IdP from this export, tests/stacks/test_org_stack.py)."""
    (server,) = planned[stack].resources(OKTA_SERVER)
    org = json.loads((ROOT / "snapshots" / "org.plan.json").read_text())
    idps = [
        r
        for r in org["resources"]
        if r["type"] == ATLAS_IDP
        and r["inputs"]["name"] == planned[stack].outputs["atlasWorkloadIdp"]["name"]
    ]
    if stack in org["outputs"].get("pendingWorkloadIdps", []):
        # Merged before its first deploy: the org stack creates its IdP once the issuer exists.
        assert idps == []
        return
    (idp,) = idps
    assert server["inputs"]["audiences"] == [idp["inputs"]["audience"]]


@pytest.mark.parametrize("stack", STACKS)
def test_a_token_with_the_atlas_audience_logs_in_nowhere(
    attacks: dict[str, Attack], openbao: OpenBaoServer, stack: str
) -> None:
    attack = attacks[stack]
    client_ids = attack.planned.outputs["oktaClientIds"]
    assert client_ids, "the stack must have an okta-oidc pipeline to attack"
    outcomes = {}
    for mount, role in attack.logins:
        for pipeline, client_id in client_ids.items():
            response = login(openbao, mount, role, attack.atlas_token(client_id))
            body = response.json()
            outcomes[(mount, role, pipeline)] = (
                response.status_code,
                body.get("auth"),
                body.get("errors"),
            )
    assert outcomes, "no login was attempted"
    # No JWT auth method is mounted: an unauthenticated request to a route nothing serves.
    assert outcomes == dict.fromkeys(outcomes, (403, None, ["permission denied"])), outcomes


def login_roles(planned: PlannedStack) -> dict[str, list[str]]:
    """Every Vault login of the plan (AWS IAM roles; JWT roles if any) -> its token policies."""
    roles = {
        f"{r['inputs']['backend']}/{r['inputs']['role']}": list(r["inputs"]["tokenPolicies"])
        for r in planned.resources(AWS_LOGIN_ROLE)
    }
    for r in jwt_resources(planned):
        if "roleName" in r["inputs"]:
            roles[f"{r['inputs']['backend']}/{r['inputs']['roleName']}"] = list(
                r["inputs"]["tokenPolicies"]
            )
    return roles


@pytest.fixture(scope="session")
def decoys(loaded: dict[str, PlannedStack], root_client: hvac.Client) -> dict[str, list[str]]:
    """A decoy key where Vault KV held each okta-oidc pipeline's key. Stack -> KV paths."""
    written: dict[str, list[str]] = {}
    for stack, planned in loaded.items():
        e = planned.expected
        # The KV suite may have mounted it already in this session.
        if f"{e.kv_mount}/" not in root_client.sys.list_mounted_secrets_engines()["data"]:
            root_client.sys.enable_secrets_engine(
                backend_type="kv", path=e.kv_mount, options={"version": "2"}
            )
        written[stack] = []
        for pipeline in e.with_mode("okta-oidc"):
            path = f"okta-keys/{pipeline}"
            root_client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=DECOY_KEY, mount_point=e.kv_mount
            )
            written[stack].append(path)
    return written


@pytest.mark.parametrize("stack", STACKS)
def test_no_vault_identity_of_the_plan_reads_signing_material(
    loaded: dict[str, PlannedStack],
    decoys: dict[str, list[str]],
    openbao: OpenBaoServer,
    root_client: hvac.Client,
    stack: str,
) -> None:
    planned = loaded[stack]
    e = planned.expected
    identities = {f"login {name}": policies for name, policies in login_roles(planned).items()}
    identities |= {f"policy {name}": [name] for name in planned.policies}
    identities["default only"] = []
    assert len(identities) > 1
    assert decoys[stack]
    readable: dict[str, list[str]] = {}
    for identity, policies in sorted(identities.items()):
        token = root_client.auth.token.create(policies=policies or ["default"], ttl="5m")
        client = openbao.client(token["auth"]["client_token"])
        for path in decoys[stack]:
            try:
                client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=e.kv_mount, raise_on_deleted_version=True
                )
                readable.setdefault(identity, []).append(path)
            except Forbidden:
                pass
    assert readable == {}
    # The decoy is there: root reads it, so the refusals above are the policies' doing.
    stored = root_client.secrets.kv.v2.read_secret_version(
        path=decoys[stack][0], mount_point=e.kv_mount, raise_on_deleted_version=True
    )["data"]["data"]
    assert stored == DECOY_KEY
