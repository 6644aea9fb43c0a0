"""What the benchmarks against public peers share: the peer's timer runs in
the peer's own environment as `python -c SCRIPT ARGS...`, its script ending
in `TIMING_LOOP` (which calls the script's `step()` and knows `batch_size`
and `seconds`), and prints its sequences per second as JSON."""

from __future__ import annotations

import json
import subprocess

TIMING_LOOP = """
for _ in range(3):
    step()
sequences, started = 0, time.perf_counter()
while time.perf_counter() - started < seconds or sequences == 0:
    step()
    sequences += batch_size
print(json.dumps({"seq_per_s": sequences / (time.perf_counter() - started)}))
"""


def peer_rate(python: str, script: str, *args, cwd: str | None = None) -> float:
    """Sequences per second of the peer's timer `script`, run by `python` with `args`."""
    out = subprocess.run([python, "-c", script, *map(str, args)], check=True, capture_output=True, text=True,
                         cwd=cwd).stdout
    return json.loads(out.strip().splitlines()[-1])["seq_per_s"]
