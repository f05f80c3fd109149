"""`vssl attention`: 3DRotNet attention maps, V3S Grad-CAM and first-layer kernel grids.

Three kinds of figure (``--maps``):

* ``rotation`` (3DRotNet Figs 1, 3, 6-9): "the attention map is computed by
  averaging the activations in each pixel": the first conv layer's
  activation (after its BN and ReLU, before pooling: the models' ``conv1``
  tap) is averaged over channels, upsampled (trilinear) to the clip's frames
  and overlaid on them, for each rotation of the clip (0/90/180/270 by
  default). With two checkpoints (e.g. self-supervised and supervised, Fig. 3)
  each model gets its own overlay row under the same frames.
* ``gradcam`` (V3S Fig. 5): Grad-CAM on the last conv stage, for a pretext
  head (``--head spatial|temporal|rotation``) or a finetuned classifier's
  logits; the target class is the model's prediction unless
  ``--gradcam-target label`` (the video's class) or a class id is given.
* ``kernels`` (3DRotNet Fig. 5): every kernel of the first conv layer, its
  middle temporal slice, each normalised to [0, 1] on its own (min-max over
  its input channels and pixels), RGB when it has 3 input channels, the mean
  over input channels otherwise; one grid per checkpoint, side by side.

Every figure is saved as PNG (matplotlib's Agg canvas, no pyplot state) with
its raw arrays in a ``.npz`` beside it (unnormalised maps, the displayed
frames, the kernels), and ``index.csv`` lists every file written.

Resolved choices:
- Display normalisation: each overlay is min-max normalised over *all frames*
  of one (model, rotation) clip, so brightness is comparable across frames of
  a clip but not across models; the raw maps in the .npz are unnormalised.
- Frames shown are the rotated, centre-cropped input frames (for DIF models
  the later RGB frame of each difference); ``--frames-shown`` frames evenly
  spaced over the clip.
- Videos: ``--videos KEY ...`` or ``--num-videos N`` drawn with ``--seed`` from
  the store (optionally one split); the centre clip of each video.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

log = logging.getLogger(__name__)

MAP_KINDS: tuple[str, ...] = ("rotation", "gradcam", "kernels")
DEFAULT_ROTATIONS: tuple[int, ...] = (0, 90, 180, 270)


# --------------------------------------------------------------------------- maps


def mean_activation_map(backbone: nn.Module, x: Tensor) -> Tensor:
    """3DRotNet attention: the first conv layer's activation averaged over channels, ``(B, T', H', W')``."""
    from vssl.models import extract_features

    with torch.no_grad():
        activation = extract_features(backbone, x, taps=("conv1",))["conv1"]
    return activation.float().mean(dim=1)


def upsample_maps(maps: Tensor, size: Sequence[int]) -> Tensor:
    """``(B, T', H', W')`` maps -> ``(B, T, H, W)`` by trilinear interpolation (stays >= 0 for >= 0 input)."""
    if maps.ndim != 4:
        raise ValueError(f"expected maps (B, T, H, W), got shape {tuple(maps.shape)}")
    out = F.interpolate(maps[:, None].float(), size=tuple(int(s) for s in size), mode="trilinear", align_corners=False)
    return out[:, 0]


def rotation_attention(backbone: nn.Module, x: Tensor, rotations: Sequence[int] = DEFAULT_ROTATIONS) -> Tensor:
    """Attention maps of clips ``x`` (B, C, T, H, W) under each right-angle rotation: ``(R, B, T, H, W)``.

    Each map is aligned with its *rotated* clip (it is what the network saw).
    """
    from vssl.kernels.rotation import rotate90

    maps = []
    for angle in rotations:
        if angle % 90:
            raise ValueError(f"attention rotations must be multiples of 90 degrees, got {angle}")
        rotated = rotate90(x, int(angle) // 90 % 4)
        maps.append(upsample_maps(mean_activation_map(backbone, rotated), rotated.shape[2:]))
    return torch.stack(maps)


def gradcam_maps(model: nn.Module, x: Tensor, target: int | Sequence[int], *, head: str | None) -> Tensor:
    """Grad-CAM on the last conv stage, upsampled to the clip: ``(B, T, H, W)``, >= 0."""
    from vssl.models import grad_cam

    cam = grad_cam(model, x, target, head=head)
    return upsample_maps(cam.detach(), x.shape[2:])


def resolve_head(model: nn.Module, x: Tensor, head: str | None, path: str) -> tuple[str | None, Tensor]:
    """The head Grad-CAM explains and its scores: a pretext model's named (or only) head, or a classifier's logits.

    ``head`` is ignored for classifiers (single output), so one flag serves a
    pretext/classifier comparison.
    """
    with torch.no_grad():
        out = model(x)
    if not isinstance(out, dict):
        return None, out
    if head is None:
        if len(out) != 1:
            raise SystemExit(f"{path}: the model has heads {sorted(out)}; pick one with --head")
        head = next(iter(out))
    if head not in out:
        raise SystemExit(f"{path}: the model has heads {sorted(out)}, not {head!r}")
    return head, out[head]


def kernel_slices(weight: Tensor) -> np.ndarray:
    """Middle temporal slice of each kernel, normalised to [0, 1] per kernel: ``(O, kH, kW, 3)``."""
    if weight.ndim != 5:
        raise ValueError(f"expected Conv3d weights (O, I, kT, kH, kW), got shape {tuple(weight.shape)}")
    w = weight.detach().float().cpu()[:, :, weight.shape[2] // 2]  # (O, I, kH, kW)
    if w.shape[1] != 3:
        w = w.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    lo = w.amin(dim=(1, 2, 3), keepdim=True)
    hi = w.amax(dim=(1, 2, 3), keepdim=True)
    w = (w - lo) / (hi - lo).clamp_min(1e-12)
    return w.permute(0, 2, 3, 1).numpy()


def kernel_grid(weight: Tensor, *, pad: int = 1, background: float = 1.0) -> np.ndarray:
    """All first-layer kernels tiled in a near-square grid: ``(rows*(kH+pad)+pad, cols*(kW+pad)+pad, 3)`` in [0, 1]."""
    tiles = kernel_slices(weight)
    n, kh, kw, _ = tiles.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (kh + pad) + pad, cols * (kw + pad) + pad, 3), background, dtype=np.float64)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        top, left = pad + r * (kh + pad), pad + c * (kw + pad)
        grid[top : top + kh, left : left + kw] = tile
    return grid


def normalize_map(m: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] over the whole array (a constant map becomes 0)."""
    m = np.asarray(m, dtype=np.float64)
    lo, hi = m.min(), m.max()
    return (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)


def overlay(frame: np.ndarray, heat: np.ndarray, *, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """Blend a [0, 1] heat map (H, W) over an RGB frame (H, W, 3) in [0, 1]."""
    from matplotlib import colormaps

    colored = colormaps[cmap](np.clip(heat, 0.0, 1.0))[..., :3]
    return np.clip((1.0 - alpha) * frame + alpha * colored, 0.0, 1.0)


# --------------------------------------------------------------------------- figures


def _figure(rows: int, cols: int, *, dpi: int, cell: float = 1.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(cols * cell, rows * cell), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def _save_png(fig, path: Path) -> None:
    from vssl.utils.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def _save_npz(path: Path, **arrays: Any) -> None:
    from vssl.utils.io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def frame_positions(num_frames: int, shown: int) -> list[int]:
    """``shown`` frame indices evenly spaced over a clip (all frames when it is shorter)."""
    shown = max(1, min(shown, num_frames))
    return [int(round(v)) for v in np.linspace(0, num_frames - 1, shown)]


def save_rotation_figure(
    path: Path,
    frames: np.ndarray,
    maps: np.ndarray,
    labels: Sequence[str],
    rotations: Sequence[int],
    *,
    frames_shown: int,
    dpi: int,
    title: str,
) -> None:
    """frames (R, T, H, W, 3) in [0, 1]; maps (M, R, T, H, W) raw. Rows: per rotation, frames then each model."""
    n_models, n_rot, t = maps.shape[0], maps.shape[1], maps.shape[2]
    cols = frame_positions(t, frames_shown)
    fig, axes = _figure(n_rot * (n_models + 1), len(cols), dpi=dpi)
    for r in range(n_rot):
        base = r * (n_models + 1)
        for j, ti in enumerate(cols):
            axes[base, j].imshow(frames[r, ti])
            if j == 0:
                axes[base, j].set_ylabel(f"{rotations[r]}°", fontsize=8)
            if r == 0:
                axes[base, j].set_title(f"frame {ti}", fontsize=7)
        for m in range(n_models):
            heat = normalize_map(maps[m, r])
            for j, ti in enumerate(cols):
                axes[base + 1 + m, j].imshow(overlay(frames[r, ti], heat[ti]))
                if j == 0:
                    axes[base + 1 + m, j].set_ylabel(f"{labels[m]}\n{rotations[r]}°", fontsize=7)
    fig.suptitle(title, fontsize=8)
    _save_png(fig, path)


def save_gradcam_figure(
    path: Path,
    frames: np.ndarray,
    maps: np.ndarray,
    labels: Sequence[str],
    targets: Sequence[str],
    *,
    frames_shown: int,
    dpi: int,
    title: str,
) -> None:
    """frames (T, H, W, 3); maps (M, T, H, W) raw. Row 0: frames; one row per model."""
    n_models, t = maps.shape[0], maps.shape[1]
    cols = frame_positions(t, frames_shown)
    fig, axes = _figure(n_models + 1, len(cols), dpi=dpi)
    for j, ti in enumerate(cols):
        axes[0, j].imshow(frames[ti])
        axes[0, j].set_title(f"frame {ti}", fontsize=7)
    for m in range(n_models):
        heat = normalize_map(maps[m])
        for j, ti in enumerate(cols):
            axes[m + 1, j].imshow(overlay(frames[ti], heat[ti]))
        axes[m + 1, 0].set_ylabel(f"{labels[m]}\n{targets[m]}", fontsize=7)
    fig.suptitle(title, fontsize=8)
    _save_png(fig, path)


def save_kernel_figure(path: Path, grids: Sequence[np.ndarray], labels: Sequence[str], *, dpi: int) -> None:
    fig, axes = _figure(1, len(grids), dpi=dpi, cell=3.2)
    for ax, grid, label in zip(axes[0], grids, labels):
        ax.imshow(grid, interpolation="nearest")
        ax.set_title(label, fontsize=8)
    _save_png(fig, path)


# --------------------------------------------------------------------------- CLI


def slug(text: str) -> str:
    """A file-name-safe form of a video key or label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F

    group = parser.add_argument_group("models")
    group.add_argument(
        "--checkpoint",
        action="append",
        required=True,
        metavar="CKPT",
        help="checkpoint (repeat for a side-by-side comparison, e.g. self-supervised and supervised)",
    )
    group.add_argument("--label", action="append", default=None, help="display label per --checkpoint, in order")
    group.add_argument("--maps", nargs="+", choices=MAP_KINDS, default=list(MAP_KINDS), help="which figures to make")
    group.add_argument(
        "--rotations",
        type=int,
        nargs="+",
        default=list(DEFAULT_ROTATIONS),
        help="rotations (degrees, multiples of 90) for the attention maps",
    )
    group.add_argument(
        "--head",
        default=None,
        help="Grad-CAM head of a pretext model (e.g. spatial, temporal, rotation); "
        "default: its only head; unused for classifiers",
    )
    group.add_argument(
        "--gradcam-target",
        default="pred",
        help="Grad-CAM class: 'pred' (the model's prediction), 'label' (the video's class) or an id",
    )
    F.add_store_arguments(parser, required=False)
    group = parser.add_argument_group("videos")
    group.add_argument("--videos", nargs="+", default=None, help="store keys of the videos to show")
    group.add_argument("--num-videos", type=int, default=2, help="videos drawn with --seed when --videos is not given")
    group.add_argument("--split", default=None, help="draw only from videos whose --split-column equals this")
    group.add_argument("--frames-shown", type=int, default=4, help="frames per figure row")
    group.add_argument("--dpi", type=int, default=100, help="PNG resolution")
    F.add_clip_arguments(parser, num_clips=None, clip_length=None, resize=None, crop=112)
    F.add_runtime_arguments(parser, batch_size=None)


def _load_models(args: argparse.Namespace) -> list[dict[str, Any]]:
    from vssl.eval import features as F
    from vssl.train.checkpoint import load_backbone, load_model

    labels = args.label or []
    if len(labels) > len(args.checkpoint):
        raise SystemExit(f"{len(labels)} --label for {len(args.checkpoint)} --checkpoint")
    models = []
    for i, path in enumerate(args.checkpoint):
        full = None
        if "gradcam" in args.maps:  # Grad-CAM needs the head too
            full, meta = load_model(path, map_location="cpu")
            backbone = full.backbone
        else:
            backbone, meta = load_backbone(path, map_location="cpu")
        source = F.source_from_meta(meta, label=labels[i] if i < len(labels) else None)
        models.append({"path": path, "backbone": backbone, "model": full, "source": source, "meta": meta})
    return models


def _pick_videos(args: argparse.Namespace, rows) -> list[int]:
    keys = rows["video"].astype(str).tolist()
    if args.videos:
        missing = [v for v in args.videos if v not in keys]
        if missing:
            raise SystemExit(f"{rows.attrs.get('path', 'manifest')}: no usable video {missing}")
        return [keys.index(v) for v in args.videos]
    rng = np.random.default_rng(args.seed)
    count = min(args.num_videos, len(keys))
    return sorted(rng.choice(len(keys), size=count, replace=False).tolist())


def _gradcam_target(args: argparse.Namespace, scores: Tensor, label: int, path: str) -> int:
    if args.gradcam_target == "pred":
        return int(scores.argmax(dim=1)[0])
    if args.gradcam_target == "label":
        if label < 0:
            raise SystemExit("--gradcam-target label needs labelled videos")
        if label >= scores.shape[1]:
            raise SystemExit(f"{path}: label {label} is outside the model's {scores.shape[1]} outputs")
        return label
    try:
        target = int(args.gradcam_target)
    except ValueError:
        raise SystemExit(f"--gradcam-target must be pred, label or a class id, got {args.gradcam_target!r}") from None
    if not 0 <= target < scores.shape[1]:
        raise SystemExit(f"--gradcam-target {target} is outside the model's {scores.shape[1]} outputs")
    return target


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from vssl.eval import features as F
    from vssl.runtime.context import command_context
    from vssl.utils.io import atomic_write_csv, atomic_write_json

    with command_context(args, "attention") as ctx:
        models = _load_models(args)
        labels = [m["source"].label for m in models]
        if len(set(labels)) != len(labels):
            raise SystemExit(f"model labels must differ, got {labels}; pass --label")
        written: list[dict[str, str]] = []
        if "kernels" in args.maps:
            written += _kernel_figure(args, models, labels)
        video_maps = [k for k in args.maps if k != "kernels"]
        if video_maps:
            if args.store is None:
                raise SystemExit(f"--maps {' '.join(video_maps)} needs --store")
            written += _video_figures(args, models, labels, ctx.device)
        atomic_write_csv(args.out / "index.csv", pd.DataFrame(written, columns=["kind", "video", "file"]))
        metrics = F.run_metadata(
            "attention",
            args,
            [m["source"] for m in models],
            device=ctx.device,
            started=ctx.started,
            extra={"files": written},
        )
        atomic_write_json(args.out / "metrics.json", metrics)
        print(f"attention: {len(written)} files written to {args.out}")
    return 0


def _written(kind: str, video: str, *paths: Path) -> list[dict[str, str]]:
    return [{"kind": kind, "video": video, "file": path.name} for path in paths]


def _kernel_figure(args: argparse.Namespace, models: list[dict], labels: list[str]) -> list[dict[str, str]]:
    """The first conv layer's kernels of every model, side by side (3DRotNet Fig. 5)."""
    from vssl.models import first_conv_weight

    weights = [first_conv_weight(m["backbone"]).cpu() for m in models]
    grids = [kernel_grid(w) for w in weights]
    png, npz = args.out / "kernels.png", args.out / "kernels.npz"
    save_kernel_figure(png, grids, labels, dpi=args.dpi)
    _save_npz(
        npz,
        labels=np.asarray(labels),
        **{f"weight_{i}": w.numpy() for i, w in enumerate(weights)},
        **{f"grid_{i}": g for i, g in enumerate(grids)},
    )
    return _written("kernels", "", png, npz)


def _video_figures(
    args: argparse.Namespace, models: list[dict], labels: list[str], device: torch.device
) -> list[dict[str, str]]:
    """Rotation attention and Grad-CAM figures for the chosen test videos."""
    from vssl.data.clips import EvenlySpaced
    from vssl.eval import features as F

    manifest = F.read_manifest(args.store, args.manifest)
    rows, _ = F.select_rows(manifest, split_column=args.split_column, split=args.split, allow_failed=True)
    rows.attrs["path"] = manifest.attrs.get("path")
    chosen = _pick_videos(args, rows)
    # One transform per model (their training normalisation/modality may differ); display frames in RGB.
    transforms = [F.build_clip_transform(args, m["source"]) for m in models]
    lengths = [F.resolve_clip_length(args, m["source"]) for m in models]
    if len(set(lengths)) != 1:
        raise SystemExit(f"the models were trained on clips of {lengths} frames; pass one --clip-length for all")
    display = F.ClipTransform(
        mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize=tuple(args.resize) if args.resize else None, crop=args.crop
    )
    load_length = max(t.frames_to_load(n) for t, n in zip(transforms, lengths))
    dataset = F.build_dataset(
        args.store,
        rows.iloc[chosen].reset_index(drop=True),
        sampler=EvenlySpaced(num_clips=1, length=load_length),
        seed=args.seed,
    )
    written: list[dict[str, str]] = []
    for item_index in F.progress_bar(range(len(dataset)), total=len(dataset), desc="attention", enabled=args.progress):
        item = dataset[item_index]
        video, label = str(item["video"]), int(item["label"])
        clip = item["clip"]  # (1, T_load, H, W, C)
        # Each model takes the *last* frames it needs, so an RGB and a DIF model see the
        # same moments: DIF input t is the difference ending at the frame shown at t.
        inputs = [
            transform(clip[:, load_length - transform.frames_to_load(length) :], device)
            for transform, length in zip(transforms, lengths)
        ]
        rgb = display(clip[:, load_length - inputs[0].shape[2] :], device)
        if "rotation" in args.maps:
            written += _rotation_figure(args, models, labels, inputs, rgb, video, device)
        if "gradcam" in args.maps:
            written += _gradcam_figure(args, models, labels, inputs, rgb, video, label, device)
        log.info("attention figures for %s written", video)
    return written


def _rotation_figure(
    args: argparse.Namespace,
    models: list[dict],
    labels: list[str],
    inputs: list[torch.Tensor],
    rgb: torch.Tensor,
    video: str,
    device: torch.device,
) -> list[dict[str, str]]:
    from vssl.kernels.augment import to_uint8
    from vssl.kernels.rotation import rotate90

    maps = np.stack(
        [
            rotation_attention(m["backbone"].to(device).eval(), x, args.rotations)[:, 0].cpu().numpy()
            for m, x in zip(models, inputs)
        ]
    )  # (M, R, T, H, W)
    frames = np.stack(
        [to_uint8(rotate90(rgb, a // 90 % 4), 0.0, 1.0)[0].cpu().numpy() / 255.0 for a in args.rotations]
    )  # (R, T, H, W, 3)
    name = slug(video)
    png, npz = args.out / f"attention_{name}.png", args.out / f"attention_{name}.npz"
    save_rotation_figure(
        png,
        frames,
        maps,
        labels,
        args.rotations,
        frames_shown=args.frames_shown,
        dpi=args.dpi,
        title=f"{video}: mean first-layer activation",
    )
    _save_npz(
        npz,
        frames=(frames * 255).round().astype(np.uint8),
        maps=maps.astype(np.float32),
        rotations=np.asarray(args.rotations),
        labels=np.asarray(labels),
        video=video,
    )
    return _written("rotation", video, png, npz)


def _gradcam_figure(
    args: argparse.Namespace,
    models: list[dict],
    labels: list[str],
    inputs: list[torch.Tensor],
    rgb: torch.Tensor,
    video: str,
    label: int,
    device: torch.device,
) -> list[dict[str, str]]:
    from vssl.kernels.augment import to_uint8

    cams, targets = [], []
    for m, x in zip(models, inputs):
        model = m["model"].to(device).eval()
        head, scores = resolve_head(model, x, args.head, m["path"])
        target = _gradcam_target(args, scores, label, m["path"])
        cams.append(gradcam_maps(model, x, target, head=head)[0].cpu().numpy())
        targets.append(f"{head or 'class'}={target}")
    maps = np.stack(cams)  # (M, T, H, W)
    frames = to_uint8(rgb, 0.0, 1.0)[0].cpu().numpy() / 255.0
    name = slug(video)
    png, npz = args.out / f"gradcam_{name}.png", args.out / f"gradcam_{name}.npz"
    save_gradcam_figure(
        png,
        frames,
        maps,
        labels,
        targets,
        frames_shown=args.frames_shown,
        dpi=args.dpi,
        title=f"{video}: Grad-CAM (last conv stage)",
    )
    _save_npz(
        npz,
        frames=(frames * 255).round().astype(np.uint8),
        maps=maps.astype(np.float32),
        targets=np.asarray(targets),
        labels=np.asarray(labels),
        video=video,
    )
    return _written("gradcam", video, png, npz)
