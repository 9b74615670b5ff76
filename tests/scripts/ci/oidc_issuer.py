"""A local GitHub Actions OIDC issuer on 127.0.0.1: discovery, JWKS and the job token endpoint.

What GitHub documents ("OpenID Connect reference", "About security hardening with OpenID
Connect") and its toolkit does (@actions/core getIDToken):
- a job granted `id-token: write` gets ACTIONS_ID_TOKEN_REQUEST_URL (already holding a query)
  and ACTIONS_ID_TOKEN_REQUEST_TOKEN; `GET <url>&audience=<aud>` with
  `Authorization: bearer <request token>` answers `{"count": n, "value": "<jwt>"}`;
- the JWT is RS256-signed with a key from `<issuer>/.well-known/jwks`, which
  `<issuer>/.well-known/openid-configuration` names;
- its claims: iss, aud, sub, the job's repository, repository_id, repository_owner,
  repository_owner_id, environment, ref, sha, workflow, workflow_ref, job_workflow_ref, run_id,
  run_number, run_attempt, event_name, actor, ref_type, runner_environment, iat, nbf, exp, jti;
- `sub` follows the repository's subject template: by default `repo:<owner>/<repo>:<context>`,
  customized as the listed claims joined by `:` (`context` is `environment:<name>` in an
  environment, else `ref:<ref>`, `pull_request` for pull requests).
Every token minted is kept (`issued`) so a test can tell which one a server received.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

TOKEN_LIFETIME_SECONDS = 300


@dataclass(frozen=True, kw_only=True)
class JobIdentity:
    """The claims GitHub puts in every token of one job, audience aside."""

    repository: str
    repository_id: str
    repository_owner_id: str
    environment: str
    ref: str
    sha: str
    event_name: str
    workflow: str
    workflow_ref: str
    job_workflow_ref: str
    run_id: str
    run_attempt: str
    actor: str

    def context(self) -> str:
        if self.environment:
            return f"environment:{self.environment}"
        if self.event_name == "pull_request":
            return "pull_request"
        return f"ref:{self.ref}"

    def claims(self, subject_claims: Sequence[str] | None) -> dict[str, Any]:
        owner = self.repository.split("/")[0]
        claims: dict[str, Any] = {
            "repository": self.repository,
            "repository_id": self.repository_id,
            "repository_owner": owner,
            "repository_owner_id": self.repository_owner_id,
            "repository_visibility": "private",
            "ref": self.ref,
            "ref_type": "branch" if self.ref.startswith("refs/heads/") else "",
            "sha": self.sha,
            "event_name": self.event_name,
            "workflow": self.workflow,
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": self.job_workflow_ref,
            "job_workflow_sha": self.sha,
            "run_id": self.run_id,
            "run_number": self.run_id,
            "run_attempt": self.run_attempt,
            "actor": self.actor,
            "runner_environment": "github-hosted",
        }
        if self.environment:
            claims["environment"] = self.environment
        if subject_claims is None:
            claims["sub"] = f"repo:{self.repository}:{self.context()}"
        else:
            parts = [
                self.context() if name == "context" else f"{name}:{claims[name]}"
                for name in subject_claims
            ]
            claims["sub"] = ":".join(parts)
        return claims


@dataclass(frozen=True)
class IssuedToken:
    audience: str
    claims: dict[str, Any]
    jwt: str


@dataclass
class GithubOidcIssuer:
    subject_claims: Sequence[str] | None
    """The repository's customized subject claims, None for GitHub's default template."""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "gh-test-1"}))
    url: str = ""
    issued: list[IssuedToken] = field(default_factory=list)
    jobs: dict[str, JobIdentity] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def request_endpoint(self, identity: JobIdentity) -> tuple[str, str]:
        """(ACTIONS_ID_TOKEN_REQUEST_URL, ACTIONS_ID_TOKEN_REQUEST_TOKEN) of a job."""
        request_token = secrets.token_urlsafe(32)
        self.jobs[request_token] = identity
        job = secrets.token_hex(8)
        return f"{self.url}/_apis/idtoken/{job}?api-version=2.0", request_token

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.key]).as_dict(private=False))

    def mint(self, identity: JobIdentity, audience: str) -> IssuedToken:
        now = int(time.time())
        claims = identity.claims(self.subject_claims) | {
            "iss": self.url,
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "jti": secrets.token_hex(16),
        }
        token = jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, self.key)
        issued = IssuedToken(audience=audience, claims=claims, jwt=token)
        self.issued.append(issued)
        return issued

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this issuer signed (raises on a bad signature or a non-JWT)."""
        return dict(jwt.decode(token, KeySet([self.key]), algorithms=["RS256"]).claims)

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        if parts.path == "/.well-known/openid-configuration":
            body: dict[str, Any] = {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/.well-known/jwks",
                "subject_types_supported": ["public", "pairwise"],
                "response_types_supported": ["id_token"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"],
                "claims_supported": sorted({"sub", "aud", "iss", "exp", "iat", "jti", "nbf"}),
            }
            return _reply(request, 200, body)
        if parts.path == "/.well-known/jwks":
            return _reply(request, 200, self.jwks())
        if parts.path.startswith("/_apis/idtoken/"):
            authorization = request.headers.get("Authorization", "")
            scheme, _, presented = authorization.partition(" ")
            identity = self.jobs.get(presented) if scheme.lower() == "bearer" else None
            if identity is None:
                return _reply(request, 401, {"message": "bad request token"})
            audience = parse_qs(parts.query).get("audience", [""])[0]
            if not audience:
                audience = f"https://github.com/{identity.repository.split('/')[0]}"
            issued = self.mint(identity, audience)
            return _reply(request, 200, {"count": len(issued.jwt), "value": issued.jwt})
        return _reply(request, 404, {"message": "not found"})


def _reply(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)
