"""A stand-in GPU job for the profile tests: claim one GPU the way training commands do, record it.

Usage: ``python gpu_probe.py OUT.json SIBLINGS TIMEOUT``

Calls ``vssl.runtime.slots.acquire_gpus(1)`` (what ``vssl.runtime.device.resolve_device``
calls before CUDA starts), then writes a JSON record of ``CUDA_VISIBLE_DEVICES``,
where it came from ("locked": a local slot; "preset": set by SLURM or the user),
the SLURM job id if any, and wall-clock start/end times.

With ``SIBLINGS > 1`` the job keeps its slot until ``SIBLINGS`` probes writing
into the same directory have all claimed theirs (a barrier through
``*.arrived`` files), so the records prove the jobs held their GPUs at the
same time. With ``SIBLINGS = 1`` there is no barrier; the job holds its slot
for ``--hold`` seconds (default 0.5) so that overlapping jobs would show.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from vssl.runtime.slots import acquire_gpus


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("siblings", type=int)
    parser.add_argument("timeout", type=float)
    parser.add_argument("--hold", type=float, default=0.5)
    args = parser.parse_args(argv)

    started = time.time()
    assignment = acquire_gpus(1, timeout=args.timeout, poll=0.1, log_fn=lambda msg: print(msg, file=sys.stderr))
    record = {
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "source": assignment.source,
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.siblings > 1:
        (args.out.parent / f"{args.out.name}.arrived").write_text(json.dumps(record))
        deadline = time.monotonic() + args.timeout
        while len(list(args.out.parent.glob("*.arrived"))) < args.siblings:
            if time.monotonic() > deadline:
                print(
                    f"gpu_probe: {args.siblings} siblings never held GPUs at once within {args.timeout}s",
                    file=sys.stderr,
                )
                return 3
            time.sleep(0.1)
    else:
        time.sleep(args.hold)
    record["ended"] = time.time()
    args.out.write_text(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
