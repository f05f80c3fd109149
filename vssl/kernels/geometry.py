"""Homographies and the batched perspective warp every spatial pretext goes through.

Coordinate convention (shared with the V3S paper and torchvision): a frame of
``W x H`` pixels is the continuous rectangle ``[0, W] x [0, H]``; pixel
``(row i, column j)`` covers ``[j, j+1] x [i, i+1]`` and its centre is
``(j + 0.5, i + 0.5)``. ``x`` grows to the right, ``y`` downwards. The paper's
corners ``(0,0), (0,H), (W,H), (W,0)`` are the frame's outer corners.

A *forward* matrix ``M`` maps input coordinates ``(x, y)`` to output
coordinates ``(u, v)`` (``[u, v, w]^T = M [x, y, 1]^T``, then divide by ``w``),
which is how the paper writes its transformations. `warp_perspective` inverts
it once per clip and samples the input at ``M^-1 (u, v)`` for every output pixel
centre: bilinear, zeros outside the input, one ``grid_sample`` call for the
whole batch with ``T`` folded into the channels (all frames of a clip share
one matrix, so the interpolation weights are computed once per pixel).

Matrices are built and solved in float64 (tiny), the sampling grid in the
clips' float dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

Size2 = tuple[int, int]  # (height, width), as torch shapes are ordered


def as_size2(size: int | Sequence[int], name: str = "size") -> Size2:
    """``112`` or ``(112, 112)`` -> ``(h, w)``; rejects non-positive sizes."""
    if isinstance(size, int):
        h = w = size
    else:
        values = tuple(int(v) for v in size)
        if len(values) != 2:
            raise ValueError(f"{name} must be an int or (height, width), got {size!r}")
        h, w = values
    if h < 1 or w < 1:
        raise ValueError(f"{name} must be positive, got {size!r}")
    return h, w


def frame_corners(
    width: float, height: float, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> Tensor:
    """The paper's corner order ``(0,0), (0,H), (W,H), (W,0)`` as a ``(4, 2)`` tensor."""
    return torch.tensor([[0.0, 0.0], [0.0, height], [width, height], [width, 0.0]], dtype=dtype, device=device)


def solve_homography(src: Tensor, dst: Tensor) -> Tensor:
    """Homography mapping four ``src`` points to four ``dst`` points (V3S §3.1's 8x8 system).

    ``src``, ``dst``: ``(..., 4, 2)`` (broadcast against each other). Returns
    ``(..., 3, 3)`` float64 with ``M[..., 2, 2] = 1``. Rows are laid out as in the
    paper: four ``u`` equations, then four ``v`` equations, unknowns ``m0..m7``;
    the whole batch is one ``torch.linalg.solve`` call.
    """
    src, dst = torch.broadcast_tensors(src.to(torch.float64), dst.to(torch.float64))
    if src.shape[-2:] != (4, 2):
        raise ValueError(f"expected (..., 4, 2) point sets, got {tuple(src.shape)}")
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -x * u, -y * u], dim=-1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -x * v, -y * v], dim=-1)
    system = torch.cat([rows_u, rows_v], dim=-2)  # (..., 8, 8)
    rhs = torch.cat([u, v], dim=-1).unsqueeze(-1)  # (..., 8, 1)
    try:
        m = torch.linalg.solve(system, rhs).squeeze(-1)
    except RuntimeError as err:  # singular: three collinear points or repeated corners
        raise ValueError(f"degenerate point correspondence, no homography: {err}") from err
    return torch.cat([m, torch.ones_like(m[..., :1])], dim=-1).unflatten(-1, (3, 3))


def apply_homography(matrix: Tensor, points: Tensor) -> Tensor:
    """Map ``(..., N, 2)`` points through ``(..., 3, 3)`` matrices (with the perspective divide)."""
    matrix = matrix.to(torch.float64)
    homog = torch.cat([points.to(torch.float64), torch.ones_like(points[..., :1], dtype=torch.float64)], dim=-1)
    mapped = homog @ matrix.transpose(-1, -2)
    return mapped[..., :2] / mapped[..., 2:]


# --------------------------------------------------------------------------- matrix builders (batched, float64)


def _batch_eye(n: int, device: torch.device | str | None) -> Tensor:
    return torch.eye(3, dtype=torch.float64, device=device).expand(n, 3, 3).clone()


