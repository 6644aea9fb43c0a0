"""`python tests/slow_training.py ARGS` runs `ntm ARGS` slowed down, so that a
test's signal lands while the run is still going, not after it has ended.

Test-only: the library has no hook for this; the pauses are patched in here.
- NTM_TEST_STEP_SECONDS: a pause before every optimiser step.
- NTM_TEST_LATE_PAUSE=training or summary: one pause of NTM_TEST_LATE_SECONDS
  after the last step, in the library's `train` once its final checkpoint and
  validation are done, or in the command's summary after `train` returned.
  The pause first creates the file NTM_TEST_PAUSE_MARKER, so the test knows
  when to send its signal.
"""

import importlib
import os
import sys
import time
from pathlib import Path

from ntm.training import loop

STEP_SECONDS = float(os.environ.get("NTM_TEST_STEP_SECONDS", "0"))
LATE_PAUSE = os.environ.get("NTM_TEST_LATE_PAUSE")
LATE_SECONDS = float(os.environ.get("NTM_TEST_LATE_SECONDS", "0"))
PAUSE_MARKER = os.environ.get("NTM_TEST_PAUSE_MARKER")


def pausing_before(function, seconds, marker=None):
    def paused(*args, **kwargs):
        if marker:
            Path(marker).touch()
        time.sleep(seconds)
        return function(*args, **kwargs)

    return paused


if __name__ == "__main__":
    command = importlib.import_module("ntm.cli.train")
    loop._optimiser_step = pausing_before(loop._optimiser_step, STEP_SECONDS)
    if LATE_PAUSE == "training":  # `_result` builds train's return value, after the final save and validation
        loop._result = pausing_before(loop._result, LATE_SECONDS, PAUSE_MARKER)
    elif LATE_PAUSE == "summary":
        command._summary = pausing_before(command._summary, LATE_SECONDS, PAUSE_MARKER)
    sys.argv[0] = "ntm"
    from ntm.cli import run

    run()
