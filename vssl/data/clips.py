"""Clip loading: a torch Dataset over a frame store plus frame-index samplers.

The Dataset returns **uint8** clips ``(T, H, W, C)`` (or ``(N, T, H, W, C)`` for
multi-clip samplers). Float conversion, normalisation, flips, rotations and the
pretext transforms run later on the training device, batched; doing them here
would multiply host memory traffic by four and burn the CPU cores that decode.

Randomness: every random choice of sample ``i`` comes from a generator seeded
with a hash of ``(seed, epoch, i)``, so a sample is the same whatever the
number of DataLoader workers or the order they run in, and changes with
``set_epoch``. The epoch lives in a shared-memory tensor so that ``set_epoch``
also reaches *persistent* workers, which keep their own copy of the dataset.

Samplers are small picklable callables ``sampler(num_frames, generator) ->
(indices, extras)`` with ``indices`` an int64 tensor ``(T,)`` or ``(N, T)``.
Videos shorter than a clip are **clamped**: indices past the end repeat the
last frame (``vssl.kernels.temporal.clamp_indices``), so every clip keeps its
length; extraction's ``--min-frames`` keeps such videos rare.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, default_collate

from vssl.data.datasets import read_manifest
from vssl.data.store import FrameStore, StoreError
from vssl.kernels.temporal import TemporalChoice, clamp_indices, random_start

_log = logging.getLogger(__name__)

USABLE_STATUSES = ("ok", "partial")
_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-mixed 63-bit seed for sample ``index`` of ``epoch`` (neighbours are uncorrelated)."""
    h = 0
    for v in (seed, epoch, index):
        h = _splitmix64(h ^ (v & _MASK64))
    return h >> 1


# -- samplers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomConsecutive:
    """``length`` consecutive frames from a uniform random start (3DRotNet pretrain/finetune)."""

    length: int = 16

    def __call__(self, num_frames: int, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, Any]]:
        start = random_start(num_frames, self.length, generator)
        idx = start + torch.arange(self.length, dtype=torch.int64)
        return clamp_indices(idx, num_frames), {}