def _vec(values: Tensor | float | Sequence[float], n: int, device: torch.device | str | None) -> Tensor:
    t = torch.as_tensor(values, dtype=torch.float64, device=device)
    return t.expand(n).clone() if t.ndim == 0 else t.reshape(n)


def scale_matrix(sx: Tensor | float, sy: Tensor | float, n: int, device: torch.device | str | None = None) -> Tensor:
    """``(n, 3, 3)`` scaling ``x -> sx x``, ``y -> sy y``."""
    m = _batch_eye(n, device)
    m[:, 0, 0] = _vec(sx, n, device)
    m[:, 1, 1] = _vec(sy, n, device)
    return m


def translation_matrix(
    tx: Tensor | float, ty: Tensor | float, n: int, device: torch.device | str | None = None
) -> Tensor:
    m = _batch_eye(n, device)
    m[:, 0, 2] = _vec(tx, n, device)
    m[:, 1, 2] = _vec(ty, n, device)
    return m


def crop_resize_matrix(
    left: Tensor | float,
    top: Tensor | float,
    width: Tensor | float,
    height: Tensor | float,
    out_size: Size2,
    n: int,
    device: torch.device | str | None = None,
) -> Tensor:
    """Map the window ``[left, left+width] x [top, top+height]`` onto an ``out_size`` canvas."""
    oh, ow = out_size
    sx = ow / _vec(width, n, device)
    sy = oh / _vec(height, n, device)
    m = scale_matrix(sx, sy, n, device)
    m[:, 0, 2] = -_vec(left, n, device) * sx
    m[:, 1, 2] = -_vec(top, n, device) * sy
    return m


def hflip_matrix(flip: Tensor, width: float, device: torch.device | str | None = None) -> Tensor:
    """Per-clip horizontal flip ``x -> width - x`` where ``flip`` is true, identity elsewhere."""
    flip = flip.to(device=device, dtype=torch.bool).reshape(-1)
    m = _batch_eye(flip.numel(), device)
    m[flip, 0, 0] = -1.0
    m[flip, 0, 2] = float(width)
    return m


def rotation_matrix(
    degrees: Tensor | float, center: tuple[float, float], n: int, device: torch.device | str | None = None
) -> Tensor:
    """Rotation by ``degrees`` counter-clockwise *as displayed* (y down) about ``center = (x, y)``.

    Matches ``torch.rot90(img, k, dims=(-2, -1))`` for ``degrees = 90 k``.
    """
    theta = _vec(degrees, n, device) * (math.pi / 180.0)
    c, s = torch.cos(theta), torch.sin(theta)
    cx, cy = center
    m = _batch_eye(n, device)
    # (dx, dy) -> (c dx + s dy, -s dx + c dy): counter-clockwise on screen because y points down.
    m[:, 0, 0], m[:, 0, 1] = c, s
    m[:, 1, 0], m[:, 1, 1] = -s, c
    m[:, 0, 2] = cx - (c * cx + s * cy)
    m[:, 1, 2] = cy - (-s * cx + c * cy)
    return m


def inscribed_square_side(side: float, degrees: float = 45.0) -> float:
    """Largest axis-aligned square (centred) inside a ``side`` square rotated by ``degrees``.

    ``side / (|cos| + |sin|)``: ``side / sqrt(2)`` at 45 degrees, ``side`` at multiples of 90.
    """
    theta = math.radians(degrees)
    return side / (abs(math.cos(theta)) + abs(math.sin(theta)))


# --------------------------------------------------------------------------- the warp


