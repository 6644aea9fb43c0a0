"""Which torch devices a command may run on."""

from __future__ import annotations

import torch


def check_device(device: str) -> str:
    """`device` if torch can run there (cpu, cuda, cuda:N or mps), else a ValueError saying what to use."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no CUDA GPU here; use --device cpu")
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        raise ValueError(f"--device must be cpu or cuda, got {device!r}")
    return device
