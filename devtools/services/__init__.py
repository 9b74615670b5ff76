"""Real local services started on 127.0.0.1 for the test suites and the benchmarks.

`local` starts moto and PostgreSQL, `openbao` an OpenBao dev server. No Pulumi import: the
MWAA-constraints job (scripts/check-mwaa) imports these where Pulumi cannot be installed.
"""
