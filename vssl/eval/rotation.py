"""`vssl eval-rotation`: rotation-recognition accuracy of pretrained rotation models (3DRotNet Table 1, Fig. 4b).

3DRotNet §4.3: "all videos in the two datasets are first applied with the
four rotations, then the rotated videos are input to the 3DRotNet to predict
the rotation angles. The average classification accuracy of the four
rotations is shown in Table 1." So every video of the evaluated store is
tested under every rotation the model was trained on, and the accuracy is
over all (video, rotation) pairs; per-rotation accuracies are reported too.
Given a series of checkpoints (explicit paths or a glob over the kept
``step_*.pt`` series), one row per checkpoint with its step gives the
rotation axis of Fig. 4b.

Resolved choices:
- Input: the pretext's own clip length, modality and crop size (read from the
  checkpoint's pretext spec), a deterministic *centre* crop instead of the
  training's random crop and no flip; ``--num-clips 1`` (default) takes the
  centre clip of each video, N > 1 takes N evenly spaced clips whose softmax
  scores are averaged per (video, rotation) before the argmax. Clip-level
  accuracy (every clip on its own) is reported beside it.
- Right-angle pretexts (``rotation``) rotate with exact ``rot90``; the
  8-way pretext (``rotation8``) uses the same bilinear warp and inscribed
  centre crop as its training, so angle 0 goes through the same zoom as 45.
- The continuous-angle pretext (``rotation360``) has no classes: it is tested
  at ``--angles`` (default every 45 degrees); the predicted angle of a video
  is the circular mean of its clips' predictions, "accuracy" counts a
  prediction as right when the nearest tested angle is the true one, and the
  mean absolute angular error (degrees) is reported too.
- Accuracies are percentages.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

ROTATION_PRETEXTS = ("rotation", "rotation8", "rotation360")


@dataclass
class RotationTask:
    """What a rotation checkpoint is tested on: angles, how to rotate, how to read the head."""

    pretext_name: str
    angles: tuple[float, ...]
    kind: str  # "classification" or "regression"
    crop_size: tuple[int, int]
    modality: str
    length: int
    crop_rule: str | None = None  # grid rotations only
    encoding: str | None = None  # regression only

    def rotate(self, x: Tensor, label: int) -> Tensor:
        """Clips ``x`` (B, C, T, H, W) rotated by ``angles[label]``, as in training."""
        from vssl.kernels.rotation import rotate, rotate90

        angle = self.angles[label]
        if self.pretext_name == "rotation":
            return rotate90(x, int(angle) // 90)
        return rotate(x, float(angle), crop=self.crop_rule or "inscribed", out_size=self.crop_size)


def rotation_task(
    pretext_spec: dict[str, Any] | None, *, angles: Sequence[float] | None = None, source: str = "checkpoint"
) -> RotationTask:
    """The test setting of a rotation pretext, from its stored ``{"name", "params"}`` spec."""
    from vssl.kernels.pretext import build_pretext

    if not pretext_spec or pretext_spec.get("name") not in ROTATION_PRETEXTS:
        name = (pretext_spec or {}).get("name")
        raise SystemExit(f"{source}: pretext {name!r} is not a rotation pretext ({', '.join(ROTATION_PRETEXTS)})")
    pretext = build_pretext(pretext_spec["name"], **dict(pretext_spec.get("params") or {}))
    kind, _ = pretext.heads["rotation"]
    if kind == "classification":
        if angles is not None:
            raise SystemExit(
                f"{source}: --angles applies to rotation360 only; a classifier is tested on its own classes"
            )
        test_angles = tuple(float(a) for a in pretext.angles)
    else:
        test_angles = tuple(float(a) % 360.0 for a in (angles if angles is not None else range(0, 360, 45)))
    return RotationTask(
        pretext_name=pretext.name,
        angles=test_angles,
        kind=kind,
        crop_size=tuple(pretext.crop_size),
        modality=pretext.modality,
        length=int(pretext.length),
        crop_rule=getattr(pretext, "crop", None),
        encoding=getattr(pretext, "encoding", None),
    )


def angular_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest absolute difference between angles in degrees, in [0, 180]."""
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) % 360.0
    return np.minimum(d, 360.0 - d)


def nearest_angle_label(predicted: np.ndarray, angles: Sequence[float]) -> np.ndarray:
    """Label of the tested angle nearest to each predicted angle (ties: the lower label)."""
    distances = angular_distance(np.asarray(predicted)[:, None], np.asarray(angles)[None, :])
    return distances.argmin(axis=1)


