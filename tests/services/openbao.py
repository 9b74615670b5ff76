"""Moved to devtools/services/openbao.py (the benchmarks use it too); this import path stays for
suites written against it."""

from devtools.services.openbao import (
    OpenBaoServer,
    OpenBaoStartError,
    running_openbao,
    start_openbao,
)

__all__ = ["OpenBaoServer", "OpenBaoStartError", "running_openbao", "start_openbao"]
