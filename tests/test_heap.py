"""ntm.model.heap: freed memory stays in the process (glibc), unless the
environment already chose malloc's thresholds."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

BLOCK = 20 << 20  # bytes: one float32 tensor of 5 Mi elements

# Frees one 20 MiB tensor in a fresh process and prints how much more memory
# malloc holds from the kernel while it lives and after it is freed (mallinfo2:
# heap plus mmapped blocks). glibc's default gives a first block that size
# straight back. These are malloc's own counts, so unlike the resident size
# they do not depend on what else the machine is doing.
FREE_ONE_BLOCK = """
import ctypes, torch
from ntm.model import heap
print(heap.keep_freed_memory())
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
def held():
    info = mallinfo2()
    return info.arena + info.hblkhd
before = held()
block = torch.ones(5 << 20)
during = held()
del block
print(during - before, held() - before)
"""


def free_one_block(env_extra: dict[str, str]) -> tuple[str, int, int]:
    """Whether the thresholds were applied; bytes held more while the block lives, and after it is freed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(env_extra, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", FREE_ONE_BLOCK], env=env, capture_output=True, text=True,
                            check=True)
    applied, grown, kept = result.stdout.split()
    return applied, int(grown), int(kept)


def glibc_version() -> tuple[int, ...]:
    name = os.confstr("CS_GNU_LIBC_VERSION") if sys.platform.startswith("linux") else None  # "glibc 2.36"
    return tuple(int(part) for part in name.split()[1].split(".")[:2]) if name else ()


glibc_only = pytest.mark.skipif(glibc_version() < (2, 33),
                                reason="mallopt's thresholds are glibc's; the test reads them with 2.33's mallinfo2")


@glibc_only
def test_a_freed_block_stays_mapped_for_the_next_step():
    applied, grown, kept = free_one_block({})
    assert applied == "True"
    assert grown >= BLOCK
    assert kept >= BLOCK  # still held after the free, for the next step to reuse


@glibc_only
def test_thresholds_set_in_the_environment_are_left_alone():
    applied, grown, kept = free_one_block({"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert applied == "False"
    assert grown >= BLOCK
    assert kept < BLOCK // 4  # glibc's own behaviour: the block went back to the kernel
