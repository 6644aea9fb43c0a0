"""Which torch devices a run may use."""

from __future__ import annotations

import torch


def check_device(device: str) -> str:
    """`device` if torch can run there (cpu, cuda, cuda:N or mps), else a ValueError saying what to use."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device} was asked for but torch sees no CUDA GPU here; use cpu")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device mps was asked for but torch has no Apple GPU (MPS) here; use cpu")
    if not (device == "cpu" or device.startswith("cuda") or device == "mps"):
        raise ValueError(f"the device must be cpu, cuda, cuda:N or mps, got {device!r}")
    return device
