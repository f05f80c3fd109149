"""Frame-index samplers for V3S temporal scale (TS) and temporal projection (TP).

They return *indices*, so the loader reads only the frames a clip needs.

TS reading (EXPERIMENTS.md): the paper writes V^s = [v_r, v_{r+s-1}, ...] and
calls the interval s-1; taken literally s=1 would repeat one frame. We read it
as *skipping s-1 frames*: indices r, r+s, r+2s, ..., so s=1 is the original
speed.

TP: a two-stage pattern (s1, s2): n1 frames at step s1 from r, then n2 more at
step s2 continuing from the last of the first stage. With n1 = n2 = 8 the
pattern (4, 5) spans 7*4 + 8*5 + 1 = 69 frames.

Label space (`TemporalLabelSpace`): the temporal head's classes are TS speeds
then TP patterns; TS at speed 1 is the original clip and, with ``identity``,
is class 0 even when TS is off (TP-only: original + 8 patterns = 9 classes).
The loader draws a `TemporalChoice` from ``choices`` and passes its position as
the label; `random_temporal` does the same for clips already in memory with
one batched gather of whole frames.
"""

from __future__ import annotations

from collections.abc import Sequence
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

    @property
    def name(self) -> str:
        if self.kind == "ts":
            return f"TS{self.speeds[0]}"
        return f"TP({self.speeds[0]},{self.speeds[1]})"

    def offsets(self) -> torch.Tensor:
        """Indices relative to the start frame (``indices(0)``)."""
        return self.indices(0)


# --------------------------------------------------------------------------- label spaces

DEFAULT_TS_SPEEDS: tuple[int, ...] = (1, 2, 3)
DEFAULT_TP_PATTERNS: tuple[tuple[int, int], ...] = ((1, 2), (2, 3), (3, 4), (4, 5), (2, 1), (3, 2), (4, 3), (5, 4))
ORIGINAL = TemporalChoice("ts", (1,))


class TemporalLabelSpace:
    """The temporal head's classes: ``choices[label]`` is the sampling of class ``label``.

    Order: the original clip (TS at speed 1) first when ``identity`` is set and
    speed 1 is not already among ``ts_speeds``; then the TS speeds in the
    configured order; then the TP patterns. With the V3S defaults that is
    TS 1, 2, 3 (labels 0-2; speed 1 *is* the original) and the eight TP
    patterns (labels 3-10). ``ts_speeds=()`` / ``tp_patterns=()`` disable TS / TP.
    A TP pattern ``(s, s)`` samples exactly like TS at ``s`` and is rejected,
    so labels stay a bijection with distinct index patterns.
    """

    def __init__(
        self,
        ts_speeds: Sequence[int] = DEFAULT_TS_SPEEDS,
        tp_patterns: Sequence[Sequence[int]] = DEFAULT_TP_PATTERNS,
        *,
        length: int = 16,
        identity: bool = True,
    ) -> None:
        if length < 2:
            raise ValueError(f"clip length must be >= 2, got {length}")
        speeds = tuple(int(s) for s in ts_speeds)
        patterns = tuple(tuple(int(v) for v in p) for p in tp_patterns)
        if any(s < 1 for s in speeds):
            raise ValueError(f"TS speeds must be >= 1, got {speeds}")
        if any(len(p) != 2 or min(p) < 1 for p in patterns):
            raise ValueError(f"TP patterns must be pairs of speeds >= 1, got {patterns}")
        choices = [TemporalChoice("ts", (s,), length) for s in speeds]
        choices += [TemporalChoice("tp", p, length) for p in patterns]
        if identity and TemporalChoice("ts", (1,), length) not in choices:
            choices.insert(0, TemporalChoice("ts", (1,), length))
        if not choices:
            raise ValueError("the temporal label space is empty (no identity, no TS speeds, no TP patterns)")
        keys = [tuple(ch.offsets().tolist()) for ch in choices]
        if len(set(keys)) != len(keys):
            raise ValueError(f"temporal classes sample identical frames: {[ch.name for ch in choices]}")
        self.length = length
        self.identity = identity
        self.choices: list[TemporalChoice] = choices
        self._index = {ch: i for i, ch in enumerate(choices)}

    def __len__(self) -> int:
        return len(self.choices)

    @property
    def names(self) -> list[str]:
        return [ch.name for ch in self.choices]

    @property
    def max_span(self) -> int:
        return max(ch.span for ch in self.choices)

    def label_of(self, choice: TemporalChoice) -> int:
        try:
            return self._index[choice]
        except KeyError:
            raise ValueError(f"{choice} is not in this label space ({self.names})") from None

    def spans(self) -> torch.Tensor:
        """``(K,)`` int64 span of every class."""
        return torch.tensor([ch.span for ch in self.choices], dtype=torch.int64)

    def offset_table(self) -> torch.Tensor:
        """``(K, length)`` int64 offsets from the start frame, one row per class."""
        return torch.stack([ch.offsets() for ch in self.choices])

    def sample(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform labels ``(batch,)`` (CPU int64)."""
        return torch.randint(
            len(self.choices),
            (batch,),
            generator=generator,
            device=generator.device if generator is not None else "cpu",
        ).cpu()


# --------------------------------------------------------------------------- tensor path (clips in memory)


def temporal_gather(clips: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Per-clip frame selection: ``(B, C, T, H, W)`` and ``(B, L)`` indices -> ``(B, C, L, H, W)``.

    One ``index_select`` of whole frames (contiguous ``H*W`` rows), any device.
    """
    if clips.ndim != 5:
        raise ValueError(f"expected clips (B, C, T, H, W), got shape {tuple(clips.shape)}")
    b, c, t, h, w = clips.shape
    if indices.ndim != 2 or indices.shape[0] != b:
        raise ValueError(f"expected indices (B={b}, L), got shape {tuple(indices.shape)}")
    if indices.device.type == "cpu" and indices.numel() and (indices.min() < 0 or indices.max() >= t):
        raise ValueError(f"frame indices must lie in [0, {t - 1}], got [{int(indices.min())}, {int(indices.max())}]")
    length = indices.shape[1]
    idx = indices.to(clips.device, torch.int64)
    base = (torch.arange(b * c, device=clips.device) * t).view(b, c, 1)
    rows = (base + idx.unsqueeze(1)).reshape(-1)
    out = clips.reshape(b * c * t, h * w).index_select(0, rows)
    return out.view(b, c, length, h, w)


def random_temporal(
    clips: torch.Tensor,
    space: TemporalLabelSpace,
    generator: torch.Generator | None = None,
    *,
    labels: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw a temporal class and a start per clip, gather its frames; returns ``(clips, labels)``.

    The start is uniform over the positions where the class's span fits in the
    clip's ``T`` frames (the tensor form of `random_start`); a clip shorter than
    the drawn span is an error rather than a silent clamp.
    """
    b, t = clips.shape[0], clips.shape[2]
    labels = space.sample(b, generator) if labels is None else labels.to("cpu", torch.int64)
    spans = space.spans()[labels]
    if int(spans.max()) > t:
        raise ValueError(
            f"clips have {t} frames but temporal classes "
            f"{sorted({space.names[i] for i in labels[spans > t].tolist()})} span up to "
            f"{int(spans.max())}; load at least {space.max_span} frames"
        )
    u = torch.rand(
        b, generator=generator, dtype=torch.float64, device=generator.device if generator is not None else "cpu"
    ).cpu()
    starts = torch.minimum((u * (t - spans + 1)).floor().to(torch.int64), t - spans)
    indices = starts.unsqueeze(1) + space.offset_table()[labels]
    return temporal_gather(clips, indices), labels.to(clips.device)
