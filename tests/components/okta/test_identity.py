"""OktaWorkloadIdentity: server, scope, client-credentials policy, apps, KMS keys and rotation."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey

from components.okta.identity import (
    OktaPipelineSpec,
    OktaWorkloadIdentity,
    OktaWorkloadIdentityArgs,
    ec_public_jwk,
    generation,
    slot_trigger,
)
from components.okta.signing_keys import ADMINISTRATION_ACTIONS
from devtools.offline import MOCK_NOW, PlanMocks, ProgramRun, kms_private_key

APP = "okta:app/oAuth:OAuth"
KEY = "aws:kms/key:Key"
ROLE_ARN = "arn:aws:iam::123456789012:role/aai-test-pipeline-partner-feed"
ARGS = OktaWorkloadIdentityArgs(
    stack="test",
    account_id="123456789012",
    server_name="aai-test-atlas",
    audience="api://aai-test-atlas",
    scope="mongodb.access",
    token_lifetime_minutes=10,
    rotation_hours=24,
    pipelines=(
        OktaPipelineSpec(
            pipeline="partner-feed", label="aai-test-partner-feed", signer_role_arn=ROLE_ARN
        ),
    ),
    region="eu-west-1",
    jwks_bucket="aai-test-okta-jwks-123456789012",
    deployer_role_arn="arn:aws:iam::123456789012:role/aai-test-github-deploy",
)
JWKS_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def served_kids(run: ProgramRun) -> list[str]:
    """The key ids of the pipeline's served key set (components/okta/jwks.py)."""
    document = run.monitor.one(JWKS_OBJECT, "okta-partner-feed-jwks").inputs["content"]
    return [key["kid"] for key in json.loads(document)["keys"]]


def run_okta(
    run_component: Any, mocks: PlanMocks | None = None, seen: dict[str, Any] | None = None
) -> ProgramRun:
    def program() -> None:
        component = OktaWorkloadIdentity("okta", ARGS)
        if seen is not None:
            pulumi.Output.all(
                component.signing_keys["partner-feed"],
                component.current_slots["partner-feed"],
                component.token_url,
                component.client_ids["partner-feed"],
            ).apply(lambda v: seen.update(key=v[0], slot=v[1], token_url=v[2], client_id=v[3]))

    return run_component(program, mocks=mocks)  # type: ignore[no-any-return]


def key_arn(run: ProgramRun, slot: str) -> str:
    key = run.monitor.one(KEY, f"okta-partner-feed-key-{slot}")
    return str(run.monitor.resources[key.urn].state["arn"])


def public_pem(run: ProgramRun, slot: str) -> str:
    """The public key the mock KMS holds for the slot's key (what getPublicKey answered)."""
    public = kms_private_key(key_arn(run, slot)).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_jwk_thumbprint_is_rfc7638(run_component: Any) -> None:
    run = run_okta(run_component)
    pem = public_pem(run, "a")
    jwk = ec_public_jwk(pem)
    assert jwk["kid"] == ECKey.import_key(pem).thumbprint()
    assert set(jwk) == {"crv", "kty", "x", "y", "kid"}
    with pytest.raises(ValueError, match="expected a P-256 public key"):
        ec_public_jwk(
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
        )


@pytest.mark.parametrize(
    ("epoch", "tick", "expected"),
    [
        ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", 0),
        ("2026-11-01T00:00:00Z", "2026-11-01T23:02:00Z", 1),  # a run 58 minutes early
        ("2026-11-01T00:00:00Z", "2026-11-03T01:30:00Z", 2),  # a run 90 minutes late
        ("2026-11-01T00:00:00Z", "2026-11-05T00:00:00Z", 4),
    ],
)
def test_generation_counts_whole_periods_despite_schedule_jitter(
    epoch: str, tick: str, expected: int
) -> None:
    assert generation(epoch, tick, 24) == expected


def test_slot_triggers_alternate_so_one_slot_changes_per_tick() -> None:
    table = [(g, slot_trigger(g, 0), slot_trigger(g, 1)) for g in range(5)]
    assert table == [(0, 0, -1), (1, 0, 1), (2, 2, 1), (3, 2, 3), (4, 4, 3)]


def test_server_scope_policy_and_rule(run_component: Any) -> None:
    run = run_okta(run_component)
    m = run.monitor
    server = m.one("okta:auth/server:Server", "okta-server").inputs
    assert server == {
        "name": "aai-test-atlas",
        "audiences": ["api://aai-test-atlas"],
        "issuerMode": "ORG_URL",
        "description": "Workload tokens for MongoDB Atlas (test)",
    }
    server_id = m.resources[m.one("okta:auth/server:Server", "okta-server").urn].id
    assert m.one("okta:auth/serverScope:ServerScope", "okta-scope").inputs == {
        "authServerId": server_id,
        "name": "mongodb.access",
        "description": "Access MongoDB Atlas as this workload",
        "consent": "IMPLICIT",
        "metadataPublish": "NO_CLIENTS",
    }
    client_id = m.resources[m.one(APP, "okta-partner-feed-app").urn].state["clientId"]
    policy = m.one("okta:auth/serverPolicy:ServerPolicy", "okta-policy")
    assert policy.inputs["clientWhitelists"] == [client_id]
    assert (policy.inputs["status"], policy.inputs["priority"]) == ("ACTIVE", 1)
    rule = m.one("okta:auth/serverPolicyRule:ServerPolicyRule", "okta-policy-rule").inputs
    assert rule == {
        "authServerId": server_id,
        "policyId": m.resources[policy.urn].id,
        "name": "client-credentials-only",
        "status": "ACTIVE",
        "priority": 1,
        "grantTypeWhitelists": ["client_credentials"],
        "scopeWhitelists": ["mongodb.access"],
        "accessTokenLifetimeMinutes": 10,
    }


