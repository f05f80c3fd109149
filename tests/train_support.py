"""A tiny frame store for the training tests (written with the real store writer), and its check.

The training, evaluation and runtime tests import ``make_store`` from here (``pythonpath`` in
pyproject.toml puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
TINY_MODEL = ["--model", "r3d_10", "--width", "0.125", "--small-input"]


def make_store(
    root: Path, *, classes: int = 3, per_class: int = 4, frames: int = 20, size: int = 20, seed: int = 0
) -> Path:
    """A store of ``classes x per_class`` videos; half of each class is split1 train, half test.

    Each class moves a bright square in its own direction over smooth noise, so
    labels are learnable but the tests do not depend on it.
    """
    from vssl.data.store import store_file, write_frames

    rng = np.random.default_rng(seed)
    rows = []
    directions = [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 1)]
    for label in range(classes):
        name = f"Class{label}"
        for i in range(per_class):
            key = f"{name}/v_{name}_g{i:02d}.avi"
            base = rng.integers(40, 90, size=(1, size // 4, size // 4, 3)).repeat(4, 1).repeat(4, 2)
            video = np.repeat(base, frames, axis=0).astype(np.int64)
            dy, dx = directions[label % len(directions)]
            y0, x0 = rng.integers(2, size - 6, size=2)
            for t in range(frames):
                y = int(y0 + dy * t) % (size - 4)
                x = int(x0 + dx * t) % (size - 4)
                video[t, y : y + 4, x : x + 4] = 230
            write_frames(store_file(root, key), torch.from_numpy(video.astype(np.uint8)), fps=25.0)
            split = "train" if i < per_class // 2 else "test"
            rows.append(
                {
                    "video": key,
                    "label": label,
                    "class": name,
                    "split1": split,
                    "frames": frames,
                    "height": size,
                    "width": size,
                    "fps": 25.0,
                    "status": "ok",
                    "reason": "",
                }
            )
    with open(root / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def cli_env() -> dict[str, str]:
    """Environment for `python -m vssl` subprocesses: repo importable, CPU only, single process."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "CUDA_VISIBLE_DEVICES")
    }
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["VSSL_NUM_GPUS"] = "0"
    env["OMP_NUM_THREADS"] = "1"
    return env


def vssl_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "vssl", *args]
