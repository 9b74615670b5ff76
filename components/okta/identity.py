"""Okta workload identity: a custom authorization server and one service app per pipeline.

Each `okta-oidc` pipeline is an Okta service app that authenticates with `private_key_jwt` (no
client secret exists). Its keys are asymmetric AWS KMS keys (components/okta/signing_keys.py):
the app's JWKS is built from the public half KMS returns and served at the app's `jwks_uri`
(components/okta/jwks.py says why not inline), and the runtime signs client assertions with
`kms:Sign` as the pipeline role. No private key exists outside KMS.

Rotation without a gap. Every app publishes two keys, slot `a` and slot `b`. A clock
(`time.Rotating`) ticks once per rotation period; its tick count since the pipeline's epoch
(`time.Static`) is the key *generation* g. The slot with g's parity is *current*: its KMS key is
what the runtime signs with. When g advances, only the slot that becomes current is replaced (its
`replacement_trigger` is the latest generation of its parity), so:
  1. the new KMS key is created and published in the app's JWKS document next to the key in use
     (the app itself does not change: its `jwks_uri` names the document);
  2. only then (the signing-key reference depends on the app) the connection definition names
     the new key;
  3. the previous key stays published and usable for one more period, for tasks that hold it;
  4. when its slot is replaced again, the old KMS key is deleted: its deletion is scheduled with
     KMS' minimum waiting period and it cannot sign from that moment on.
If a scheduled run is missed, the next run advances g by two and both slots are replaced.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pulumi
import pulumi_okta as okta
import pulumiverse_time as time_
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from components.okta.jwks import JwksPublication, JwksPublicationArgs, jwks_document
from components.okta.signing_keys import SigningKeySlot, create_slot_key, grant_signing

SLOTS: tuple[str, str] = ("a", "b")
SIGNING_ALGORITHM = "ES256"
GRANT_TYPE = "client_credentials"


@dataclass(frozen=True, kw_only=True)
class OktaPipelineSpec:
    pipeline: str
    label: str
    """Okta app label (unique in the org)."""
    signer_role_arn: pulumi.Input[str]
    """The pipeline's IAM role: the only principal that may sign with its KMS keys."""


@dataclass(frozen=True, kw_only=True)
class OktaWorkloadIdentityArgs:
    stack: str
    account_id: str
    """Account of the KMS keys (its root administers them; it cannot sign)."""
    server_name: str
    audience: str
    """The single audience of the authorization server; Atlas' workload IdP expects it."""
    scope: str
    token_lifetime_minutes: int
    rotation_hours: int
    pipelines: tuple[OktaPipelineSpec, ...]
    region: str
    jwks_bucket: str
    """The bucket serving each app's key set (`Naming.okta_jwks_bucket`)."""
    deployer_role_arn: str
    """The only principal that may change a served key set."""


def ec_public_jwk(public_key_pem: str) -> dict[str, str]:
    """The JWK (RFC 7517) of a P-256 public key, with its RFC 7638 thumbprint as `kid`."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("expected a P-256 public key")
    numbers = key.public_numbers()

    def b64(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    members = {"crv": "P-256", "kty": "EC", "x": b64(numbers.x), "y": b64(numbers.y)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": kid}


def generation(epoch_rfc3339: str, clock_rfc3339: str, rotation_hours: int) -> int:
    """Whole rotation periods between the epoch and the clock's last tick (rounded: runs jitter)."""
    start = datetime.fromisoformat(epoch_rfc3339.replace("Z", "+00:00"))
    tick = datetime.fromisoformat(clock_rfc3339.replace("Z", "+00:00"))
    return round((tick - start).total_seconds() / (rotation_hours * 3600))


def slot_trigger(current_generation: int, slot_index: int) -> int:
    """The latest generation ≤ current whose parity is this slot's: it changes once per 2 ticks."""
    return current_generation - ((current_generation - slot_index) % 2)


