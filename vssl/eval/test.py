"""`vssl test`: video-level action recognition with N evenly spaced clips per video.

Protocol (V3S §4.3, "we sample 10 clips for each video and average the
possibility of predictions"): ``--clips`` (default 10) clips of the model's
clip length, evenly spaced over the video (`vssl.data.clips.EvenlySpaced`),
centre-cropped to the training crop size, each scored with a softmax; the
video's class scores are the mean of its clips' softmax vectors. Video top-1
is the argmax of that mean; clip top-1 counts every clip on its own.

Preprocessing (clip length, crop, modality, normalisation) defaults to what
the checkpoint was trained with (its stored config), so RGB and DIF models
are tested as trained; flags override.

Outputs in ``--out`` (atomically): ``scores.csv`` (``video``, ``label``,
``pred``, ``score_0`` .. ``score_{C-1}``: per-video mean softmax, for `vssl fuse`)
and ``metrics.json`` (top-1 video/clip, counts, checkpoint path and SHA-256,
seed, settings, versions).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from vssl.runtime.context import CommandContext, command_context
from vssl.runtime.logs import USER_ERRORS
from vssl.runtime.provenance import provenance
from vssl.train.checkpoint import load_classifier
from vssl.utils.io import atomic_write_csv, atomic_write_json
from vssl.utils.proc import seconds_since_process_start

SCORE_PREFIX = "score_"
log = logging.getLogger("vssl.eval.test")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, type=Path, help="finetuned checkpoint (vssl finetune)")
    parser.add_argument("--store", required=True, type=Path, help="frame store directory")
    parser.add_argument("--split-column", default="split1", help="manifest split column (default: split1)")
    parser.add_argument("--split", default="test", help="rows to test (default: test)")
    parser.add_argument("--clips", type=int, default=10, help="evenly spaced clips per video (default: 10)")
    parser.add_argument("--clip-length", type=int, default=None, help="frames per clip (default: as trained)")
    parser.add_argument("--crop", type=int, default=None, help="centre crop size (default: as trained)")
    parser.add_argument("--modality", choices=("rgb", "dif"), default=None, help="input modality (default: as trained)")
    parser.add_argument("--batch-size", type=int, default=4, help="videos per forward batch (default: 4)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (default: 2)")
    parser.add_argument(
        "--frame-cache-mb",
        type=float,
        default=0.0,
        help="keep decoded videos in memory up to this many MiB (default: 0 = off)",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--amp", choices=("none", "bf16"), default="none", help="bf16 autocast on CUDA")
    parser.add_argument("--seed", type=int, default=0, help="recorded with the result (the protocol draws nothing)")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--log", type=Path, default=None, help="log file (default OUT/test.log)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tqdm progress bar (shown on terminals only; default: on)",
    )


@torch.no_grad()
def video_scores(
    model: torch.nn.Module,
    loader: Any,
    *,
    device: torch.device,
    mean: list[float],
    std: list[float],
    modality: str,
    amp: str = "none",
    progress: bool = True,
    on_first_batch: Callable[[], None] | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Mean clip softmax per video: returns (videos, labels (V,), scores (V, C), clip_correct_counts (V,)).

    ``on_first_batch`` is called once the first batch has been loaded (start-up measurement).
    """
    from vssl.kernels.augment import apply_modality, to_float

    videos: list[str] = []
    labels: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    clip_hits: list[np.ndarray] = []
    iterator = loader
    if progress:
        from tqdm import tqdm

        iterator = tqdm(loader, unit="batch", disable=None)
    for batch in iterator:
        if on_first_batch is not None and not videos:
            on_first_batch()
        clip = batch["clip"]  # (B, N, T, H, W, C) uint8
        b, n = clip.shape[:2]
        x = to_float(clip.reshape(b * n, *clip.shape[2:]).to(device, non_blocking=True), mean, std)
        x = apply_modality(x, modality)
        ctx = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if (amp == "bf16" and device.type == "cuda")
            else torch.autocast("cpu", enabled=False)
        )
        with ctx:
            logits = model(x)
        probs = torch.softmax(logits.float(), dim=1).view(b, n, -1)
        label = batch["label"].to(device)
        clip_hits.append((probs.argmax(2) == label[:, None]).sum(1).cpu().numpy())
        scores.append(probs.mean(1).double().cpu().numpy())
        labels.append(batch["label"].numpy())
        videos.extend(batch["video"])
    return videos, np.concatenate(labels), np.concatenate(scores), np.concatenate(clip_hits)


