"""Register secrets with Airflow's secrets masker, whichever Airflow 3 layout is installed.

On a worker the task runs in a subprocess of the task supervisor; `mask_secret` also tells the
supervisor, which masks the task log it writes. (A task run in-process by `airflow dags test`
without `--use-executor` logs through the CLI's console handler, which masks nothing on
Airflow 3.3.2 — not even connection passwords; the integration tests use the executor path.)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import Any

# Airflow 3.1+ exposes `airflow.sdk.log.mask_secret`, which also tells the task supervisor (it
# masks the task log); Airflow 3.0 (MWAA 3.0.x) has it under the execution-time module.
_LOCATIONS = ("airflow.sdk.log", "airflow.sdk.execution_time.secrets_masker")


@cache
def _masker() -> Callable[..., None]:
    for module in _LOCATIONS:
        try:
            fn: Callable[..., None] = importlib.import_module(module).mask_secret
        except (ImportError, AttributeError):
            continue
        return fn
    raise ImportError(f"no Airflow secrets masker found in {', '.join(_LOCATIONS)}")


def mask(value: str | None, name: str | None = None) -> None:
    """Register `value` so that Airflow replaces it with `***` in logs and rendered fields.

    `name` says what the value is, for the reader only: it is not passed on, because Airflow's
    `mask_secret(value, name)` silently drops a value whose name contains none of its sensitive
    field names (`signing_key`, `vault_login_jwt`, `client_assertion` would be dropped); without
    a name it masks the value unconditionally. Every value given here is a secret.
    Empty values are ignored: masking "" would mask nothing useful and Airflow warns about it.
    """
    del name
    if value:
        _masker()(value)


def mask_all(values: dict[str, Any]) -> None:
    """Mask every non-empty string value of `values` (keys name them, see `mask`)."""
    for name, value in values.items():
        if isinstance(value, str):
            mask(value, name)