def test_app_uses_private_key_jwt_with_both_slot_keys_published(run_component: Any) -> None:
    run = run_okta(run_component)
    app = run.monitor.one(APP, "okta-partner-feed-app").inputs
    jwks = [ec_public_jwk(public_pem(run, slot)) for slot in ("a", "b")]
    assert app == {
        "label": "aai-test-partner-feed",
        "type": "service",
        "grantTypes": ["client_credentials"],
        "responseTypes": ["token"],
        "tokenEndpointAuthMethod": "private_key_jwt",
        "pkceRequired": False,
        "omitSecret": True,
        "jwksUri": "https://aai-test-okta-jwks-123456789012.s3.eu-west-1.amazonaws.com/jwks/partner-feed.json",
    }
    assert served_kids(run) == [j["kid"] for j in jwks]
    assert jwks[0]["kid"] != jwks[1]["kid"]


def test_each_slot_is_a_kms_signing_key_only_the_pipeline_role_may_use(
    run_component: Any,
) -> None:
    run = run_okta(run_component)
    for slot in ("a", "b"):
        key = run.monitor.one(KEY, f"okta-partner-feed-key-{slot}").inputs
        policy = json.loads(key.pop("policy"))
        assert key == {
            "description": f"Okta client-assertion key, slot {slot}, of pipeline partner-feed "
            "(test); only its pipeline role may sign",
            "customerMasterKeySpec": "ECC_NIST_P256",
            "keyUsage": "SIGN_VERIFY",
            "deletionWindowInDays": 7,
            "tags": {"stack": "test", "pipeline": "partner-feed", "slot": slot},
        }
        assert policy["Statement"] == [
            {
                "Sid": "AccountAdministersAndReadsThePublicKey",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": list(ADMINISTRATION_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "PipelineRoleSigns",
                "Effect": "Allow",
                "Principal": {"AWS": ROLE_ARN},
                "Action": "kms:Sign",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:SigningAlgorithm": "ECDSA_SHA_256"}},
            },
            {
                "Sid": "NoOtherPrincipalSigns",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "kms:Sign",
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ROLE_ARN}},
            },
        ]
        assert not any("kms:Sign" in s["Action"] for s in policy["Statement"][:1])
    grant = run.monitor.one("aws:iam/rolePolicy:RolePolicy", "okta-partner-feed-sign-policy")
    assert grant.inputs["role"] == "aai-test-pipeline-partner-feed"
    assert json.loads(grant.inputs["policy"])["Statement"] == [
        {
            "Sid": "SignOktaClientAssertions",
            "Effect": "Allow",
            "Action": "kms:Sign",
            "Resource": [key_arn(run, "a"), key_arn(run, "b")],
            "Condition": {"StringEquals": {"kms:SigningAlgorithm": "ECDSA_SHA_256"}},
        }
    ]
    # No private key anywhere in what the component declares.
    assert not run.monitor.by_type("tls:index/privateKey:PrivateKey")
    assert "PRIVATE KEY" not in json.dumps([r.inputs for r in run.monitor.registrations])


def test_signing_key_is_the_current_slots_kms_key(run_component: Any) -> None:
    seen: dict[str, Any] = {}
    run = run_okta(run_component, seen=seen)
    assert seen["slot"] == "a"
    assert seen["key"] == {
        "kms_key_arn": key_arn(run, "a"),
        "kid": ec_public_jwk(public_pem(run, "a"))["kid"],
        "alg": "ES256",
    }
    assert (
        seen["token_url"]
        == f"https://example.okta.com/oauth2/{seen['token_url'].split('/')[4]}/v1/token"
    )
    clock = run.monitor.one("time:index/rotating:Rotating", "okta-partner-feed-key-clock")
    assert clock.inputs == {"rotationMinutes": 1380}  # 24 h less an hour of schedule slack


class NextDayMocks(PlanMocks):
    """The clock has ticked once since the epoch: generation 1."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.typ == "time:index/rotating:Rotating":
            outputs["rfc3339"] = "2026-11-02T00:05:00Z"
        return resource_id, outputs


def test_rotation_replaces_only_the_standby_slot_and_switches_to_it(run_component: Any) -> None:
    before_seen: dict[str, Any] = {}
    after_seen: dict[str, Any] = {}
    before = run_okta(run_component, seen=before_seen)
    after = run_okta(run_component, mocks=NextDayMocks(), seen=after_seen)

    def trigger(run: ProgramRun, slot: str) -> Any:
        return run.monitor.one(KEY, f"okta-partner-feed-key-{slot}").replacement_trigger

    # Slot a keeps its trigger (no replacement), slot b's trigger changes (Pulumi replaces it:
    # a new KMS key, and the old one's deletion scheduled).
    assert (trigger(before, "a"), trigger(before, "b")) == (0, -1)
    assert (trigger(after, "a"), trigger(after, "b")) == (0, 1)
    assert key_arn(after, "a") == key_arn(before, "a")
    assert key_arn(after, "b") != key_arn(before, "b")
    assert public_pem(after, "b") != public_pem(before, "b")
    # The JWKS publishes the key the runtime used until now (a) and the new one (b) ...
    jwks_after = served_kids(after)
    assert jwks_after == [
        ec_public_jwk(public_pem(before, "a"))["kid"],
        ec_public_jwk(public_pem(after, "b"))["kid"],
    ]
    # ... and the runtime's key switches to the new slot.
    assert (before_seen["slot"], after_seen["slot"]) == ("a", "b")
    assert after_seen["key"]["kid"] == jwks_after[1]
    assert after_seen["key"]["kms_key_arn"] == key_arn(after, "b")
    assert MOCK_NOW == "2026-11-01T00:00:00Z"
