"""Attacks on Vault by the CI identities, on a real OpenBao, with their real logins and policies.

OpenBao gets prod's Vault as the program and the bootstrap declare it: the bootstrap's JWT roles
(`ci-preview`, `ci-deploy-prod`, `ci-structure`: bound claims and policies exactly as planned) and
its CI policies, prod's mounts and auth methods, and the program's pipeline policies from the
prod plan. Substitutions, none of which changes an ACL decision: the JWT mount verifies tokens
with a local key instead of GitHub's discovery URL (so the test can mint the tokens a GitHub job
would present); OpenBao has no AWS auth method and no MongoDB Atlas plugin, so AppRole mounts
(same `auth/<mount>/role/<name>` paths) and a never-dialled PostgreSQL connection stand in.

Each attack logs in as the job that would try it and must get 403 (or, for a forged identity, no
token at all); each identity also does its legitimate job once, so a 403 means "refused", not
"broken setup".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import hvac
import pytest
import requests
from authlib.jose import JsonWebKey, jwt

from bootstrap.github import GITHUB_OIDC_URL
from devtools import plan as stack_plan
from devtools.offline import ProgramRun
from devtools.services.openbao import OpenBaoServer, running_openbao
from tests.delivery.bootstrap_run import run_bootstrap, stack_values
from tests.paths import ROOT

P = "aai-prod"
REPO = "acme/airflow-atlas-identity"
WORKFLOWS = f"{REPO}/.github/workflows"
AUDIENCE = "https://vault.acme.internal"
PIPELINE = "finance-reconcile"
CREDS = f"{P}-atlas/creds/{PIPELINE}"
DB_ROLE = f"{P}-atlas/roles/{PIPELINE}"
CONNECTION = f"{P}-airflow/data/connections/mongo_finance_reconcile"


@pytest.fixture(scope="module")
def openbao() -> Iterator[OpenBaoServer]:
    with running_openbao() as server:
        yield server


@pytest.fixture(scope="module")
def bootstrap() -> ProgramRun:
    return run_bootstrap(stack_values("prod"))


@pytest.fixture(scope="module")
def signing_key() -> Any:
    return JsonWebKey.generate_key("RSA", 2048, is_private=True)


def _resolve(value: Any) -> Any:
    """Plan inputs hold JSON strings as {"__json__": ...}; Vault wants the string."""
    if isinstance(value, dict) and set(value) == {"__json__"}:
        return json.dumps(value["__json__"])
    return value


@pytest.fixture(scope="module")
def vault(openbao: OpenBaoServer, bootstrap: ProgramRun, signing_key: Any) -> OpenBaoServer:
    """prod's Vault, configured by root exactly as the bootstrap and the program plan it."""
    root = openbao.client()
    # The bootstrap's GitHub login and CI policies.
    github = bootstrap.monitor.one("vault:jwt/authBackend:AuthBackend", "deployer-vault-github")
    root.sys.enable_auth_method("jwt", path=github.inputs["path"])
    root.write(
        f"auth/{github.inputs['path']}/config",
        jwt_validation_pubkeys=[signing_key.as_pem(is_private=False).decode()],
        bound_issuer=github.inputs["boundIssuer"],
    )
    for policy in bootstrap.monitor.by_type("vault:index/policy:Policy"):
        root.sys.create_or_update_acl_policy(
            name=policy.inputs["name"], policy=policy.inputs["policy"]
        )
    for role in bootstrap.monitor.by_type("vault:jwt/authBackendRole:AuthBackendRole"):
        i = role.inputs
        root.write(
            f"auth/{github.inputs['path']}/role/{i['roleName']}",
            role_type=i["roleType"],
            bound_audiences=i["boundAudiences"],
            bound_claims_type=i["boundClaimsType"],
            bound_claims=i["boundClaims"],
            user_claim=i["userClaim"],
            claim_mappings=i["claimMappings"],
            token_policies=i["tokenPolicies"],
            token_ttl=int(i["tokenTtl"]),
        )
    # prod's structure and data, from the prod plan.
    plan = stack_plan.plan(stack_plan.read_stack_file(ROOT / "Pulumi.prod.yaml"))
    for r in plan["resources"]:
        i = {k: _resolve(v) for k, v in r["inputs"].items()}
        if r["type"] == "vault:index/mount:Mount":
            root.sys.enable_secrets_engine(
                i["type"], path=i["path"], options=i.get("options") or None
            )
        elif r["type"] in (
            "vault:index/authBackend:AuthBackend",
            "vault:jwt/authBackend:AuthBackend",
        ):
            # OpenBao ships no AWS auth method: AppRole, whose roles live at the same
            # `auth/<mount>/role/<name>` paths, stands in for it.
            method = {"aws": "approle"}.get(i.get("type", "jwt"), i.get("type", "jwt"))
            root.sys.enable_auth_method(method, path=i["path"])
        elif r["type"] == "vault:index/policy:Policy":
            root.sys.create_or_update_acl_policy(name=i["name"], policy=i["policy"])
    # OpenBao ships no MongoDB Atlas plugin: a PostgreSQL connection (never dialled) stands in,
    # so the database role with prod's real creation statement can exist.
    root.write(
        f"{P}-atlas/config/atlas",
        plugin_name="postgresql-database-plugin",
        connection_url="postgresql://{{username}}:{{password}}@127.0.0.1:1/none",
        username="vault",
        password="unused",
        verify_connection=False,
        allowed_roles=[PIPELINE],
    )
    role = next(
        r
        for r in plan["resources"]
        if r["type"] == "vault:database/secretBackendRole:SecretBackendRole"
        and r["inputs"]["name"] == PIPELINE
    )
    root.write(
        DB_ROLE,
        db_name="atlas",
        creation_statements=[_resolve(s) for s in role["inputs"]["creationStatements"]],
    )
    root.secrets.kv.v2.create_or_update_secret(
        mount_point=f"{P}-airflow",
        path="connections/mongo_finance_reconcile",
        secret={"conn_type": "mongo"},
    )
    return openbao


