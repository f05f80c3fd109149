"""A hand-made frame store for the evaluation tests (pyproject.toml puts tests/ on ``sys.path``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from vssl.data.store import store_file, write_frames


def write_store(root: Path, videos: list[dict]) -> Path:
    """videos: dicts with ``key``, ``frames`` (uint8 ``(T, H, W, 3)``) and manifest fields (label, class, split1, ...).

    A video whose ``status`` is ``failed`` gets a manifest row but no store file, as extraction leaves it.
    """
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for video in videos:
        video = dict(video)
        frames = video.pop("frames")
        if video.get("status", "ok") != "failed":
            write_frames(store_file(root, video["key"]), torch.from_numpy(frames), fps=25.0)
        t, h, w = frames.shape[:3]
        base = {"frames": t, "height": h, "width": w, "fps": 25.0, "status": "ok", "reason": ""}
        rows.append({"video": video.pop("key"), **base, **video})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root
