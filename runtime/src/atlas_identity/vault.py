"""Vault: log in as the pipeline, read dynamic database credentials, renew, revoke.

Login is pluggable. On MWAA the worker proves the pipeline role with AWS IAM auth (a signed
`sts:GetCallerIdentity`); workers outside AWS use AppRole or JWT. Which one a worker uses is the
worker's choice (Airflow config `[atlas_identity] vault_login`), not the connection's.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import hvac
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hvac import exceptions as hvac_errors

from atlas_identity.aws import AssumedRoleCredentials, TemporaryCredentials
from atlas_identity.contract import VaultSettings
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.masking import mask

log = logging.getLogger(__name__)

VAULT_TIMEOUT = 10
# hvac raises these for transient server trouble; creds reads are retried on them.
_TRANSIENT = (
    hvac_errors.InternalServerError,
    hvac_errors.VaultDown,
    hvac_errors.BadGateway,
    requests.ConnectionError,
    requests.Timeout,
)


class VaultLogin(Protocol):
    """Authenticates an hvac client (sets its token) and returns the `auth` block."""

    @property
    def description(self) -> str: ...

    def login(self, client: hvac.Client) -> dict[str, Any]: ...


# The request an IAM login carries (Vault API docs, "AWS auth method - Login":
# `iam_http_request_method`, `iam_request_url`, `iam_request_headers`, `iam_request_body`).
GET_CALLER_IDENTITY = "Action=GetCallerIdentity&Version=2011-06-15"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
IAM_SERVER_ID_HEADER = "X-Vault-AWS-IAM-Server-ID"


def regional_sts_url(region: str) -> str:
    """The region's own STS endpoint (AWS General Reference, "AWS Security Token Service
    endpoints and quotas": `sts.<region>.amazonaws.com`, `.amazonaws.com.cn` in China)."""
    return f"https://sts.{region}.amazonaws.com{'.cn' if region.startswith('cn-') else ''}/"


def signed_login_request(
    credentials: TemporaryCredentials, *, region: str, iam_server_id_header_value: str
) -> dict[str, str]:
    """A `sts:GetCallerIdentity` for `region`'s own endpoint, signed by botocore's SigV4 signer.

    URL, signed Host and credential scope name one endpoint: Vault forwards the request to its
    mount's `sts_endpoint` keeping the Host of this URL (hashicorp/vault,
    builtin/credential/aws/path_login.go, buildHttpRequest), and the program configures the
    pipelines' mount with this region's endpoint. hvac's `iam_login` cannot do this: it always
    signs Host `sts.amazonaws.com`, whose STS verifies us-east-1 scopes only.
    """
    url = regional_sts_url(region)
    request = AWSRequest(
        method="POST",
        url=url,
        data=GET_CALLER_IDENTITY,
        headers={
            "Content-Type": FORM_CONTENT_TYPE,
            "Host": str(urlsplit(url).hostname),
            IAM_SERVER_ID_HEADER: iam_server_id_header_value,
        },
    )
    SigV4Auth(
        Credentials(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        "sts",
        region,
    ).add_auth(request)
    headers = {name: [value] for name, value in request.headers.items()}
    return {
        "iam_http_request_method": "POST",
        "iam_request_url": _b64(url),
        "iam_request_headers": _b64(json.dumps(headers)),
        "iam_request_body": _b64(GET_CALLER_IDENTITY),
    }


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True, kw_only=True)
class AwsIamLogin:
    """AWS IAM auth: a `sts:GetCallerIdentity` request signed with the pipeline role.

    Signed for the pipeline role's region (the stack's), whose STS endpoint the program
    configures on the login mount (`sts_endpoint`/`sts_region`), carrying
    `X-Vault-AWS-IAM-Server-ID` so the signed request cannot be replayed to another Vault.
    """

    credentials: AssumedRoleCredentials
    mount: str
    role: str
    iam_server_id_header_value: str
    sts_region: str | None = None
    """Overrides the signing region and endpoint (None: the pipeline role's region)."""

    @property
    def description(self) -> str:
        return f"aws-iam auth at auth/{self.mount} as role {self.role}"

    def login(self, client: hvac.Client) -> dict[str, Any]:
        signed = signed_login_request(
            self.credentials.get(),
            region=self.sts_region or self.credentials.region,
            iam_server_id_header_value=self.iam_server_id_header_value,
        )
        # hvac's own `iam_login` posts the same body the same way (hvac/api/auth_methods/aws.py).
        response = client.adapter.login(
            url=f"/v1/auth/{self.mount}/login", use_token=True, json={**signed, "role": self.role}
        )
        return dict(response["auth"])


