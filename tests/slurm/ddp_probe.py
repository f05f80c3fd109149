"""A stand-in DDP job for tests/workflow/test_slurm.py: join the process group the way training does, all-reduce once.

Usage (one process per rank, e.g. under ``srun``): ``python ddp_probe.py OUT_DIR``

Uses ``vssl.train.distributed`` exactly as ``vssl.train.loop.run_training`` does
(``detect_launch`` then ``init_distributed``; gloo, since the test cluster has
no real GPUs), all-reduces ``rank + 1`` and writes ``OUT_DIR/rank{rank}.json``
with what the launcher gave this rank.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from vssl.train import distributed


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    info, _ = distributed.detect_launch()
    info = distributed.init_distributed("cpu", timeout_s=120)
    total = distributed.all_reduce_sum(torch.tensor([float(info.rank + 1)]))
    record = {
        "rank": info.rank,
        "world_size": info.world_size,
        "local_rank": info.local_rank,
        "launcher": info.launcher,
        "all_reduce_sum": total.item(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "master": f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}",
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }
    distributed.barrier()
    distributed.cleanup()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{info.rank}.json").write_text(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
