"""3DRotNet rotation kernels: exact rot90 subsets, 8 rotations at 45 degrees, continuous angles.

Direction: every angle is counter-clockwise *as displayed* (row 0 at the top),
the convention of ``torch.rot90(x, k, dims=(-2, -1))``; the grid path uses the
same convention, so a 90-degree grid rotation equals ``rot90`` with ``k = 1``.

Right angles (Table 3 subsets) are exact pixel permutations: per-clip ``k``
gathers from ``torch.rot90``-derived index templates, so a batch mixing all
four rotations is one gather (fused with the random crop and flip in the
pretext). Labels are positions in the configured angle tuple, e.g. for
``(90, 180, 270)`` label 0 is 90 degrees.

All-copies layout (3DRotNet §4.2: "the four rotated videos are simultaneously
fed into the network"): ``B`` clips become ``B * K`` clips, clip-major, i.e.
output ``b * K + j`` is clip ``b`` rotated by ``angles[j]``, and the labels are
``0..K-1`` tiled ``B`` times.

45-degree steps and continuous angles rotate with one batched ``grid_sample``
(bilinear). Crop rule (§4.6: "only the center patch is cropped to avoid the
empty image areas"): a ``side`` square rotated by ``theta`` contains the centred
axis-aligned square of side ``side / (|cos theta| + |sin theta|)``; we crop the
*worst case over all angles*, ``side / sqrt(2)``, for every angle (0 and 90
included) and resize it back to ``side``. A per-angle crop would make the zoom
factor reveal the label. ``crop="none"`` keeps the full frame with zero corners.

Continuous regression target (§3.1: "l1 loss or l2 loss" on the angle ``y``):
``encoding="fraction"`` (default) is ``degrees / 360`` in ``[0, 1)``, the paper's
``y`` rescaled to unit range; ``encoding="cos_sin"`` is ``(cos, sin)``, which has
no wrap-around jump at 0/360. The loss is the training loop's choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from vssl.kernels import _random
from vssl.kernels.augment import gather_pixels
from vssl.kernels.geometry import (
    Size2,
    as_size2,
    crop_resize_matrix,
    hflip_matrix,
    rotation_matrix,
    translation_matrix,
    warp_perspective,
)

RIGHT_ANGLES: tuple[int, ...] = (0, 90, 180, 270)
EIGHT_ANGLES: tuple[int, ...] = tuple(range(0, 360, 45))
# 3DRotNet Table 3 (a)-(d).
TABLE3_SUBSETS: dict[str, tuple[int, ...]] = {
    "0,90": (0, 90),
    "0,90,180": (0, 90, 180),
    "90,180,270": (90, 180, 270),
    "0,90,180,270": (0, 90, 180, 270),
}
ANGLE_ENCODINGS: dict[str, int] = {"fraction": 1, "cos_sin": 2}
CROP_RULES = ("inscribed", "none")


def check_right_angles(angles: Sequence[int]) -> tuple[int, ...]:
    """Validate a subset of ``{0, 90, 180, 270}`` (distinct, order kept: label = position)."""
    out = tuple(int(a) for a in angles)
    if not out:
        raise ValueError("need at least one rotation angle")
    bad = [a for a in out if a not in RIGHT_ANGLES]
    if bad:
        raise ValueError(f"rotation angles must be in {RIGHT_ANGLES}, got {bad}")
    if len(set(out)) != len(out):
        raise ValueError(f"rotation angles must be distinct, got {out}")
    return out


# --------------------------------------------------------------------------- exact right angles


def rot90_index(size: Sequence[int], k: Tensor, device: torch.device | str | None = None) -> tuple[Tensor, Size2]:
    """Per-clip flat source indices ``(B, h*w)`` of ``rot90(frame, k[b])`` for ``size = (h, w)`` frames.

    Built by rotating ``arange(h*w)`` with ``torch.rot90`` itself, so it cannot
    disagree with it. Returns the indices and the output ``(h, w)``; with
    non-square frames all ``k`` must have the same parity.
    """
    h, w = (int(v) for v in size)
    k = torch.as_tensor(k, dtype=torch.int64).reshape(-1).remainder(4)
    odd = k.remainder(2).bool()
    if h != w and odd.any() and not odd.all():
        raise ValueError(f"mixing 90/270 with 0/180 rotations needs square frames, got {h}x{w}")
    grid = torch.arange(h * w, dtype=torch.int64).view(h, w)
    templates = torch.stack([torch.rot90(grid, kk, dims=(0, 1)).reshape(-1) for kk in range(4)])
    out_hw = (w, h) if bool(odd.any()) else (h, w)
    return templates.to(device)[k.to(device)], out_hw


def rotate90(clips: Tensor, k: int | Tensor) -> Tensor:
    """Rotate clips by ``90 * k`` degrees (counter-clockwise), exactly; ``k``: int or per-clip ``(B,)``."""
    if clips.ndim != 5:
        raise ValueError(f"expected clips (B, C, T, H, W), got shape {tuple(clips.shape)}")
    if isinstance(k, int):
        return torch.rot90(clips, k, dims=(-2, -1)).contiguous()
    k = torch.as_tensor(k).reshape(-1)
    if k.numel() != clips.shape[0]:
        raise ValueError(f"need one k per clip: {k.numel()} for {clips.shape[0]} clips")
    index, out_hw = rot90_index(clips.shape[-2:], k.cpu(), clips.device)
    return gather_pixels(clips, index, out_hw)


def random_rotate90(
    clips: Tensor, angles: Sequence[int] = RIGHT_ANGLES, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Rotate each clip by an angle drawn uniformly from ``angles``; returns ``(clips, labels)``."""
    angles = check_right_angles(angles)
    labels = _random.randint(len(angles), clips.shape[0], generator, "cpu")
    k = torch.tensor([a // 90 for a in angles], dtype=torch.int64)[labels]
    return rotate90(clips, k), labels.to(clips.device)


def rotate90_all_copies(clips: Tensor, angles: Sequence[int] = RIGHT_ANGLES) -> tuple[Tensor, Tensor]:
    """Every clip under every angle: ``(B * K, C, T, H', W')`` clip-major, labels ``0..K-1`` tiled."""
    angles = check_right_angles(angles)
    b, kk = clips.shape[0], len(angles)
    k = torch.tensor([a // 90 for a in angles], dtype=torch.int64).repeat(b)
    index, out_hw = rot90_index(clips.shape[-2:], k, clips.device)
    labels = torch.arange(kk, device=clips.device).repeat(b)
    return gather_pixels(clips, index, out_hw, copies=kk), labels


# --------------------------------------------------------------------------- grid rotations


def rotation_warp_matrix(
    degrees: Tensor,
    in_size: Sequence[int],
    out_size: int | Sequence[int],
    *,
    crop: str = "inscribed",
    window: Tensor | None = None,
    flip: Tensor | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Forward matrices ``(B, 3, 3)``: [window crop] -> [flip] -> rotate about the centre -> crop -> resize.

    ``window``: optional per-clip ``(B, 4)`` ``(left, top, width, height)`` in
    input pixels (the random training crop; default the whole frame).
    ``crop="inscribed"``: centred square of side ``min(h, w) / sqrt(2)`` of the
    rotated window (no empty corners at any angle); ``"none"``: the whole window.
    """
    if crop not in CROP_RULES:
        raise ValueError(f"crop must be one of {CROP_RULES}, got {crop!r}")
    degrees = torch.as_tensor(degrees, dtype=torch.float64).reshape(-1)
    n = degrees.numel()
    in_h, in_w = (int(v) for v in in_size)
    out_hw = as_size2(out_size, "out_size")
    if window is None:
        window = torch.tensor([0.0, 0.0, in_w, in_h], dtype=torch.float64).expand(n, 4)
    window = window.to(device=device, dtype=torch.float64)
    # All clips share one window size (the training crop), so centre and inscribed side are scalars.
    win_w, win_h = float(window[0, 2]), float(window[0, 3])
    if not (torch.all(window[:, 2] == win_w) and torch.all(window[:, 3] == win_h)):
        raise ValueError("all windows in a batch must have the same size")
    m = translation_matrix(-window[:, 0], -window[:, 1], n, device)
    if flip is not None:
        m = hflip_matrix(flip, win_w, device) @ m
    m = rotation_matrix(degrees.to(device), (win_w / 2.0, win_h / 2.0), n, device) @ m
    if crop == "inscribed":
        side = min(win_w, win_h) / math.sqrt(2.0)
        left, top, width, height = (win_w - side) / 2.0, (win_h - side) / 2.0, side, side
    else:
        left, top, width, height = 0.0, 0.0, win_w, win_h
    return crop_resize_matrix(left, top, width, height, out_hw, n, device) @ m


def rotate(
    clips: Tensor, degrees: Tensor | float, *, crop: str = "inscribed", out_size: int | Sequence[int] | None = None
) -> Tensor:
    """Rotate every clip by its own angle (counter-clockwise, degrees) with one ``grid_sample``.

    ``crop="inscribed"`` crops the ``min(H, W)/sqrt(2)`` centre square and resizes
    it to ``out_size`` (default: the input size); ``"none"`` leaves zero corners.
    """
    b = clips.shape[0]
    degrees = torch.as_tensor(degrees, dtype=torch.float64).reshape(-1)
    if degrees.numel() == 1:
        degrees = degrees.expand(b)
    elif degrees.numel() != b:
        raise ValueError(f"need one angle or one per clip: {degrees.numel()} for {b} clips")
    out_hw = as_size2(out_size if out_size is not None else tuple(clips.shape[-2:]), "out_size")
    matrix = rotation_warp_matrix(degrees, clips.shape[-2:], out_hw, crop=crop, device=clips.device)
    return warp_perspective(clips, matrix, out_hw, antialias=True)


def angle_target(degrees: Tensor, encoding: str = "fraction") -> Tensor:
    """Regression target ``(B, dim)`` for angles in degrees (see module docstring)."""
    if encoding not in ANGLE_ENCODINGS:
        raise ValueError(f"angle encoding must be one of {tuple(ANGLE_ENCODINGS)}, got {encoding!r}")
    degrees = degrees.to(torch.float64).remainder(360.0)
    if encoding == "fraction":
        return (degrees / 360.0).to(torch.float32).unsqueeze(1)
    rad = degrees * (math.pi / 180.0)
    return torch.stack([torch.cos(rad), torch.sin(rad)], dim=1).to(torch.float32)


def angle_from_target(target: Tensor, encoding: str = "fraction") -> Tensor:
    """Inverse of `angle_target` for predictions: degrees in ``[0, 360)``, shape ``(B,)``."""
    if encoding not in ANGLE_ENCODINGS:
        raise ValueError(f"angle encoding must be one of {tuple(ANGLE_ENCODINGS)}, got {encoding!r}")
    target = target.to(torch.float64)
    if encoding == "fraction":
        return (target.reshape(-1) * 360.0).remainder(360.0)
    return torch.rad2deg(torch.atan2(target[:, 1], target[:, 0])).remainder(360.0)
