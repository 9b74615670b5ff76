"""A local OAuth 2.0 token endpoint (Authlib) standing in for an Okta authorization server.

`client_credentials` only, clients authenticate with `private_key_jwt` (RFC 7523 client
assertion) verified against each client's registered JWKS, one use per `jti`. Tokens are opaque
and short-lived; `/introspect` tells whether one is active (what Atlas would check).
"""

from __future__ import annotations

import inspect
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet

if TYPE_CHECKING:  # a typing-only name, absent from older joserfc releases
    from joserfc.jwk import KeySetSerialization
from werkzeug.serving import make_server

AUTH_METHOD = JWTBearerClientAssertion.CLIENT_AUTH_METHOD
# Authlib before 1.7 (MWAA 3.0.6 pins 1.6.2) takes the audience as a required `token_url` and
# verifies with its own authlib.jose, which takes the client's JWKS as a dict; later versions ask
# `get_audiences()` and verify with joserfc, which takes a KeySet.
LEGACY_AUTHLIB = (
    inspect.signature(JWTBearerClientAssertion.__init__).parameters["token_url"].default
    is inspect.Parameter.empty
)


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    jwks: dict[str, Any]
    scope: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return bool(method == AUTH_METHOD)  # AUTH_METHOD is Authlib's (untyped) constant

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class AssertionGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [AUTH_METHOD]  # noqa: RUF012 - Authlib's class attribute


@dataclass
class TokenServer:
    lifetime: int
    clients: dict[str, Client] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    seen_jti: set[str] = field(default_factory=set)
    issued: int = 0
    url: str = ""
    _server: Any = None

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/default/v1/token"

    def register(self, client_id: str, jwks: dict[str, Any], scope: str) -> None:
        self.clients[client_id] = Client(client_id=client_id, jwks=jwks, scope=scope)

    def start(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        app = Flask("it-token-server")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": self.lifetime}
        server = AuthorizationServer(
            app, query_client=self.clients.get, save_token=self._save_token
        )
        owner = self

        class Assertion(JWTBearerClientAssertion):  # type: ignore[misc]
            def __init__(self) -> None:
                if LEGACY_AUTHLIB:
                    super().__init__(owner.token_url)
                else:
                    super().__init__()

            def get_audiences(self) -> list[str]:
                return [owner.token_url]

            def validate_jti(self, claims: Any, jti: str) -> bool:
                if jti in owner.seen_jti:
                    return False
                owner.seen_jti.add(jti)
                return True

            def resolve_client_public_key(self, client: Client, headers: Any = None) -> Any:
                if LEGACY_AUTHLIB:  # authlib.jose wants the one key the assertion names
                    from authlib.jose import JsonWebKey

                    return JsonWebKey.import_key_set(client.jwks).find_by_kid(headers["kid"])
                return KeySet.import_key_set(cast("KeySetSerialization", client.jwks))

        server.register_client_auth_method(AUTH_METHOD, Assertion())
        server.register_grant(AssertionGrant)

        @app.post("/oauth2/default/v1/token")
        def token() -> Any:
            return server.create_token_response()

        @app.post("/introspect")
        def introspect() -> Any:
            entry = self.tokens.get(request.form.get("token", ""))
            active = entry is not None and entry[1] > time.time()
            return jsonify({"active": active, "client_id": entry[0] if entry else None})

        self._server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _save_token(self, token: dict[str, Any], req: Any) -> None:
        self.issued += 1
        self.tokens[token["access_token"]] = (
            req.client.client_id,
            time.time() + float(token["expires_in"]),
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()


def new_token_id() -> str:
    return secrets.token_hex(8)
