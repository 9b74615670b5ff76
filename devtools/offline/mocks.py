"""`PlanMocks`: the provider side of the mock engine, for registrations and invokes.

A registration's outputs come from `computed.COMPUTED`, fed with the stack's account, region, Okta
org, clock and replacement triggers. The one invoke the program makes, `aws:kms/getPublicKey`,
answers with a real P-256 public key: the Okta apps' JWKS built from it then holds a key whose
private half tests sign with (`kms_private_key`), or, with a `kms` client, the key that service
(moto in the runtime integration tests) really created.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pulumi
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from devtools.offline.computed import COMPUTED, KMS_KEY
from devtools.offline.values import unwrap_secrets

MOCK_NOW = "2026-11-01T00:00:00Z"
KMS_GET_PUBLIC_KEY = "aws:kms/getPublicKey:getPublicKey"
P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


# The mock engine's Okta org, for component tests that declare Okta resources without a stack
# file. A planned stack never uses it: its settings require okta:orgName and okta:baseUrl as soon
# as a pipeline uses okta-oidc, and a stack without one declares no Okta resource.
MOCK_OKTA_ORG_URL = "https://example.okta.com"


@dataclass(kw_only=True)
class PlanMocks(pulumi.runtime.Mocks):
    """Provider outputs formed as AWS, Atlas and Okta form them, from the stack's account/region.

    KMS keys get an id derived from the resource name and its replacement trigger, and
    `aws:kms/getPublicKey` answers with a real P-256 public key derived from that id, so plans
    are deterministic and a replacement yields a new key.
    """

    account_id: str = "123456789012"
    region: str = "eu-west-1"
    okta_org_url: str = MOCK_OKTA_ORG_URL
    now: str = MOCK_NOW
    """What `time` resources read as the current time."""
    replacement_triggers: dict[tuple[str, str], Any] = field(default_factory=dict)
    """(type, name) -> replacement trigger, filled in by RecordingMonitor."""
    kms: Any = None
    """A boto3 KMS client that really creates the planned keys and answers `getPublicKey`
    (the runtime integration tests point it at moto); None: derived keys, no service."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = unwrap_secrets(args.inputs)
        outputs = dict(args.inputs)
        name = inputs.get("name") or args.name
        if args.typ == KMS_KEY and self.kms is not None:
            return self._create_kms_key(inputs, outputs)
        computed = COMPUTED.get(args.typ)
        if computed is None:
            return f"{args.name}-id", outputs
        context = {
            **inputs,
            "__account": self.account_id,
            "__region": self.region,
            "__okta": self.okta_org_url,
            "__now": self.now,
            "__seed": f"{args.name}|{self.replacement_triggers.get((args.typ, args.name))}",
        }
        resource_id, extra = computed(context, name)
        outputs.update(extra)
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        if args.token == KMS_GET_PUBLIC_KEY:
            key_id = str(unwrap_secrets(args.args)["keyId"])
            if self.kms is not None:
                der = self.kms.get_public_key(KeyId=key_id)["PublicKey"]
                return _public_key_result(key_id, serialization.load_der_public_key(der)), []
            return _public_key_result(key_id, kms_private_key(key_id).public_key()), []
        raise NotImplementedError(
            f"invoke {args.token} is not mocked: the program must not depend on it offline"
        )

    def _create_kms_key(
        self, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        metadata = self.kms.create_key(
            Description=inputs.get("description", ""),
            KeySpec=inputs["customerMasterKeySpec"],
            KeyUsage=inputs["keyUsage"],
            Policy=inputs["policy"],
            Tags=[{"TagKey": k, "TagValue": v} for k, v in sorted(inputs.get("tags", {}).items())],
        )["KeyMetadata"]
        return metadata["KeyId"], {**outputs, "arn": metadata["Arn"], "keyId": metadata["KeyId"]}


def kms_private_key(key_id: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key the mock KMS "holds" for a key id (deterministic; tests sign with it)."""
    scalar = int.from_bytes(hashlib.sha256(key_id.encode()).digest(), "big") % (P256_ORDER - 1)
    return ec.derive_private_key(scalar + 1, ec.SECP256R1())


def _public_key_result(key_id: str, public: Any) -> dict[str, Any]:
    """What `aws.kms.getPublicKey` returns for an ECC_NIST_P256 signing key."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "id": key_id,
        "keyId": key_id,
        "arn": key_id,
        "customerMasterKeySpec": "ECC_NIST_P256",
        "keySpec": "ECC_NIST_P256",
        "keyUsage": "SIGN_VERIFY",
        "signingAlgorithms": ["ECDSA_SHA_256"],
        "encryptionAlgorithms": [],
        "publicKey": base64.b64encode(der).decode(),
        "publicKeyPem": pem.decode(),
    }
