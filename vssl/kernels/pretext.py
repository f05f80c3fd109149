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
(SS/SP/TS/TP flags), and the pretexts the papers cite: ``pace`` (playback
speed), ``vcop`` (clip order) and ``contrastive`` (two clips of a video,
InfoNCE). `PRETEXTS` lists them; `pretext_table` describes each.

A pretext also names the head it trains (``head_type``: a class in
`vssl.models.heads`, ``head_kwargs``) and, for a head kind other than
classification or regression, its loss (`Pretext.head_loss`).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

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
from vssl.kernels.losses import info_nce
from vssl.kernels.order import permutations, shuffle_tuple, split_tuple, tuple_span
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


def constructor_arguments(local_vars: Mapping[str, Any]) -> dict[str, Any]:
    """A constructor's arguments, from its ``locals()`` taken as its first statement: the spec's params."""
    return {k: v for k, v in local_vars.items() if k not in ("self", "__class__")}


class Pretext(ABC):
    """Base class; subclasses set ``name``, ``heads``, ``modality``, ``length`` and implement ``_apply``."""

    name: str = ""
    heads: dict[str, HeadSpec]
    temporal_choices: list[TemporalChoice] | None = None
    modality: str = "rgb"
    length: int = 16
    #: Model inputs per loaded clip (K for the all-copies rotation layout).
    outputs_per_clip: int = 1
    #: Model inputs behind one target (VCOP: the tuple's clips share one order label).
    inputs_per_target: int = 1
    #: The head the pretext trains: a class in vssl.models.heads and its kwargs beyond ``in_features``.
    head_type: str = "MultiHead"
    #: The paper a pretext follows (``vssl pretexts``).
    follows: str = ""

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

    def apply(
        self, clips: Tensor, extras: Mapping[str, Tensor] | None = None, generator: torch.Generator | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Float normalised clips ``(B, C, T, H, W)`` -> ``(inputs, {head: target})`` on the clips' device.

        ``inputs`` has ``B * outputs_per_clip`` clips; classification targets
        are int64 ``(N,)``, regression targets float ``(N, dim)``. All random
        parameters come from ``generator``, drawn per clip.
        """
        if clips.ndim != 5 or not torch.is_floating_point(clips):
            raise ValueError(
                f"{self.name}: expected float clips (B, C, T, H, W), got {clips.dtype} {tuple(clips.shape)}"
            )
        return self._apply(clips, dict(extras or {}), generator)

    @abstractmethod
    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]: ...

    def head_kwargs(self, hidden: int | None) -> dict[str, Any]:
        """Keyword arguments of ``head_type`` besides ``in_features`` (``hidden``: --head-hidden, None = none)."""
        return {"heads": {name: n for name, (_, n) in self.heads.items()}, "hidden": hidden}

    def head_loss(self, name: str, outputs: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Loss and correct count of a head whose kind is neither classification nor regression."""
        raise NotImplementedError(f"{self.name}: head {name!r} of kind {self.heads[name][0]!r} has no loss")

    def _consecutive(self, clips: Tensor, frames: int, generator: torch.Generator | None) -> Tensor:
        """A random window of ``frames`` consecutive frames per clip (clips longer than needed)."""
        b, t = clips.shape[0], clips.shape[2]
        if t < frames:
            raise ValueError(
                f"{self.name}: clips have {t} frames, need {frames} ({self.length} frames, modality {self.modality})"
            )
        if t == frames:
            return clips
        starts = _random.randint(t - frames + 1, b, generator, "cpu")
        return temporal_gather(clips, starts.unsqueeze(1) + torch.arange(frames))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec()['params']})"


PRETEXTS: dict[str, type[Pretext]] = {}


