"""The pulumi_policy adapters: same rules, same messages as the offline check, through the
argument objects and unknown-checking proxies the real analyzer builds (no pack is started)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policy import check, pack
from policy.rules import RULES, STACK_TYPE, Violation
from tests.paths import ROOT
from tests.policy.cases import CASES, COMPLIANT, Case


def options(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


class Collector:
    def __init__(self, rule: str, default_urn: str = "") -> None:
        self.rule = rule
        self.default_urn = default_urn
        self.found: list[Violation] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.found.append(Violation(rule=self.rule, urn=urn or self.default_urn, message=message))


def run_pack(
    plan: dict[str, Any], config: dict[str, dict[str, Any]] | None = None
) -> list[Violation]:
    """Every policy of the pack over the plan, as the analyzer would call it."""
    config = config or {}
    found: list[Violation] = []
    for policy in pack.policies():
        if isinstance(policy, ResourceValidationPolicy):
            for r in plan["resources"]:
                report = Collector(policy.name, r["urn"])
                args = ResourceValidationArgs(
                    r["type"],
                    unknown_checking_proxy(r["inputs"]),
                    r["urn"],
                    r["name"],
                    options(r["protect"]),
                    None,
                    config.get(policy.name),
                )
                policy.validate(args, report)
                found.extend(report.found)
        else:
            assert isinstance(policy, StackValidationPolicy)
            resources = [
                PolicyResource(
                    r["type"],
                    unknown_checking_proxy(r["inputs"]),
                    r["urn"],
                    r["name"],
                    options(r["protect"]),
                    None,
                    None,
                    [],
                    {},
                )
                for r in plan["resources"]
            ]
            stack_urn = "urn:pulumi:fx::airflow-atlas-identity::pulumi:pulumi:Stack::fx"
            resources.append(
                PolicyResource(
                    STACK_TYPE,
                    unknown_checking_proxy(plan["outputs"]),
                    stack_urn,
                    "fx",
                    options(False),
                    None,
                    None,
                    [],
                    {},
                )
            )
            report = Collector(policy.name)
            policy.validate(StackValidationArgs(resources, config.get(policy.name)), report)
            found.extend(report.found)
    return sorted(found)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_pack_reports_exactly_what_the_offline_check_reports(case: Case) -> None:
    plan = case.plan()
    assert run_pack(plan) == check.check_plan(plan)


def test_pack_config_reaches_the_rules() -> None:
    plan = COMPLIANT.plan()
    found = run_pack(plan, {"vault-database-role-ttl": {"maxTtlSeconds": 600.0}})
    assert [(v.rule, v.urn.split("::")[-1], v.message) for v in found] == [
        (
            "vault-database-role-ttl",
            "reports-db-role",
            "`maxTtl` (900s) exceeds the limit of 600s (setting maxTtlSeconds); lower it",
        )
    ]


def test_policies_mirror_the_rules() -> None:
    policies = pack.policies()
    assert [p.name for p in policies] == [r.name for r in RULES]
    assert {p.enforcement_level for p in policies} == {EnforcementLevel.MANDATORY}
    schemas = {p.name: p.config_schema.properties for p in policies if p.config_schema}
    assert schemas == {
        "vault-database-role-ttl": {
            "maxTtlSeconds": {
                "type": "integer",
                "description": "Upper bound of max_ttl of a dynamic Atlas credential, in seconds",
                "default": 3600,
                "minimum": 1,
            }
        },
        "vault-auth-role-bound": {
            "maxTokenTtlSeconds": {
                "type": "integer",
                "description": "Upper bound of token_max_ttl of a pipeline's Vault token, in "
                "seconds",
                "default": 3600,
                "minimum": 1,
            }
        },
        "vault-audit-device": {
            "minAuditDevices": {
                "type": "integer",
                "description": "Fewest Vault audit devices a stack with Vault resources declares",
                "default": 1,
                "minimum": 1,
            }
        },
        "okta-policy-rule-limits": {
            "maxAccessTokenLifetimeMinutes": {
                "type": "integer",
                "description": "Upper bound of accessTokenLifetimeMinutes (Okta allows 5..1440)",
                "default": 60,
                "minimum": 5,
            }
        },
        "prod-stateful-protected": {
            "tier": {
                "type": "string",
                "description": "dev, staging or prod; empty: the stack's `tier` export, else prod",
                "default": "",
                "enum": ["", "dev", "staging", "prod"],
            },
            "protectedTypes": {
                "type": "array",
                "description": "Type tokens that must be protected in prod",
                "default": [
                    "vault:index/mount:Mount",
                    "vault:database/secretsMount:SecretsMount",
                    "vault:index/authBackend:AuthBackend",
                    "vault:jwt/authBackend:AuthBackend",
                    "mongodbatlas:index/auditing:Auditing",
                    "aws:mwaa/environment:Environment",
                ],
                "items": {"type": "string"},
            },
        },
        "atlas-audit-authorization-success": {
            "tier": {
                "type": "string",
                "description": "dev, staging or prod; empty: the stack's `tier` export, else prod",
                "default": "",
                "enum": ["", "dev", "staging", "prod"],
            },
        },
        "atlas-project-limits": {
            "projectLimits": {
                "type": "object",
                "description": "Projects whose limits were raised (Admin API setProjectLimit): "
                "project id -> {databaseUsers, customRoles}, as the stack's atlasProjectLimits; "
                "others have Atlas' defaults (100 and 100)",
                "default": {},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "databaseUsers": {"type": "integer", "minimum": 100, "maximum": 900},
                        "customRoles": {"type": "integer", "minimum": 100, "maximum": 1400},
                    },
                },
            },
        },
    }


def test_unknown_values_at_preview_surface_as_the_analyzers_unknown_error() -> None:
    """The analyzer turns UnknownValueError into an advisory 'can't run during preview' note."""
    policy = next(p for p in pack.policies() if p.name == "vault-database-role-ttl")
    assert isinstance(policy, ResourceValidationPolicy)
    props = {"defaultTtl": 300.0, "maxTtl": UNKNOWN_STRING_VALUE}
    args = ResourceValidationArgs(
        "vault:database/secretBackendRole:SecretBackendRole",
        unknown_checking_proxy(props),
        "urn:x",
        "x",
        options(False),
        None,
    )
    with pytest.raises(UnknownValueError):
        policy.validate(args, Collector(policy.name))


def test_entry_point_does_not_start_a_pack_on_import() -> None:
    namespace = runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="policy_entry")
    assert namespace["PACK_NAME"] == "airflow-atlas-identity"


def test_pulumi_policy_yaml() -> None:
    document = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    # The project's environment, installed by the same toolchain as the program's (uv.lock).
    assert document["runtime"] == {
        "name": "python",
        "options": {"toolchain": "uv", "virtualenv": "../.venv"},
    }
    assert document["version"] == "0.1.0"


def test_the_pack_starts_and_serves(tmp_path: Path) -> None:
    """Run policy/__main__.py as the policy host would: it must construct the PolicyPack (which
    validates every policy) and print the port it serves on. Then stop it."""
    import subprocess
    import sys

    process = subprocess.Popen(  # noqa: S603, RUF100 (our own interpreter and file)
        [sys.executable, str(ROOT / "policy" / "__main__.py")],
        cwd=ROOT / "policy",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
    finally:
        process.kill()
        process.wait(timeout=10)
