"""Moved to devtools/services/local.py (the benchmarks use it too); this import path stays for
suites written against it."""

from devtools.services.local import (
    Moto,
    Postgres,
    ServiceError,
    free_port,
    start_moto,
    start_postgres,
    write_json,
)

__all__ = [
    "Moto",
    "Postgres",
    "ServiceError",
    "free_port",
    "start_moto",
    "start_postgres",
    "write_json",
]
