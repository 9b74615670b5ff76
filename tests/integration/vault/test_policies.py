"""Every policy the program generates, loaded into a real OpenBao and probed with sys/capabilities.

Expectations come from the stack settings (`expected.py`), never from the policy text. Tokens are
created with `no_default_policy` so the matrix tests the generated policy alone; the same matrix
is then checked with the `default` policy attached, as real logins get it.
"""

from __future__ import annotations

from collections.abc import Callable

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.services.openbao import OpenBaoServer
from tests.integration.vault.conftest import PlannedStack, TokenFactory, capabilities
from tests.integration.vault.expected import DENY, LEASE, READ, UPDATE, StackExpectations
from tests.stacks_discovery import STACKS, stack_file

pytestmark = pytest.mark.integration

EXPECTED = {stack: StackExpectations.from_stack_file(stack_file(stack)) for stack in STACKS}
PIPELINES = [(stack, p) for stack in STACKS for p in sorted(EXPECTED[stack].pipelines)]
POLICY_HOLDERS = [(stack, p) for stack, p in PIPELINES if EXPECTED[stack].own_grants(p)]
KV_STACKS = [stack for stack in STACKS if EXPECTED[stack].vault_kv]
DEFAULT_POLICY = pytest.mark.parametrize(
    "default_policy", [False, True], ids=["policy-only", "with-default"]
)


def probe_paths(expected: StackExpectations) -> list[str]:
    """Every pipeline's paths, the near misses beside them, and the operator paths."""
    paths = list(expected.operator_paths())
    for pipeline in expected.pipelines:
        paths += expected.pipeline_paths(pipeline) + expected.near_misses(pipeline)
    return paths


def test_the_stacks_cover_every_auth_mode_and_both_backends() -> None:
    """The matrix below is only as good as the stacks it runs on."""
    modes = {mode for stack in STACKS for mode in EXPECTED[stack].pipelines.values()}
    assert modes == {"aws-iam", "okta-oidc", "vault-dynamic"}
    # dev and prod between them cover both layouts; any further stack is checked all the same.
    assert {stack: EXPECTED[stack].vault_kv for stack in ("dev", "prod")} == {
        "dev": False,
        "prod": True,
    }
    # Both hold at least one pipeline policy (however many pipelines a user adds).
    assert {stack for stack, _ in POLICY_HOLDERS} >= {"dev", "prod"}


@pytest.mark.parametrize("stack", STACKS)
def test_policy_names_are_exactly_those_the_settings_call_for(
    planned: dict[str, PlannedStack], stack: str
) -> None:
    assert set(planned[stack].policies) == EXPECTED[stack].policies()


@pytest.mark.parametrize("stack", STACKS)
def test_policy_resources_write_the_exported_documents(
    planned: dict[str, PlannedStack], stack: str
) -> None:
    declared = {
        r["inputs"]["name"]: r["inputs"]["policy"]
        for r in planned[stack].resources("vault:index/policy:Policy")
    }
    assert declared == planned[stack].policies


@pytest.mark.parametrize("stack", STACKS)
def test_every_policy_parses_on_openbao_and_reads_back_unchanged(
    loaded: dict[str, PlannedStack], root_client: hvac.Client, stack: str
) -> None:
    for name, hcl in loaded[stack].policies.items():
        stored = root_client.sys.read_acl_policy(name=name)["data"]
        assert (stored["name"], stored["policy"]) == (name, hcl)


@DEFAULT_POLICY
@pytest.mark.parametrize(("stack", "pipeline"), POLICY_HOLDERS)
def test_pipeline_policy_grants_its_own_paths_and_denies_everything_else(
    loaded: dict[str, PlannedStack],
    root_client: hvac.Client,
    token_with: TokenFactory,
    stack: str,
    pipeline: str,
    default_policy: bool,
) -> None:
    expected = loaded[stack].expected
    own = expected.own_grants(pipeline)
    token = token_with([expected.policy_name(pipeline)], default_policy)
    paths = probe_paths(expected)
    actual = capabilities(root_client, token, paths)
    assert actual == {path: own.get(path, DENY) for path in paths}
    # What the pipeline may do is exactly what its settings call for, nothing missing.
    assert {path: caps for path, caps in actual.items() if caps != DENY} == own


