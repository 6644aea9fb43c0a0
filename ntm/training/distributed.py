"""Data-parallel training under torchrun, with plain torch.distributed.

`torchrun --nproc_per_node K -m ntm train ...` sets RANK and WORLD_SIZE; each
rank then trains on its own data stream and the gradients are averaged after
every backward pass, so all ranks hold the same weights at every step. Only
rank 0 writes files and reports progress. Without torchrun this is a world of
one and every call is a no-op.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


class World:
    def __init__(self, rank: int = 0, size: int = 1, device: torch.device | None = None, owns_group: bool = False):
        self.rank, self.size = rank, size
        self.device = device or torch.device("cpu")  # NCCL only reduces tensors on the GPU
        self.owns_group = owns_group

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @staticmethod
    def reports_here() -> bool:
        """True on the process that reports: rank 0 under torchrun, or the only one."""
        return int(os.environ.get("RANK", "0")) == 0

    @classmethod
    def from_environment(cls, device: torch.device) -> "World":
        size = int(os.environ.get("WORLD_SIZE", "1"))
        if size == 1:
            return cls()
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        owns_group = not dist.is_initialized()  # a group the caller made is the caller's to close
        if owns_group:
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), device, owns_group)

    def close(self) -> None:
        """Destroy the process group this world made. A process that exits with
        it still open lets gloo's worker threads outlive the interpreter's
        teardown, and it may then die of SIGABRT after training succeeded."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False

    def average_gradients(self, parameters) -> None:
        """All-reduce every gradient as one flat buffer: one message per step, not one per tensor."""
        if self.size == 1:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def all_agree(self, flag: bool) -> bool:
        """True only if `flag` is true on every rank."""
        if self.size == 1:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())
