"""The repository root, for every suite (pathlib only: the MWAA-constraints job imports it too)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
