"""The program's source files, for the suites that check the house as a whole."""

from __future__ import annotations

from tests.paths import ROOT

SOURCE_ROOTS = (
    "model",
    "components",
    "infra",
    "devtools",
    "policy",
    "bootstrap",
    "bench",
    "runtime/src",
    "runtime/tools",
    "runtime/examples",
    "audit_trail",
)


def source_files() -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for root in SOURCE_ROOTS
        if (ROOT / root).is_dir()
        for path in (ROOT / root).rglob("*.py")
    )