def register_pretext(name: str):
    """Class decorator: register a `Pretext` under ``name`` (the config's and ``--pretext``'s value).

    A duplicate name raises.
    """

    def register(cls: type[Pretext]) -> type[Pretext]:
        if name in PRETEXTS:
            raise ValueError(f"pretext {name!r} is already registered (by {PRETEXTS[name].__qualname__})")
        cls.name = name
        PRETEXTS[name] = cls
        return cls

    return register


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


@register_pretext("rotation")
class RotationPretext(Pretext):
    """3DRotNet: predict which of ``angles`` (a subset of 0/90/180/270) rotated the clip.

    Per clip: random ``crop_size`` crop, horizontal flip with ``flip_p`` (before
    rotating, harmless for the label), then exact rot90. Crop, flip and rotation
    are fused into one pixel gather. ``mode="all_copies"`` (the paper's
    training layout) returns every clip under every angle (``B * K`` inputs,
    clip-major); ``"random"`` draws one angle per clip.
    """

    follows = "Jing & Tian 2018 (3DRotNet), right-angle rotations"

    def __init__(
        self,
        angles: Sequence[int] | str = RIGHT_ANGLES,
        mode: str = "all_copies",
        *,
        crop_size: int = 112,
        flip_p: float = 0.5,
        modality: str = "rgb",
        length: int = 16,
    ) -> None:
        self.angles = _parse_angles(angles)
        self.mode = _check_mode(mode)
        self.crop_size = as_size2(crop_size, "crop_size")
        self.flip_p = float(flip_p)
        self.modality = check_modality(modality)
        self.length = int(length)
        self.heads = {"rotation": ("classification", len(self.angles))}
        self.outputs_per_clip = len(self.angles) if self.mode == "all_copies" else 1
        super().__init__(
            dict(angles=self.angles, mode=mode, crop_size=crop_size, flip_p=flip_p, modality=modality, length=length)
        )

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
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

    def __init__(
        self, params: dict[str, Any], *, crop_size: int, flip_p: float, modality: str, length: int, crop: str
    ) -> None:
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
        window = torch.stack(
            [
                left.double(),
                top.double(),
                torch.full((b,), float(cw), dtype=torch.float64),
                torch.full((b,), float(ch), dtype=torch.float64),
            ],
            dim=1,
        )
        if copies > 1:  # one matrix per output; the warp reads each source clip K times without copying it
            window = window.repeat_interleave(copies, dim=0)
            flip = flip.repeat_interleave(copies) if flip is not None else None
        matrix = rotation_warp_matrix(
            degrees, x.shape[-2:], self.crop_size, crop=self.crop, window=window, flip=flip, device=x.device
        )
        return warp_perspective(x, matrix, self.crop_size, copies=copies, antialias=True)


@register_pretext("rotation8")
class Rotation8Pretext(_GridRotationPretext):
    """3DRotNet §4.6: 8 classes at 45-degree steps, bilinear rotation, centre crop with no empty corners.

    Every class (0 and 90 included) goes through the same warp and the same
    ``crop_size / sqrt(2)`` centre crop, resized back to ``crop_size``, so only
    the angle differs between classes. ``mode="all_copies"`` (default, the
    layout 3DRotNet trains its 4-rotation network with) gives ``B * 8`` inputs.
    """

    follows = "3DRotNet rot-8 variant, 45-degree steps"

    def __init__(
        self,
        mode: str = "all_copies",
        *,
        crop_size: int = 112,
        flip_p: float = 0.5,
        modality: str = "rgb",
        length: int = 16,
        crop: str = "inscribed",
    ) -> None:
        self.mode = _check_mode(mode)
        self.angles = EIGHT_ANGLES
        self.heads = {"rotation": ("classification", len(EIGHT_ANGLES))}
        self.outputs_per_clip = len(EIGHT_ANGLES) if self.mode == "all_copies" else 1
        super().__init__(
            dict(mode=mode, crop_size=crop_size, flip_p=flip_p, modality=modality, length=length, crop=crop),
            crop_size=crop_size,
            flip_p=flip_p,
            modality=modality,
            length=length,
            crop=crop,
        )

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        b, copies = clips.shape[0], self.outputs_per_clip
        if copies > 1:
            labels = torch.arange(copies).repeat(b)
        else:
            labels = _random.randint(len(self.angles), b, generator, "cpu")
        degrees = torch.tensor(self.angles, dtype=torch.float64)[labels]
        inputs = self._rotate(clips, degrees, generator, copies)
        return inputs, {"rotation": labels.to(inputs.device)}