@dataclass(frozen=True, kw_only=True)
class AppRoleLogin:
    role_id: str
    secret_id: str
    mount: str = "approle"

    def __repr__(self) -> str:
        return f"AppRoleLogin(role_id={self.role_id!r}, mount={self.mount!r})"

    @property
    def description(self) -> str:
        return f"approle auth at auth/{self.mount}"

    def login(self, client: hvac.Client) -> dict[str, Any]:
        mask(self.secret_id, "vault_secret_id")
        response = client.auth.approle.login(
            role_id=self.role_id, secret_id=self.secret_id, mount_point=self.mount
        )
        return dict(response["auth"])


@dataclass(frozen=True, kw_only=True)
class JwtLogin:
    role: str
    jwt: Callable[[], str]
    """Returns a fresh JWT (e.g. an Okta token, or a projected service-account token)."""
    mount: str = "jwt"

    @property
    def description(self) -> str:
        return f"jwt auth at auth/{self.mount} as role {self.role}"

    def login(self, client: hvac.Client) -> dict[str, Any]:
        token = self.jwt()
        mask(token, "vault_login_jwt")
        response = client.auth.jwt.jwt_login(role=self.role, jwt=token, path=self.mount)
        return dict(response["auth"])


@dataclass(frozen=True, kw_only=True)
class DatabaseCredentials:
    """One Vault lease of a database user. `repr` hides the password."""

    username: str
    password: str
    lease_id: str
    generation: int
    """Increments each time a new user is issued (renewals keep it)."""

    def __repr__(self) -> str:
        return f"DatabaseCredentials(username={self.username!r}, generation={self.generation})"


def _margin(ttl: float) -> float:
    """Act this long before a lease or token ends: a third of its TTL, at most 60 s."""
    return min(60.0, ttl / 3)


