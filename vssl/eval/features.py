"""Per-video feature extraction and the plumbing every evaluation command shares.

`extract_video_features` runs a frozen backbone over every clip of every video
of a `vssl.data.clips.ClipDataset` and averages the clip features per video.
Multi-clip samplers return a different number of clips per video (``Strided``
gives one clip per 8 frames), so the loader hands over one video at a time and
clips from consecutive videos are packed into fixed-size model batches; each
clip's features are added to its own video's running sum. No video is ever
dropped (no ``drop_last``: VCOP's retrieval code silently lost 8 videos that
way); the number of videos and clips seen is checked against the dataset.

The rest of the module is shared CLI plumbing: model sources (``--checkpoint``
or ``--random-init --model NAME --width W [--small-input] --seed S``, the
"random" rows of V3S Tables 4/5), the clip transform (resize, centre crop,
normalisation, optional DIF, all on the device) and the run metadata. Device,
GPU slot, seed and logging come from `vssl.runtime.context.command_context`.

Resolved choices:
- Normalisation, modality and clip length default to the values stored in the
  checkpoint's training config, so an evaluation sees inputs like the ones
  the backbone was trained on; flags override them. A random-init model uses
  the training defaults (Kinetics mean/std, RGB).
- Resizing is skipped when the stored frames already have the target size;
  otherwise frames are resized (bilinear, no antialias, like the pretraining
  loaders) before the centre crop.
- Features are accumulated in float64 on the host, whatever the model's dtype.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import glob
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from vssl.kernels.augment import (
    KINETICS_MEAN,
    KINETICS_STD,
    center_crop,
    frame_difference,
    frames_for_modality,
    resize,
    to_float,
)
from vssl.runtime.provenance import provenance

log = logging.getLogger(__name__)

# Kinetics-400 mean/std, the training loops' defaults; the papers state no normalisation.
DEFAULT_MEAN: tuple[float, ...] = KINETICS_MEAN
DEFAULT_STD: tuple[float, ...] = KINETICS_STD


# --------------------------------------------------------------------------- model sources


@dataclass
class ModelSource:
    """Where an evaluated model came from: a checkpoint or a seeded random initialisation."""

    kind: str  # "checkpoint" or "random"
    label: str
    path: str | None = None
    sha256: str | None = None
    model: str | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    step: int | None = None
    epoch: int | None = None
    pretext: Any = None
    config: dict[str, Any] = field(default_factory=dict)
    checkpoint_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "path": self.path,
            "sha256": self.sha256,
            "model": self.model,
            "model_kwargs": self.model_kwargs,
            "seed": self.seed,
            "step": self.step,
            "epoch": self.epoch,
            "pretext": self.pretext,
            "checkpoint_kind": self.checkpoint_kind,
        }


def source_from_meta(meta: dict, label: str | None = None) -> ModelSource:
    """A ModelSource from the metadata dict of `vssl.train.checkpoint.load_backbone`/`load_model`."""
    spec = (meta.get("model") or {}).get("backbone") or {}
    path = meta.get("path")
    return ModelSource(
        kind="checkpoint",
        label=label or (Path(path).stem if path else "checkpoint"),
        path=str(path) if path else None,
        sha256=meta.get("sha256"),
        model=spec.get("name"),
        model_kwargs=dict(spec.get("kwargs") or {}),
        seed=meta.get("seed"),
        step=meta.get("step"),
        epoch=meta.get("epoch"),
        pretext=meta.get("pretext"),
        config=dict(meta.get("config") or {}),
        checkpoint_kind=meta.get("kind"),
    )


def random_backbone(
    name: str, *, width: float, small_input: bool, seed: int, in_channels: int = 3
) -> tuple[nn.Module, ModelSource]:
    """A randomly initialised backbone; weights depend only on ``seed`` (V3S "random" rows)."""
    from vssl.models import get_model

    kwargs = {"width": float(width), "small_input": bool(small_input), "in_channels": int(in_channels)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        backbone = get_model(name, **kwargs)
    source = ModelSource(kind="random", label=f"random-{name}", model=name, model_kwargs=kwargs, seed=seed)
    return backbone.eval(), source


def load_backbone_source(args: argparse.Namespace) -> tuple[nn.Module, ModelSource]:
    """The backbone named by ``--checkpoint`` or ``--random-init --model ...`` (see `add_model_arguments`)."""
    if getattr(args, "random_init", False):
        if args.checkpoint:
            raise SystemExit("give either --checkpoint or --random-init, not both")
        if not args.model:
            raise SystemExit("--random-init needs --model NAME (see `vssl models`)")
        return random_backbone(args.model, width=args.width, small_input=args.small_input, seed=args.seed)
    if not args.checkpoint:
        raise SystemExit("give --checkpoint CKPT or --random-init --model NAME")
    from vssl.train.checkpoint import load_backbone

    backbone, meta = load_backbone(args.checkpoint, map_location="cpu")
    return backbone.eval(), source_from_meta(meta)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--checkpoint", metavar="CKPT", help="pretrained or finetuned vssl checkpoint")
    group.add_argument("--random-init", action="store_true", help="evaluate a randomly initialised backbone instead")
    group.add_argument("--model", help="backbone name for --random-init (see `vssl models`)")
    group.add_argument("--width", type=float, default=1.0, help="channel width multiplier for --random-init")
    group.add_argument("--small-input", action="store_true", help="tiny-frame backbone variant for --random-init")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expand_checkpoint_args(values: Sequence[str]) -> list[Path]:
    """Paths and glob patterns -> existing files, each pattern's matches in natural order (step_2 < step_10)."""
    paths: list[Path] = []
    for value in values:
        if glob.has_magic(value):
            matches = sorted(glob.glob(value), key=_natural_key)
            matches = [m for m in matches if not m.endswith(".integrity.json")]
            if not matches:
                raise SystemExit(f"no checkpoint matches {value!r}")
            paths.extend(Path(m) for m in matches)
        else:
            if not Path(value).is_file():
                raise SystemExit(f"{value}: checkpoint not found")
            paths.append(Path(value))
    return list(dict.fromkeys(paths))


