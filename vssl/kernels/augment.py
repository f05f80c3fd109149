"""Batched clip augmentation on the training device: uint8 -> float, crops, flips, resize, DIF.

Layouts: the loader delivers uint8 ``(B, T, H, W, C)`` ("bthwc"); models take
float ``(B, C, T, H, W)`` ("bcthw"). Crops and flips work on either layout, so a
training step can crop the small uint8 tensor before converting it.

Random crop and horizontal flip are one ``gather`` with per-clip offsets (a
flipped clip just reads its columns backwards), so they are exact, loop-free
and run on CPU and CUDA alike.

DIF (3DRotNet §4.8, "difference of frames"): ``x[t+1] - x[t]``. Convention:
a DIF clip of length ``T`` is made from ``T + 1`` loaded frames
(`dif_frames_needed`), so a "16-DIF" model sees 16 difference frames, the
same input shape as 16-RGB. Scaling: the difference is taken on the
*normalised* frames, i.e. ``(x[t+1] - x[t]) / std`` per channel (the mean
cancels); no further rescaling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from vssl.kernels import _random
from vssl.kernels.geometry import as_size2

MODALITIES = ("rgb", "dif")
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def _per_channel(values: float | Sequence[float], channels: int, name: str) -> list[float]:
    vals = [float(values)] * channels if isinstance(values, (int, float)) else [float(v) for v in values]
    if len(vals) != channels:
        raise ValueError(f"{name} has {len(vals)} values for {channels} channels")
    return vals


def to_float(
    clips: Tensor,
    mean: float | Sequence[float] = KINETICS_MEAN,
    std: float | Sequence[float] = KINETICS_STD,
    *,
    dtype: torch.dtype = torch.float32,
    pixel_major: bool = False,
) -> Tensor:
    """uint8 ``(B, T, H, W, C)`` -> normalised float ``(B, C, T, H, W)``, on ``clips.device``.

    ``out = (x / 255 - mean) / std``, computed as one multiply-subtract.
    The result is contiguous, or with ``pixel_major=True`` stored in memory
    order ``(B, H, W, C, T)`` (same values and shape), the layout the CPU warp
    reads fastest (`vssl.kernels.geometry.is_pixel_major`); the conversion
    reorders the loader's layout either way, so choosing it here costs about
    the same as the contiguous output, unlike a separate conversion pass.
    """
    if clips.dtype != torch.uint8 or clips.ndim != 5:
        raise ValueError(f"to_float expects uint8 clips (B, T, H, W, C), got {clips.dtype} {tuple(clips.shape)}")
    b, t, h, w, c = clips.shape
    std_v = _per_channel(std, c, "std")
    if any(s <= 0 for s in std_v):
        raise ValueError(f"std must be positive, got {std_v}")
    mean_v = _per_channel(mean, c, "mean")
    if pixel_major:
        out = torch.empty((b, h, w, c, t), dtype=dtype, device=clips.device)
        out.copy_(clips.permute(0, 2, 3, 4, 1))
        out = out.permute(0, 3, 4, 1, 2)
    else:
        out = torch.empty((b, c, t, h, w), dtype=dtype, device=clips.device)
        out.copy_(clips.permute(0, 4, 1, 2, 3))
    scale = torch.tensor([1.0 / (255.0 * s) for s in std_v], dtype=dtype, device=clips.device).view(1, c, 1, 1, 1)
    shift = torch.tensor([m / s for m, s in zip(mean_v, std_v)], dtype=dtype, device=clips.device).view(1, c, 1, 1, 1)
    return out.mul_(scale).sub_(shift)


def to_uint8(
    clips: Tensor, mean: float | Sequence[float] = KINETICS_MEAN, std: float | Sequence[float] = KINETICS_STD
) -> Tensor:
    """Inverse of `to_float` (for figures): float ``(B, C, T, H, W)`` -> uint8 ``(B, T, H, W, C)``."""
    if clips.ndim != 5:
        raise ValueError(f"expected (B, C, T, H, W), got {tuple(clips.shape)}")
    c = clips.shape[1]
    std_t = torch.tensor(_per_channel(std, c, "std"), dtype=clips.dtype, device=clips.device).view(1, c, 1, 1, 1)
    mean_t = torch.tensor(_per_channel(mean, c, "mean"), dtype=clips.dtype, device=clips.device).view(1, c, 1, 1, 1)
    x = (clips * std_t + mean_t).mul_(255.0).round_().clamp_(0, 255)
    return x.to(torch.uint8).permute(0, 2, 3, 4, 1).contiguous()


# --------------------------------------------------------------------------- crops and flips


def _spatial_dims(layout: str) -> tuple[int, int]:
    if layout == "bcthw":
        return 3, 4
    if layout == "bthwc":
        return 2, 3
    raise ValueError(f"layout must be 'bcthw' or 'bthwc', got {layout!r}")


def _as_offsets(values: Tensor | int | Sequence[int], n: int) -> Tensor:
    t = torch.as_tensor(values, dtype=torch.int64)
    return t.expand(n).clone() if t.ndim == 0 else t.reshape(n)


def crop_index(
    top: Tensor | int | Sequence[int],
    left: Tensor | int | Sequence[int],
    size: int | Sequence[int],
    frame_size: Sequence[int],
    *,
    flip: Tensor | None = None,
    batch: int | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Flat source-pixel indices ``(B, h*w)`` of per-clip crops (optionally flipped) of ``frame_size`` frames.

    Output pixel ``(i, j)`` of clip ``b`` reads pixel ``(top[b] + i, left[b] + j)``
    (``left[b] + w - 1 - j`` when ``flip[b]``), flattened row-major. Offsets are
    validated when they are host tensors (the normal path, so no device sync).
    """
    big_h, big_w = (int(v) for v in frame_size)
    h, w = as_size2(size, "crop size")
    n = batch if batch is not None else (torch.as_tensor(top).numel() if torch.as_tensor(top).ndim else 1)
    top_t, left_t = _as_offsets(top, n), _as_offsets(left, n)
    if (
        top_t.device.type == "cpu"
        and left_t.device.type == "cpu"
        and (top_t.min() < 0 or left_t.min() < 0 or top_t.max() > big_h - h or left_t.max() > big_w - w)
    ):
        raise ValueError(
            f"crop {h}x{w} at offsets top={top_t.tolist()} left={left_t.tolist()} "
            f"does not fit frames of {big_h}x{big_w}"
        )
    top_t, left_t = top_t.to(device), left_t.to(device)
    rows = top_t.unsqueeze(1) + torch.arange(h, device=device)  # (B, h)
    steps = torch.arange(w, device=device)
    cols = left_t.unsqueeze(1) + steps  # (B, w)
    if flip is not None:
        flip_d = flip.to(device=device, dtype=torch.bool).reshape(n, 1)
        cols = torch.where(flip_d, left_t.unsqueeze(1) + (w - 1 - steps), cols)
    return (rows.unsqueeze(2) * big_w + cols.unsqueeze(1)).reshape(n, h * w)


