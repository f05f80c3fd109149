"""`vssl fuse`: geometric-mean fusion of two (or more) models' per-video class scores.

3DRotNet Table 7 fuses the RGB and DIF models by "the geometric mean of the
per-class softmax scores". For each video and class the fused score is
``exp(mean_m log p_m)``, computed in the log domain (probabilities are
floored at 1e-300 so an underflowed zero cannot erase a class), then
renormalised per video so the scores stay a distribution; renormalising does
not change the argmax, so the reported accuracy is that of the plain
geometric mean.

Inputs are ``scores.csv`` files from `vssl test` (or their directories). The
video sets must be identical, labels must agree and class counts match;
otherwise the command fails naming the files and example videos.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import vssl
from vssl.eval.test import SCORE_PREFIX, read_scores, scores_frame
from vssl.utils.io import atomic_write_csv, atomic_write_json

FLOOR = 1e-300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scores",
        action="append",
        required=True,
        type=Path,
        help="scores.csv (or its directory) of one model; give it twice (RGB, DIF) or more",
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory (scores.csv, metrics.json)")


def score_matrix(frame: pd.DataFrame) -> np.ndarray:
    cols = [c for c in frame.columns if c.startswith(SCORE_PREFIX)]
    return frame[cols].to_numpy(dtype=np.float64)


def geometric_mean(scores: list[np.ndarray]) -> np.ndarray:
    """Per-row geometric mean of probability matrices ``(V, C)``, renormalised to sum to 1."""
    logs = np.mean([np.log(np.maximum(s, FLOOR)) for s in scores], axis=0)
    logs -= logs.max(axis=1, keepdims=True)
    fused = np.exp(logs)
    return fused / fused.sum(axis=1, keepdims=True)


def align(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """Order every frame like the first; error if video sets, labels or class counts differ."""
    first = frames[0]
    name0 = first.attrs.get("source", "scores #1")
    ordered = [first.reset_index(drop=True)]
    base = set(first["video"])
    for i, frame in enumerate(frames[1:], start=2):
        name = frame.attrs.get("source", f"scores #{i}")
        videos = set(frame["video"])
        if videos != base:
            only_a = sorted(base - videos)[:3]
            only_b = sorted(videos - base)[:3]
            raise ValueError(
                f"video sets differ between {name0} ({len(base)} videos) and {name} ({len(videos)} videos): "
                f"only in the first e.g. {only_a}, only in the second e.g. {only_b}"
            )
        frame = frame.set_index("video").loc[first["video"]].reset_index()
        if score_matrix(frame).shape[1] != score_matrix(first).shape[1]:
            raise ValueError(
                f"{name0} and {name} have different class counts "
                f"({score_matrix(first).shape[1]} vs {score_matrix(frame).shape[1]})"
            )
        mismatch = frame["label"].to_numpy() != first["label"].to_numpy()
        if mismatch.any():
            video = first["video"].iloc[int(np.flatnonzero(mismatch)[0])]
            raise ValueError(f"labels differ between {name0} and {name} (e.g. video {video!r})")
        ordered.append(frame)
    return ordered


def fuse_scores(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Fused scores frame (same columns as `vssl test`'s scores.csv)."""
    if len(frames) < 2:
        raise ValueError("fusion needs at least two score files")
    frames = align(frames)
    fused = geometric_mean([score_matrix(f) for f in frames])
    return scores_frame(frames[0]["video"].tolist(), frames[0]["label"].to_numpy(), fused)


def accuracy(frame: pd.DataFrame) -> float:
    return float((score_matrix(frame).argmax(1) == frame["label"].to_numpy()).mean())


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ValueError, FileNotFoundError) as exc:  # bad inputs: one clear line, exit 2
        print(f"vssl fuse: error: {exc}", file=sys.stderr)
        return 2


def input_provenance(score_paths: list[Path]) -> dict:
    """Seed, checkpoints and commits of the fused models.

    Read from the ``metrics.json`` that `vssl test` wrote beside each scores.csv.
    """
    seeds, paths, shas, commits = [], [], [], []
    for path in score_paths:
        metrics_file = (path if path.is_dir() else path.parent) / "metrics.json"
        if not metrics_file.is_file():
            continue
        data = json.loads(metrics_file.read_text())
        seeds.append(data.get("seed"))
        paths.append(str(data.get("checkpoint", "unknown")))
        shas.append(str(data.get("checkpoint_sha256", "unknown")))
        commits.append(str(data.get("git_commit", "unknown")))
    if len(paths) != len(score_paths):
        return {}
    # The fused number is made by the input models: their commits (once each, in input order).
    out = {
        "checkpoint": ";".join(paths),
        "checkpoint_sha256": ";".join(shas),
        "git_commit": ";".join(dict.fromkeys(commits)),
    }
    if len(set(seeds)) == 1:
        out["seed"] = seeds[0]
    return out


def _run(args: argparse.Namespace) -> int:
    frames = [read_scores(p) for p in args.scores]
    fused = fuse_scores(frames)
    metrics = {
        **input_provenance(list(args.scores)),
        "top1_fused": accuracy(fused),
        "top1_inputs": {frame.attrs["source"]: accuracy(frame) for frame in frames},
        "n_videos": len(fused),
        "inputs": [frame.attrs["source"] for frame in frames],
        "method": "geometric mean of per-class softmax scores",
        "vssl_version": vssl.__version__,
    }
    atomic_write_csv(args.out / "scores.csv", fused)
    atomic_write_json(args.out / "metrics.json", metrics)
    print(
        f"fused top-1 {metrics['top1_fused']:.4f} over {len(fused)} videos "
        f"(inputs: {', '.join(f'{v:.4f}' for v in metrics['top1_inputs'].values())})"
    )
    return 0