@DEFAULT_POLICY
@pytest.mark.parametrize("stack", KV_STACKS)
def test_execution_role_policy_reads_only_the_connections_path(
    loaded: dict[str, PlannedStack],
    root_client: hvac.Client,
    token_with: TokenFactory,
    stack: str,
    default_policy: bool,
) -> None:
    expected = loaded[stack].expected
    token = token_with([expected.execution_policy], default_policy)
    # Any id under connections/ (the stock VaultBackend asks for ids that are not ours, and a
    # 403 there breaks it); nothing else: no Okta key, creds, metadata or history.
    connections = f"{expected.kv_mount}/data/connections/"
    paths = probe_paths(expected)
    readable = {path: READ for path in paths if path.startswith(connections)}
    assert {expected.connection(p) for p in expected.pipelines} <= set(readable)
    actual = capabilities(root_client, token, paths)
    assert actual == {path: readable.get(path, DENY) for path in paths}
    assert {path: caps for path, caps in actual.items() if caps != DENY} == readable


@DEFAULT_POLICY
@pytest.mark.parametrize(
    ("stack", "pipeline"),
    [(s, p) for s, p in POLICY_HOLDERS if EXPECTED[s].pipelines[p] == "vault-dynamic"],
)
def test_lease_id_in_the_request_body_is_not_covered_by_the_pipeline_policy(
    loaded: dict[str, PlannedStack],
    root_client: hvac.Client,
    token_with: TokenFactory,
    stack: str,
    pipeline: str,
    default_policy: bool,
) -> None:
    """hvac's `sys.renew_lease`/`revoke_lease` send the lease id in the body, so Vault checks the
    ACL on `sys/leases/renew` and `sys/leases/revoke`, not on `.../<creds path>/<lease>`.

    The pipeline policy grants only the URL form. Renewal in the body form works solely through
    Vault's `default` policy (which lets a token renew any lease whose id it knows); revocation in
    the body form is refused either way. The runtime falls back to revoking its token.
    """
    expected = loaded[stack].expected
    token = token_with([expected.policy_name(pipeline)], default_policy)
    creds = expected.creds(pipeline)
    paths = [
        "sys/leases/renew",
        "sys/leases/revoke",
        f"sys/leases/renew/{creds}/{LEASE}",
        f"sys/leases/revoke/{creds}/{LEASE}",
    ]
    assert capabilities(root_client, token, paths) == {
        "sys/leases/renew": UPDATE if default_policy else DENY,
        "sys/leases/revoke": DENY,
        f"sys/leases/renew/{creds}/{LEASE}": UPDATE,
        f"sys/leases/revoke/{creds}/{LEASE}": UPDATE,
    }


# -- a randomized sweep over paths near the stack's mounts ------------------------------------

SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


def path_strategy(expected: StackExpectations) -> st.SearchStrategy[str]:
    db, kv = expected.db_mount, expected.kv_mount
    roots = [
        db,
        f"{db}/creds",
        f"{db}/roles",
        f"{db}/config",
        kv,
        f"{kv}/data",
        f"{kv}/data/connections",
        f"{kv}/data/okta-keys",
        f"{kv}/metadata/connections",
        "sys/leases/renew",
        "sys/leases/revoke",
        f"sys/leases/renew/{db}/creds",
        f"sys/leases/revoke/{db}/creds",
        "sys/policies/acl",
        f"auth/{expected.aws_mount}/role",
        f"auth/{expected.jwt_mount}/role",
    ]
    known = sorted(expected.pipelines) + [expected.connection_id(p) for p in expected.pipelines]
    segment = st.one_of(st.sampled_from(known), SEGMENT)
    return st.builds(
        lambda root, rest: "/".join([root, *rest]),
        st.sampled_from(roots),
        st.lists(segment, min_size=0, max_size=3),
    )