def github_claims(environment: str, workflow: str, **override: str) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": GITHUB_OIDC_URL,
        "aud": AUDIENCE,
        "sub": f"repository_owner_id:91234567:repository_id:812345678:environment:{environment}",
        "repository": REPO,
        "repository_id": "812345678",
        "repository_owner_id": "91234567",
        "environment": environment,
        "job_workflow_ref": workflow,
        "workflow": "attack",
        "run_id": "1",
        "sha": "0" * 40,
        "actor": "mallory",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
    }
    return claims | override


def login(vault: OpenBaoServer, key: Any, role: str, claims: dict[str, Any]) -> requests.Response:
    token = jwt.encode({"alg": "RS256"}, claims, key).decode()
    session = requests.Session()
    session.trust_env = False
    return session.post(
        f"{vault.url}/v1/auth/github-actions/login", json={"role": role, "jwt": token}, timeout=10
    )


def token_of(vault: OpenBaoServer, key: Any, role: str, claims: dict[str, Any]) -> hvac.Client:
    response = login(vault, key, role, claims)
    assert response.status_code == 200, response.text
    return vault.client(response.json()["auth"]["client_token"])


@pytest.fixture(scope="module")
def pr(vault: OpenBaoServer, signing_key: Any) -> hvac.Client:
    """A same-repository pull request whose preview a reviewer approved."""
    claims = github_claims("prod-preview", f"{WORKFLOWS}/preview.yml@refs/pull/7/merge")
    return token_of(vault, signing_key, "ci-preview", claims)


@pytest.fixture(scope="module")
def deploy(vault: OpenBaoServer, signing_key: Any) -> hvac.Client:
    """CI's deploy token (e.g. leaked from a prod `up`, or used by a merged workflow)."""
    claims = github_claims("prod", f"{WORKFLOWS}/pulumi-up.yml@refs/heads/main")
    return token_of(vault, signing_key, "ci-deploy-prod", claims)