@register_pretext("rotation360")
class Rotation360Pretext(_GridRotationPretext):
    """3DRotNet §4.6: regress a continuous angle drawn uniformly from ``[0, 360)`` per clip.

    Target encoding ``"fraction"`` (``deg / 360``, 1 value) or ``"cos_sin"``
    (2 values); see `vssl.kernels.rotation`. Same crop rule as `Rotation8Pretext`.
    """

    follows = "3DRotNet rot-360 variant, angle regression"

    def __init__(
        self,
        encoding: str = "fraction",
        *,
        crop_size: int = 112,
        flip_p: float = 0.5,
        modality: str = "rgb",
        length: int = 16,
        crop: str = "inscribed",
    ) -> None:
        if encoding not in ANGLE_ENCODINGS:
            raise ValueError(f"encoding must be one of {tuple(ANGLE_ENCODINGS)}, got {encoding!r}")
        self.encoding = encoding
        self.heads = {"rotation": ("regression", ANGLE_ENCODINGS[encoding])}
        super().__init__(
            dict(encoding=encoding, crop_size=crop_size, flip_p=flip_p, modality=modality, length=length, crop=crop),
            crop_size=crop_size,
            flip_p=flip_p,
            modality=modality,
            length=length,
            crop=crop,
        )

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        degrees = _random.uniform(clips.shape[0], generator, "cpu") * 360.0
        inputs = self._rotate(clips, degrees, generator, 1)
        return inputs, {"rotation": angle_target(degrees, self.encoding).to(inputs.device)}


@register_pretext("v3s")
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

    follows = "Video 3D Sampling (V3S): spatial and temporal scale and projection"

    def __init__(
        self,
        ss: bool = True,
        sp: bool = True,
        ts: bool = True,
        tp: bool = True,
        *,
        ss_scales: Sequence[Sequence[float]] = DEFAULT_SS_SCALES,
        sp_factors: Sequence[float] = DEFAULT_SP_FACTORS,
        sp_sides: Sequence[str] = SIDES,
        ts_speeds: Sequence[int] = DEFAULT_TS_SPEEDS,
        tp_patterns: Sequence[Sequence[int]] = DEFAULT_TP_PATTERNS,
        spatial_identity: bool = True,
        temporal_identity: bool = True,
        spatial_combine: str = "union",
        sp_crop: str = "random",
        frame_size: int | Sequence[int] = 224,
        crop_size: int | Sequence[int] = 112,
        out_size: int | Sequence[int] = 112,
        flip_p: float = 0.0,
        modality: str = "rgb",
        length: int = 16,
        antialias: bool = True,
    ) -> None:
        params = constructor_arguments(locals())
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
        self.antialias = bool(antialias)
        self.heads = {}
        self.spatial_space = SpatialLabelSpace(
            ss_scales if ss else (),
            sp_factors if sp else (),
            sp_sides,
            identity=spatial_identity or not (ss or sp),
            combine=spatial_combine,
        )
        self.spatial_space.check_fits(self.frame_size, self.crop_size)
        if ss or sp:
            self.heads["spatial"] = ("classification", len(self.spatial_space))
        self.temporal_space: TemporalLabelSpace | None = None
        if ts or tp:
            self.temporal_space = TemporalLabelSpace(
                ts_speeds if ts else (),
                tp_patterns if tp else (),
                length=self._loaded_length(self.length),
                identity=temporal_identity,
            )
            self.heads["temporal"] = ("classification", len(self.temporal_space))
            self.temporal_choices = list(self.temporal_space.choices)
        super().__init__(params)

    def _loaded_length(self, length: int) -> int:
        return frames_for_modality(length, self.modality)

    def frames_needed(self, length: int | None = None) -> int:
        length = self.length if length is None else length
        if self.temporal_space is None:
            return self._loaded_length(length)
        loaded = self._loaded_length(length)
        return max(TemporalChoice(c.kind, c.speeds, loaded).span for c in self.temporal_space.choices)

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        targets: dict[str, Tensor] = {}
        loaded = self._loaded_length(self.length)
        if self.temporal_space is not None:
            if "temporal_label" in extras:
                # The loader already read each clip's frames with temporal_choices[label].indices(start).
                if clips.shape[2] != loaded:
                    raise ValueError(
                        f"v3s: clips sampled by the loader must have {loaded} frames, got {clips.shape[2]}"
                    )
                x = clips
                targets["temporal"] = extras["temporal_label"].to(clips.device, torch.int64)
            else:
                x, targets["temporal"] = random_temporal(clips, self.temporal_space, generator)
        else:
            x = self._consecutive(clips, loaded, generator)
        x = apply_modality(x, self.modality)
        x, spatial_labels = random_v3s_spatial(
            x,
            self.spatial_space,
            generator,
            frame_size=self.frame_size,
            crop_size=self.crop_size,
            out_size=self.out_size,
            sp_crop=self.sp_crop,
            flip_p=self.flip_p,
            antialias=self.antialias,
        )
        if "spatial" in self.heads:
            targets["spatial"] = spatial_labels
        return x, targets