class _RotationTally:
    """Per-(video, true label) sums of the model's outputs, and clip-level hits per true label.

    Classification sums softmax probabilities; regression sums unit vectors of the predicted angles,
    so a video's angle is the circular mean of its clips'.
    """

    def __init__(self, task: RotationTask, n_videos: int):
        self.task, self.n_angles = task, len(task.angles)
        width = self.n_angles if task.kind == "classification" else 2
        self.sums = np.zeros((n_videos * self.n_angles, width), dtype=np.float64)
        self.clip_correct = np.zeros(self.n_angles, dtype=np.int64)
        self.clip_total = np.zeros(self.n_angles, dtype=np.int64)

    def add(self, out: Tensor, owners: np.ndarray) -> None:
        labels = owners % self.n_angles
        if self.task.kind == "classification":
            probs = torch.softmax(out, dim=1).cpu().double().numpy()
            np.add.at(self.sums, owners, probs)
            correct = probs.argmax(axis=1) == labels
        else:
            from vssl.kernels.rotation import angle_from_target

            degrees = angle_from_target(out.cpu(), self.task.encoding or "fraction").numpy()
            radians = np.deg2rad(degrees)
            np.add.at(self.sums, owners, np.stack([np.cos(radians), np.sin(radians)], axis=1))
            correct = nearest_angle_label(degrees, self.task.angles) == labels
        np.add.at(self.clip_correct, labels, correct.astype(np.int64))
        np.add.at(self.clip_total, labels, 1)

    def result(self, videos: list[str]) -> dict[str, Any]:
        n_videos, n_angles = len(videos), self.n_angles
        truth = np.tile(np.arange(n_angles), n_videos).reshape(n_videos, n_angles)
        result: dict[str, Any] = {"videos": videos, "clip_correct": self.clip_correct, "clip_total": self.clip_total}
        if self.task.kind == "classification":
            result["predicted"] = self.sums.argmax(axis=1).reshape(n_videos, n_angles)
        else:
            mean_angle = np.rad2deg(np.arctan2(self.sums[:, 1], self.sums[:, 0])) % 360.0
            result["predicted"] = nearest_angle_label(mean_angle, self.task.angles).reshape(n_videos, n_angles)
            true_angles = np.asarray(self.task.angles)[truth.reshape(-1)]
            result["angle_error"] = angular_distance(mean_angle, true_angles).reshape(n_videos, n_angles)
        result["truth"] = truth
        return result


def rotation_scores(
    model: nn.Module,
    task: RotationTask,
    dataset,
    *,
    clip_transform,
    device: torch.device,
    batch_size: int,
    workers: int = 0,
    amp: str = "none",
    progress: bool = False,
    head: str = "rotation",
    desc: str = "rotation",
) -> dict[str, Any]:
    """Test every video of ``dataset`` under every angle of ``task``.

    Returns ``videos``, ``predicted`` (V, K) labels per (video, true label),
    ``clip_correct``/``clip_total`` (per true label), and for regression
    ``angle_error`` (V, K) in degrees.
    """
    from vssl.eval.features import ClipBatcher, iterate_video_clips

    model = model.to(device).eval()
    n_videos, n_angles = len(dataset), len(task.angles)
    if n_videos == 0:
        raise ValueError("the dataset holds no video")
    tally = _RotationTally(task, n_videos)
    autocast = amp == "bf16" and device.type == "cuda"

    def forward(x: Tensor) -> Tensor:
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            out = model(x)
        if isinstance(out, dict):
            if head not in out:
                raise ValueError(f"the model has heads {sorted(out)}, not {head!r}")
            out = out[head]
        return out.float()

    batcher = ClipBatcher(batch_size, forward, tally.add)
    videos: list[str] = []
    for position, item, clips in iterate_video_clips(
        dataset, workers=workers, device=device, progress=progress, desc=desc
    ):
        videos.append(str(item["video"]))
        x = clip_transform(clips, device)
        for label in range(n_angles):
            rotated = task.rotate(x, label)
            batcher.add(rotated, np.full(len(rotated), position * n_angles + label, dtype=np.int64))
    batcher.finish()
    if len(videos) != n_videos:
        raise RuntimeError(f"rotation test saw {len(videos)} videos, the dataset has {n_videos}")
    return tally.result(videos)


def summarize_rotation(result: dict[str, Any], angles: Sequence[float]) -> dict[str, Any]:
    """Overall and per-angle video-level accuracy (percent), clip-level accuracy, confusion matrix."""
    predicted, truth = result["predicted"], result["truth"]
    correct = predicted == truth
    summary: dict[str, Any] = {
        "accuracy": float(100.0 * correct.mean()),
        "clip_accuracy": float(100.0 * result["clip_correct"].sum() / max(result["clip_total"].sum(), 1)),
        "n_videos": int(predicted.shape[0]),
        "n_tests": int(predicted.size),
    }
    for label, angle in enumerate(angles):
        summary[f"acc_{angle_name(angle)}"] = float(100.0 * correct[:, label].mean())
    k = len(angles)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (truth.reshape(-1), predicted.reshape(-1)), 1)
    summary["confusion"] = confusion.tolist()
    if "angle_error" in result:
        summary["mean_abs_angle_error"] = float(result["angle_error"].mean())
    return summary