@pytest.fixture(scope="module")
def structure(vault: OpenBaoServer, signing_key: Any) -> hvac.Client:
    claims = github_claims(
        "prod-vault-structure", f"{WORKFLOWS}/vault-structure.yml@refs/heads/main"
    )
    return token_of(vault, signing_key, "ci-structure", claims)


def status(client: hvac.Client, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    response = client.session.request(
        method,
        f"{client.url}/v1/{path}",
        headers={"X-Vault-Token": client.token},
        json=body,
        timeout=10,
    )
    return int(response.status_code)


# -- a pull request ---------------------------------------------------------------------------


def test_pull_request_reads_role_definitions_for_its_diff(pr: hvac.Client) -> None:
    assert status(pr, "GET", DB_ROLE) == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", CREDS),  # would make Vault create a live Atlas user
        ("GET", f"{P}-atlas/static-creds/{PIPELINE}"),
        ("POST", f"{P}-atlas/rotate-root/atlas"),
        ("GET", f"{P}-atlas/config/atlas"),
        ("GET", CONNECTION),
        ("GET", f"{P}-airflow/data/okta-keys/partner-feed"),
        ("LIST", f"{P}-airflow/metadata/connections"),
    ],
)
def test_pull_request_cannot_mint_or_read_credentials(
    pr: hvac.Client, method: str, path: str
) -> None:
    assert status(pr, method, path) == 403


@pytest.mark.parametrize(
    ("role", "environment", "workflow", "override"),
    [
        # Its own code declaring the prod environment: not the up workflow on main.
        ("ci-deploy-prod", "prod", f"{WORKFLOWS}/pulumi-up.yml@refs/pull/7/merge", {}),
        # A workflow merged to main that names `prod` but is not pulumi-up.yml.
        ("ci-deploy-prod", "prod", f"{WORKFLOWS}/evil.yml@refs/heads/main", {}),
        # A preview without the reviewed environment.
        ("ci-preview", "", f"{WORKFLOWS}/preview.yml@refs/pull/7/merge", {}),
        # A re-created repository with the same name has a new id.
        (
            "ci-deploy-prod",
            "prod",
            f"{WORKFLOWS}/pulumi-up.yml@refs/heads/main",
            {"repository_id": "999"},
        ),
    ],
)
def test_a_job_cannot_log_in_as_an_identity_it_is_not(
    vault: OpenBaoServer,
    signing_key: Any,
    role: str,
    environment: str,
    workflow: str,
    override: dict[str, str],
) -> None:
    claims = github_claims(environment, workflow, **override)
    response = login(vault, signing_key, role, claims)
    assert response.status_code == 400
    assert "auth" not in response.json() or response.json()["auth"] is None


# -- CI's deploy token ------------------------------------------------------------------------


def test_deploy_writes_its_data_plane(deploy: hvac.Client) -> None:
    assert status(deploy, "POST", CONNECTION, {"data": {"conn_type": "mongo"}}) == 200
    assert (
        status(
            deploy,
            "POST",
            f"{P}-atlas/config/atlas",
            {
                "plugin_name": "postgresql-database-plugin",
                "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:1/none",
                "username": "vault",
                "password": "rotated",
                "verify_connection": False,
                "allowed_roles": [PIPELINE],
            },
        )
        == 204
    )