@register_pretext("pace")
class PacePretext(Pretext):
    """Playback pace: predict at which of ``speeds`` the clip plays.

    PacePred (Wang et al. 2020); PRP and SpeedNet read speed the same way.

    Speed ``s`` keeps every ``s``-th frame (`vssl.kernels.temporal`'s TS sampling), so the loader
    reads only the ``length`` frames a clip needs; then a random crop and flip per clip. PacePred
    adds a contrastive term and PRP a reconstruction decoder; neither is kept: this is the speed
    classification they share.
    """

    follows = "Wang et al. 2020 (PacePred), speed classification"

    def __init__(
        self,
        speeds: Sequence[int] = (1, 2, 3, 4, 5),
        *,
        crop_size: int = 112,
        flip_p: float = 0.5,
        modality: str = "rgb",
        length: int = 16,
    ) -> None:
        self.modality = check_modality(modality)
        self.length = int(length)
        self.crop_size = as_size2(crop_size, "crop_size")
        self.flip_p = float(flip_p)
        self.space = TemporalLabelSpace(
            speeds, (), length=frames_for_modality(self.length, self.modality), identity=False
        )
        if len(self.space) < 2:
            raise ValueError(f"pace needs at least 2 speeds, got {tuple(speeds)}")
        self.temporal_choices = list(self.space.choices)
        self.heads = {"pace": ("classification", len(self.space))}
        super().__init__(dict(speeds=speeds, crop_size=crop_size, flip_p=flip_p, modality=modality, length=length))

    def frames_needed(self, length: int | None = None) -> int:
        return self.space.max_span

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        if "temporal_label" in extras:  # the loader read each clip at its drawn speed
            x, labels = clips, extras["temporal_label"].to(clips.device, torch.int64)
        else:
            x, labels = random_temporal(clips, self.space, generator)
        x = apply_modality(x, self.modality)
        return _random_crop_flip(x, self.crop_size, self.flip_p, generator), {"pace": labels}


