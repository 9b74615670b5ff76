"""Okta key rotation through the served key set (`jwks_uri`), never through the app's inline block.

Oracles: the pinned SDK's own declaration of the inline JWK (`pulumi_okta.app.OAuthJwkArgs`, the
bridged provider's schema), joserfc (an RFC 7517/7519 implementation) as the party that imports
the served key set and verifies client assertions with it, the mock KMS's private keys (what
`kms:Sign` would sign with), and the dependency edges the engine receives.
"""

from __future__ import annotations

import inspect
import json
from datetime import datetime, timedelta
from typing import Any, cast

import pulumi
import pulumi_okta as okta
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, KeySetSerialization

from components.okta.identity import (
    SIGNING_ALGORITHM,
    OktaPipelineSpec,
    OktaWorkloadIdentity,
    OktaWorkloadIdentityArgs,
)
from components.okta.jwks import JWKS_CACHE_CONTROL, JWKS_CONTENT_TYPE, jwks_key
from devtools import plan as offline_plan
from devtools.offline import MOCK_NOW, PlanMocks, ProgramRun, Registration, kms_private_key
from tests.stacks_discovery import stack_file

APP = "okta:app/oAuth:OAuth"
KEY = "aws:kms/key:Key"
JWKS_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
PIPELINE = "partner-feed"
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
            pipeline=PIPELINE,
            label="aai-test-partner-feed",
            signer_role_arn="arn:aws:iam::123456789012:role/aai-test-pipeline-partner-feed",
        ),
    ),
    region="eu-west-1",
    jwks_bucket="aai-test-okta-jwks-123456789012",
    deployer_role_arn="arn:aws:iam::123456789012:role/aai-test-github-deploy",
)


class GenerationMocks(PlanMocks):
    """The rotation clock has ticked `ticks` times since the epoch (the nightly runs)."""

    def __init__(self, ticks: int) -> None:
        super().__init__()
        self.ticks = ticks

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.typ == "time:index/rotating:Rotating":
            start = datetime.fromisoformat(MOCK_NOW.replace("Z", "+00:00"))
            tick = start + timedelta(hours=24 * self.ticks, minutes=5)
            outputs["rfc3339"] = tick.strftime("%Y-%m-%dT%H:%M:%SZ")
        return resource_id, outputs


