"""Make the runtime package importable when it is not installed (scripts/setup installs it)."""

from __future__ import annotations

import sys

from tests.paths import ROOT

RUNTIME_SRC = ROOT / "runtime" / "src"

try:
    import atlas_identity  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(RUNTIME_SRC))
