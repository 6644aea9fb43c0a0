"""Keep freed memory in the process instead of handing it back to the kernel.

A fused training step allocates its saved state afresh, tens of MB, and
frees it after the backward pass. glibc's malloc gives blocks above its mmap
threshold straight back to the kernel when they are freed, and trims the top
of its heap once more than its trim threshold lies free there, so every step
would fault the same pages in again, each one zeroed by the kernel
(BENCHMARKS.md, "Transposed weights, the heads' activations as vectors,
freed memory kept", measures what that cost).

`keep_freed_memory()` raises both thresholds, so blocks up to 32 MB come from
the heap and up to 1 GiB of freed heap stays mapped for the next step. Peak
memory does not grow: what is kept is reused, not added to. It applies to the
whole process, once, on glibc only; MALLOC_MMAP_THRESHOLD_ or
MALLOC_TRIM_THRESHOLD_ in the environment mean the user chose, and it then
does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

# mallopt's parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest accepted value on 64-bit machines
TRIM_THRESHOLD = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once).
    True where they are now raised, False where this is not glibc or the
    environment sets them."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt; macOS and Windows other allocators)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