def gather_pixels(
    clips: Tensor, index: Tensor, out_size: Sequence[int], *, layout: str = "bcthw", copies: int = 1
) -> Tensor:
    """Build new frames by reading, per clip, the source pixels ``index`` ``(B * copies, h*w)``.

    One ``torch.gather`` for the batch: any per-clip pixel permutation/selection
    (crop, flip, rot90 and their compositions) is exact and loop-free.
    ``copies = K`` reads K output clips from every input clip (output clip
    ``b * K + j`` comes from input clip ``b``) without materialising the copies.
    """
    if clips.ndim != 5:
        raise ValueError(f"expected a 5-D clip batch ({layout}), got shape {tuple(clips.shape)}")
    hd, wd = _spatial_dims(layout)
    b = clips.shape[0]
    h, w = (int(v) for v in out_size)
    if index.shape != (b * copies, h * w):
        raise ValueError(f"index must be ({b * copies}, {h * w}), got {tuple(index.shape)}")
    big_hw = clips.shape[hd] * clips.shape[wd]
    index = index.to(clips.device).view(b, copies, h * w)
    if layout == "bcthw":
        _, c, t, _, _ = clips.shape
        src = clips.reshape(b, 1, c * t, big_hw).expand(b, copies, c * t, big_hw)
        out = torch.gather(src, 3, index.unsqueeze(2).expand(b, copies, c * t, h * w))
        return out.view(b * copies, c, t, h, w)
    _, t, _, _, c = clips.shape
    src = clips.reshape(b, 1, t, big_hw, c).expand(b, copies, t, big_hw, c)
    out = torch.gather(src, 3, index.view(b, copies, 1, h * w, 1).expand(b, copies, t, h * w, c))
    return out.view(b * copies, t, h, w, c)


def crop(
    clips: Tensor,
    top: Tensor | int | Sequence[int],
    left: Tensor | int | Sequence[int],
    size: int | Sequence[int],
    *,
    flip: Tensor | None = None,
    layout: str = "bcthw",
) -> Tensor:
    """Per-clip crop (and optional horizontal flip) as one exact gather.

    ``top``/``left``: per-clip (or shared) integer offsets; ``size``: ``(h, w)``
    or an int; ``flip``: optional ``(B,)`` bool, flips those clips' crops
    left-right. Works for any dtype (uint8 included) in either layout.
    """
    if clips.ndim != 5:
        raise ValueError(f"expected a 5-D clip batch ({layout}), got shape {tuple(clips.shape)}")
    hd, wd = _spatial_dims(layout)
    h, w = as_size2(size, "crop size")
    index = crop_index(
        top, left, (h, w), (clips.shape[hd], clips.shape[wd]), flip=flip, batch=clips.shape[0], device=clips.device
    )
    return gather_pixels(clips, index, (h, w), layout=layout)