@dataclass(frozen=True)
class EvenlySpaced:
    """``num_clips`` clips of ``length`` frames with evenly spaced starts (10-clip test protocol).

    Starts are ``floor(linspace(0, num_frames - length, num_clips))``, as VCOP's
    test loader (``linspace(length/2, n - length/2, 10)`` centres); the first clip
    starts at frame 0 and the last ends at the last frame. ``num_clips=1``
    takes the centre clip instead of the first. Deterministic: no randomness.
    """

    num_clips: int = 10
    length: int = 16

    def __post_init__(self) -> None:
        if self.num_clips < 1 or self.length < 1:
            raise ValueError(f"num_clips and length must be >= 1, got {self.num_clips}, {self.length}")

    def __call__(
        self, num_frames: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        room = max(num_frames - self.length, 0)
        if self.num_clips == 1:
            starts = torch.tensor([room // 2], dtype=torch.int64)
        else:
            starts = torch.floor(torch.linspace(0, room, self.num_clips, dtype=torch.float64)).to(torch.int64)
        idx = starts[:, None] + torch.arange(self.length, dtype=torch.int64)
        return clamp_indices(idx, num_frames), {}


@dataclass(frozen=True)
class Strided:
    """All clips of ``length`` frames at a fixed ``stride`` (ASLAN: 16 frames, stride 8).

    Starts are ``0, stride, 2 stride, ...`` while a whole clip fits; frames
    after the last full clip are not used. A video shorter than one clip gives
    one clamped clip. The number of clips varies per video: use ``collate``.
    """

    length: int = 16
    stride: int = 8

    def __post_init__(self) -> None:
        if self.length < 1 or self.stride < 1:
            raise ValueError(f"length and stride must be >= 1, got {self.length}, {self.stride}")

    def __call__(
        self, num_frames: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        starts = torch.arange(0, max(num_frames - self.length, 0) + 1, self.stride, dtype=torch.int64)
        idx = starts[:, None] + torch.arange(self.length, dtype=torch.int64)
        return clamp_indices(idx, num_frames), {}


@dataclass(frozen=True)
class AllFrames:
    """Every frame of the video (attention maps, feature dumps); T varies per video."""

    def __call__(
        self, num_frames: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        return torch.arange(num_frames, dtype=torch.int64), {}


@dataclass(frozen=True)
class TemporalPretext:
    """V3S temporal pretext (TS / TP): one of ``choices`` uniformly per sample.

    Extras: ``temporal_label`` = the drawn choice's position in ``choices``.
    The label is drawn among the choices whose whole span fits the video, and
    the start is uniform over the positions where it fits: a video shorter than
    a class's span never gets that class (a clamped clip would repeat its last
    frame under a speed label it does not show). A video too short for every
    class gets the shortest-span class, clamped.
    """

    choices: tuple[TemporalChoice, ...]

    def __init__(self, choices: Sequence[TemporalChoice]):
        if len(choices) == 0:
            raise ValueError("TemporalPretext needs at least one TemporalChoice")
        object.__setattr__(self, "choices", tuple(choices))

    def __call__(self, num_frames: int, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, Any]]:
        fitting = [i for i, choice in enumerate(self.choices) if choice.span <= num_frames]
        if not fitting:
            fitting = [min(range(len(self.choices)), key=lambda i: self.choices[i].span)]
        # Every class fits: the same draw as a plain uniform label, so long videos see no change.
        label = fitting[int(torch.randint(len(fitting), (1,), generator=generator).item())]
        choice = self.choices[label]
        start = random_start(num_frames, choice.span, generator)
        return clamp_indices(choice.indices(start), num_frames), {"temporal_label": label}


# -- dataset -------------------------------------------------------------------------------


def _read_manifest(store_dir: Path, manifest: pd.DataFrame | str | os.PathLike | None) -> tuple[pd.DataFrame, str]:
    if isinstance(manifest, pd.DataFrame):
        return manifest.copy(), "<DataFrame>"
    path = Path(manifest) if manifest is not None else store_dir / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: manifest not found (run `vssl extract` first?)")
    return read_manifest(path), str(path)


class ClipDataset(Dataset):
    """Clips of the usable videos (status ok / partial) of a frame store.

    Args:
        store_dir: the store made by ``vssl extract``.
        manifest: ``None`` (``store_dir/manifest.csv``), a CSV path or a DataFrame
            with at least ``video``; ``status``, ``label``, ``frames``,
            ``height``/``width`` are used when present (else read from the store).
        split: keep rows whose ``split_column`` equals this (``None``: all rows).
        sampler: frame-index sampler (see this module).
        seed: base seed of the per-sample generators.
        keys: keep only these videos (e.g. a few-shot subset or a held-out set).
        indices: then keep only these positions of the filtered list, in this order.
        crop: optional ``size`` or ``(h, w)`` crop applied right after JPEG
            decoding (saves copying pixels that would be thrown away);
            ``crop_mode`` "random" (from the per-sample generator, one box per
            sample) or "center".
        frame_cache_mb: keep decoded videos in memory up to this many MiB
            (`FrameStore`'s ``decoded_cache_mb``; the clips are the same).
        skip_bad: a store file that cannot be read (truncated, corrupt) is
            logged once by name and the next readable video takes the item's
            place; the item's ``skipped`` names the videos passed over ("|"
            separated). Off: the `StoreError` propagates (training stops).

    Items: ``clip`` uint8 ``(T, H, W, C)`` / ``(N, T, H, W, C)``, ``label``
    (int, -1 when unlabelled), ``index`` (position in this dataset), ``video``
    (the manifest key), plus the sampler's extras.
    """

    def __init__(
        self,
        store_dir: str | os.PathLike,
        manifest: pd.DataFrame | str | os.PathLike | None = None,
        *,
        split: str | None = None,
        split_column: str = "split1",
        sampler: Any,
        seed: int = 0,
        keys: Iterable[str] | None = None,
        indices: Sequence[int] | None = None,
        crop: int | tuple[int, int] | None = None,
        crop_mode: str = "random",
        frame_cache_mb: float = 0,
        skip_bad: bool = False,
    ):
        self.store_dir = Path(store_dir)
        self.skip_bad = bool(skip_bad)
        self._reported: set[str] = set()  # unreadable videos already logged by this process
        self.store = FrameStore(self.store_dir, decoded_cache_mb=frame_cache_mb)
        frame, source = _read_manifest(self.store_dir, manifest)
        if "video" not in frame.columns:
            raise ValueError(f"{source}: manifest has no 'video' column")
        if "status" in frame.columns:
            frame = frame[frame["status"].isin(USABLE_STATUSES)]
        if split is not None:
            if split_column not in frame.columns:
                raise ValueError(f"{source}: no split column {split_column!r} (columns: {list(frame.columns)})")
            frame = frame[frame[split_column].astype(str) == split]
        if keys is not None:
            wanted = set(keys)
            frame = frame[frame["video"].isin(wanted)]
        frame = frame.reset_index(drop=True)
        if indices is not None:
            frame = frame.iloc[list(indices)].reset_index(drop=True)

        self.videos: list[str] = frame["video"].astype(str).tolist()
        if "label" in frame.columns:
            self.labels = pd.to_numeric(frame["label"], errors="coerce").fillna(-1).astype(np.int64).to_numpy()
        else:
            self.labels = np.full(len(frame), -1, dtype=np.int64)
        # frame counts and sizes from the manifest avoid opening every file up front
        if "frames" in frame.columns:
            self.num_frames = frame["frames"].astype(np.int64).to_numpy()
        else:
            self.num_frames = np.array([self.store.num_frames(k) for k in self.videos], dtype=np.int64)
        if {"height", "width"} <= set(frame.columns):
            self.sizes = frame[["height", "width"]].astype(np.int64).to_numpy()
        else:
            self.sizes = np.array([self.store.frame_size(k) for k in self.videos], dtype=np.int64).reshape(-1, 2)

        self.sampler = sampler
        self.seed = int(seed)
        if crop is not None:
            crop = (int(crop), int(crop)) if isinstance(crop, int) else (int(crop[0]), int(crop[1]))
        self.crop = crop
        if crop_mode not in ("random", "center"):
            raise ValueError(f"crop_mode must be 'random' or 'center', got {crop_mode!r}")
        self.crop_mode = crop_mode
        # shared memory: set_epoch in the main process reaches persistent workers
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        return len(self.videos)

    @property
    def epoch(self) -> int:
        return int(self._epoch[0])

    def set_epoch(self, epoch: int) -> None:
        self._epoch[0] = int(epoch)

    def generator(self, index: int) -> torch.Generator:
        """The generator of sample ``index`` in the current epoch."""
        g = torch.Generator()
        g.manual_seed(sample_seed(self.seed, self.epoch, index))
        return g

    def _crop_box(self, index: int, generator: torch.Generator) -> tuple[int, int, int, int] | None:
        if self.crop is None:
            return None
        h, w = (int(v) for v in self.sizes[index])
        ch, cw = self.crop
        if ch > h or cw > w:
            raise ValueError(f"crop {ch}x{cw} larger than the frames ({h}x{w}) of {self.videos[index]}")
        if self.crop_mode == "center":
            return (h - ch) // 2, (w - cw) // 2, ch, cw
        top = int(torch.randint(h - ch + 1, (1,), generator=generator).item())
        left = int(torch.randint(w - cw + 1, (1,), generator=generator).item())
        return top, left, ch, cw

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} videos")
        index = index % len(self)
        if not self.skip_bad:
            return self._item(index)
        skipped = []
        for offset in range(len(self)):
            candidate = (index + offset) % len(self)
            try:
                item = self._item(candidate)
            except StoreError as err:
                key = self.videos[candidate]
                skipped.append(key)
                if key not in self._reported:
                    self._reported.add(key)
                    _log.warning("skipping %s (the next readable video takes its place): %s", key, err)
                continue
            # A string, so batches of items collate; the loop counts what it names.
            item["skipped"] = "|".join(skipped)
            return item
        raise StoreError(f"{self.store_dir}: none of the {len(self)} videos can be read")

    def _item(self, index: int) -> dict[str, Any]:
        key = self.videos[index]
        g = self.generator(index)
        idx, extras = self.sampler(int(self.num_frames[index]), g)
        box = self._crop_box(index, g)
        frames = self.store.read(key, idx.reshape(-1), crop=box)
        clip = frames.reshape(*idx.shape, *frames.shape[1:])
        return {"clip": clip, "label": int(self.labels[index]), "index": index, "video": key, **extras}


def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Default collation, plus variable clip counts for multi-clip samplers.

    When every ``clip`` has the same shape this is ``default_collate`` (a dict
    of stacked tensors, strings as lists). Multi-clip samples with different
    clip counts (``Strided``) are concatenated along the clip axis into
    ``(sum N_i, T, H, W, C)`` and ``num_clips`` (B,) says which clips belong to
    which sample. Variable-length single clips (``AllFrames``) need batch size 1.
    """
    clips = [b["clip"] for b in batch]
    if all(c.shape == clips[0].shape for c in clips):
        out = default_collate(batch)
        if clips[0].ndim == 5:
            out["num_clips"] = torch.full((len(batch),), clips[0].shape[0], dtype=torch.int64)
        return out
    if all(c.ndim == 5 and c.shape[1:] == clips[0].shape[1:] for c in clips):
        out = default_collate([{k: v for k, v in b.items() if k != "clip"} for b in batch])
        out["clip"] = torch.cat(clips)
        out["num_clips"] = torch.tensor([c.shape[0] for c in clips], dtype=torch.int64)
        return out
    shapes = sorted({tuple(c.shape) for c in clips})
    raise ValueError(f"cannot batch clips of shapes {shapes}; use batch_size=1 for variable-length clips")


__all__ = [
    "AllFrames",
    "ClipDataset",
    "EvenlySpaced",
    "RandomConsecutive",
    "Strided",
    "TemporalPretext",
    "collate",
    "sample_seed",
    "USABLE_STATUSES",
]
