"""A one-line description of the machine, recorded with runs and benchmarks."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(threads: int | None = None) -> str:
    """CPU, cores and torch threads (this process's unless `threads` says how
    many another run used), GPU if any, torch and python versions."""
    threads = torch.get_num_threads() if threads is None else threads
    parts = [f"{cpu_name()} ({os.cpu_count()} cores, {threads} torch threads)"]
    if torch.cuda.is_available():
        parts.append(torch.cuda.get_device_name(0))
    parts.append(f"torch {torch.__version__}, python {platform.python_version()}")
    return ", ".join(parts)