class OktaWorkloadIdentity(pulumi.ComponentResource):
    """Authorization server, scope, client-credentials policy, and one service app per pipeline."""

    issuer: pulumi.Output[str]
    token_url: pulumi.Output[str]
    client_ids: dict[str, pulumi.Output[str]]
    signing_keys: dict[str, pulumi.Output[dict[str, str]]]
    """Per pipeline, `{kms_key_arn, kid, alg}` of the current slot (no secret)."""
    current_slots: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        args: OktaWorkloadIdentityArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("airflow-atlas-identity:okta:OktaWorkloadIdentity", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        server = okta.auth.Server(
            f"{name}-server",
            name=args.server_name,
            audiences=[args.audience],
            issuer_mode="ORG_URL",
            description=f"Workload tokens for MongoDB Atlas ({args.stack})",
            opts=child,
        )
        scope = okta.auth.ServerScope(
            f"{name}-scope",
            auth_server_id=server.id,
            name=args.scope,
            description="Access MongoDB Atlas as this workload",
            consent="IMPLICIT",
            metadata_publish="NO_CLIENTS",
            opts=child,
        )
        self.issuer = server.issuer
        self.token_url = pulumi.Output.concat(server.issuer, "/v1/token")
        self._jwks = JwksPublication(
            name,
            JwksPublicationArgs(
                stack=args.stack,
                bucket=args.jwks_bucket,
                region=args.region,
                deployer_role_arn=args.deployer_role_arn,
                tags={},
            ),
            parent=self,
        )
        self.client_ids = {}
        self.signing_keys = {}
        self.current_slots = {}
        for spec in args.pipelines:
            client_id, signing_key, current = self._create_app(spec)
            self.client_ids[spec.pipeline] = client_id
            self.signing_keys[spec.pipeline] = signing_key
            self.current_slots[spec.pipeline] = current
        policy = okta.auth.ServerPolicy(
            f"{name}-policy",
            auth_server_id=server.id,
            name="atlas-workloads",
            description="Only this stack's pipeline apps",
            status="ACTIVE",
            priority=1,
            client_whitelists=[self.client_ids[p] for p in sorted(self.client_ids)],
            opts=child,
        )
        okta.auth.ServerPolicyRule(
            f"{name}-policy-rule",
            auth_server_id=server.id,
            policy_id=policy.id,
            name="client-credentials-only",
            status="ACTIVE",
            priority=1,
            grant_type_whitelists=[GRANT_TYPE],
            scope_whitelists=[scope.name],
            access_token_lifetime_minutes=args.token_lifetime_minutes,
            opts=child,
        )
        self.register_outputs(
            {"issuer": self.issuer, "tokenUrl": self.token_url, "clientIds": self.client_ids}
        )

    def _create_app(
        self, spec: OktaPipelineSpec
    ) -> tuple[pulumi.Output[str], pulumi.Output[dict[str, str]], pulumi.Output[str]]:
        a = self._args
        prefix = f"{self._name}-{spec.pipeline}"
        child = pulumi.ResourceOptions(parent=self)
        epoch = time_.Static(f"{prefix}-key-epoch", opts=child)
        # Slightly shorter than the period, so a schedule that runs a little early still rotates.
        period_minutes = a.rotation_hours * 60
        clock = time_.Rotating(
            f"{prefix}-key-clock",
            rotation_minutes=period_minutes - period_minutes // 24,
            opts=child,
        )
        current_generation = pulumi.Output.all(epoch.rfc3339, clock.rfc3339).apply(
            lambda times: generation(times[0], times[1], a.rotation_hours)
        )
        keys: dict[str, SigningKeySlot] = {
            slot: create_slot_key(
                f"{prefix}-key-{slot}",
                description=f"Okta client-assertion key, slot {slot}, of pipeline "
                f"{spec.pipeline} ({a.stack}); only its pipeline role may sign",
                account_id=a.account_id,
                signer_role_arn=spec.signer_role_arn,
                tags={"stack": a.stack, "pipeline": spec.pipeline, "slot": slot},
                opts=pulumi.ResourceOptions(
                    parent=self, replacement_trigger=_slot_trigger(current_generation, index)
                ),
            )
            for index, slot in enumerate(SLOTS)
        }
        grant_signing(
            f"{prefix}-sign-policy",
            role_arn=spec.signer_role_arn,
            key_arns=[keys[slot].key_arn for slot in SLOTS],
            opts=child,
        )
        jwks = [keys[slot].public_key_pem.apply(ec_public_jwk) for slot in SLOTS]
        published = self._jwks.publish(
            spec.pipeline,
            pulumi.Output.all(*jwks).apply(lambda keys: jwks_document(keys, alg=SIGNING_ALGORITHM)),
        )
        app = okta.app.OAuth(
            f"{prefix}-app",
            label=spec.label,
            type="service",
            grant_types=[GRANT_TYPE],
            response_types=["token"],
            token_endpoint_auth_method="private_key_jwt",  # noqa: S106 (a method name)
            pkce_required=False,
            omit_secret=True,
            # A fixed URL: rotations change the document, never the app.
            jwks_uri=self._jwks.url(spec.pipeline),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[published]),
        )
        current = current_generation.apply(lambda g: SLOTS[g % 2])
        # Depends on the published document (and the app): the runtime only learns of a key once
        # the JWKS publishing it is in place. Not a secret: a key ARN and a thumbprint.
        signing_key = pulumi.Output.all(
            app.client_id,
            published.version_id,
            current,
            *(keys[s].key_arn for s in SLOTS),
            *jwks,
        ).apply(
            lambda v: _signing_key_reference(
                v[2],
                dict(zip(SLOTS, v[3:5], strict=True)),
                dict(zip(SLOTS, v[5:7], strict=True)),
            )
        )
        return app.client_id, signing_key, current


def _slot_trigger(current_generation: pulumi.Output[int], slot_index: int) -> pulumi.Output[int]:
    return current_generation.apply(lambda g: slot_trigger(g, slot_index))


def _signing_key_reference(
    current: str, key_arns: Mapping[str, str], jwks: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    return {"kms_key_arn": key_arns[current], "kid": jwks[current]["kid"], "alg": SIGNING_ALGORITHM}