def run_generation(run_component: Any, ticks: int) -> tuple[ProgramRun, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def program() -> None:
        component = OktaWorkloadIdentity("okta", ARGS)
        component.signing_keys[PIPELINE].apply(lambda key: seen.update(key))

    run = run_component(program, mocks=GenerationMocks(ticks))
    return run, seen


def served_key_set(run: ProgramRun) -> dict[str, Any]:
    served: dict[str, Any] = json.loads(
        run.monitor.one(JWKS_OBJECT, f"okta-{PIPELINE}-jwks").inputs["content"]
    )
    return served


def assertion(key_arn: str, kid: str, client_id: str = "0oa-client") -> str:
    """A client assertion as the runtime makes it, signed with the KMS key's private half."""
    pem = (
        kms_private_key(key_arn)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    claims = {"iss": client_id, "sub": client_id, "aud": "https://okta/token", "jti": kid}
    return jwt.encode(
        {"alg": SIGNING_ALGORITHM, "kid": kid}, claims, ECKey.import_key(pem), [SIGNING_ALGORITHM]
    )


def verifies(token: str, key_set: dict[str, Any]) -> bool:
    """Whether a verifier holding the served key set accepts the assertion (by its `kid`)."""
    try:
        jwt.decode(
            token, KeySet.import_key_set(cast(KeySetSerialization, key_set)), [SIGNING_ALGORITHM]
        )
    except (JoseError, ValueError):
        return False
    return True


def test_the_pinned_inline_block_cannot_carry_a_complete_ec_key(run_component: Any) -> None:
    """The pinned SDK's inline JWK has no `crv` and no `use`: an EC key reduced to its members
    (plus the `status` the provider adds) is not a key a verifier can import. So the program
    does not use the block."""
    members = set(inspect.signature(okta.app.OAuthJwkArgs.__init__).parameters) - {"__self__"}
    assert {"crv", "use"} - members == {"crv", "use"}
    run, _ = run_generation(run_component, 0)
    full = served_key_set(run)["keys"][0]
    inline = {k: v for k, v in full.items() if k in members} | {"status": "ACTIVE"}
    with pytest.raises((JoseError, ValueError, KeyError)):
        KeySet.import_key_set({"keys": [inline]})
    assert KeySet.import_key_set({"keys": [full]}).keys[0].kid == full["kid"]
    app = run.monitor.one(APP, f"okta-{PIPELINE}-app").inputs
    assert "jwks" not in app
    assert app["jwksUri"].endswith(f"/{jwks_key(PIPELINE)}")


def test_each_served_key_is_complete_for_signature_verification(run_component: Any) -> None:
    run, _ = run_generation(run_component, 0)
    served = run.monitor.one(JWKS_OBJECT, f"okta-{PIPELINE}-jwks").inputs
    assert (served["contentType"], served["cacheControl"]) == (
        JWKS_CONTENT_TYPE,
        JWKS_CACHE_CONTROL,
    )
    for key in served_key_set(run)["keys"]:
        assert key.keys() == {"kty", "crv", "x", "y", "kid", "use", "alg"}
        assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("EC", "P-256", "sig", "ES256")
        # The kid is the key's RFC 7638 thumbprint: a verifier can recompute it.
        assert ECKey.import_key(key).thumbprint() == key["kid"]


def test_nightly_rotations_change_the_served_set_and_never_the_app(run_component: Any) -> None:
    """Five nightly runs: each publishes the new key next to the one in use, the runtime's key
    verifies against what is served, the previous key still does for one period, the one before
    no longer does, and the Okta app's inputs never change (the provider sends no app update)."""
    runs = [run_generation(run_component, ticks) for ticks in range(5)]
    apps = [run.monitor.one(APP, f"okta-{PIPELINE}-app").inputs for run, _ in runs]
    assert all(app == apps[0] for app in apps)
    used = [seen for _, seen in runs]
    assert len({key["kms_key_arn"] for key in used}) == 5  # a new key every night
    for night, (run, key) in enumerate(zip((r for r, _ in runs), used, strict=True)):
        served = served_key_set(run)
        assert verifies(assertion(key["kms_key_arn"], key["kid"]), served)
        if night >= 1:
            before = used[night - 1]
            assert verifies(assertion(before["kms_key_arn"], before["kid"]), served)
        if night >= 2:
            retired = used[night - 2]
            assert not verifies(assertion(retired["kms_key_arn"], retired["kid"]), served)
        # A forged key with a served kid does not verify: the check can fail.
        assert not verifies(assertion("arn:aws:kms:eu-west-1:1:key/forged", key["kid"]), served)


def dependencies(registrations: list[Registration], urn: str) -> set[str]:
    """Every URN `urn` depends on, transitively (what the engine waits for)."""
    direct = {
        r.urn: set(r.dependencies) | set().union(*r.property_dependencies.values())
        for r in registrations
    }
    found: set[str] = set()
    todo = [urn]
    while todo:
        for dep in direct.get(todo.pop(), set()) - found:
            found.add(dep)
            todo.append(dep)
    return found


DEFINITION_HOLDERS = (
    "aws:secretsmanager/secretVersion:SecretVersion",
    "vault:kv/secretV2:SecretV2",
)


def holds_definition(r: Registration, pipeline: str) -> bool:
    """Secrets Manager's `<name>-<pipeline>-connection-version`, Vault's `<name>-mongo_<id>`."""
    return r.type in DEFINITION_HOLDERS and (
        f"-{pipeline}-connection" in r.name
        or r.name.endswith(f"mongo_{pipeline.replace('-', '_')}")
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_definition_naming_a_key_waits_for_its_publication(stack: str) -> None:
    """The resource holding each okta-oidc connection definition depends on the served key set,
    so the runtime learns of a key only after Okta can fetch it; the app waits for it too."""
    registrations: list[Registration] = []
    planned = offline_plan.plan(
        offline_plan.read_stack_file(stack_file(stack)), None, registrations
    )
    okta_pipelines = sorted(
        d["extra"]["atlas_identity"]["pipeline"]
        for d in planned["outputs"]["connectionDefinitions"].values()
        if d["extra"]["atlas_identity"]["auth_mode"] == "okta-oidc"
    )
    assert okta_pipelines
    by_name = {r.name: r for r in registrations}
    for pipeline in okta_pipelines:
        (published,) = [
            r.urn
            for r in registrations
            if r.type == JWKS_OBJECT and r.inputs.get("key") == jwks_key(pipeline)
        ]
        holders = [r.urn for r in registrations if holds_definition(r, pipeline)]
        assert holders, f"no resource holds {pipeline}'s definition"
        for holder in holders:
            assert published in dependencies(registrations, holder)
        (app,) = [n for n in by_name if n.endswith(f"okta-{pipeline}-app")]
        assert published in dependencies(registrations, by_name[app].urn)