def _natural_key(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


# --------------------------------------------------------------------------- clip transform


@dataclass
class ClipTransform:
    """uint8 clips ``(B, T, H, W, C)`` -> normalised float ``(B, C, T', crop, crop)`` on ``device``.

    ``resize``: (H, W) to resize frames to first (None: keep the stored size);
    ``crop``: centre-crop side (None: no crop); ``modality="dif"`` turns T+1
    frames into T frame differences (the loader must then deliver one frame
    more than the clip length: see `frames_to_load`).
    """

    mean: tuple[float, ...] = DEFAULT_MEAN
    std: tuple[float, ...] = DEFAULT_STD
    resize: tuple[int, int] | None = None
    crop: int | None = 112
    modality: str = "rgb"

    def __post_init__(self) -> None:
        if self.modality not in ("rgb", "dif"):
            raise ValueError(f"modality must be 'rgb' or 'dif', got {self.modality!r}")

    def frames_to_load(self, clip_length: int) -> int:
        return frames_for_modality(clip_length, self.modality)

    def __call__(self, clips: Tensor, device: torch.device | str = "cpu") -> Tensor:
        if clips.dtype != torch.uint8 or clips.ndim != 5:
            raise ValueError(f"expected uint8 clips (B, T, H, W, C), got {clips.dtype} {tuple(clips.shape)}")
        clips = clips.to(device, non_blocking=True)
        frame_size = tuple(clips.shape[2:4])
        needs_resize = self.resize is not None and frame_size != tuple(self.resize)
        size_before_crop = tuple(self.resize) if needs_resize else frame_size
        if self.crop is not None and min(size_before_crop) < self.crop:
            raise ValueError(f"frames of {size_before_crop} are smaller than the {self.crop}px crop")
        if needs_resize:
            x = resize(to_float(clips, self.mean, self.std), self.resize)
            if self.crop is not None:
                x = center_crop(x, self.crop)
        else:
            # Crop the small uint8 tensor first: same pixels, a fraction of the float work.
            if self.crop is not None:
                clips = center_crop(clips, self.crop, layout="bthwc")
            x = to_float(clips, self.mean, self.std)
        if self.modality == "dif":
            x = frame_difference(x)
        return x


def add_clip_arguments(
    parser: argparse.ArgumentParser,
    *,
    num_clips: int | None = 10,
    clip_length: int | None = 16,
    resize: tuple[int, int] | None = (128, 171),
    crop: int | None = 112,
) -> None:
    group = parser.add_argument_group("clips and input transform")
    if num_clips is not None:
        group.add_argument(
            "--num-clips", type=int, default=num_clips, help="evenly spaced clips per video (1 = the centre clip)"
        )
    group.add_argument(
        "--clip-length",
        type=int,
        default=clip_length,
        help="frames per clip (model input; DIF loads one more)"
        + (" (default: %(default)s)" if clip_length else " (default: the checkpoint's training clip length)"),
    )
    group.add_argument(
        "--resize",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        default=list(resize) if resize else None,
        help="resize frames to H W before cropping (skipped when the store already has that size)",
    )
    group.add_argument(
        "--no-resize", dest="resize", action="store_const", const=None, help="keep the stored frame size"
    )
    group.add_argument("--crop", type=int, default=crop, help="centre-crop side in pixels")
    group.add_argument(
        "--modality",
        choices=("rgb", "dif"),
        default=None,
        help="input modality (default: the checkpoint's training modality, else rgb)",
    )
    group.add_argument(
        "--mean", type=float, nargs=3, default=None, help="normalisation mean (default: the checkpoint's)"
    )
    group.add_argument("--std", type=float, nargs=3, default=None, help="normalisation std (default: the checkpoint's)")


def build_clip_transform(args: argparse.Namespace, source: ModelSource) -> ClipTransform:
    """The transform from the flags, falling back to the checkpoint's training config."""
    config = source.config or {}
    mean = args.mean or config.get("mean") or DEFAULT_MEAN
    std = args.std or config.get("std") or DEFAULT_STD
    modality = args.modality or config.get("modality") or "rgb"
    return ClipTransform(
        mean=tuple(float(v) for v in mean),
        std=tuple(float(v) for v in std),
        resize=tuple(args.resize) if args.resize else None,
        crop=args.crop,
        modality=modality,
    )


def resolve_clip_length(args: argparse.Namespace, source: ModelSource, default: int = 16) -> int:
    if args.clip_length is not None:
        return int(args.clip_length)
    return int((source.config or {}).get("clip_length") or default)


# --------------------------------------------------------------------------- datasets


def read_manifest(store: str | os.PathLike, manifest: str | os.PathLike | None = None):
    """The store's manifest (default ``STORE/manifest.csv``) with the manifest dtypes.

    A clear error names a missing file.
    """
    from vssl.data.datasets import read_manifest as read_manifest_csv

    path = Path(manifest) if manifest else Path(store) / "manifest.csv"
    if not path.is_file():
        raise SystemExit(f"{path}: manifest not found (is {store} a frame store made by `vssl extract`?)")
    frame = read_manifest_csv(path)
    frame.attrs["path"] = str(path)
    return frame


def select_rows(manifest, *, split_column: str | None, split: str | None, allow_failed: bool = False):
    """Rows of ``split`` that the store holds; failed rows of the split are an error unless allowed.

    Returns ``(usable_rows, excluded_videos)``. Evaluations count on every
    video of a split being present (no silent loss), so a video that failed
    extraction must be excused explicitly (``--allow-failed``) and is then
    listed in the run metadata.
    """
    path = manifest.attrs.get("path", "manifest")
    rows = manifest
    if split is not None:
        if split_column not in manifest.columns:
            raise SystemExit(f"{path}: no split column {split_column!r} (columns: {list(manifest.columns)})")
        rows = manifest[manifest[split_column].astype(str) == split]
        if rows.empty:
            values = sorted(set(manifest[split_column].astype(str)))
            raise SystemExit(f"{path}: no row has {split_column} == {split!r} (values: {values})")
    if "status" in rows.columns:
        from vssl.data.clips import USABLE_STATUSES

        usable = rows["status"].astype(str).isin(USABLE_STATUSES)
    else:
        usable = np.ones(len(rows), dtype=bool)
    excluded = rows.loc[~usable, "video"].astype(str).tolist()
    if excluded and not allow_failed:
        which = f" of {split_column}={split!r}" if split is not None else ""
        raise SystemExit(
            f"{path}: {len(excluded)} video(s){which} failed extraction "
            f"(e.g. {excluded[:3]}); fix them or pass --allow-failed to evaluate without them"
        )
    if excluded:
        log.warning("%s: evaluating without %d failed video(s): %s", path, len(excluded), excluded)
    return rows.loc[usable].reset_index(drop=True), excluded


def build_dataset(store: str | os.PathLike, rows, *, sampler, seed: int = 0):
    """A ClipDataset over exactly ``rows``; its length is checked against them."""
    from vssl.data.clips import ClipDataset

    dataset = ClipDataset(store, rows, split=None, sampler=sampler, seed=seed)
    if len(dataset) != len(rows):
        raise RuntimeError(f"ClipDataset over {store} holds {len(dataset)} videos for {len(rows)} manifest rows")
    return dataset


def add_store_arguments(parser: argparse.ArgumentParser, *, split_column: bool = True, required: bool = True) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--store", required=required, type=Path, help="frame store directory (from `vssl extract`)")
    group.add_argument("--manifest", type=Path, default=None, help="manifest CSV (default STORE/manifest.csv)")
    if split_column:
        group.add_argument("--split-column", default="split1", help="manifest split column (split1..3)")
    group.add_argument(
        "--allow-failed",
        action="store_true",
        help="evaluate without videos that failed extraction (they are listed in the metadata)",
    )


# --------------------------------------------------------------------------- runtime


def add_runtime_arguments(parser: argparse.ArgumentParser, *, batch_size: int | None = 32) -> None:
    """--out, --seed, --device, --log, --no-progress; with ``batch_size`` also --batch-size, --workers, --amp."""
    group = parser.add_argument_group("runtime")
    group.add_argument("--out", required=True, type=Path, help="output directory")
    group.add_argument("--seed", type=int, default=0, help="seed (random-init weights and any sampling)")
    group.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto = cuda when available")
    if batch_size is not None:
        group.add_argument("--batch-size", type=int, default=batch_size, help="clips per forward pass")
        group.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
        group.add_argument("--amp", choices=("none", "bf16"), default="none", help="autocast dtype on CUDA")
    group.add_argument("--log", type=Path, default=None, help="log file (default OUT/<command>.log)")
    group.add_argument("--no-progress", dest="progress", action="store_false", help="hide the tqdm progress bar")


def run_metadata(
    command: str,
    args: argparse.Namespace,
    sources: Iterable[ModelSource],
    *,
    device: torch.device,
    started: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What produced a result: command, settings, model sources (path + SHA-256), seed, versions, device, time."""
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    meta = {
        "command": f"vssl {command}",
        "argv": sys.argv,
        "settings": settings,
        "models": [s.as_dict() for s in sources],
        "seed": getattr(args, "seed", None),
        **provenance(device),
        "started": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(),
        "wall_s": round(time.time() - started, 3),
        "units": "accuracies in percent",
    }
    if extra:
        meta.update(extra)
    return json.loads(json.dumps(meta, default=str))


# --------------------------------------------------------------------------- extraction


def _single_item(items: list[dict]) -> dict:
    return items[0]


def progress_bar(iterable, *, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    # disable=None: a bar on terminals, nothing in workflow log files.
    return tqdm(iterable, total=total, desc=desc, unit="video", dynamic_ncols=True, disable=None)


def make_loader(dataset, *, workers: int, device: torch.device) -> torch.utils.data.DataLoader:
    """One video per loader item, in dataset order, nothing dropped."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=1,
        shuffle=False,
        drop_last=False,
        num_workers=workers,
        collate_fn=_single_item,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )


def iterate_video_clips(dataset, *, workers: int, device: torch.device, progress: bool, desc: str):
    """Yield ``(position, item, clips (N, T, H, W, C))`` for every video of ``dataset`` in order."""
    loader = make_loader(dataset, workers=workers, device=device)
    for position, item in enumerate(progress_bar(loader, total=len(dataset), desc=desc, enabled=progress)):
        clips = item["clip"]
        if clips.ndim == 4:
            clips = clips.unsqueeze(0)
        if clips.ndim != 5 or clips.shape[0] == 0:
            raise ValueError(f"video {item.get('video')!r}: the sampler produced no clip (shape {tuple(clips.shape)})")
        yield position, item, clips


class ClipBatcher:
    """Pack clips from consecutive videos into fixed-size model batches.

    ``add(x, owners)`` queues clips ``x`` (first dim = clips) with one owner tag
    per clip; every full batch is passed to ``forward`` and its output, with
    the batch's owner tags, to ``consume``. ``finish()`` runs the remainder.
    """

    def __init__(
        self, batch_size: int, forward: Callable[[Tensor], Any], consume: Callable[[Any, np.ndarray], None]
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.forward = forward
        self.consume = consume
        self._clips: list[Tensor] = []
        self._owners: list[np.ndarray] = []
        self._count = 0
        self.total = 0

    def add(self, x: Tensor, owners: np.ndarray) -> None:
        if len(x) != len(owners):
            raise ValueError(f"{len(x)} clips but {len(owners)} owner tags")
        self._clips.append(x)
        self._owners.append(np.asarray(owners))
        self._count += len(x)
        while self._count >= self.batch_size:
            self._run(self.batch_size)

    def finish(self) -> None:
        if self._count:
            self._run(self._count)

    def _run(self, size: int) -> None:
        x = torch.cat(self._clips) if len(self._clips) > 1 else self._clips[0]
        owners = np.concatenate(self._owners)
        self._clips = [x[size:]] if len(x) > size else []
        self._owners = [owners[size:]] if len(owners) > size else []
        self._count = len(x) - size
        self.total += size
        self.consume(self.forward(x[:size]), owners[:size])


def extract_video_features(
    backbone: nn.Module,
    dataset,
    *,
    taps: Sequence[str] = ("last_pool",),
    device: torch.device | str = "cpu",
    batch_size: int = 32,
    clip_transform: Callable[[Tensor, torch.device], Tensor],
    normalize: bool = False,
    workers: int = 0,
    amp: str = "none",
    progress: bool = False,
    desc: str = "features",
) -> tuple[dict[str, np.ndarray], list[str], np.ndarray]:
    """Average each video's clip features per tap (optionally L2-normalised after averaging).

    Returns ``({tap: (N_videos, D) float64}, videos, labels)`` in dataset order.
    Raises if any video yields no clip or the counts disagree with the dataset.
    """
    from vssl.models import extract_features

    device = torch.device(device)
    taps = tuple(dict.fromkeys(taps))
    n_videos = len(dataset)
    if n_videos == 0:
        raise ValueError("the dataset holds no video")
    backbone = backbone.to(device).eval()
    sums: dict[str, np.ndarray] = {}
    clip_counts = np.zeros(n_videos, dtype=np.int64)
    videos: list[str] = []
    labels = np.full(n_videos, -1, dtype=np.int64)
    autocast = amp == "bf16" and device.type == "cuda"

    def forward(x: Tensor) -> dict[str, Tensor]:
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            return extract_features(backbone, x, taps)

    def consume(outputs: dict[str, Tensor], owners: np.ndarray) -> None:
        for tap, value in outputs.items():
            if value.ndim != 2:
                raise ValueError(f"tap {tap!r} gives a {value.ndim}-D map; per-video features need pooled taps")
            value = value.detach().to("cpu", torch.float64).numpy()
            if tap not in sums:
                sums[tap] = np.zeros((n_videos, value.shape[1]), dtype=np.float64)
            np.add.at(sums[tap], owners, value)

    batcher = ClipBatcher(batch_size, forward, consume)
    seen = 0
    for position, item, clips in iterate_video_clips(
        dataset, workers=workers, device=device, progress=progress, desc=desc
    ):
        videos.append(str(item["video"]))
        labels[position] = int(item.get("label", -1))
        clip_counts[position] = clips.shape[0]
        batcher.add(clip_transform(clips, device), np.full(clips.shape[0], position, dtype=np.int64))
        seen += 1
    batcher.finish()
    # No silent loss: every video and every clip must have reached the model.
    if seen != n_videos:
        raise RuntimeError(f"feature extraction saw {seen} videos, the dataset has {n_videos}")
    if batcher.total != int(clip_counts.sum()):
        raise RuntimeError(f"{batcher.total} clips reached the model, {int(clip_counts.sum())} were loaded")
    features = {}
    for tap in taps:
        mean = sums[tap] / clip_counts[:, None]
        if normalize:
            mean = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        features[tap] = mean
    log.info("extracted %s for %d videos (%d clips)", ", ".join(taps), n_videos, int(clip_counts.sum()))
    return features, videos, labels


def save_features(path: Path, features: dict[str, np.ndarray], videos: Sequence[str], labels: np.ndarray) -> None:
    """Write the per-video features as a compressed .npz (atomically)."""
    from vssl.utils.io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f, videos=np.asarray(videos), labels=labels, **{f"tap_{k}": v for k, v in features.items()}
            )


def split_features(
    args: argparse.Namespace,
    backbone: nn.Module,
    manifest,
    split: str | None,
    *,
    sampler,
    clip_transform: ClipTransform,
    device: torch.device,
    taps: Sequence[str] = ("last_pool",),
    normalize: bool = False,
) -> tuple[dict[str, np.ndarray], list[str], np.ndarray, list[str]]:
    """Features of every usable video of one split, checked against the manifest's count for that split.

    Uses ``args.store``, ``args.split_column``, ``args.allow_failed``,
    ``args.seed``, ``args.batch_size``, ``args.workers``, ``args.amp`` and
    ``args.progress``. Returns ``(features, videos, labels, excluded_videos)``.
    """
    rows, excluded = select_rows(manifest, split_column=args.split_column, split=split, allow_failed=args.allow_failed)
    dataset = build_dataset(args.store, rows, sampler=sampler, seed=args.seed)
    features, videos, labels = extract_video_features(
        backbone,
        dataset,
        taps=taps,
        device=device,
        batch_size=args.batch_size,
        clip_transform=clip_transform,
        normalize=normalize,
        workers=args.workers,
        amp=args.amp,
        progress=args.progress,
        desc=f"{split or 'all'} features",
    )
    expected = rows["video"].astype(str).tolist()
    if videos != expected:
        raise RuntimeError(
            f"features cover {len(videos)} videos in a different order from the {len(expected)} manifest rows"
        )
    return features, videos, labels, excluded


def require_labels(labels: np.ndarray, videos: Sequence[str], what: str) -> None:
    """Evaluations that score classes need every video labelled."""
    missing = [v for v, y in zip(videos, labels) if y < 0]
    if missing:
        raise SystemExit(f"{what}: {len(missing)} video(s) have no label (e.g. {missing[:3]})")


@dataclass
class TrainTestFeatures:
    """Frozen per-video features of a split's train and test videos (linear probe, k-NN)."""

    train_x: np.ndarray
    train_y: np.ndarray
    train_videos: list[str]
    test_x: np.ndarray
    test_y: np.ndarray
    test_videos: list[str]
    source: ModelSource
    transform: ClipTransform
    clip_length: int
    device: torch.device
    excluded: dict[str, list[str]]


def add_train_test_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `vssl linear-probe` and `vssl knn`."""
    add_model_arguments(parser)
    add_store_arguments(parser)
    group = parser.add_argument_group("splits and features")
    group.add_argument("--train-split", default="train", help="split value of the training videos")
    group.add_argument("--test-split", default="test", help="split value of the test videos")
    group.add_argument("--tap", default="last_pool", help="feature tap (default: the last pooling layer)")
    group.add_argument("--save-features", action="store_true", help="also write OUT/features_<split>.npz")
    add_clip_arguments(parser, num_clips=1, clip_length=16, resize=(128, 171), crop=112)
    add_runtime_arguments(parser)


def train_test_features(args: argparse.Namespace, device: torch.device) -> TrainTestFeatures:
    """Load the model named by the flags and extract labelled train/test features (see add_train_test_arguments)."""
    from vssl.data.clips import EvenlySpaced

    backbone, source = load_backbone_source(args)
    transform = build_clip_transform(args, source)
    length = resolve_clip_length(args, source)
    sampler = EvenlySpaced(num_clips=args.num_clips, length=transform.frames_to_load(length))
    manifest = read_manifest(args.store, args.manifest)
    common = dict(sampler=sampler, clip_transform=transform, device=device, taps=(args.tap,))
    train, train_videos, train_y, train_excluded = split_features(args, backbone, manifest, args.train_split, **common)
    test, test_videos, test_y, test_excluded = split_features(args, backbone, manifest, args.test_split, **common)
    require_labels(train_y, train_videos, f"{args.train_split} split")
    require_labels(test_y, test_videos, f"{args.test_split} split")
    if args.save_features:
        save_features(args.out / f"features_{args.train_split}.npz", train, train_videos, train_y)
        save_features(args.out / f"features_{args.test_split}.npz", test, test_videos, test_y)
    return TrainTestFeatures(
        train_x=train[args.tap],
        train_y=train_y,
        train_videos=train_videos,
        test_x=test[args.tap],
        test_y=test_y,
        test_videos=test_videos,
        source=source,
        transform=transform,
        clip_length=length,
        device=device,
        excluded={"train": train_excluded, "test": test_excluded},
    )
