"""VCOP (Xu et al., CVPR 2019, "Self-supervised Spatiotemporal Learning via Video Clip Order Prediction").

A tuple of ``tuple_len`` clips of ``clip_length`` frames, ``interval`` frames apart, is cut from
one window of ``tuple_span`` consecutive frames; the clips are shuffled and the network predicts
which of the ``tuple_len!`` orders it sees. As in `xudejing/video-clip-order-prediction`
(``datasets/ucf101.py``): 3 clips of 16 frames with an 8-frame gap (a 64-frame window), the label
is the index of the shuffled order in ``itertools.permutations(range(tuple_len))``, and each clip
gets its own random crop (the same for all of its frames).

Pure functions of tensors and a generator; the clips stay on their device.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from vssl.kernels import _random


def permutations(tuple_len: int) -> Tensor:
    """``(tuple_len!, tuple_len)`` int64: row ``label`` is the order of class ``label`` (VCOP's ``orders``)."""
    if tuple_len < 2:
        raise ValueError(f"a clip tuple needs at least 2 clips, got {tuple_len}")
    return torch.tensor(list(itertools.permutations(range(tuple_len))), dtype=torch.int64)


def tuple_span(clip_length: int, interval: int, tuple_len: int) -> int:
    """Consecutive frames one tuple covers: ``clip_length * tuple_len + interval * (tuple_len - 1)``."""
    if clip_length < 1 or interval < 0 or tuple_len < 2:
        raise ValueError(f"invalid tuple: clip_length={clip_length}, interval={interval}, tuple_len={tuple_len}")
    return clip_length * tuple_len + interval * (tuple_len - 1)


def split_tuple(clips: Tensor, clip_length: int, interval: int, tuple_len: int) -> Tensor:
    """``(B, C, T, H, W)`` windows -> ``(B, tuple_len, C, clip_length, H, W)``.

    Clip ``k`` starts at ``k * (L + gap)``.
    """
    span = tuple_span(clip_length, interval, tuple_len)
    if clips.ndim != 5 or clips.shape[2] < span:
        raise ValueError(f"expected clips (B, C, T>={span}, H, W), got shape {tuple(clips.shape)}")
    step = clip_length + interval
    return torch.stack([clips[:, :, k * step : k * step + clip_length] for k in range(tuple_len)], dim=1)


def shuffle_tuple(
    tuples: Tensor, generator: torch.Generator | None = None, *, labels: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Shuffle each sample's clips by a uniformly drawn order: returns ``(shuffled, labels)``.

    ``shuffled[b, j] = tuples[b, permutations(K)[labels[b], j]]``, so the label names the
    original position of every clip the network sees, as VCOP's ``orders.index(tuple_order)``.
    """
    b, k = tuples.shape[:2]
    orders = permutations(k)
    labels = _random.randint(len(orders), b, generator, "cpu") if labels is None else labels.to("cpu", torch.int64)
    source = orders[labels]  # (B, K)
    rows = (torch.arange(b).unsqueeze(1) * k + source).reshape(-1).to(tuples.device)
    shuffled = tuples.reshape(b * k, *tuples.shape[2:]).index_select(0, rows).view_as(tuples)
    return shuffled, labels.to(tuples.device)


__all__ = ["permutations", "shuffle_tuple", "split_tuple", "tuple_span"]
