"""The world the executed CI tests run the workflows in, started once per session.

- A local GitHub OIDC issuer (oidc_issuer.py) with the repository's customized subject claims
  (bootstrap/github.py SUBJECT_CLAIMS, docs/operations.md §2.4).
- moto_server (real AWS API on 127.0.0.1): per account, the bootstrap's CI roles with their
  planned trust policies and its provider-credential secrets holding generated values.
  `aws` finds it through AWS_ENDPOINT_URL, a setting of the runner machine, not of a workflow.
- One OpenBao per account, configured as the bootstrap plans Vault's GitHub login: its JWT mount,
  CI policies and `ci-*` roles exactly as planned; the one substitution is the issuer (the
  discovery URL and bound issuer are the local issuer's instead of GitHub's).
- A scratch git repository of the project with two commits: the first stands for the commit
  prod last approved, the second for a merge still waiting for approval. Every job runs in a
  clone of it, with `.venv` linked and the `pulumi` stand-in first on PATH.
The GitHub variables are the bootstrap's outputs, scoped as docs/operations.md lists them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import hvac
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bootstrap.github import SUBJECT_CLAIMS
from devtools.offline import ProgramRun
from tests.conftest import ROOT
from tests.delivery.bootstrap_run import run_bootstrap, stack_values
from tests.runtime.integration.services import Moto, ServiceError, start_moto
from tests.scripts.ci.oidc_issuer import GithubOidcIssuer
from tests.services.openbao import OpenBaoServer, running_openbao

ACCOUNTS = ("dev", "prod")
VENV_BIN = Path(sys.executable).parent
TOOLS = ("aws", "bash", "curl", "git", "jq")
GIT = shutil.which("git") or "git"


@dataclass
class Account:
    """One AWS account and its Vault, as its bootstrap stack plans them."""

    name: str
    values: dict[str, Any]
    bootstrap: ProgramRun
    vault: OpenBaoServer
    provider_secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    """Secret name -> the JSON value put there (what an operator would put)."""

    @property
    def outputs(self) -> dict[str, Any]:
        return self.bootstrap.outputs

    @property
    def region(self) -> str:
        return str(self.values["awsRegion"])

    @property
    def account_id(self) -> str:
        return str(self.values["awsAccountId"])

    def role(self, suffix: str) -> Any:
        return self.bootstrap.monitor.one("aws:iam/role:Role", f"deployer-{suffix}-role")


@dataclass
class World:
    root: Path
    """The scratch repository every job clones."""
    approved_sha: str
    unapproved_sha: str
    issuer: GithubOidcIssuer
    moto: Moto
    accounts: dict[str, Account]
    machine: Path
    """Where the runner machine's PATH tools, HOME and the stand-in's records live."""
    workspace: Path
    """The runner's checkout of the repository (GITHUB_WORKSPACE), reused by every job."""

    def admin(self, account: str, service: str) -> Any:
        """A boto3 client acting in `account` on moto (moto routes a session to its role's
        account), for setting up what the tests need; its calls are not part of a job."""
        sts = boto3.client(
            "sts",
            endpoint_url=self.moto.url,
            region_name=self.accounts[account].region,
            aws_access_key_id="admin",
            aws_secret_access_key="admin",
        )
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{self.accounts[account].account_id}:role/test-admin",
            RoleSessionName="test-setup",
        )["Credentials"]
        return boto3.client(
            service,
            endpoint_url=self.moto.url,
            region_name=self.accounts[account].region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def variables(self, environment: str) -> dict[str, str]:
        """GitHub variables a job in `environment` sees (repository ones, then its own)."""
        variables = {"AWS_REGION": self.accounts["prod"].region}
        for name, account in self.accounts.items():
            suffix = name.upper()
            variables |= {
                f"PREVIEW_ROLE_ARN_{suffix}": account.outputs["previewRoleArn"],
                f"PULUMI_BACKEND_URL_{suffix}": account.outputs["pulumiBackendUrl"],
                f"VAULT_ADDR_{suffix}": account.vault.url,
                f"VAULT_AUDIENCE_{suffix}": account.values["vaultCiAudience"],
            }
        for name, account in self.accounts.items():
            scoped = {
                *account.values["githubEnvironments"],
                f"{name}-vault-structure",
            }
            if environment in scoped:
                variables |= {
                    "DEPLOY_ROLE_ARN": account.outputs["deployRoleArn"],
                    "PULUMI_BACKEND_URL": account.outputs["pulumiBackendUrl"],
                    "VAULT_ADDR": account.vault.url,
                    "VAULT_AUDIENCE": account.values["vaultCiAudience"],
                }
                if name == "prod" and environment in account.values["githubEnvironments"]:
                    variables["APPROVED_SHA_PARAMETER"] = account.outputs["approvedShaParameter"]
        return variables

    def machine_env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.machine / 'bin'}:{os.environ['PATH']}",
            "HOME": str(self.machine / "home"),
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.moto.url,
            "PULUMI_STANDIN_CACHE": str(self.machine / "plan-cache"),
        }


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [GIT, "-c", "user.name=ci-test", "-c", "user.email=ci-test@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def scratch_repository(target: Path) -> tuple[str, str]:
    """The project's files (tracked and new, as in the working tree) in a fresh repository with
    two commits; returns (first, second)."""
    files = subprocess.run(
        [GIT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file() and not source.is_symlink():
            destination = target / name.decode()
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    git(target, "init", "--quiet", "--initial-branch=main")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "-m", "approved by prod's reviewers")
    first = git(target, "rev-parse", "HEAD")
    (target / "UNAPPROVED.md").write_text("merged, not yet approved for prod\n")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "-m", "merged, waiting for prod's approval")
    return first, git(target, "rev-parse", "HEAD")


def machine(directory: Path) -> Path:
    """The runner machine's tools: the real ones on PATH, `pulumi` the stand-in."""
    missing = [
        tool
        for tool in TOOLS
        if shutil.which(tool, path=f"{VENV_BIN}:{os.environ['PATH']}") is None
    ]
    if missing:
        pytest.fail(f"tools the CI scripts run are missing: {missing} (apt-get install jq curl)")
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    (directory / "home").mkdir()
    (directory / "plan-cache").mkdir()
    (bin_dir / "aws").symlink_to(VENV_BIN / "aws")
    standin = Path(__file__).with_name("pulumi_standin.py")
    pulumi = bin_dir / "pulumi"
    pulumi.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{standin}" "$@"\n')
    pulumi.chmod(0o755)
    return directory


def workspace(repository: Path, target: Path) -> Path:
    """A full-history clone (fetch-depth: 0) with the locked venv and warm bytecode caches."""
    git(repository.parent, "clone", "--quiet", str(repository), str(target))
    (target / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "infra", "components", "policy", "bootstrap"],
        cwd=target,
        check=True,
    )
    return target


