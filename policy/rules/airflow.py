"""Airflow on MWAA: the secrets-backend options (a lookup pattern or a scoped VaultBackend)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from policy.rules.framework import (
    Rule,
    StackRule,
    StackView,
    is_masked,
    json_document,
)
from policy.rules.tokens import MWAA_ENVIRONMENT

# Backends that accept `connections_lookup_pattern` (apache-airflow-providers-amazon 9.39.0):
# SecretsManagerBackend and SystemsManagerParameterStoreBackend, checked as the default case.
# The HashiCorp VaultBackend (providers-hashicorp 4.8.4) has no such option: with it, connections
# must come from a dedicated mount and path, and Variable/config lookups must be off.
VAULT_BACKEND = "airflow.providers.hashicorp.secrets.vault.VaultBackend"
# Connection ids no lookup pattern may match: a pattern matching these lets every id through.
LOOKUP_PROBE_IDS = ("aws_default", "__policy_probe_any_connection__")
# backend_kwargs keys that would put a static credential into the MWAA configuration.
STATIC_CREDENTIAL_KWARGS = frozenset(
    {"token", "secret_id", "password", "client_secret", "aws_secret_access_key", "private_key"}
)


def airflow_options_problems(options: Any) -> list[str]:
    """What is wrong with MWAA `airflowConfigurationOptions` (shared by every path)."""
    if not isinstance(options, Mapping):
        return ["has no Airflow configuration options; set secrets.backend and backend_kwargs"]
    problems: list[str] = []
    backend = options.get("secrets.backend")
    if not isinstance(backend, str) or not backend.strip():
        problems.append(
            "sets no `secrets.backend`; connections must come from a secrets backend "
            "(Secrets Manager or Vault), not from the metadata database"
        )
    raw = options.get("secrets.backend_kwargs")
    kwargs = json_document(raw)
    if kwargs is None:
        problems.append(
            "`secrets.backend_kwargs` is missing or not a JSON object; set it with a "
            "connections_lookup_pattern"
        )
        return problems
    if backend == VAULT_BACKEND:
        problems.extend(_vault_backend_problems(kwargs))
    else:
        problems.extend(_lookup_pattern_problems(kwargs))
    for key in sorted(STATIC_CREDENTIAL_KWARGS & set(kwargs)):
        problems.append(
            f"`secrets.backend_kwargs` carries a static credential ({key}); authenticate "
            "the backend with the execution role (aws_iam) instead"
        )
    return problems


def _vault_backend_problems(kwargs: Mapping[str, Any]) -> list[str]:
    """VaultBackend cannot filter ids: scope it to one mount and path, lookups of nothing else."""
    problems = []
    for key in ("mount_point", "connections_path"):
        value = kwargs.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(
                f"VaultBackend `{key}` is not set; read connections from this stack's own "
                "KV mount and path"
            )
    for key in ("variables_path", "config_path"):
        if kwargs.get(key) is not None:
            problems.append(
                f"VaultBackend `{key}` is set, so every Variable/config lookup also reaches "
                f"Vault; set {key} to null"
            )
    return problems


def _lookup_pattern_problems(kwargs: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    pattern = kwargs.get("connections_lookup_pattern")
    if not isinstance(pattern, str) or not pattern:
        problems.append(
            "`secrets.backend_kwargs` has no connections_lookup_pattern, so every connection "
            "lookup reaches the backend; set a pattern matching exactly this stack's ids"
        )
    else:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            problems.append(f"connections_lookup_pattern {pattern!r} is not a regex: {error}")
        else:
            loose = [i for i in LOOKUP_PROBE_IDS if compiled.match(i)]
            if loose:
                problems.append(
                    f"connections_lookup_pattern {pattern!r} also matches {loose[0]!r}; "
                    "anchor it to exactly this stack's connection ids (^(...)$)"
                )
    return problems


def check_mwaa_secrets_backend(stack: StackView, _: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    exported = stack.outputs.get("airflowConfigurationOptions")
    environments = stack.of_type(MWAA_ENVIRONMENT)
    for environment in environments:
        options = environment.props.get("airflowConfigurationOptions")
        if is_masked(options):
            # Offline the provider's secret marking hides the value; the stack exports the
            # same options for review, and the real pack sees the real value.
            if exported is None or is_masked(exported):
                yield (
                    environment.urn,
                    "airflowConfigurationOptions is secret in the plan and the stack exports no "
                    "airflowConfigurationOptions to check instead; export them",
                )
                continue
            options = exported
        for problem in airflow_options_problems(options):
            yield environment.urn, f"MWAA {problem}"
    if not environments and exported is not None and not is_masked(exported):
        # The program only exports the options for an environment it does not manage.
        for problem in airflow_options_problems(exported):
            yield "", f"exported airflowConfigurationOptions: {problem}"


MWAA_SECRETS_BACKEND = StackRule(
    name="mwaa-secrets-backend",
    description="MWAA's Airflow options name a secrets backend and a connections lookup "
    "pattern (VaultBackend, which has none: one mount and path, no other lookups), and "
    "carry no static credential.",
    check=check_mwaa_secrets_backend,
)


RULES: tuple[Rule, ...] = (MWAA_SECRETS_BACKEND,)
