"""One training per run directory at a time.

An exclusive advisory lock (flock) on `run_dir/.lock`: the kernel drops it
when the holder exits, even on SIGKILL, so a crashed run never leaves a
stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class RunDirectoryBusy(RuntimeError):
    pass


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / ".lock"
        self.handle = None

    def __enter__(self) -> "RunLock":
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise RunDirectoryBusy(
                f"another training is already writing to {self.path.parent}; wait for it or choose another --out"
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"{os.getpid()}\n")
        self.handle.flush()
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        self.handle.close()