class DynamicDatabaseCredentials:
    """Reads `<db_mount>/creds/<db_role>` and keeps a usable user for as long as asked.

    A user dies when its lease ends *or* when the token that read it ends, whichever is first.
    Before that moment `get()` renews the lease when the token outlives the renewal, and
    otherwise logs in again and reads a new user. `revoke()` revokes every lease it obtained
    and the token.
    """

    def __init__(
        self,
        *,
        conn_id: str,
        settings: VaultSettings,
        login: VaultLogin,
        client_factory: Callable[[str], hvac.Client] | None = None,
        clock: Callable[[], float] = time.monotonic,
        read_attempts: int = 4,
        retry_wait: float = 0.5,
    ) -> None:
        self._conn_id = conn_id
        self._settings = settings
        self._login = login
        self._factory = client_factory or _hvac_client
        self._clock = clock
        self._attempts = read_attempts
        self._retry_wait = retry_wait
        self._lock = threading.Lock()
        self._client: hvac.Client | None = None
        self._token_ends = 0.0
        self._token_ttl = 0.0
        self._lease_ends = 0.0
        self._lease_ttl = 0.0
        self._renewable = False
        self._current: DatabaseCredentials | None = None
        self._leases: list[tuple[hvac.Client, str]] = []
        self._logged_in: list[hvac.Client] = []
        self.logins = 0
        self.renewals = 0

    @property
    def leases(self) -> tuple[str, ...]:
        return tuple(lease for _, lease in self._leases)

    def get(self) -> DatabaseCredentials:
        with self._lock:
            now = self._clock()
            if self._client is None or self._token_ends - now <= _margin(self._token_ttl):
                self._do_login()
                self._current = None  # users read with the old token die with it
            if self._current is None:
                self._read()
            elif self._lease_ends - self._clock() <= _margin(self._lease_ttl):
                self._renew_or_read()
            assert self._current is not None
            return self._current

    def _do_login(self) -> None:
        client = self._factory(self._settings.url)
        try:
            auth = self._login.login(client)
        except (hvac_errors.VaultError, requests.RequestException) as e:
            raise AtlasIdentityError(
                self._conn_id,
                Step.VAULT_LOGIN,
                f"{self._login.description} at {self._settings.url}: {_describe(e)}",
            ) from None
        token = str(auth.get("client_token", ""))
        mask(token, "vault_token")
        ttl = float(auth.get("lease_duration") or 0)
        self._client = client
        self._logged_in.append(client)
        self._token_ttl = ttl if ttl > 0 else float("inf")  # 0 = no expiry (root tokens)
        self._token_ends = self._clock() + self._token_ttl
        self.logins += 1

    def _creds_path(self) -> str:
        s = self._settings
        return f"{s.db_mount}/creds/{s.db_role}"

    def _read(self) -> None:
        assert self._client is not None
        path = self._creds_path()
        response: dict[str, Any] | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._client.read(path)
                break
            except _TRANSIENT as e:
                if attempt == self._attempts:
                    raise AtlasIdentityError(
                        self._conn_id,
                        Step.CREDS_READ,
                        f"{path} at {self._settings.url} after {attempt} attempts: {_describe(e)}",
                    ) from None
                time.sleep(self._retry_wait * attempt)
            except hvac_errors.VaultError as e:
                raise AtlasIdentityError(
                    self._conn_id,
                    Step.CREDS_READ,
                    f"{path} at {self._settings.url}: {_describe(e)}",
                ) from None
        if not response or not isinstance(response.get("data"), dict):
            raise AtlasIdentityError(
                self._conn_id, Step.CREDS_READ, f"{path} returned no credentials"
            )
        data = response["data"]
        username, password = str(data.get("username", "")), str(data.get("password", ""))
        if not username or not password:
            raise AtlasIdentityError(
                self._conn_id, Step.CREDS_READ, f"{path} returned no username/password"
            )
        mask(password, "password")
        ttl = float(response.get("lease_duration") or 0)
        self._lease_ttl = ttl if ttl > 0 else float("inf")
        self._lease_ends = self._clock() + self._lease_ttl
        self._renewable = bool(response.get("renewable"))
        lease_id = str(response.get("lease_id", ""))
        if lease_id:
            self._leases.append((self._client, lease_id))
        generation = (self._current.generation if self._current else 0) + 1
        self._current = DatabaseCredentials(
            username=username, password=password, lease_id=lease_id, generation=generation
        )

    def _renew_or_read(self) -> None:
        assert self._client is not None
        assert self._current is not None
        token_left = self._token_ends - self._clock()
        if self._renewable and self._current.lease_id and token_left > 2 * _margin(token_left):
            try:
                response = renew_lease(
                    self._client, self._current.lease_id, increment=int(self._lease_ttl)
                )
            except (hvac_errors.VaultError, requests.RequestException) as e:
                log.warning(
                    "connection '%s': lease renewal failed (%s); reading new credentials",
                    self._conn_id,
                    _describe(e),
                )
            else:
                granted = float(response.get("lease_duration") or 0)
                # A renewal capped by max_ttl or by the token is not worth keeping.
                ends = self._clock() + min(granted, token_left)
                if ends - self._clock() > _margin(self._lease_ttl):
                    self._lease_ends = ends
                    self.renewals += 1
                    return
        self._read()

    def revoke(self) -> None:
        """Revoke every lease obtained, then every token. Failures are logged, not raised.

        Each lease is revoked with the token that read it. Where the pipeline policy does not
        allow `sys/leases/revoke`, revoking the token (`revoke-self`, in Vault's default
        policy) revokes the leases it created all the same.
        """
        with self._lock:
            leases, self._leases = self._leases, []
            clients, self._logged_in = self._logged_in, []
            self._client, self._current = None, None
        for client, lease_id in leases:
            try:
                revoke_lease(client, lease_id)
            except (hvac_errors.VaultError, requests.RequestException) as e:
                log.info(
                    "connection '%s': %s of a %s lease refused (%s); revoking its token instead",
                    self._conn_id,
                    Step.LEASE_REVOKE.value,
                    self._creds_path(),
                    _describe(e),
                )
        for client in clients:
            try:
                client.auth.token.revoke_self()
            except (hvac_errors.VaultError, requests.RequestException) as e:
                log.warning(
                    "connection '%s': token revocation failed: %s", self._conn_id, _describe(e)
                )


# The lease id goes into the URL, never the body: the pipeline policies grant exactly
# `sys/leases/renew/<creds path>/*` and `sys/leases/revoke/<creds path>/*`, and a policy matches
# the request path only. (hvac's `sys.renew_lease`/`revoke_lease` put the id in the body, so
# their path `sys/leases/renew` matches no pipeline rule.) Vault and OpenBao route both forms:
# pattern `(leases/)?renew` + OptionalParamRegex("url_lease_id") in logical_system_paths.go.
def renew_lease(client: hvac.Client, lease_id: str, *, increment: int) -> dict[str, Any]:
    response = client.adapter.put(f"/v1/sys/leases/renew/{lease_id}", json={"increment": increment})
    return response if isinstance(response, dict) else {}


def revoke_lease(client: hvac.Client, lease_id: str) -> None:
    client.adapter.put(f"/v1/sys/leases/revoke/{lease_id}")


def _hvac_client(url: str) -> hvac.Client:
    return hvac.Client(url=url, timeout=VAULT_TIMEOUT)


def _describe(e: BaseException) -> str:
    """Vault errors carry the server's `errors` list (no secrets); connection errors a type."""
    if isinstance(e, hvac_errors.VaultError):
        errors = getattr(e, "errors", None) or [str(e)]
        return f"{type(e).__name__}: {'; '.join(str(x) for x in errors)}"
    return f"{type(e).__name__} (is the server reachable?)"


def file_text(path: str) -> str:
    """The stripped content of a file (AppRole secret ids, JWTs); names only the path on error."""
    return Path(path).read_text().strip()