def granted(expected: StackExpectations, pipeline: str, path: str) -> list[str]:
    """What the pipeline's settings call for on any path (lease paths match any lease id)."""
    own = expected.own_grants(pipeline)
    if path in own:
        return own[path]
    creds = expected.creds(pipeline)
    for action in ("renew", "revoke"):
        if path.startswith(f"sys/leases/{action}/{creds}/") and own.get(
            f"sys/leases/{action}/{creds}/{LEASE}"
        ):
            return UPDATE
    return DENY


@pytest.mark.parametrize(("stack", "pipeline"), POLICY_HOLDERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_paths_near_the_mounts_are_denied_unless_the_settings_grant_them(
    loaded: dict[str, PlannedStack],
    root_client: hvac.Client,
    token_with: TokenFactory,
    stack: str,
    pipeline: str,
    data: st.DataObject,
) -> None:
    expected = loaded[stack].expected
    paths = data.draw(st.lists(path_strategy(expected), min_size=1, max_size=20, unique=True))
    token = token_with([expected.policy_name(pipeline)], False)
    assert capabilities(root_client, token, paths) == {
        path: granted(expected, pipeline, path) for path in paths
    }


def acl_outcome(call: Callable[[], object]) -> str:
    """`denied` if the ACL refused the request; `allowed` if it reached the lease handler (which,
    for a lease id that was never issued, answers 400 "lease not found" or 204 for a revoke)."""
    try:
        call()
    except Forbidden:
        return "denied"
    except InvalidRequest as error:
        return "allowed" if "lease not found" in str(error) else f"error: {error}"
    return "allowed"


@DEFAULT_POLICY
@pytest.mark.parametrize(
    ("stack", "pipeline"),
    [(s, p) for s, p in POLICY_HOLDERS if EXPECTED[s].pipelines[p] == "vault-dynamic"],
)
def test_real_lease_requests_as_hvac_sends_them_and_in_the_url_form(
    loaded: dict[str, PlannedStack],
    openbao: OpenBaoServer,
    token_with: TokenFactory,
    stack: str,
    pipeline: str,
    default_policy: bool,
) -> None:
    """Real requests, not sys/capabilities: hvac's `renew_lease`/`revoke_lease` (what the runtime
    calls) put the lease id in the body; the URL form names the creds path the policy grants."""
    expected = loaded[stack].expected
    client = openbao.client(token_with([expected.policy_name(pipeline)], default_policy))
    lease = f"{expected.creds(pipeline)}/{LEASE}"
    others = [p for p in expected.pipelines if p != pipeline]
    other_lease = f"{expected.creds(others[0])}/{LEASE}"
    outcomes = {
        "hvac renew_lease": acl_outcome(lambda: client.sys.renew_lease(lease_id=lease)),
        "hvac revoke_lease": acl_outcome(lambda: client.sys.revoke_lease(lease_id=lease)),
        "PUT sys/leases/renew/<lease>": acl_outcome(
            lambda: client.adapter.put(f"/v1/sys/leases/renew/{lease}")
        ),
        "PUT sys/leases/revoke/<lease>": acl_outcome(
            lambda: client.adapter.put(f"/v1/sys/leases/revoke/{lease}")
        ),
        "PUT sys/leases/renew/<other pipeline's lease>": acl_outcome(
            lambda: client.adapter.put(f"/v1/sys/leases/renew/{other_lease}")
        ),
        "PUT sys/leases/revoke/<other pipeline's lease>": acl_outcome(
            lambda: client.adapter.put(f"/v1/sys/leases/revoke/{other_lease}")
        ),
    }
    assert outcomes == {
        "hvac renew_lease": "allowed" if default_policy else "denied",
        "hvac revoke_lease": "denied",
        "PUT sys/leases/renew/<lease>": "allowed",
        "PUT sys/leases/revoke/<lease>": "allowed",
        "PUT sys/leases/renew/<other pipeline's lease>": "denied",
        "PUT sys/leases/revoke/<other pipeline's lease>": "denied",
    }
