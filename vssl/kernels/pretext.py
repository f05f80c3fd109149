"""Pretext objects: what a generic pretraining loop needs to know about a self-supervised task.

``build_pretext(name, **params)`` returns a `Pretext` with

* ``heads``: head name -> ``("classification", num_classes)`` or ``("regression", dim)``;
* ``temporal_choices``: the list the loader draws a `TemporalChoice` from per
  clip (label = position), or ``None`` when the loader should just read
  ``frames_needed()`` consecutive frames;
* ``frames_needed(length)``: consecutive frames a clip must have;
* ``apply(clips, extras, generator) -> (inputs, targets)``: float normalised
  ``(B, C, T, H, W)`` clips at the stored resolution in, model inputs and one
  target tensor per head out, all on the clips' device. ``extras`` may carry
  the loader's ``temporal_label`` ``(B,)``; without it a V3S pretext samples
  the temporal class itself from the clip in memory.

Each pretext owns its spatial augmentation (crop, flip), because V3S's crop
depends on the drawn transformation. Parameters come from a generator, drawn
per clip. DIF (``modality="dif"``) is applied after temporal sampling and needs
one more loaded frame (`vssl.kernels.augment`).

Registered names: ``rotation`` (3DRotNet, right-angle subsets), ``rotation8``
(45-degree steps), ``rotation360`` (continuous angle regression), ``v3s``
(SS/SP/TS/TP flags). `PRETEXTS` lists them.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from vssl.kernels import _random
from vssl.kernels.augment import (
    apply_modality,
    check_modality,
    crop_index,
    frames_for_modality,
    gather_pixels,
    random_crop_params,
)
from vssl.kernels.geometry import as_size2, warp_perspective
from vssl.kernels.rotation import (
    ANGLE_ENCODINGS,
    CROP_RULES,
    EIGHT_ANGLES,
    RIGHT_ANGLES,
    TABLE3_SUBSETS,
    angle_target,
    check_right_angles,
    rot90_index,
    rotation_warp_matrix,
)
from vssl.kernels.spatial import (
    COMBINE_MODES,
    DEFAULT_SP_FACTORS,
    DEFAULT_SS_SCALES,
    SIDES,
    SP_CROPS,
    SpatialLabelSpace,
    random_v3s_spatial,
)
from vssl.kernels.temporal import (
    DEFAULT_TP_PATTERNS,
    DEFAULT_TS_SPEEDS,
    TemporalChoice,
    TemporalLabelSpace,
    random_temporal,
    temporal_gather,
)

HeadSpec = tuple[str, int]
ROTATION_MODES = ("all_copies", "random")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


class Pretext(ABC):
    """Base class; subclasses set ``name``, ``heads``, ``modality``, ``length`` and implement ``_apply``."""

    name: str = ""
    heads: dict[str, HeadSpec]
    temporal_choices: list[TemporalChoice] | None = None
    modality: str = "rgb"
    length: int = 16
    #: Model inputs per loaded clip (K for the all-copies rotation layout).
    outputs_per_clip: int = 1

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = {k: _jsonable(v) for k, v in params.items()}

    def spec(self) -> dict[str, Any]:
        """``{"name", "params"}``: enough to rebuild the pretext (`build_pretext(**spec)`)."""
        return {"name": self.name, "params": dict(self.params)}

    def frames_needed(self, length: int | None = None) -> int:
        """Consecutive frames a loaded clip must have (the longest temporal span, +1 for DIF).

        A loader that samples with ``temporal_choices`` instead reads each drawn
        choice's ``indices(start)`` (``choice.span`` frames of video, ``length``
        (+1 for DIF) frames loaded) and passes ``extras["temporal_label"]``.
        """
        return frames_for_modality(self.length if length is None else length, self.modality)

    def apply(self, clips: Tensor, extras: Mapping[str, Tensor] | None = None,
              generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """Float normalised clips ``(B, C, T, H, W)`` -> ``(inputs, {head: target})`` on the clips' device.

        ``inputs`` has ``B * outputs_per_clip`` clips; classification targets
        are int64 ``(N,)``, regression targets float ``(N, dim)``. All random
        parameters come from ``generator``, drawn per clip.
        """
        if clips.ndim != 5 or not torch.is_floating_point(clips):
            raise ValueError(f"{self.name}: expected float clips (B, C, T, H, W), got {clips.dtype} "
                             f"{tuple(clips.shape)}")
        return self._apply(clips, dict(extras or {}), generator)

    @abstractmethod
    def _apply(self, clips: Tensor, extras: dict[str, Tensor],
               generator: torch.Generator | None) -> tuple[Tensor, dict[str, Tensor]]: ...

    def _consecutive(self, clips: Tensor, frames: int, generator: torch.Generator | None) -> Tensor:
        """A random window of ``frames`` consecutive frames per clip (clips longer than needed)."""
        b, t = clips.shape[0], clips.shape[2]
        if t < frames:
            raise ValueError(f"{self.name}: clips have {t} frames, need {frames} "
                             f"({self.length} frames, modality {self.modality})")
        if t == frames:
            return clips
        starts = _random.randint(t - frames + 1, b, generator, "cpu")
        return temporal_gather(clips, starts.unsqueeze(1) + torch.arange(frames))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec()['params']})"


def _check_mode(mode: str) -> str:
    if mode not in ROTATION_MODES:
        raise ValueError(f"rotation mode must be one of {ROTATION_MODES}, got {mode!r}")
    return mode


def _parse_angles(angles: Sequence[int] | str) -> tuple[int, ...]:
    if isinstance(angles, str):
        key = angles.replace(" ", "")
        if key in ("all", "4"):
            return RIGHT_ANGLES
        angles = TABLE3_SUBSETS.get(key) or tuple(int(a) for a in key.split(",") if a)
    return check_right_angles(angles)


class RotationPretext(Pretext):
    """3DRotNet: predict which of ``angles`` (a subset of 0/90/180/270) rotated the clip.

    Per clip: random ``crop_size`` crop, horizontal flip with ``flip_p`` (before
    rotating, harmless for the label), then exact rot90. Crop, flip and rotation
    are fused into one pixel gather. ``mode="all_copies"`` (the paper's
    training layout) returns every clip under every angle (``B * K`` inputs,
    clip-major); ``"random"`` draws one angle per clip.
    """

    name = "rotation"

    def __init__(self, angles: Sequence[int] | str = RIGHT_ANGLES, mode: str = "all_copies", *,
                 crop_size: int = 112, flip_p: float = 0.5, modality: str = "rgb", length: int = 16) -> None:
        self.angles = _parse_angles(angles)
        self.mode = _check_mode(mode)
        self.crop_size = as_size2(crop_size, "crop_size")
        self.flip_p = float(flip_p)
        self.modality = check_modality(modality)
        self.length = int(length)
        self.heads = {"rotation": ("classification", len(self.angles))}
        self.outputs_per_clip = len(self.angles) if self.mode == "all_copies" else 1
        super().__init__(dict(angles=self.angles, mode=mode, crop_size=crop_size, flip_p=flip_p,
                              modality=modality, length=length))

    def _apply(self, clips: Tensor, extras: dict[str, Tensor],
               generator: torch.Generator | None) -> tuple[Tensor, dict[str, Tensor]]:
        x = apply_modality(self._consecutive(clips, self.frames_needed(), generator), self.modality)
        b = x.shape[0]
        top, left = random_crop_params(b, x.shape[-2:], self.crop_size, generator)
        flip = _random.bernoulli(self.flip_p, b, generator, "cpu") if self.flip_p > 0 else None
        source = crop_index(top, left, self.crop_size, x.shape[-2:], flip=flip, batch=b)  # (B, h*w), CPU
        k_of_label = torch.tensor([a // 90 for a in self.angles], dtype=torch.int64)
        copies = self.outputs_per_clip
        if copies > 1:
            labels = torch.arange(copies).repeat(b)
            source = source.repeat_interleave(copies, dim=0)
        else:
            labels = _random.randint(len(self.angles), b, generator, "cpu")
        rot, out_hw = rot90_index(self.crop_size, k_of_label[labels])
        # Compose on the small index tensors: output pixel -> rotated-crop pixel -> source pixel.
        index = torch.gather(source, 1, rot)
        inputs = gather_pixels(x, index.to(x.device), out_hw, copies=copies)
        return inputs, {"rotation": labels.to(x.device)}


class _GridRotationPretext(Pretext):
    """Shared by `Rotation8Pretext` and `Rotation360Pretext`: crop, flip, rotate, inscribed crop; one warp."""

    def __init__(self, params: dict[str, Any], *, crop_size: int, flip_p: float, modality: str, length: int,
                 crop: str) -> None:
        if crop not in CROP_RULES:
            raise ValueError(f"crop must be one of {CROP_RULES}, got {crop!r}")
        self.crop_size = as_size2(crop_size, "crop_size")
        self.flip_p = float(flip_p)
        self.modality = check_modality(modality)
        self.length = int(length)
        self.crop = crop
        super().__init__(params)

    def _rotate(self, clips: Tensor, degrees: Tensor, generator: torch.Generator | None, copies: int) -> Tensor:
        x = apply_modality(self._consecutive(clips, self.frames_needed(), generator), self.modality)
        b = x.shape[0]
        top, left = random_crop_params(b, x.shape[-2:], self.crop_size, generator)
        flip = _random.bernoulli(self.flip_p, b, generator, "cpu") if self.flip_p > 0 else None
        ch, cw = self.crop_size
        window = torch.stack([left.double(), top.double(), torch.full((b,), float(cw), dtype=torch.float64),
                              torch.full((b,), float(ch), dtype=torch.float64)], dim=1)
        if copies > 1:  # one matrix per output; the warp reads each source clip K times without copying it
            window = window.repeat_interleave(copies, dim=0)
            flip = flip.repeat_interleave(copies) if flip is not None else None
        matrix = rotation_warp_matrix(degrees, x.shape[-2:], self.crop_size, crop=self.crop, window=window,
                                      flip=flip, device=x.device)
        return warp_perspective(x, matrix, self.crop_size, copies=copies)


class Rotation8Pretext(_GridRotationPretext):
    """3DRotNet §4.6: 8 classes at 45-degree steps, bilinear rotation, centre crop with no empty corners.

    Every class (0 and 90 included) goes through the same warp and the same
    ``crop_size / sqrt(2)`` centre crop, resized back to ``crop_size``, so only
    the angle differs between classes. ``mode="all_copies"`` (default, the
    layout 3DRotNet trains its 4-rotation network with) gives ``B * 8`` inputs.
    """

    name = "rotation8"

    def __init__(self, mode: str = "all_copies", *, crop_size: int = 112, flip_p: float = 0.5, modality: str = "rgb",
                 length: int = 16, crop: str = "inscribed") -> None:
        self.mode = _check_mode(mode)
        self.angles = EIGHT_ANGLES
        self.heads = {"rotation": ("classification", len(EIGHT_ANGLES))}
        self.outputs_per_clip = len(EIGHT_ANGLES) if self.mode == "all_copies" else 1
        super().__init__(dict(mode=mode, crop_size=crop_size, flip_p=flip_p, modality=modality, length=length,
                              crop=crop), crop_size=crop_size, flip_p=flip_p, modality=modality, length=length,
                         crop=crop)

    def _apply(self, clips: Tensor, extras: dict[str, Tensor],
               generator: torch.Generator | None) -> tuple[Tensor, dict[str, Tensor]]:
        b, copies = clips.shape[0], self.outputs_per_clip
        if copies > 1:
            labels = torch.arange(copies).repeat(b)
        else:
            labels = _random.randint(len(self.angles), b, generator, "cpu")
        degrees = torch.tensor(self.angles, dtype=torch.float64)[labels]
        inputs = self._rotate(clips, degrees, generator, copies)
        return inputs, {"rotation": labels.to(inputs.device)}


class Rotation360Pretext(_GridRotationPretext):
    """3DRotNet §4.6: regress a continuous angle drawn uniformly from ``[0, 360)`` per clip.

    Target encoding ``"fraction"`` (``deg / 360``, 1 value) or ``"cos_sin"``
    (2 values); see `vssl.kernels.rotation`. Same crop rule as `Rotation8Pretext`.
    """

    name = "rotation360"

    def __init__(self, encoding: str = "fraction", *, crop_size: int = 112, flip_p: float = 0.5,
                 modality: str = "rgb", length: int = 16, crop: str = "inscribed") -> None:
        if encoding not in ANGLE_ENCODINGS:
            raise ValueError(f"encoding must be one of {tuple(ANGLE_ENCODINGS)}, got {encoding!r}")
        self.encoding = encoding
        self.heads = {"rotation": ("regression", ANGLE_ENCODINGS[encoding])}
        super().__init__(dict(encoding=encoding, crop_size=crop_size, flip_p=flip_p, modality=modality,
                              length=length, crop=crop), crop_size=crop_size, flip_p=flip_p, modality=modality,
                         length=length, crop=crop)

    def _apply(self, clips: Tensor, extras: dict[str, Tensor],
               generator: torch.Generator | None) -> tuple[Tensor, dict[str, Tensor]]:
        degrees = _random.uniform(clips.shape[0], generator, "cpu") * 360.0
        inputs = self._rotate(clips, degrees, generator, 1)
        return inputs, {"rotation": angle_target(degrees, self.encoding).to(inputs.device)}


class V3SPretext(Pretext):
    """V3S: spatial head (SS and/or SP) and temporal head (TS and/or TP); see `vssl.kernels.spatial`.

    Order: the paper transforms space first, then samples time; both act on
    separate axes (every frame of a clip gets the same warp), so we sample
    time first, which is the same clip and warps only the 16 kept frames.
    Heads exist only for enabled families: ``spatial`` when ``ss`` or ``sp``,
    ``temporal`` when ``ts`` or ``tp``. A disabled spatial family still gets
    the paper's plain frame pipeline (resize to ``frame_size``, random
    ``crop_size`` crop, resize to ``out_size``); a disabled temporal family
    reads ``length`` consecutive frames.
    """

    name = "v3s"

    def __init__(self, ss: bool = True, sp: bool = True, ts: bool = True, tp: bool = True, *,
                 ss_scales: Sequence[Sequence[float]] = DEFAULT_SS_SCALES,
                 sp_factors: Sequence[float] = DEFAULT_SP_FACTORS, sp_sides: Sequence[str] = SIDES,
                 ts_speeds: Sequence[int] = DEFAULT_TS_SPEEDS,
                 tp_patterns: Sequence[Sequence[int]] = DEFAULT_TP_PATTERNS,
                 spatial_identity: bool = True, temporal_identity: bool = True, spatial_combine: str = "union",
                 sp_crop: str = "random", frame_size: int | Sequence[int] = 224, crop_size: int | Sequence[int] = 112,
                 out_size: int | Sequence[int] = 112, flip_p: float = 0.0, modality: str = "rgb",
                 length: int = 16) -> None:
        if not (ss or sp or ts or tp):
            raise ValueError("v3s needs at least one of ss, sp, ts, tp")
        if spatial_combine not in COMBINE_MODES:
            raise ValueError(f"spatial_combine must be one of {COMBINE_MODES}, got {spatial_combine!r}")
        if sp_crop not in SP_CROPS:
            raise ValueError(f"sp_crop must be one of {SP_CROPS}, got {sp_crop!r}")
        self.modality = check_modality(modality)
        self.length = int(length)
        self.frame_size = as_size2(frame_size, "frame_size")
        self.crop_size = as_size2(crop_size, "crop_size")
        self.out_size = as_size2(out_size, "out_size")
        self.sp_crop = sp_crop
        self.flip_p = float(flip_p)
        self.heads = {}
        self.spatial_space = SpatialLabelSpace(ss_scales if ss else (), sp_factors if sp else (), sp_sides,
                                               identity=spatial_identity or not (ss or sp),
                                               combine=spatial_combine)
        self.spatial_space.check_fits(self.frame_size, self.crop_size)
        if ss or sp:
            self.heads["spatial"] = ("classification", len(self.spatial_space))
        self.temporal_space: TemporalLabelSpace | None = None
        if ts or tp:
            self.temporal_space = TemporalLabelSpace(ts_speeds if ts else (), tp_patterns if tp else (),
                                                     length=self._loaded_length(self.length),
                                                     identity=temporal_identity)
            self.heads["temporal"] = ("classification", len(self.temporal_space))
            self.temporal_choices = list(self.temporal_space.choices)
        super().__init__(dict(ss=ss, sp=sp, ts=ts, tp=tp, ss_scales=ss_scales, sp_factors=sp_factors,
                              sp_sides=sp_sides, ts_speeds=ts_speeds, tp_patterns=tp_patterns,
                              spatial_identity=spatial_identity, temporal_identity=temporal_identity,
                              spatial_combine=spatial_combine, sp_crop=sp_crop, frame_size=frame_size,
                              crop_size=crop_size, out_size=out_size, flip_p=flip_p, modality=modality,
                              length=length))

    def _loaded_length(self, length: int) -> int:
        return frames_for_modality(length, self.modality)

    def frames_needed(self, length: int | None = None) -> int:
        length = self.length if length is None else length
        if self.temporal_space is None:
            return self._loaded_length(length)
        loaded = self._loaded_length(length)
        return max(TemporalChoice(c.kind, c.speeds, loaded).span for c in self.temporal_space.choices)

    def _apply(self, clips: Tensor, extras: dict[str, Tensor],
               generator: torch.Generator | None) -> tuple[Tensor, dict[str, Tensor]]:
        targets: dict[str, Tensor] = {}
        loaded = self._loaded_length(self.length)
        if self.temporal_space is not None:
            if "temporal_label" in extras:
                # The loader already read each clip's frames with temporal_choices[label].indices(start).
                if clips.shape[2] != loaded:
                    raise ValueError(f"v3s: clips sampled by the loader must have {loaded} frames, "
                                     f"got {clips.shape[2]}")
                x = clips
                targets["temporal"] = extras["temporal_label"].to(clips.device, torch.int64)
            else:
                x, targets["temporal"] = random_temporal(clips, self.temporal_space, generator)
        else:
            x = self._consecutive(clips, loaded, generator)
        x = apply_modality(x, self.modality)
        x, spatial_labels = random_v3s_spatial(x, self.spatial_space, generator, frame_size=self.frame_size,
                                               crop_size=self.crop_size, out_size=self.out_size,
                                               sp_crop=self.sp_crop, flip_p=self.flip_p)
        if "spatial" in self.heads:
            targets["spatial"] = spatial_labels
        return x, targets


PRETEXTS: dict[str, type[Pretext]] = {
    "rotation": RotationPretext,
    "rotation8": Rotation8Pretext,
    "rotation360": Rotation360Pretext,
    "v3s": V3SPretext,
}


def build_pretext(name: str, **params: Any) -> Pretext:
    """Construct a registered pretext by name; unknown names or parameters raise ``ValueError``."""
    try:
        cls = PRETEXTS[name]
    except KeyError:
        raise ValueError(f"unknown pretext {name!r}; choose from {sorted(PRETEXTS)}") from None
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"pretext {name!r} has no parameter(s) {unknown}; accepted: {accepted}")
    return cls(**params)