EVERYTHING = (
    'path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}\n'
)
FOREIGN_STATEMENT = json.dumps(
    {"database_name": "admin", "roles": [{"databaseName": "admin", "roleName": "atlasAdmin"}]}
)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        # Write a policy outside its prefix, or a `path "*"` policy under its own prefix.
        ("PUT", "sys/policies/acl/other-team", {"policy": EVERYTHING}),
        ("PUT", f"sys/policies/acl/{P}-evil", {"policy": EVERYTHING}),
        ("PUT", f"sys/policies/acl/{P}-ci-deploy", {"policy": EVERYTHING}),
        ("PUT", f"sys/policy/{P}-evil", {"policy": EVERYTHING}),
        # Enable an auth method (to log in as anyone it likes), or a mount.
        ("POST", f"sys/auth/{P}-userpass", {"type": "userpass"}),
        ("POST", "sys/auth/userpass", {"type": "userpass"}),
        ("POST", f"sys/mounts/{P}-evil", {"type": "kv"}),
        # The audit device: list, remove, add.
        ("GET", "sys/audit", None),
        ("DELETE", f"sys/audit/{P}-socket", None),
        ("PUT", f"sys/audit/{P}-evil", {"type": "file", "options": {"file_path": "/dev/null"}}),
        # Rewrite a database role with a statement it does not own, or add one.
        ("POST", DB_ROLE, {"db_name": "atlas", "creation_statements": [FOREIGN_STATEMENT]}),
        (
            "POST",
            f"{P}-atlas/roles/evil",
            {"db_name": "atlas", "creation_statements": [FOREIGN_STATEMENT]},
        ),
        # Bind a pipeline's login to an attacker's principal.
        (
            "POST",
            f"auth/{P}-aws/role/{PIPELINE}",
            {
                "auth_type": "iam",
                "bound_iam_principal_arn": ["arn:aws:iam::111111111111:role/mallory"],
                "token_policies": [f"{P}-{PIPELINE}"],
            },
        ),
        # Point the AWS auth mount at an STS of its own (it would answer "any role"), or drop
        # the server-id header check.
        (
            "POST",
            f"auth/{P}-aws/config/client",
            {"sts_endpoint": "https://sts.attacker.example", "sts_region": "eu-west-1"},
        ),
        ("DELETE", f"auth/{P}-aws/config/client", None),
        ("POST", f"auth/{P}-aws-airflow/config/client", {"sts_endpoint": "https://x.example"}),
        # Read what only pipelines may read.
        ("GET", CREDS, None),
        ("POST", f"{P}-atlas/rotate-root/atlas", None),
        # Give itself an identity with more policies.
        ("POST", "identity/entity", {"name": "mallory", "policies": ["root"]}),
    ],
)
def test_deploy_cannot_grow_its_power(
    deploy: hvac.Client, method: str, path: str, body: dict[str, Any] | None
) -> None:
    assert status(deploy, method, path, body) == 403


# -- the structure workflow's token -------------------------------------------------------------


def test_structure_writes_policies_and_roles(structure: hvac.Client) -> None:
    hcl = f'path "{CREDS}" {{\n  capabilities = ["read"]\n}}\n'
    assert status(structure, "PUT", f"sys/policies/acl/{P}-{PIPELINE}", {"policy": hcl}) == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", f"sys/policies/acl/{P}-ci-deploy"),
        ("PUT", f"sys/policies/acl/{P}-ci-structure"),
        ("PUT", "sys/policies/acl/other-team"),
        ("GET", CREDS),
    ],
)
def test_structure_cannot_rewrite_the_ci_policies(
    structure: hvac.Client, method: str, path: str
) -> None:
    assert status(structure, method, path, {"policy": EVERYTHING}) == 403


# -- why roles are structure ---------------------------------------------------------------------


def test_openbao_cannot_pin_a_list_parameter(vault: OpenBaoServer) -> None:
    """`allowed_parameters` matches a list-valued request never, even equal to the pinned value:
    pinning `creation_statements` would refuse the provider's own writes, so roles are written by
    the structure workflow instead of being pinned for the deploy token."""
    root = vault.client()
    statement = '{"database_name": "admin"}'
    pin = {
        "path": {
            DB_ROLE: {
                "capabilities": ["create", "update"],
                "allowed_parameters": {"*": [], "creation_statements": [statement]},
            }
        }
    }
    root.sys.create_or_update_acl_policy(name="pin-probe", policy=json.dumps(pin))
    probe = vault.client(
        root.auth.token.create(policies=["pin-probe"], ttl="5m")["auth"]["client_token"]
    )
    assert (
        status(probe, "POST", DB_ROLE, {"db_name": "atlas", "creation_statements": statement})
        == 204
    )
    assert (
        status(probe, "POST", DB_ROLE, {"db_name": "atlas", "creation_statements": [statement]})
        == 403
    )