@register_pretext("arrow")
class ArrowPretext(Pretext):
    """Arrow of time: was the clip played forwards (label 0) or backwards (label 1)?

    Wei et al. 2018 ("Learning and Using the Arrow of Time"). Each clip is reversed in time with
    probability 1/2, then cropped and flipped at random as the other pretexts' clips are. Wei et al.
    classify stacks of optical flow with a two-stream network and mask static clips out of training;
    here the RGB (or DIF) clip feeds the suite's backbone, and no clip is masked.
    """

    follows = "Wei et al. 2018 (Arrow of Time), forward vs backward playback"

    def __init__(self, *, crop_size: int = 112, flip_p: float = 0.5, modality: str = "rgb", length: int = 16) -> None:
        params = constructor_arguments(locals())
        self.modality = check_modality(modality)
        self.length = int(length)
        self.crop_size = as_size2(crop_size, "crop_size")
        self.flip_p = float(flip_p)
        self.heads = {"arrow": ("classification", 2)}
        super().__init__(params)

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        x = self._consecutive(clips, self.frames_needed(), generator)
        backward = _random.bernoulli(0.5, x.shape[0], generator, "cpu").to(x.device)
        x = torch.where(backward.view(-1, 1, 1, 1, 1), x.flip(2), x)  # (B, C, T, H, W): time is dim 2
        x = apply_modality(x, self.modality)  # DIF of the played clip: differences of its frames in play order
        return _random_crop_flip(x, self.crop_size, self.flip_p, generator), {"arrow": backward.long()}


@register_pretext("vcop")
class VCOPPretext(Pretext):
    """VCOP: predict the order of ``tuple_len`` shuffled clips (`vssl.kernels.order`).

    The loader reads one window of ``tuple_span`` frames; each clip gets its own random crop
    (VCOP's per-clip transform seed) and flip. Inputs are tuple-major (``B * tuple_len`` clips,
    the clips of one tuple adjacent) for `vssl.models.heads.ClipOrderHead`, which embeds pairs.
    """

    follows = "Xu et al. 2019 (VCOP), xudejing/video-clip-order-prediction"
    head_type = "ClipOrderHead"

    def __init__(
        self,
        tuple_len: int = 3,
        interval: int = 8,
        *,
        crop_size: int = 112,
        flip_p: float = 0.0,
        dropout: float = 0.5,
        modality: str = "rgb",
        length: int = 16,
    ) -> None:
        params = constructor_arguments(locals())
        self.modality = check_modality(modality)
        self.length = int(length)
        self.tuple_len = int(tuple_len)
        self.interval = int(interval)
        self.crop_size = as_size2(crop_size, "crop_size")
        self.flip_p = float(flip_p)
        self.dropout = float(dropout)
        tuple_span(self.length, self.interval, self.tuple_len)  # validates
        self.heads = {"order": ("classification", len(permutations(self.tuple_len)))}
        self.outputs_per_clip = self.inputs_per_target = self.tuple_len
        super().__init__(params)

    def frames_needed(self, length: int | None = None) -> int:
        clip = frames_for_modality(self.length if length is None else length, self.modality)
        return tuple_span(clip, self.interval, self.tuple_len)

    def head_kwargs(self, hidden: int | None) -> dict[str, Any]:
        return {"tuple_len": self.tuple_len, "hidden": hidden or 512, "dropout": self.dropout}

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        x = self._consecutive(clips, self.frames_needed(), generator)
        tuples = split_tuple(x, frames_for_modality(self.length, self.modality), self.interval, self.tuple_len)
        tuples, labels = shuffle_tuple(tuples, generator)
        flat = apply_modality(tuples.flatten(0, 1), self.modality)  # (B*K, C, L, H, W), tuple-major
        return _random_crop_flip(flat, self.crop_size, self.flip_p, generator), {"order": labels}