def random_crop_params(
    batch: int, frame_size: Sequence[int], size: int | Sequence[int], generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Per-clip integer ``(top, left)`` offsets (CPU int64), uniform over all positions."""
    big_h, big_w = frame_size
    h, w = as_size2(size, "crop size")
    if h > big_h or w > big_w:
        raise ValueError(f"crop {h}x{w} is larger than frames of {big_h}x{big_w}")
    top = _random.randint(big_h - h + 1, batch, generator, "cpu")
    left = _random.randint(big_w - w + 1, batch, generator, "cpu")
    return top, left


def random_crop_flip(
    clips: Tensor,
    size: int | Sequence[int],
    generator: torch.Generator | None = None,
    *,
    flip_p: float = 0.5,
    layout: str = "bcthw",
) -> Tensor:
    """Training augmentation: per-clip random crop and horizontal flip with probability ``flip_p``."""
    hd, wd = _spatial_dims(layout)
    b = clips.shape[0]
    top, left = random_crop_params(b, (clips.shape[hd], clips.shape[wd]), size, generator)
    flip = _random.bernoulli(flip_p, b, generator, "cpu") if flip_p > 0 else None
    return crop(clips, top, left, size, flip=flip, layout=layout)


def random_crop(
    clips: Tensor, size: int | Sequence[int], generator: torch.Generator | None = None, *, layout: str = "bcthw"
) -> Tensor:
    """Per-clip random crop (no flip)."""
    return random_crop_flip(clips, size, generator, flip_p=0.0, layout=layout)


def center_crop(clips: Tensor, size: int | Sequence[int], *, layout: str = "bcthw") -> Tensor:
    """Centre crop (offsets rounded down, as torchvision does), returned contiguous."""
    hd, wd = _spatial_dims(layout)
    big_h, big_w = clips.shape[hd], clips.shape[wd]
    h, w = as_size2(size, "crop size")
    if h > big_h or w > big_w:
        raise ValueError(f"centre crop {h}x{w} is larger than frames of {big_h}x{big_w}")
    top, left = int(round((big_h - h) / 2.0)), int(round((big_w - w) / 2.0))
    return clips.narrow(hd, top, h).narrow(wd, left, w).contiguous()


def horizontal_flip(clips: Tensor, flip: Tensor | bool = True) -> Tensor:
    """Flip the clips whose ``flip`` entry is true (``(B,)`` bool) left-right; float or uint8 ``bcthw``."""
    if isinstance(flip, bool):
        return clips.flip(-1) if flip else clips.clone()
    flip = flip.to(device=clips.device, dtype=torch.bool).reshape(clips.shape[0])
    out = clips.clone()
    out[flip] = clips[flip].flip(-1)
    return out


def random_horizontal_flip(clips: Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> Tensor:
    """Per-clip horizontal flip with probability ``p`` (``bcthw``)."""
    return horizontal_flip(clips, _random.bernoulli(p, clips.shape[0], generator, clips.device))


def resize(clips: Tensor, size: int | Sequence[int], *, antialias: bool = False) -> Tensor:
    """Bilinear resize of every frame to ``size`` (``(h, w)`` or int), float ``(B, C, T, H, W)``.

    ``antialias=True`` low-pass filters when shrinking (as PIL/torchvision do for
    frame-store resizes); off by default because kernels mostly enlarge crops.
    """
    if not torch.is_floating_point(clips) or clips.ndim != 5:
        raise ValueError(f"resize expects float clips (B, C, T, H, W), got {clips.dtype} {tuple(clips.shape)}")
    h, w = as_size2(size, "size")
    b, c, t, big_h, big_w = clips.shape
    if (big_h, big_w) == (h, w):
        return clips
    out = F.interpolate(
        clips.reshape(b, c * t, big_h, big_w), size=(h, w), mode="bilinear", align_corners=False, antialias=antialias
    )
    return out.view(b, c, t, h, w)


# --------------------------------------------------------------------------- DIF


def dif_frames_needed(length: int) -> int:
    """Frames to load for a DIF clip of ``length`` difference frames: ``length + 1``."""
    if length < 1:
        raise ValueError(f"clip length must be >= 1, got {length}")
    return length + 1


def frames_for_modality(length: int, modality: str) -> int:
    """Frames the loader must deliver for a model input of ``length`` frames."""
    check_modality(modality)
    return dif_frames_needed(length) if modality == "dif" else length


def check_modality(modality: str) -> str:
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
    return modality


def frame_difference(clips: Tensor) -> Tensor:
    """DIF: ``x[:, :, t+1] - x[:, :, t]``; ``T + 1`` frames in, ``T`` out (float ``(B, C, T, H, W)``)."""
    if clips.ndim != 5 or clips.shape[2] < 2:
        raise ValueError(f"frame_difference needs (B, C, T>=2, H, W), got {tuple(clips.shape)}")
    if not torch.is_floating_point(clips):
        raise TypeError(f"frame_difference needs float clips, got {clips.dtype}")
    return clips[:, :, 1:] - clips[:, :, :-1]


def apply_modality(clips: Tensor, modality: str) -> Tensor:
    """``rgb``: unchanged; ``dif``: `frame_difference`."""
    return frame_difference(clips) if check_modality(modality) == "dif" else clips
