"""How long this process has existed: start-up costs, measured from ``exec`` rather than from ``main``."""

from __future__ import annotations

import os
import time

# A command forked by `vssl.runtime.forkserver` counts from its client's start (the process the
# user or Snakemake started), not from the fork: the child sets this to that wall-clock time.
started_at: float | None = None


def seconds_since_process_start() -> float | None:
    """Wall seconds since the kernel started this process (Linux ``/proc``), or None elsewhere.

    Python's own clocks start after the interpreter and its imports have begun, so they miss
    what a user waits for: interpreter start, ``import torch`` and the rest.
    """
    if started_at is not None:
        return max(0.0, time.time() - started_at)
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: start time in clock ticks
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, uptime - started)
