"""`python -m policy.check` over plan JSON: committed stacks pass, violating cases are caught."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy import check
from policy.rules import RULES_BY_NAME, ConfigError, Violation
from tests.conftest import PROJECT, CommittedPlans
from tests.paths import ROOT
from tests.policy.cases import CASES, CASES_BY_NAME, COMPLIANT, Case, write
from tests.stacks_discovery import STACKS


def caught(violations: list[Violation]) -> list[list[str]]:
    return sorted([v.rule, v.urn.split("::")[-1] if v.urn else ""] for v in violations)


def test_there_are_committed_stacks_and_cases() -> None:
    assert {"dev", "prod"} <= set(STACKS)
    assert COMPLIANT in CASES
    assert len(CASES_BY_NAME) == len(CASES) > 1  # names are unique


@pytest.mark.parametrize("stack", STACKS)
def test_the_pack_config_declares_exactly_the_stacks_raised_projects(stack: str) -> None:
    """The pack cannot read the stack's settings, so policy/<stack>.json repeats its
    `atlasProjectLimits`; this keeps the copy equal (a raise declared in one place only would
    either fail every preview or hide a project over Atlas' real limit)."""
    config = check.stack_config(stack)
    assert config is not None
    declared = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"].get(
        f"{PROJECT}:atlasProjectLimits", {}
    )
    pack = config.settings.get("atlas-project-limits", {}).get("projectLimits", {})
    assert pack == declared


@pytest.mark.parametrize("stack", STACKS)
def test_every_committed_stack_passes_with_its_pack_config(
    stack: str, committed_plans: CommittedPlans
) -> None:
    """The config `pulumi preview --policy-pack-config policy/<stack>.json` would use."""
    config = check.stack_config(stack)
    assert config is not None
    assert check.check_plan(committed_plans[stack], config) == []


def test_prod_passes_with_the_pack_defaults(committed_plans: CommittedPlans) -> None:
    assert check.check_plan(committed_plans["prod"]) == []


def test_stack_config_is_read_from_policy_dir() -> None:
    dev = check.stack_config("dev")
    assert dev is not None
    assert dev.settings["vault-database-role-ttl"] == {"maxTtlSeconds": 14400}
    assert dev.settings["prod-stateful-protected"] == {"tier": "dev"}
    assert check.stack_config("no-such-stack") is None
    assert check.stack_config("") is None


def test_dev_limits_are_dev_only() -> None:
    """A 4 h Vault credential passes the dev config and fails prod's."""
    plan = COMPLIANT.plan()
    role = next(r for r in plan["resources"] if r["name"] == "reports-db-role")
    role["inputs"]["maxTtl"] = 14400
    assert check.check_plan(plan, check.stack_config("dev")) == []
    assert caught(check.check_plan(plan, check.stack_config("prod"))) == [
        ["vault-database-role-ttl", "reports-db-role"]
    ]


def test_prod_needs_two_vault_audit_devices_dev_one() -> None:
    """One audit device passes the dev config and fails prod's (policy/prod.json)."""
    plan = COMPLIANT.plan()
    plan["resources"] = [r for r in plan["resources"] if r["name"] != "audit-socket"]
    assert check.check_plan(plan, check.stack_config("dev")) == []
    violations = check.check_plan(plan, check.stack_config("prod"))
    assert caught(violations) == [["vault-audit-device", ""]]
    assert "declares 1 Vault audit device(s), fewer than 2" in violations[0].message


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_case_is_caught_with_the_right_rules(case: Case) -> None:
    assert caught(check.check_plan(case.plan())) == case.expect


def test_every_rule_has_a_violating_case() -> None:
    rules = {rule for case in CASES for rule, _ in case.expect}
    assert rules == set(RULES_BY_NAME)


def test_compliant_case_covers_every_rule_type() -> None:
    """The compliant plan declares every resource type some rule inspects, so it proves
    that compliant Okta and Vault resources pass, not just that absent ones do."""
    plan = COMPLIANT.plan()
    types = {r["type"] for r in plan["resources"]}
    for rule in RULES_BY_NAME.values():
        for type_ in getattr(rule, "types", ()):
            if type_.startswith(("aws:iam/policy", "aws:iam/user", "aws:iam/group")):
                continue  # the program declares only roles and role policies
            assert type_ in types, type_


# Mutations of the real prod plan: the program's own shapes, broken one invariant at a time.
def _resource(plan: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["type"] == type_)


def _unprotect_mwaa(plan: dict[str, Any]) -> None:
    _resource(plan, "aws:mwaa/environment:Environment")["protect"] = False


def _drop_trust_condition(plan: dict[str, Any]) -> None:
    role = next(r for r in plan["resources"] if r["name"] == "identity-aws-execution-role")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    del trust["Statement"][0]["Condition"]["ArnLike"]
    role["inputs"]["assumeRolePolicy"] = json.dumps(trust)


def _wildcard_execution_policy(plan: dict[str, Any]) -> None:
    policy = _resource(plan, "aws:iam/rolePolicy:RolePolicy")
    document = json.loads(policy["inputs"]["policy"])
    document["Statement"][0]["Action"] = "airflow:*"
    policy["inputs"]["policy"] = json.dumps(document)