def scores_frame(videos: list[str], labels: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"video": videos, "label": labels.astype(np.int64), "pred": scores.argmax(1).astype(np.int64)})
    score_cols = pd.DataFrame(scores, columns=[f"{SCORE_PREFIX}{i}" for i in range(scores.shape[1])])
    return pd.concat([frame, score_cols], axis=1)


def read_scores(path: str | Path) -> pd.DataFrame:
    """Read a scores.csv (or the scores.csv inside a directory); errors name the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "scores.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: scores file not found")
    frame = pd.read_csv(path, dtype={"video": str}, keep_default_na=False)
    missing = [c for c in ("video", "label") if c not in frame.columns]
    cols = [c for c in frame.columns if c.startswith(SCORE_PREFIX)]
    if missing or not cols:
        raise ValueError(f"{path}: not a scores file (needs video, label and {SCORE_PREFIX}* columns)")
    expected = [f"{SCORE_PREFIX}{i}" for i in range(len(cols))]
    if cols != expected:
        raise ValueError(f"{path}: score columns must be {SCORE_PREFIX}0..{SCORE_PREFIX}{len(cols) - 1} in order")
    dup = frame["video"][frame["video"].duplicated()]
    if len(dup):
        raise ValueError(f"{path}: video {dup.iloc[0]!r} appears more than once")
    bad = frame[cols].apply(pd.to_numeric, errors="coerce").isna().any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise ValueError(f"{path}:{row}: non-numeric score")
    frame.attrs["source"] = str(path)
    return frame


def run(args: argparse.Namespace) -> int:
    from vssl.train.checkpoint import CheckpointError

    errors = (CheckpointError, *USER_ERRORS)
    try:
        with command_context(args, "test", user_errors=errors) as ctx:
            return _run(args, ctx)
    except errors as exc:
        if not getattr(exc, "vssl_logged", False):  # not logged yet: the log could not be opened
            print(f"vssl test: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, ctx: CommandContext) -> int:
    from torch.utils.data import DataLoader

    out: Path = args.out
    device = ctx.device
    model, meta = load_classifier(args.checkpoint, map_location="cpu")
    model.to(device).eval()
    clip_length, crop, modality, mean, std = _test_settings(args, meta.get("config") or {})
    dataset = _test_dataset(args, clip_length=clip_length, crop=crop, modality=modality)
    loader = DataLoader(
        dataset, batch_size=args.batch_size, shuffle=False, num_workers=args.workers, pin_memory=device.type == "cuda"
    )
    log.info(
        "testing %s on %d videos (%s=%s), %d clips x %d frames, crop %d, %s",
        args.checkpoint,
        len(dataset),
        args.split_column,
        args.split,
        args.clips,
        clip_length,
        crop,
        modality,
    )
    t0 = time.perf_counter()
    started: dict[str, float | None] = {}
    videos, labels, scores, clip_hits = video_scores(
        model,
        loader,
        device=device,
        mean=mean,
        std=std,
        modality=modality,
        amp=args.amp,
        progress=args.progress,
        on_first_batch=lambda: started.setdefault("first_batch_after_s", seconds_since_process_start()),
    )
    elapsed = time.perf_counter() - t0
    classes = meta.get("classes")
    if scores.shape[1] != (len(classes) if classes else scores.shape[1]):
        raise RuntimeError(f"{args.checkpoint}: model has {scores.shape[1]} outputs but {len(classes)} classes")
    if labels.max() >= scores.shape[1]:
        raise ValueError(f"{args.store}: label {int(labels.max())} is outside the model's {scores.shape[1]} classes")
    frame = scores_frame(videos, labels, scores)
    top1_video = float((frame["pred"].to_numpy() == labels).mean())
    top1_clip = float(clip_hits.sum() / (len(videos) * args.clips))
    settings = {"clip_length": clip_length, "crop": crop, "modality": modality, "mean": list(mean), "std": list(std)}
    metrics = _metrics(
        args,
        meta,
        model,
        device,
        settings,
        top1_video=top1_video,
        top1_clip=top1_clip,
        n_videos=len(videos),
        elapsed=elapsed,
        first_batch_after_s=started.get("first_batch_after_s"),
    )
    atomic_write_csv(out / "scores.csv", frame)
    atomic_write_json(out / "metrics.json", metrics)
    log.info("top-1 video %.4f, clip %.4f over %d videos (%.1fs)", top1_video, top1_clip, len(videos), elapsed)
    return 0


def _test_dataset(args: argparse.Namespace, *, clip_length: int, crop: int, modality: str):
    """The test split's videos, ``--clips`` evenly spaced center-cropped clips each; all labelled."""
    from vssl.data.clips import ClipDataset, EvenlySpaced
    from vssl.kernels.augment import frames_for_modality

    if args.clips < 1:
        raise ValueError("--clips must be >= 1")
    dataset = ClipDataset(
        args.store,
        split=args.split,
        split_column=args.split_column,
        sampler=EvenlySpaced(args.clips, frames_for_modality(clip_length, modality)),
        seed=args.seed,
        crop=crop,
        crop_mode="center",
        frame_cache_mb=args.frame_cache_mb,
    )
    if len(dataset) == 0:
        raise ValueError(f"{args.store}: no usable videos with {args.split_column} == {args.split!r}")
    if (dataset.labels < 0).any():
        first = dataset.videos[int(np.flatnonzero(dataset.labels < 0)[0])]
        raise ValueError(f"{args.store}/manifest.csv: video {first!r} has no label; testing needs labelled videos")
    return dataset


