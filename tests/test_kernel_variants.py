"""The fused kernel as other CPUs build it: besides this CPU's build
(tests/test_fused_path.py), an AVX2 build (-march=x86-64-v3, simd.h's AVX2
branch and the BLAS products) and a portable one (-march=x86-64, the scalar
branch), each compiled through NTM_FUSED_MARCH and held to the reference path
by tests/test_fused_path.py in a process of its own. A variant this CPU cannot
run is skipped, and the skip says why.

Each build takes 20-60 s the first time and is cached afterwards (its flags
are part of its name) beside the native one.
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from ntm.model import fused

ROOT = Path(__file__).resolve().parent.parent
# The CPU flags (as /proc/cpuinfo spells them) each target's code may use.
VARIANTS = {
    "x86-64-v3": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "xsave", "abm"},  # abm: lzcnt
    "x86-64": set(),  # SSE2, which every x86-64 CPU has
}


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@pytest.mark.parametrize("march", VARIANTS)
def test_the_kernel_built_for_another_cpu_matches_the_reference_path(march):
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"-march={march} is an x86-64 target and this is {platform.machine()}")
    missing = VARIANTS[march] - cpu_flags()
    if missing:
        pytest.skip(f"this CPU cannot run -march={march} code: it lacks {', '.join(sorted(missing))}")
    env = dict(os.environ, NTM_FUSED_MARCH=march, NTM_EXTENSIONS_DIR=str(fused.cache_dir()))
    env.pop("NTM_FUSED_PRODUCTS", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/test_fused_path.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"-march={march}:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout
    assert "this build does not target AVX-512" in result.stdout  # the own products' cases skip: not a native build
