"""The arrow-of-time pretext: its labels say which way the shown clip plays, and its loss is cross-entropy."""

from __future__ import annotations

import math

import torch

from vssl.kernels.losses import heads_loss
from vssl.kernels.pretext import build_pretext


def _frame_numbered(batch: int, frames: int, size: int = 8) -> torch.Tensor:
    """Float clips (B, C, T, H, W) whose every pixel of frame t holds t."""
    t = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1)
    return t.expand(batch, 3, frames, size, size).clone()


def test_labels_say_which_way_the_clip_plays() -> None:
    arrow = build_pretext("arrow", crop_size=8, flip_p=0.0, length=6)
    clips = _frame_numbered(64, 10)
    inputs, targets = arrow.apply(clips, generator=torch.Generator().manual_seed(0))
    assert inputs.shape == (64, 3, 6, 8, 8) and targets["arrow"].dtype == torch.int64
    frames = inputs[:, 0, :, 0, 0]  # the frame number each shown frame came from
    steps = frames[:, 1:] - frames[:, :-1]
    forward, backward = (steps == 1).all(1), (steps == -1).all(1)
    assert torch.equal(backward, targets["arrow"] == 1) and torch.equal(forward, targets["arrow"] == 0)
    assert 16 < int(targets["arrow"].sum()) < 48  # both directions drawn, about half each


def test_draws_repeat_with_the_generator_and_dif_follows_play_order() -> None:
    arrow = build_pretext("arrow", crop_size=8, flip_p=0.5, length=4, modality="dif")
    clips = _frame_numbered(16, 9)
    a = arrow.apply(clips, generator=torch.Generator().manual_seed(3))
    b = arrow.apply(clips, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1]["arrow"], b[1]["arrow"])
    # DIF of a clip played backwards: each difference is -1 (frame numbers fall by one per step).
    diffs = a[0][:, 0, :, 0, 0]
    assert torch.equal(diffs < 0, a[1]["arrow"].view(-1, 1).bool().expand_as(diffs))


def test_loss_is_the_hand_computed_cross_entropy() -> None:
    arrow = build_pretext("arrow")
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([0, 0])
    loss, stats = heads_loss(arrow.heads, {"arrow": logits}, {"arrow": target})
    by_hand = (-math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(1 / (1 + math.e))) / 2
    assert math.isclose(float(loss), by_hand, rel_tol=1e-6) and float(stats["acc_arrow"]) == 1.0
    assert arrow.spec() == {
        "name": "arrow",
        "params": {"crop_size": 112, "flip_p": 0.5, "modality": "rgb", "length": 16},
    }
