"""`vssl illustrate`: the V3S transforms shown on one real clip (V3S Figs. 1-2).

Writes an ``.npz`` with uint8 ``(T, H, W, 3)`` arrays ``original``, ``ss``,
``sp``, ``ts`` and ``tp`` (plus ``<name>_label`` strings) for
``vssl figure v3s-F1``. Every panel goes through the same kernels the V3S
pretext trains with (`vssl.kernels.spatial.v3s_spatial`,
`vssl.kernels.temporal`), with explicit parameters instead of random draws,
so the figure shows exactly what the network sees.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from vssl.data.datasets import read_manifest
from vssl.data.store import FrameStore
from vssl.kernels.augment import to_float, to_uint8
from vssl.kernels.spatial import SIDES, crop_windows, v3s_spatial
from vssl.kernels.temporal import interval_indices, two_stage_indices
from vssl.utils.io import atomic_path


def _spatial_panel(
    clip: torch.Tensor, a: float, b: float, c: float, side: str, *, frame_size: int, crop: int
) -> torch.Tensor:
    """One clip (1, C, T, H, W) float through SS/SP with a centred crop window."""
    params = torch.tensor([[a, b, c, float(SIDES.index(side))]], dtype=torch.float64)
    if c < 1.0:
        # The SP crop rule: the largest l x l square inside the trapezoid, centred.
        windows = crop_windows(
            params, (frame_size, frame_size), (crop, crop), torch.full((1, 2), 0.5), sp_crop="center"
        )
    else:
        wc, hc = a * frame_size, b * frame_size
        windows = torch.tensor([[(wc - crop) // 2, (hc - crop) // 2, crop, crop]], dtype=torch.float64)
    return v3s_spatial(clip, params, windows, frame_size=frame_size, out_size=crop)


def illustrate(
    store: FrameStore,
    key: str,
    *,
    length: int = 16,
    frame_size: int = 224,
    crop: int = 112,
    ss: tuple[float, float] = (1.0, 1.45),
    sp: tuple[float, str] = (0.5, "right"),
    ts: int = 3,
    tp: tuple[int, int] = (1, 2),
    start: int = 0,
) -> dict[str, np.ndarray]:
    """The five panels for one video of ``store``; temporal panels use identity spatial parameters."""
    frames = store.num_frames(key)
    spans = {
        "original": interval_indices(start, 1, length),
        "ts": interval_indices(start, ts, length),
        "tp": two_stage_indices(start, tp[0], tp[1], length // 2, length - length // 2),
    }
    longest = max(int(idx.max()) for idx in spans.values()) + 1
    if frames < longest:
        raise ValueError(
            f"{key}: {frames} frames, the illustration needs {longest} (TS s={ts} and TP {tp} from frame {start})"
        )

    def load(indices: torch.Tensor) -> torch.Tensor:
        return to_float(store.read(key, indices).unsqueeze(0))

    original = load(spans["original"])
    panels = {
        "original": _spatial_panel(original, 1.0, 1.0, 1.0, "top", frame_size=frame_size, crop=crop),
        "ss": _spatial_panel(original, ss[0], ss[1], 1.0, "top", frame_size=frame_size, crop=crop),
        "sp": _spatial_panel(original, 1.0, 1.0, sp[0], sp[1], frame_size=frame_size, crop=crop),
        "ts": _spatial_panel(load(spans["ts"]), 1.0, 1.0, 1.0, "top", frame_size=frame_size, crop=crop),
        "tp": _spatial_panel(load(spans["tp"]), 1.0, 1.0, 1.0, "top", frame_size=frame_size, crop=crop),
    }
    labels = {
        "original": "original",
        "ss": f"SS (a, b) = ({ss[0]:g}, {ss[1]:g})",
        "sp": f"SP c = {sp[0]:g}, head end {sp[1]}",
        "ts": f"TS s = {ts}",
        "tp": f"TP (s1, s2) = ({tp[0]}, {tp[1]})",
    }
    out: dict[str, np.ndarray] = {}
    for name, clip in panels.items():
        out[name] = to_uint8(clip)[0].numpy()
        out[f"{name}_label"] = np.array(labels[name])
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, type=Path, help="frame store directory (from `vssl extract`)")
    parser.add_argument("--video", default=None, help="store key of the clip (default: the first ok video)")
    parser.add_argument("--length", type=int, default=16, help="frames per clip")
    parser.add_argument("--frame-size", type=int, default=224, help="V3S resize before the crop (paper: 224)")
    parser.add_argument("--crop", type=int, default=112, help="output crop (paper: 112)")
    parser.add_argument("--ss", type=float, nargs=2, default=(1.0, 1.45), metavar=("A", "B"))
    parser.add_argument("--sp", nargs=2, default=("0.5", "right"), metavar=("C", "SIDE"))
    parser.add_argument("--ts", type=int, default=3, help="TS speed")
    parser.add_argument("--tp", type=int, nargs=2, default=(1, 2), metavar=("S1", "S2"))
    parser.add_argument("--out", required=True, type=Path, help="output .npz")


def run(args: argparse.Namespace) -> int:
    manifest = read_manifest(args.store / "manifest.csv")
    ok = manifest[manifest["status"].isin(["ok", "partial"])]
    if ok.empty:
        raise SystemExit(f"vssl illustrate: no usable video in {args.store / 'manifest.csv'}")
    key = args.video or str(ok["video"].iloc[0])
    if args.sp[1] not in SIDES:
        raise SystemExit(f"vssl illustrate: --sp side must be one of {SIDES}, got {args.sp[1]!r}")
    panels = illustrate(
        FrameStore(args.store),
        key,
        length=args.length,
        frame_size=args.frame_size,
        crop=args.crop,
        ss=tuple(args.ss),
        sp=(float(args.sp[0]), args.sp[1]),
        ts=args.ts,
        tp=tuple(args.tp),
    )
    panels["video"] = np.array(key)
    with atomic_path(args.out) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **panels)
    print(f"illustrate: {key} -> {args.out}")
    return 0
