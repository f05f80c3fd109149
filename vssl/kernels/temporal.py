"""Frame-index samplers for V3S temporal scale (TS) and temporal projection (TP).

They return *indices*, so the loader reads only the frames a clip needs.

TS reading (EXPERIMENTS.md): the paper writes V^s = [v_r, v_{r+s-1}, ...] and
calls the interval s-1; taken literally s=1 would repeat one frame. We read it
as *skipping s-1 frames*: indices r, r+s, r+2s, ..., so s=1 is the original
speed.

TP: a two-stage pattern (s1, s2): n1 frames at step s1 from r, then n2 more at
step s2 continuing from the last of the first stage. With n1 = n2 = 8 the
pattern (4, 5) spans 7*4 + 8*5 + 1 = 69 frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def interval_span(speed: int, length: int = 16) -> int:
    """Number of source frames covered by a TS clip."""
    return (length - 1) * speed + 1


def two_stage_span(s1: int, s2: int, n1: int = 8, n2: int = 8) -> int:
    """Number of source frames covered by a TP clip."""
    return (n1 - 1) * s1 + n2 * s2 + 1


def interval_indices(start: int, speed: int, length: int = 16) -> torch.Tensor:
    """TS indices ``start + speed * i`` for ``i < length`` (int64)."""
    if speed < 1 or length < 1:
        raise ValueError(f"speed and length must be >= 1, got speed={speed}, length={length}")
    return start + speed * torch.arange(length, dtype=torch.int64)


def two_stage_indices(start: int, s1: int, s2: int, n1: int = 8, n2: int = 8) -> torch.Tensor:
    """TP indices: ``n1`` frames at step ``s1``, then ``n2`` at step ``s2`` (int64)."""
    if min(s1, s2, n1) < 1 or n2 < 0:
        raise ValueError(f"invalid two-stage pattern s1={s1}, s2={s2}, n1={n1}, n2={n2}")
    first = start + s1 * torch.arange(n1, dtype=torch.int64)
    second = first[-1] + s2 * torch.arange(1, n2 + 1, dtype=torch.int64)
    return torch.cat([first, second])


def random_start(num_frames: int, span: int, generator: torch.Generator | None = None) -> int:
    """Uniform start so that ``span`` frames fit; 0 when the video is shorter than ``span``."""
    room = num_frames - span
    if room <= 0:
        return 0
    return int(torch.randint(room + 1, (1,), generator=generator).item())


def clamp_indices(indices: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Clamp indices into a video that is shorter than the clip's span.

    Repeating the last frame keeps the clip length fixed; callers that must not
    see repeated frames check the span against ``num_frames`` first.
    """
    return indices.clamp_(0, max(num_frames - 1, 0))


@dataclass(frozen=True)
class TemporalChoice:
    """One temporal pretext class: TS at ``speeds[0]`` or TP at ``(s1, s2)``.

    The loader draws a choice per sample and uses its position in the label
    space as the temporal label; it only needs ``span`` and ``indices``.
    """

    kind: str  # "ts" or "tp"
    speeds: tuple[int, ...]
    length: int = 16

    @property
    def span(self) -> int:
        if self.kind == "ts":
            return interval_span(self.speeds[0], self.length)
        half = self.length // 2
        return two_stage_span(self.speeds[0], self.speeds[1], half, self.length - half)

    def indices(self, start: int) -> torch.Tensor:
        if self.kind == "ts":
            return interval_indices(start, self.speeds[0], self.length)
        half = self.length // 2
        return two_stage_indices(start, self.speeds[0], self.speeds[1], half, self.length - half)