def angle_name(angle: float) -> str:
    return str(int(angle)) if float(angle).is_integer() else f"{angle:g}"


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F

    group = parser.add_argument_group("models")
    group.add_argument(
        "--checkpoints",
        nargs="+",
        required=True,
        metavar="CKPT",
        help="pretrained rotation checkpoints, or glob patterns (quote them) over a kept series",
    )
    group.add_argument("--head", default="rotation", help="pretext head holding the rotation logits")
    group.add_argument(
        "--angles", type=float, nargs="+", default=None, help="test angles for rotation360 (default every 45 degrees)"
    )
    F.add_store_arguments(parser)
    group = parser.add_argument_group("videos")
    group.add_argument(
        "--split", default=None, help="only videos whose --split-column equals this (default: every video, as Table 1)"
    )
    group.add_argument("--per-video", action="store_true", help="also write per-video predictions per checkpoint")
    F.add_clip_arguments(parser, num_clips=1, clip_length=None, resize=None, crop=None)
    F.add_runtime_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from vssl.eval import features as F
    from vssl.runtime.context import command_context
    from vssl.utils.io import atomic_write_csv, atomic_write_json

    with command_context(args, "eval_rotation") as ctx:
        started = ctx.started
        device = ctx.device
        paths = F.expand_checkpoint_args(args.checkpoints)
        manifest = F.read_manifest(args.store, args.manifest)
        rows, excluded = F.select_rows(
            manifest, split_column=args.split_column, split=args.split, allow_failed=args.allow_failed
        )
        records, sources, details = [], [], {}
        for path in paths:
            record, details[str(path)], source = _evaluate_checkpoint(args, path, rows, device)
            records.append(record)
            sources.append(source)
        table = pd.DataFrame(records)
        if table["step"].notna().all():
            table = table.sort_values("step", kind="stable").reset_index(drop=True)
        atomic_write_csv(args.out / "rotation.csv", table)
        metrics = F.run_metadata(
            "eval-rotation",
            args,
            sources,
            device=device,
            started=started,
            extra={"results": records, "details": details, "n_videos": len(rows), "excluded_videos": excluded},
        )
        atomic_write_json(args.out / "metrics.json", metrics)
    return 0


def _evaluate_checkpoint(args: argparse.Namespace, path: Path, rows, device) -> tuple[dict, dict, Any]:
    """One checkpoint's rotation scores: its table record, its confusion details, and its source."""
    import pandas as pd

    from vssl.data.clips import EvenlySpaced
    from vssl.eval import features as F
    from vssl.train.checkpoint import load_pretext_model
    from vssl.utils.io import atomic_write_csv

    model, meta = load_pretext_model(path, map_location="cpu")
    source = F.source_from_meta(meta)
    task = rotation_task(meta.get("pretext"), angles=args.angles, source=str(path))
    config = source.config or {}
    transform = F.ClipTransform(
        mean=tuple(args.mean or config.get("mean") or F.DEFAULT_MEAN),
        std=tuple(args.std or config.get("std") or F.DEFAULT_STD),
        resize=tuple(args.resize) if args.resize else None,
        crop=args.crop or task.crop_size[0],
        modality=args.modality or task.modality,
    )
    length = args.clip_length or task.length
    sampler = EvenlySpaced(num_clips=args.num_clips, length=transform.frames_to_load(length))
    dataset = F.build_dataset(args.store, rows, sampler=sampler, seed=args.seed)
    log.info("eval-rotation: %s (step %s, angles %s) on %d videos", path, source.step, task.angles, len(dataset))
    result = rotation_scores(
        model,
        task,
        dataset,
        clip_transform=transform,
        device=device,
        batch_size=args.batch_size,
        workers=args.workers,
        amp=args.amp,
        progress=args.progress,
        head=args.head,
        desc=f"rotation {Path(path).name}",
    )
    summary = summarize_rotation(result, task.angles)
    confusion = summary.pop("confusion")
    record = {
        "checkpoint": str(path),
        "sha256": source.sha256,
        "step": source.step,
        "epoch": source.epoch,
        "pretext": task.pretext_name,
        "angles": " ".join(angle_name(a) for a in task.angles),
        "num_clips": args.num_clips,
        "clip_length": length,
        **summary,
    }
    detail = {
        "confusion": confusion,
        "angles": list(task.angles),
        "transform": vars(transform) | {"clip_length": length},
    }
    if args.per_video:
        frame = pd.DataFrame({"video": result["videos"]})
        for label, angle in enumerate(task.angles):
            frame[f"pred_{angle_name(angle)}"] = [angle_name(task.angles[p]) for p in result["predicted"][:, label]]
        atomic_write_csv(args.out / f"per_video_{Path(path).stem}.csv", frame)
    print(
        f"{path}: step {source.step}  rotation accuracy {summary['accuracy']:.2f}  "
        + "  ".join(f"{k} {v:.2f}" for k, v in summary.items() if k.startswith("acc_"))
    )
    return record, detail, source