def _base_grid(out_size: Size2, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Homogeneous output pixel centres ``(oh * ow, 3)``, row-major."""
    oh, ow = out_size
    ys = torch.arange(oh, dtype=dtype, device=device) + 0.5
    xs = torch.arange(ow, dtype=dtype, device=device) + 0.5
    grid = torch.ones(oh, ow, 3, dtype=dtype, device=device)
    grid[..., 0] = xs
    grid[..., 1] = ys.unsqueeze(-1)
    return grid.view(oh * ow, 3)


def sampling_grid(inverse: Tensor, in_size: Size2, out_size: Size2, dtype: torch.dtype = torch.float32) -> Tensor:
    """``grid_sample`` grid ``(B, oh, ow, 2)`` for output->input matrices ``inverse`` ``(B, 3, 3)``.

    The pixel->normalised conversion of ``align_corners=False`` (``2 x / W - 1``)
    is folded into the matrix, so the grid costs one small batched matmul.
    """
    h, w = in_size
    normalise = torch.tensor(
        [[2.0 / w, 0.0, -1.0], [0.0, 2.0 / h, -1.0], [0.0, 0.0, 1.0]], dtype=torch.float64, device=inverse.device
    )
    to_normalised = (normalise @ inverse.to(torch.float64)).to(dtype)
    mapped = _base_grid(out_size, dtype, inverse.device) @ to_normalised.transpose(1, 2)  # (B, P, 3)
    grid = mapped[..., :2] / mapped[..., 2:]
    return grid.view(inverse.shape[0], out_size[0], out_size[1], 2)


def _fold_time(clips: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    """``(B, C, T, H, W)`` or ``(B, C, H, W)`` -> ``(B, C*T, H, W)`` view plus the leading shape."""
    if clips.ndim == 5:
        b, c, t, h, w = clips.shape
        return clips.reshape(b, c * t, h, w), (b, c, t)
    if clips.ndim == 4:
        return clips, tuple(clips.shape[:2])
    raise ValueError(f"expected clips (B, C, T, H, W) or images (B, C, H, W), got shape {tuple(clips.shape)}")


def is_pixel_major(clips: Tensor) -> bool:
    """True when ``(B, C, T, H, W)`` clips are stored pixel-major: memory order ``(B, H, W, C, T)``.

    That is ``channels_last`` for the ``(B, C*T, H, W)`` view the warp works on:
    each pixel's ``C*T`` values are contiguous, which the CPU samplers read
    much faster than ``C*T`` separate planes.
    """
    if clips.ndim == 5:
        return clips.permute(0, 3, 4, 1, 2).is_contiguous()
    return clips.ndim == 4 and clips.permute(0, 2, 3, 1).is_contiguous()


def to_pixel_major(clips: Tensor) -> Tensor:
    """The same ``(B, C, T, H, W)`` values stored pixel-major (a copy unless already so)."""
    if clips.ndim != 5:
        raise ValueError(f"expected clips (B, C, T, H, W), got shape {tuple(clips.shape)}")
    return clips.permute(0, 3, 4, 1, 2).contiguous().permute(0, 3, 4, 1, 2)


def _gather_bilinear(folded: Tensor, inverse: Tensor, out_hw: Size2, padding_mode: str, copies: int) -> Tensor:
    """Bilinear sampling as a weighted sum of four pixel rows: one ``embedding_bag`` for the batch.

    Same result as ``grid_sample(bilinear, align_corners=False)`` with ``zeros``
    or ``border`` padding. With pixel-major input the table is a free view and
    every tap reads ``C*T`` contiguous values, so the kernel streams memory
    instead of gathering one value per channel. Returns ``(B*copies, C*T, oh, ow)``
    stored pixel-major.
    """
    b, ct, h, w = folded.shape
    oh, ow = out_hw
    device = folded.device
    mapped = _base_grid(out_hw, torch.float64, device) @ inverse.to(device, torch.float64).transpose(1, 2)
    # Continuous -> pixel-centre index coordinates; per-tap work below is float32/int32 on (N, P) arrays.
    coord = torch.float64 if folded.dtype == torch.float64 else torch.float32
    sx = (mapped[..., 0] / mapped[..., 2] - 0.5).to(coord)
    sy = (mapped[..., 1] / mapped[..., 2] - 0.5).to(coord)
    if padding_mode == "border":
        sx, sy = sx.clamp_(0, w - 1), sy.clamp_(0, h - 1)
    x0f, y0f = sx.floor(), sy.floor()
    fx, fy = sx - x0f, sy - y0f
    gx, gy = 1 - fx, 1 - fy
    weights = torch.stack([gx * gy, fx * gy, gx * fy, fx * fy], dim=-1)
    x0, y0 = x0f.to(torch.int32), y0f.to(torch.int32)
    if padding_mode == "zeros":  # taps outside the frame contribute nothing
        vx0, vx1 = (x0 >= 0) & (x0 < w), (x0 >= -1) & (x0 < w - 1)
        vy0, vy1 = (y0 >= 0) & (y0 < h), (y0 >= -1) & (y0 < h - 1)
        weights = weights * torch.stack([vx0 & vy0, vx1 & vy0, vx0 & vy1, vx1 & vy1], dim=-1)
    x0c, x1c = x0.clamp(0, w - 1), (x0 + 1).clamp_(0, w - 1)
    first_row = (torch.arange(b, device=device, dtype=torch.int32) * (h * w)).repeat_interleave(copies).view(-1, 1)
    row0 = y0.clamp(0, h - 1) * w + first_row
    row1 = (y0 + 1).clamp_(0, h - 1) * w + first_row
    index = torch.stack([row0 + x0c, row0 + x1c, row1 + x0c, row1 + x1c], dim=-1)
    table = folded.permute(0, 2, 3, 1).reshape(b * h * w, ct)  # a view when pixel-major
    out = F.embedding_bag(index.view(-1, 4), table, mode="sum", per_sample_weights=weights.view(-1, 4).to(folded.dtype))
    return out.view(b * copies, oh, ow, ct).permute(0, 3, 1, 2)


WARP_BACKENDS = ("auto", "grid_sample", "gather")


def warp_inverse(
    clips: Tensor,
    inverse: Tensor,
    out_size: int | Sequence[int],
    *,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    backend: str = "auto",
    copies: int = 1,
) -> Tensor:
    """Like `warp_perspective` but with output->input matrices (what the sampler needs)."""
    if not torch.is_floating_point(clips):
        raise TypeError(f"warp needs float clips, got {clips.dtype} (convert with to_float first)")
    if backend not in WARP_BACKENDS:
        raise ValueError(f"backend must be one of {WARP_BACKENDS}, got {backend!r}")
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    out_hw = as_size2(out_size, "out_size")
    folded, lead = _fold_time(clips)
    b, n = folded.shape[0], folded.shape[0] * copies
    if inverse.ndim == 2:
        inverse = inverse.expand(n, 3, 3)
    if inverse.shape != (n, 3, 3):
        raise ValueError(f"expected {n} matrices of 3x3, got {tuple(inverse.shape)}")
    if backend == "auto":
        # The gather sampler wins on CPU when each pixel's values are contiguous; CUDA's grid_sample is fast.
        backend = (
            "gather"
            if folded.device.type == "cpu"
            and mode == "bilinear"
            and padding_mode != "reflection"
            and is_pixel_major(clips)
            else "grid_sample"
        )
    if backend == "gather":
        if mode != "bilinear" or padding_mode not in ("zeros", "border"):
            raise ValueError(f"the gather backend does bilinear with zeros/border padding, not {mode}/{padding_mode}")
        out = _gather_bilinear(folded, inverse, out_hw, padding_mode, copies)
    else:
        grid = sampling_grid(inverse.to(clips.device), tuple(folded.shape[-2:]), out_hw, dtype=clips.dtype)
        # Copies of one clip are stacked along the grid's height, so the input is never repeated.
        grid = grid.view(b, copies * out_hw[0], out_hw[1], 2)
        out = F.grid_sample(folded, grid, mode=mode, padding_mode=padding_mode, align_corners=False)
        if copies > 1:
            out = out.unflatten(2, (copies, out_hw[0])).transpose(1, 2).reshape(n, folded.shape[1], *out_hw)
    return out.view(n, *lead[1:], *out_hw)


MAX_SUPERSAMPLE = 4  # a 4x4 box per output pixel: beyond a 4x reduction the footprint is only partly covered


def supersample_factors(inverse: Tensor, out_size: Size2, *, max_factor: int = MAX_SUPERSAMPLE) -> Tensor:
    """Per-matrix supersampling factor ``k`` (``(N,)`` int64): how many input pixels one output pixel spans.

    ``inverse``: ``(N, 3, 3)`` output->input matrices. The footprint of an
    output pixel is measured by finite differences (one output pixel right and
    down) at the output's corners and centre, the largest of the two lengths
    over those points taken; ``k = ceil(footprint)``, 1 when the warp does not
    downsample, capped at ``max_factor``.
    """
    oh, ow = out_size
    inverse = inverse.to(torch.float64)
    points = torch.tensor(
        [[0.0, 0.0], [ow, 0.0], [0.0, oh], [ow, oh], [ow / 2, oh / 2]], dtype=torch.float64, device=inverse.device
    )
    step_x, step_y = points.new_tensor([1.0, 0.0]), points.new_tensor([0.0, 1.0])
    probes = torch.cat([points, points + step_x, points + step_y])  # (15, 2)
    mapped = apply_homography(inverse, probes.expand(inverse.shape[0], -1, -1)).view(inverse.shape[0], 3, -1, 2)
    footprint = torch.maximum(
        (mapped[:, 1] - mapped[:, 0]).norm(dim=-1), (mapped[:, 2] - mapped[:, 0]).norm(dim=-1)
    ).amax(dim=1)
    return (footprint - 1e-6).ceil().clamp(1, max_factor).to(torch.int64)


def _warp_antialiased(clips: Tensor, inverse: Tensor, out_hw: Size2, factors: Tensor, **sample: str) -> Tensor:
    """Warp each group of clips that shares a factor ``k`` at ``k``x the output size, then average ``k x k`` boxes.

    The sub-samples of an output pixel sit at the centres of its ``k x k``
    sub-pixels, so an integer reduction by ``k`` reads whole input pixels and
    equals area interpolation; clips with ``k = 1`` go through the plain warp
    unchanged (bit for bit).
    """
    oh, ow = out_hw
    pixel_major = is_pixel_major(clips)
    out = None
    for k in factors.unique().tolist():
        members = (factors == k).nonzero().squeeze(1)
        on_clips, on_matrices = members.to(clips.device), members.to(inverse.device)
        group = clips[on_clips]
        if pixel_major:  # keep the layout, so each group takes the sampler the whole batch would
            group = to_pixel_major(group) if group.ndim == 5 else group.contiguous(memory_format=torch.channels_last)
        if k == 1:
            part = warp_inverse(group, inverse[on_matrices], out_hw, **sample)
        else:
            to_output = torch.diag(torch.tensor([1.0 / k, 1.0 / k, 1.0], dtype=torch.float64, device=inverse.device))
            fine = warp_inverse(group, inverse[on_matrices] @ to_output, (oh * k, ow * k), **sample)
            lead = fine.shape[:-2]
            part = F.avg_pool2d(fine.reshape(-1, 1, oh * k, ow * k), k).view(*lead, oh, ow)
        if out is None:
            out = clips.new_empty((clips.shape[0], *part.shape[1:]))
            if pixel_major:
                out = to_pixel_major(out) if out.ndim == 5 else out.contiguous(memory_format=torch.channels_last)
        out[on_clips] = part
    return out


def warp_perspective(
    clips: Tensor,
    matrix: Tensor,
    out_size: int | Sequence[int],
    *,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    backend: str = "auto",
    copies: int = 1,
    antialias: bool = False,
) -> Tensor:
    """Warp every clip by its own homography: one ``grid_sample`` for the batch.

    ``clips``: float ``(B, C, T, H, W)`` (or images ``(B, C, H, W)``).
    ``matrix``: ``(B, 3, 3)`` or ``(3, 3)`` *forward* maps from input pixel
    coordinates to output pixel coordinates (the paper's ``(x, y) -> (u, v)``).
    ``out_size``: output ``(h, w)`` (or an int). Output pixels whose source falls
    outside the input are zero (``padding_mode="zeros"``), exactly like
    torchvision's ``perspective`` with ``fill=None``.

    ``backend``: ``"grid_sample"`` (one call, T folded into channels),
    ``"gather"`` (bilinear as one ``embedding_bag``; CPU, fastest on
    pixel-major clips, see `to_pixel_major`) or ``"auto"`` (gather for
    pixel-major CPU clips, grid_sample otherwise). Both give the same values
    (float rounding aside); the output keeps the input's memory layout.

    ``copies = K`` warps every clip K times with its own matrices
    (``matrix`` is then ``(B*K, 3, 3)``, clip-major) without repeating the
    input: output ``b*K + j`` is clip ``b`` under ``matrix[b*K + j]``.

    ``antialias=True``: where a clip's warp shrinks the image (an output pixel
    spans more than one input pixel), it is sampled ``k x k`` times per output
    pixel and averaged (`supersample_factors`), so detail finer than the output
    grid blends instead of aliasing; clips the warp does not shrink are
    unchanged. The default (off) is the plain sampler, as torchvision's
    ``perspective``.
    """
    inverse = torch.linalg.inv(matrix.to(torch.float64))
    out_hw = as_size2(out_size, "out_size")
    sample = dict(mode=mode, padding_mode=padding_mode, backend=backend)
    if antialias:
        inverse = inverse.expand(clips.shape[0] * copies, 3, 3)
        factors = supersample_factors(inverse, out_hw)
        if bool((factors > 1).any()):
            if copies > 1:  # the grouped path warps each output once: repeat the sources it reads
                clips = clips.repeat_interleave(copies, dim=0)
            return _warp_antialiased(clips, inverse, out_hw, factors, **sample)
    return warp_inverse(clips, inverse, out_hw, copies=copies, **sample)
