"""DDP on CPU: two gloo processes under torchrun train one model; rank 0 writes; replicas stay in sync."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from train_support import TINY_MODEL, cli_env, make_store

from vssl.train.checkpoint import load_checkpoint


def test_torchrun_two_processes_gloo(tmp_path):
    store = make_store(tmp_path / "store", classes=2, per_class=5)
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "vssl",
        "pretrain",
        "--store",
        str(store),
        "--out",
        str(out),
        *TINY_MODEL,
        "--clip-length",
        "8",
        "--crop",
        "16",
        "--batch-size",
        "16",
        "--epochs",
        "2",
        "--workers",
        "0",
        "--log-every",
        "1",
        "--ckpt-every",
        "2",
        "--holdout",
        "2",
        "--device",
        "cpu",
        "--no-progress",
        "--lr",
        "0.05",
    ]
    proc = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 2 and run["launcher"] == "torchrun" and run["status"] == "completed"
    # 8 training videos, 16 inputs = 4 clips per step = 2 per rank: each rank sees 4 videos -> 2 steps per epoch.
    assert run["batches_per_epoch"] == 2 and run["total_steps"] == 4
    log = (out / "train.log").read_text()
    assert "replicas in sync: 2 ranks" in log
    with open(out / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    train_steps = [int(r["step"]) for r in rows if r["phase"] == "train"]
    assert train_steps == [1, 2, 3, 4]  # written once (rank 0), no duplicates
    assert sum(r["phase"] == "val" for r in rows) == 2
    final = load_checkpoint(out / "final.pt")
    assert final["progress"]["step"] == 4
    assert (out / "best.pt").exists()