def operator_secrets(account: Account) -> dict[str, dict[str, str]]:
    """What an operator puts in the bootstrap's empty provider-credential secrets."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    values = {}
    for purpose_system, name in account.outputs["providerSecretNames"].items():
        system = purpose_system.split("/")[1]
        values[name] = (
            {
                "client_id": f"mdb_sa_id_{secrets.token_hex(8)}",
                "client_secret": secrets.token_urlsafe(30),
            }
            if system == "atlas"
            else {
                "client_id": f"0oa{secrets.token_hex(8)}",
                "private_key_id": secrets.token_hex(8),
                "private_key": pem,
                "scopes": "okta.apps.manage okta.authorizationServers.manage",
            }
        )
    return values


def configure_account(world: World, account: Account) -> None:
    iam = world.admin(account.name, "iam")
    for suffix in ("deploy", "preview"):
        role = account.role(suffix)
        iam.create_role(
            RoleName=role.inputs["name"],
            AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"],
        )
    manager = world.admin(account.name, "secretsmanager")
    account.provider_secrets = operator_secrets(account)
    for name, value in account.provider_secrets.items():
        manager.create_secret(Name=name, SecretString=json.dumps(value))
    configure_vault_github_login(world, account)


def configure_vault_github_login(world: World, account: Account) -> None:
    """The bootstrap's Vault GitHub login, as planned, trusting the local issuer."""
    root: hvac.Client = account.vault.client()
    monitor = account.bootstrap.monitor
    backend = monitor.one("vault:jwt/authBackend:AuthBackend", "deployer-vault-github").inputs
    root.sys.enable_auth_method("jwt", path=backend["path"])
    root.write(
        f"auth/{backend['path']}/config",
        oidc_discovery_url=world.issuer.url,
        bound_issuer=world.issuer.url,
    )
    for policy in monitor.by_type("vault:index/policy:Policy"):
        root.sys.create_or_update_acl_policy(
            name=policy.inputs["name"], policy=policy.inputs["policy"]
        )
    for role in monitor.by_type("vault:jwt/authBackendRole:AuthBackendRole"):
        i = role.inputs
        root.write(
            f"auth/{backend['path']}/role/{i['roleName']}",
            role_type=i["roleType"],
            bound_audiences=i["boundAudiences"],
            bound_claims_type=i["boundClaimsType"],
            bound_claims=i["boundClaims"],
            user_claim=i["userClaim"],
            claim_mappings=i["claimMappings"],
            token_policies=i["tokenPolicies"],
            token_ttl=int(i["tokenTtl"]),
            token_max_ttl=int(i["tokenMaxTtl"]),
        )


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    issuer = GithubOidcIssuer(subject_claims=SUBJECT_CLAIMS)
    issuer.start()
    base = tmp_path_factory.mktemp("ci-world")
    repository = base / "repository"
    repository.mkdir()
    approved, unapproved = scratch_repository(repository)
    try:
        moto = start_moto(base)
    except ServiceError as error:
        issuer.stop()
        pytest.fail(f"moto did not start: {error}", pytrace=False)
    with running_openbao() as dev_vault, running_openbao() as prod_vault:
        vaults = {"dev": dev_vault, "prod": prod_vault}
        accounts = {}
        for name in ACCOUNTS:
            values = stack_values(name)
            accounts[name] = Account(
                name=name,
                values=values,
                bootstrap=run_bootstrap(values, account=str(values["awsAccountId"])),
                vault=vaults[name],
            )
        world = World(
            root=repository,
            approved_sha=approved,
            unapproved_sha=unapproved,
            issuer=issuer,
            moto=moto,
            accounts=accounts,
            machine=machine(base / "machine"),
            workspace=workspace(repository, base / "workspace"),
        )
        try:
            for account in accounts.values():
                configure_account(world, account)
            yield world
        finally:
            moto.process.stop()
            issuer.stop()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def recorded_calls(moto: Moto) -> list[dict[str, Any]]:
    """Every request moto recorded: the action and its parameters, URL-decoded."""
    from urllib.parse import parse_qs

    calls = []
    for entry in read_jsonl(moto.recording):
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            import base64

            body = base64.b64decode(body).decode(errors="replace")
        target = (entry.get("headers") or {}).get("X-Amz-Target")
        if target:
            params: Mapping[str, Any] = json.loads(body or "{}")
            calls.append({"action": target.split(".", 1)[1], "params": dict(params)})
        else:
            query = {k: v[0] for k, v in parse_qs(body).items()}
            calls.append({"action": query.get("Action", "?"), "params": query})
    return calls