def _test_settings(args: argparse.Namespace, trained: dict) -> tuple[int, int, str, list[float], list[float]]:
    """Clip length, crop, modality and normalisation: the flags where given, else the finetuning's own."""
    clip_length = args.clip_length or int(trained.get("clip_length", 16))
    crop = args.crop or int(trained.get("crop", 112))
    modality = args.modality or trained.get("modality", "rgb")
    mean, std = trained.get("mean"), trained.get("std")
    if mean is None or std is None:
        from vssl.kernels.augment import KINETICS_MEAN, KINETICS_STD

        mean, std = list(KINETICS_MEAN), list(KINETICS_STD)
    return clip_length, crop, modality, mean, std


def _metrics(
    args: argparse.Namespace,
    meta: dict,
    model: torch.nn.Module,
    device: torch.device,
    settings: dict,
    *,
    top1_video: float,
    top1_clip: float,
    n_videos: int,
    elapsed: float,
    first_batch_after_s: float | None,
) -> dict:
    """metrics.json: the scores, what made them (checkpoint, seeds, settings) and what they cost."""
    train_wall = float(meta.get("wall_time_s") or 0.0)
    metrics = {
        "top1_video": top1_video,
        "top1_clip": top1_clip,
        "n_videos": n_videos,
        "n_clips": n_videos * args.clips,
        # our own count (tables print it beside the paper's): the backbone, without the classifier
        "backbone_params": sum(p.numel() for p in model.backbone.parameters()),
        "clips_per_video": args.clips,
        "checkpoint": str(args.checkpoint),
        "checkpoint_sha256": meta["sha256"],
        "checkpoint_step": meta["step"],
        "seed": args.seed,
        "train_seed": meta.get("seed"),
        "init": meta.get("init"),  # the pretrained checkpoint the finetuning started from (None: scratch)
        "classes": meta.get("classes"),
        "config": {
            "store": str(args.store),
            "split_column": args.split_column,
            "split": args.split,
            **settings,
            "amp": args.amp,
        },
        "wall_time_s": elapsed,
        # Compute of this number beyond the (shared) pretraining: finetuning plus this test.
        "train_wall_s": meta.get("wall_time_s"),
        "wall_s": elapsed + train_wall,
        "clips_per_s": n_videos * args.clips / max(elapsed, 1e-9),
        # process start to the first loaded batch (a test run inside `vssl finetune` counts the training too)
        "first_batch_after_s": first_batch_after_s,
        **provenance(device),
    }
    if device.type == "cuda":
        metrics["gpu_hours"] = (elapsed + train_wall) / 3600.0
    return metrics
