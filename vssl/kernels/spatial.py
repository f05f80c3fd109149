"""V3S spatial transformations: spatial scale (SS) and spatial projection (SP), batched.

Every clip's whole spatial pipeline -- resize to the working frame, optional
flip, the SS/SP homography, the crop and the resize to the network input -- is
composed into one 3x3 matrix, and the batch is warped with one ``grid_sample``
(`vssl.kernels.geometry.warp_perspective`). Readings of V3S §3.1 and §4.1.2:

* Working frame: the clip is (virtually) resized to ``frame_size`` (224x224);
  the resize is folded into the matrix, so any stored size works.
* SS ``(a, b)``: the paper's corners ``(0,0), (0,bH), (aW,bH), (aW,0)``: the
  frame is stretched to ``aW x bH`` (``a`` scales the width, ``b`` the height),
  then the random ``crop_size`` (112) crop is taken from the *stretched* frame
  (stretch first, then crop: the network sees stretched objects at full
  density, as when the paper transforms the raw video and then crops).
* SP ``(c, side)``: the head end ``side`` shrinks to ``c`` times that side's
  length, centred; the opposite side keeps its length (paper example: right
  head end, ``(0,0), (0,H), (W,(H+cH)/2), (W,(H-cH)/2)``). The paper writes
  the head length as ``cH`` for its square frames; for top/bottom head ends we
  use ``c`` times the width. Because ``c < 1`` the head end is always shorter
  than the frame, so the paper's rule applies: crop ``l x l`` with
  ``l = c * side length`` (capped by the extent perpendicular to the head end)
  and resize it to ``out_size``. The ``l x l`` square is placed *inside* the
  trapezoid (no empty pixels): ``sp_crop="random"`` (default) draws the
  position along the axis uniformly, then the perpendicular position uniformly
  within the trapezoid's width there; ``"center"`` centres it.
* The homography is solved from the four corner correspondences with the
  paper's 8x8 system (`solve_homography`), batched.
* Anti-aliasing: where the pipeline shrinks the image (the SP c = 0.8 crop,
  179 px -> 112; a store larger than the working frame) each output pixel
  averages ``k x k`` bilinear samples (`vssl.kernels.geometry.warp_perspective`);
  crops and enlargements are sampled once, as before.
* Padding: the crop lies inside the warped frame, so no output pixel is
  empty; samples within half a source pixel of the frame's edge repeat the
  edge pixel (``padding_mode="border"``, what a bilinear resize does).

Label space (V3S §3.3, Fig. 2 and Table 3): one spatial head. ``identity=True``
(default) makes the untransformed clip ("O" in Fig. 2) class 0. SS+SP share the
head as a *union* (default, ``combine="union"``): each clip gets exactly one of
O, one SS scale or one SP (c, side); labels are O, then the SS scales in the
configured order, then SP with ``c`` major and side minor. ``combine="product"``
instead applies an SS scale *and* a projection to the same clip (labels run
over {O, SS...} x {none, SP...}, SP minor). Labels are positions in
`SpatialLabelSpace.choices`, a bijection with the configured parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from vssl.kernels import _random
from vssl.kernels.geometry import (
    as_size2,
    crop_resize_matrix,
    frame_corners,
    hflip_matrix,
    scale_matrix,
    solve_homography,
    warp_perspective,
)

SIDES: tuple[str, ...] = ("top", "bottom", "left", "right")
DEFAULT_SS_SCALES: tuple[tuple[float, float], ...] = (
    (1.0, 1.15),
    (1.0, 1.3),
    (1.0, 1.45),
    (1.15, 1.0),
    (1.3, 1.0),
    (1.45, 1.0),
)
DEFAULT_SP_FACTORS: tuple[float, ...] = (0.8, 0.65, 0.5)
COMBINE_MODES = ("union", "product")
SP_CROPS = ("random", "center")


@dataclass(frozen=True)
class SpatialChoice:
    """One spatial class: an SS scale ``(a, b)`` and/or an SP ``(c, side)``; the defaults are the original."""

    scale: tuple[float, float] = (1.0, 1.0)
    projection: tuple[float, str] | None = None

    @property
    def kind(self) -> str:
        scaled = self.scale != (1.0, 1.0)
        if scaled and self.projection is not None:
            return "ss+sp"
        return "ss" if scaled else ("sp" if self.projection is not None else "identity")

    @property
    def name(self) -> str:
        parts = []
        if self.scale != (1.0, 1.0):
            parts.append(f"SS({self.scale[0]:g},{self.scale[1]:g})")
        if self.projection is not None:
            parts.append(f"SP({self.projection[0]:g},{self.projection[1]})")
        return "+".join(parts) or "O"


def _as_scales(scales: Sequence[Sequence[float]]) -> tuple[tuple[float, float], ...]:
    out = []
    for pair in scales:
        a, b = (float(v) for v in pair)
        if a <= 0 or b <= 0:
            raise ValueError(f"SS scales must be positive, got {(a, b)}")
        out.append((a, b))
    return tuple(out)


def _as_factors(factors: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(c) for c in factors)
    bad = [c for c in out if not 0.0 < c <= 1.0]
    if bad:
        raise ValueError(f"SP head-end factors c must be in (0, 1], got {bad}")
    return out


class SpatialLabelSpace:
    """The spatial head's classes; ``choices[label]`` is the transformation of class ``label``.

    ``scales=()`` disables SS, ``factors=()`` disables SP.
    """

    def __init__(
        self,
        scales: Sequence[Sequence[float]] = DEFAULT_SS_SCALES,
        factors: Sequence[float] = DEFAULT_SP_FACTORS,
        sides: Sequence[str] = SIDES,
        *,
        identity: bool = True,
        combine: str = "union",
    ) -> None:
        if combine not in COMBINE_MODES:
            raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
        sides = tuple(str(s) for s in sides)
        bad = [s for s in sides if s not in SIDES]
        if bad or len(set(sides)) != len(sides) or (factors and not sides):
            raise ValueError(f"SP sides must be distinct values from {SIDES}, got {sides}")
        self.scales = _as_scales(scales)
        self.factors = _as_factors(factors)
        self.sides = sides
        self.identity = identity
        self.combine = combine
        ss = [SpatialChoice(scale=s) for s in self.scales]
        sp = [SpatialChoice(projection=(c, side)) for c in self.factors for side in self.sides]
        if combine == "union":
            choices = ([SpatialChoice()] if identity else []) + ss + sp
        else:
            choices = [
                SpatialChoice(scale=s.scale, projection=p.projection)
                for s in [SpatialChoice()] + ss
                for p in [SpatialChoice()] + sp
            ]
            if not identity:
                choices = choices[1:]
        if not choices:
            raise ValueError("the spatial label space is empty (no identity, no SS scales, no SP factors)")
        # A scale of (1, 1) or c = 1 is the original clip under another name: labels would not be a bijection.
        canonical = [
            (ch.scale, None if ch.projection is None or ch.projection[0] == 1.0 else ch.projection) for ch in choices
        ]
        if len(set(canonical)) != len(canonical):
            raise ValueError(
                f"spatial classes are not distinct (a (1,1) scale or c=1 duplicates another class): "
                f"{[ch.name for ch in choices]}"
            )
        self.choices: list[SpatialChoice] = choices
        self._index = {ch: i for i, ch in enumerate(choices)}

    def __len__(self) -> int:
        return len(self.choices)

    @property
    def names(self) -> list[str]:
        return [ch.name for ch in self.choices]

    def label_of(self, choice: SpatialChoice) -> int:
        try:
            return self._index[choice]
        except KeyError:
            raise ValueError(f"{choice.name} is not in this label space ({self.names})") from None

    def params(self, device: torch.device | str | None = None) -> Tensor:
        """``(K, 4)`` float64 rows ``(a, b, c, side_code)``; ``c = 1`` when there is no projection."""
        rows = []
        for ch in self.choices:
            c, side = ch.projection if ch.projection is not None else (1.0, SIDES[0])
            rows.append([ch.scale[0], ch.scale[1], c, float(SIDES.index(side))])
        return torch.tensor(rows, dtype=torch.float64, device=device)

    def check_fits(self, frame_size: Sequence[int], crop_size: Sequence[int]) -> None:
        """Every non-projected class must leave room for the ``crop_size`` crop in its stretched frame."""
        fh, fw = frame_size
        ch_, cw = crop_size
        for choice in self.choices:
            a, b = choice.scale
            if choice.projection is None and (a * fw < cw - 1e-9 or b * fh < ch_ - 1e-9):
                raise ValueError(
                    f"{choice.name}: a {fw}x{fh} frame scaled by {(a, b)} is smaller than the {cw}x{ch_} crop"
                )

    def sample(self, batch: int, generator: torch.Generator | None = None) -> Tensor:
        """Uniform labels ``(batch,)`` (CPU int64)."""
        return _random.randint(len(self.choices), batch, generator, "cpu")


# --------------------------------------------------------------------------- explicit-parameter kernels


def quad_targets(params: Tensor, frame_size: Sequence[int]) -> Tensor:
    """Target corners ``(B, 4, 2)`` (paper order TL, BL, BR, TR) for per-clip ``(a, b, c, side_code)``."""
    fh, fw = frame_size
    a, b, c, side = params[:, 0], params[:, 1], params[:, 2], params[:, 3].round().long()
    wc, hc = a * fw, b * fh
    zero = torch.zeros_like(wc)
    x = torch.stack([zero, zero, wc, wc], dim=1)  # TL, BL, BR, TR
    y = torch.stack([zero, hc, hc, zero], dim=1)
    y_lo, y_hi = ((1 - c) * hc / 2).unsqueeze(1), ((1 + c) * hc / 2).unsqueeze(1)
    x_lo, x_hi = ((1 - c) * wc / 2).unsqueeze(1), ((1 + c) * wc / 2).unsqueeze(1)
    top, bottom = (side == SIDES.index("top")).unsqueeze(1), (side == SIDES.index("bottom")).unsqueeze(1)
    left, right = (side == SIDES.index("left")).unsqueeze(1), (side == SIDES.index("right")).unsqueeze(1)
    col = torch.arange(4, device=params.device).unsqueeze(0)
    is_tl, is_bl, is_br, is_tr = col == 0, col == 1, col == 2, col == 3
    # Shrink the head end's two corners towards its midpoint.
    y = torch.where(right & is_tr | left & is_tl, y_lo, y)
    y = torch.where(right & is_br | left & is_bl, y_hi, y)
    x = torch.where(top & is_tl | bottom & is_bl, x_lo, x)
    x = torch.where(top & is_tr | bottom & is_br, x_hi, x)
    return torch.stack([x, y], dim=-1)


def crop_windows(
    params: Tensor, frame_size: Sequence[int], crop_size: Sequence[int], u: Tensor, *, sp_crop: str = "random"
) -> Tensor:
    """Per-clip crop windows ``(B, 4)`` ``(left, top, width, height)`` in transformed-frame pixels.

    ``u``: ``(B, 2)`` uniforms in ``[0, 1)`` that place the window. Without a
    projection: a ``crop_size`` window at an integer offset of the stretched
    frame. With one: the ``l x l`` square inside the trapezoid (module docstring).
    """
    if sp_crop not in SP_CROPS:
        raise ValueError(f"sp_crop must be one of {SP_CROPS}, got {sp_crop!r}")
    fh, fw = frame_size
    crop_h, crop_w = crop_size
    a, b, c, side = params[:, 0], params[:, 1], params[:, 2], params[:, 3].round().long()
    wc, hc = a * fw, b * fh
    u = u.to(device=params.device, dtype=torch.float64)
    # Plain random crop: integer offsets, so an untransformed clip is an exact pixel crop.
    room_x, room_y = (wc - crop_w).clamp_min(0), (hc - crop_h).clamp_min(0)
    plain_left = torch.minimum((u[:, 0] * (room_x.floor() + 1)).floor(), room_x)
    plain_top = torch.minimum((u[:, 1] * (room_y.floor() + 1)).floor(), room_y)
    # Projection: canonical frame with the head end at the far end of the "along" axis.
    vertical_head = (side == SIDES.index("left")) | (side == SIDES.index("right"))
    head_full = torch.where(vertical_head, hc, wc)  # length of the side that shrinks
    depth = torch.where(vertical_head, wc, hc)  # extent from tail end to head end
    side_len = torch.minimum(c * head_full, depth)
    pos = torch.full_like(u, 0.5) if sp_crop == "center" else u
    along = pos[:, 0] * (depth - side_len)
    width_there = head_full * (1 - (1 - c) * (along + side_len) / depth)  # trapezoid width at the window's far edge
    across = (head_full - width_there) / 2 + pos[:, 1] * (width_there - side_len).clamp_min(0)
    from_tail_far = depth - along - side_len  # offset when the head end is at coordinate 0
    sp_left = torch.where(
        side == SIDES.index("right"), along, torch.where(side == SIDES.index("left"), from_tail_far, across)
    )
    sp_top = torch.where(
        side == SIDES.index("bottom"), along, torch.where(side == SIDES.index("top"), from_tail_far, across)
    )
    projected = c < 1.0
    left = torch.where(projected, sp_left, plain_left)
    top = torch.where(projected, sp_top, plain_top)
    width = torch.where(projected, side_len, torch.full_like(side_len, float(crop_w)))
    height = torch.where(projected, side_len, torch.full_like(side_len, float(crop_h)))
    return torch.stack([left, top, width, height], dim=1)


def spatial_matrix(
    params: Tensor,
    windows: Tensor,
    in_size: Sequence[int],
    frame_size: Sequence[int],
    out_size: Sequence[int],
    *,
    flip: Tensor | None = None,
) -> Tensor:
    """Forward matrices ``(B, 3, 3)``: input pixels -> output pixels.

    resize to ``frame_size`` -> [flip] -> SS/SP homography (solved from the
    corners) -> crop ``windows`` -> resize to ``out_size``.
    """
    n, device = params.shape[0], params.device
    in_h, in_w = in_size
    fh, fw = frame_size
    m = scale_matrix(fw / in_w, fh / in_h, n, device)
    if flip is not None:
        m = hflip_matrix(flip, fw, device) @ m
    homography = solve_homography(frame_corners(fw, fh, device=device), quad_targets(params, frame_size))
    m = homography @ m
    windows = windows.to(device=device, dtype=torch.float64)
    return (
        crop_resize_matrix(windows[:, 0], windows[:, 1], windows[:, 2], windows[:, 3], tuple(out_size), n, device) @ m
    )


def v3s_spatial(
    clips: Tensor,
    params: Tensor,
    windows: Tensor,
    *,
    frame_size: int | Sequence[int] = 224,
    out_size: int | Sequence[int] = 112,
    flip: Tensor | None = None,
    padding_mode: str = "border",
    antialias: bool = True,
) -> Tensor:
    """Apply per-clip SS/SP parameters ``(B, 4)`` and crop windows ``(B, 4)``: one ``grid_sample``.

    The windows lie inside the transformed frame, so padding only matters for
    samples within half a pixel of the frame's edge (a stretched frame's first
    output pixel centre can map there): ``"border"`` repeats the edge pixel, as
    a bilinear resize does, instead of blending in black.

    ``antialias``: a clip whose pipeline shrinks the image (a store larger than
    ``frame_size``, an SP crop larger than ``out_size``: 179 px -> 112 at
    c = 0.8) is supersampled and box-averaged (`warp_perspective`); one that
    only crops or enlarges is unchanged.
    """
    frame_hw, out_hw = as_size2(frame_size, "frame_size"), as_size2(out_size, "out_size")
    params = params.to(device=clips.device, dtype=torch.float64)
    matrix = spatial_matrix(params, windows, tuple(clips.shape[-2:]), frame_hw, out_hw, flip=flip)
    return warp_perspective(clips, matrix, out_hw, padding_mode=padding_mode, antialias=antialias)


def random_v3s_spatial(
    clips: Tensor,
    space: SpatialLabelSpace,
    generator: torch.Generator | None = None,
    *,
    labels: Tensor | None = None,
    frame_size: int | Sequence[int] = 224,
    crop_size: int | Sequence[int] = 112,
    out_size: int | Sequence[int] = 112,
    sp_crop: str = "random",
    flip_p: float = 0.0,
    antialias: bool = True,
) -> tuple[Tensor, Tensor]:
    """Draw a spatial class, crop position and flip per clip and apply them; returns ``(clips, labels)``.

    A flip (probability ``flip_p``) happens before the transformation, so it
    never changes the label. Parameters are drawn on the generator's device.
    """
    b = clips.shape[0]
    frame_hw, crop_hw, out_hw = (
        as_size2(frame_size, "frame_size"),
        as_size2(crop_size, "crop_size"),
        as_size2(out_size, "out_size"),
    )
    space.check_fits(frame_hw, crop_hw)
    labels = space.sample(b, generator) if labels is None else labels.to("cpu", torch.int64)
    params = space.params()[labels]
    u = _random.uniform(2 * b, generator, "cpu").view(b, 2)
    flip = _random.bernoulli(flip_p, b, generator, "cpu") if flip_p > 0 else None
    windows = crop_windows(params, frame_hw, crop_hw, u, sp_crop=sp_crop)
    out = v3s_spatial(clips, params, windows, frame_size=frame_hw, out_size=out_hw, flip=flip, antialias=antialias)
    return out, labels.to(clips.device)