@register_pretext("contrastive")
class ContrastivePretext(Pretext):
    """Two clips of one video, augmented independently, pulled together by InfoNCE (CVRL / SimCLR).

    The loader reads a window of ``window`` frames; each view is a random ``length``-frame
    sub-clip of it (CVRL samples its two clips from anywhere in the video; the window bounds
    their distance), a random crop, a flip and, with probability ``jitter_p``, a per-view
    brightness/contrast change. Inputs are view-major (all first views, then all second
    views); the head is a projection MLP and the loss `vssl.kernels.losses.info_nce`.
    """

    follows = "Qian et al. 2021 (CVRL) / Chen et al. 2020 (SimCLR), InfoNCE"
    head_type = "ProjectionHead"

    def __init__(
        self,
        window: int = 48,
        temperature: float = 0.1,
        dim: int = 128,
        *,
        crop_size: int = 112,
        flip_p: float = 0.5,
        jitter_p: float = 0.8,
        jitter: float = 0.4,
        modality: str = "rgb",
        length: int = 16,
    ) -> None:
        params = constructor_arguments(locals())
        self.modality = check_modality(modality)
        self.length = int(length)
        self.window = int(window)
        if self.window < frames_for_modality(self.length, self.modality):
            raise ValueError(f"window ({window}) must hold one clip of {length} frames")
        if temperature <= 0 or dim < 1 or not 0 <= jitter < 1:
            raise ValueError(f"need temperature > 0, dim >= 1, 0 <= jitter < 1; got {temperature}, {dim}, {jitter}")
        self.temperature, self.dim = float(temperature), int(dim)
        self.crop_size = as_size2(crop_size, "crop_size")
        self.flip_p, self.jitter_p, self.jitter = float(flip_p), float(jitter_p), float(jitter)
        self.heads = {"contrastive": ("contrastive", self.dim)}
        self.outputs_per_clip = 2
        super().__init__(params)

    def frames_needed(self, length: int | None = None) -> int:
        return self.window

    def head_kwargs(self, hidden: int | None) -> dict[str, Any]:
        return {"dim": self.dim, "hidden": hidden or None}

    def head_loss(self, name: str, outputs: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return info_nce(outputs, self.temperature)

    def _apply(
        self, clips: Tensor, extras: dict[str, Tensor], generator: torch.Generator | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        frames = frames_for_modality(self.length, self.modality)
        window = self._consecutive(clips, self.window, generator)
        views = torch.cat([self._consecutive(window, frames, generator) for _ in range(2)])  # view-major
        views = _random_crop_flip(apply_modality(views, self.modality), self.crop_size, self.flip_p, generator)
        views = _random_jitter(views, self.jitter_p, self.jitter, generator)
        n = clips.shape[0]
        return views, {"contrastive": torch.arange(2 * n, device=clips.device)}


def _random_crop_flip(x: Tensor, size: tuple[int, int], flip_p: float, generator: torch.Generator | None) -> Tensor:
    """Per-clip random crop and horizontal flip as one pixel gather (the rotation kernel's path, no rotation)."""
    b = x.shape[0]
    top, left = random_crop_params(b, x.shape[-2:], size, generator)
    flip = _random.bernoulli(flip_p, b, generator, "cpu") if flip_p > 0 else None
    index = crop_index(top, left, size, x.shape[-2:], flip=flip, batch=b)
    return gather_pixels(x, index.to(x.device), size)


def _random_jitter(x: Tensor, p: float, strength: float, generator: torch.Generator | None) -> Tensor:
    """With probability ``p`` per clip, scale contrast and shift brightness by up to ``strength`` (normalised units)."""
    if p <= 0 or strength <= 0:
        return x
    b = x.shape[0]
    on = _random.bernoulli(p, b, generator, "cpu").double()
    contrast = 1 + on * strength * (2 * _random.uniform(b, generator, "cpu") - 1)
    brightness = on * strength * (2 * _random.uniform(b, generator, "cpu") - 1)
    shape = (b,) + (1,) * (x.ndim - 1)
    mean = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)
    contrast = contrast.to(x.device, x.dtype).view(shape)
    return (x - mean) * contrast + mean + brightness.to(x.device, x.dtype).view(shape)


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
