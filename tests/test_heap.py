"""ntm.model.heap: freed memory stays in the process (glibc), unless the
environment already chose malloc's thresholds."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Frees one 20 MB tensor in a fresh process and prints how much of it is
# still resident afterwards, in MiB: glibc's default gives a first block
# that size straight back to the kernel.
FREE_ONE_BLOCK = """
import os, sys, torch
from ntm.model import heap
print(heap.keep_freed_memory())
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = resident()
block = torch.ones(5 << 20)
del block
print((resident() - before) >> 20)
"""


def free_one_block(env_extra: dict[str, str]) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(env_extra, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", FREE_ONE_BLOCK], env=env, capture_output=True, text=True,
                            check=True)
    applied, kept = result.stdout.split()
    return applied, int(kept)


glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                                reason="mallopt's thresholds are glibc's")


@glibc_only
def test_a_freed_block_stays_mapped_for_the_next_step():
    applied, kept = free_one_block({})
    assert applied == "True"
    assert kept >= 15


@glibc_only
def test_thresholds_set_in_the_environment_are_left_alone():
    applied, kept = free_one_block({"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert applied == "False"
    assert kept < 5  # glibc's own behaviour: the block went back to the kernel
