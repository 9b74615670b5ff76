"""What a benchmark ran on: numbers from another CPU or a busy machine are not comparable."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (what `lscpu` shows as "Model name")."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown CPU"


def describe() -> str:
    """E.g. `2 CPUs (AMD EPYC), Python 3.11.7`."""
    return f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}"


def load() -> float:
    """The 1-minute load average: other jobs sharing the cores slow every number."""
    return os.getloadavg()[0]