def _user_with_password(plan: dict[str, Any]) -> None:
    _resource(plan, "mongodbatlas:index/databaseUser:DatabaseUser")["inputs"]["password"] = (
        "[secret]"
    )


def _disable_auditing(plan: dict[str, Any]) -> None:
    _resource(plan, "mongodbatlas:index/auditing:Auditing")["inputs"]["enabled"] = False


def _widen_backend_lookups(plan: dict[str, Any]) -> None:
    """Let lookups other than this stack's connections reach the backend, whichever it is."""
    options = plan["outputs"]["airflowConfigurationOptions"]
    kwargs = json.loads(options["secrets.backend_kwargs"])
    if "connections_lookup_pattern" in kwargs:
        kwargs["connections_lookup_pattern"] = ".*"
    else:
        kwargs["variables_path"] = "variables"
    options["secrets.backend_kwargs"] = json.dumps(kwargs)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_unprotect_mwaa, [["prod-stateful-protected", "identity-mwaa-environment"]]),
        (_drop_trust_condition, [["mwaa-trust-conditions", "identity-aws-execution-role"]]),
        (
            _wildcard_execution_policy,
            [["iam-no-wildcard-actions", "identity-aws-execution-policy"]],
        ),
        (
            _user_with_password,
            [["atlas-user-no-password", "identity-atlas-customer-sync-iam-user"]],
        ),
        (
            _disable_auditing,
            [["atlas-auditing-enabled", ""], ["atlas-auditing-enabled", "identity-atlas-auditing"]],
        ),
        (_widen_backend_lookups, [["mwaa-secrets-backend", "identity-mwaa-environment"]]),
    ],
)
def test_breaking_the_prod_plan_is_caught(
    mutate: Any, expected: list[list[str]], committed_plans: CommittedPlans
) -> None:
    plan = copy.deepcopy(committed_plans["prod"])
    mutate(plan)
    assert caught(check.check_plan(plan)) == expected


# --- the command line ---------------------------------------------------------------------------


def test_cli_exit_codes_and_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = write(CASES_BY_NAME["vault-without-audit-device"], tmp_path)
    good = write(COMPLIANT, tmp_path)
    assert check.main([str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: 0 violation(s)\n"
    assert check.main([str(good), str(bad)]) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"{bad}: [mandatory] vault-audit-device: (stack): the stack configures Vault but declares "
        "no audit device; add vault.Audit (type file, socket or syslog) so every login and "
        "credential is recorded",
        f"{bad}: 1 violation(s)",
    ]
    advisory = tmp_path / "advisory.json"
    advisory.write_text(json.dumps({"vault-audit-device": {"enforcementLevel": "advisory"}}))
    assert check.main([str(bad), "--config", str(advisory)]) == 0
    assert "[advisory] vault-audit-device" in capsys.readouterr().out
    disabled = tmp_path / "disabled.json"
    disabled.write_text(json.dumps({"all": "mandatory", "vault-audit-device": "disabled"}))
    assert check.main([str(bad), "--config", str(disabled)]) == 0
    assert capsys.readouterr().out == f"{bad}: 0 violation(s)\n"


def test_cli_plans_stacks_itself(capsys: pytest.CaptureFixture[str]) -> None:
    assert check.main(["--stack", "dev"]) == 0
    assert capsys.readouterr().out == "dev: 0 violation(s)\n"


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"no-such-rule": {}}, "no-such-rule: unknown rule"),
        ({"all": "sometimes"}, "all: enforcement level 'sometimes' is not one of"),
        ({"vault-database-role-ttl": {"maxTtlSeconds": -5}}, "maxTtlSeconds: -5 is below"),
    ],
)
def test_cli_refuses_bad_config(
    config: dict[str, Any], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    good = write(COMPLIANT, tmp_path)
    assert check.main([str(good), "--config", str(path)]) == 2
    assert error in capsys.readouterr().err


def test_cli_refuses_unreadable_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.json"
    path.write_text("{not json")
    assert check.main([str(path)]) == 2
    with pytest.raises(json.JSONDecodeError) as raised:  # the parser's own account of the error
        json.loads(path.read_text())
    error = raised.value
    assert capsys.readouterr().err == (
        f"{path}:{error.lineno}:{error.colno}: {error.msg}; not valid JSON\n"
    )


def test_parse_config_splits_levels_and_settings() -> None:
    config = check.parse_config(
        {
            "all": "advisory",
            "vault-database-role-ttl": {"enforcementLevel": "mandatory", "maxTtlSeconds": 60},
        }
    )
    assert config.settings == {"vault-database-role-ttl": {"maxTtlSeconds": 60}}
    assert (config.level("vault-database-role-ttl"), config.level("vault-audit-device")) == (
        "mandatory",
        "advisory",
    )
    with pytest.raises(ConfigError, match="expected an enforcement level or an object"):
        check.parse_config({"vault-audit-device": 3})


def test_a_stack_without_its_pack_config_is_refused_not_checked_with_prod_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(check, "POLICY_DIR", tmp_path)
    assert check.main(["--stack", "dev"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "dev: no policy/dev.json, the pack config its previews use; `python -m infra.stack add` "
        "writes it (or copy a stack of the same tier's), or pass --config"
    ]
