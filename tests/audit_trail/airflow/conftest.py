"""The runtime integration suite's real services (moto, one Airflow home), reused as they are."""

from tests.runtime.integration.conftest import (  # noqa: F401 (fixtures)
    airflow,
    aws,
    moto,
    plan,
    secrets_manager_env,
    workdir,
)
