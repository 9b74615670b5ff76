"""Test DAG: lookups that must never reach the secrets backend (non-matching ids, Variables)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Variable, dag, task

try:  # Airflow 3.1+ (the locked version)
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0 (MWAA 3.0.6): not yet in the Task SDK
    from airflow.hooks.base import BaseHook  # type: ignore[attr-defined,no-redef]  # 3.0's home; typed against the locked 3.3


@dag(schedule=None, catchup=False, tags=["integration-test"])
def it_lookup_patterns() -> None:
    @task
    def lookups() -> dict[str, Any]:
        found: dict[str, Any] = {}
        found["postgres_reporting"] = BaseHook.get_connection("postgres_reporting").host
        try:
            BaseHook.get_connection("mongo_not_in_this_stack")
            found["mongo_not_in_this_stack"] = "found"
        except Exception as e:
            found["mongo_not_in_this_stack"] = type(e).__name__
        found["report_window"] = Variable.get("report_window")
        return found

    lookups()


it_lookup_patterns()
