"""V3S spatial scale / projection: corner targets, crop rule, label bijection, exactness of the mapping."""

from __future__ import annotations

import pytest
import torch

from vssl.kernels import spatial as S
from vssl.kernels.augment import crop
from vssl.kernels.geometry import apply_homography, frame_corners, solve_homography


def params_of(space: S.SpatialLabelSpace) -> torch.Tensor:
    return space.params()


def test_paper_example_right_head_end() -> None:
    # V3S §3.1: right head end, (0,0), (0,H), (W,(H+cH)/2), (W,(H-cH)/2).
    h = w = 224
    c = 0.5
    p = torch.tensor([[1.0, 1.0, c, float(S.SIDES.index("right"))]], dtype=torch.float64)
    quad = S.quad_targets(p, (h, w))[0]
    expect = torch.tensor([[0, 0], [0, h], [w, (h + c * h) / 2], [w, (h - c * h) / 2]], dtype=torch.float64)
    assert torch.equal(quad, expect)


@pytest.mark.parametrize("side", S.SIDES)
def test_head_end_has_length_c_times_its_side(side: str) -> None:
    h, w, c = 100, 160, 0.65
    p = torch.tensor([[1.0, 1.0, c, float(S.SIDES.index(side))]], dtype=torch.float64)
    tl, bl, br, tr = S.quad_targets(p, (h, w))[0]
    ends = {"top": (tl, tr), "bottom": (bl, br), "left": (tl, bl), "right": (tr, br)}
    tails = {"top": (bl, br), "bottom": (tl, tr), "left": (tr, br), "right": (tl, bl)}
    full = w if side in ("top", "bottom") else h
    assert (ends[side][0] - ends[side][1]).norm().item() == pytest.approx(c * full)
    assert (tails[side][0] - tails[side][1]).norm().item() == pytest.approx(full)


def test_scale_targets() -> None:
    p = torch.tensor([[1.3, 1.0, 1.0, 0.0], [1.0, 1.45, 1.0, 0.0]], dtype=torch.float64)
    quads = S.quad_targets(p, (224, 224))
    assert torch.allclose(quads[0], frame_corners(1.3 * 224, 224))
    assert torch.allclose(quads[1], frame_corners(224, 1.45 * 224))


def test_default_union_label_space() -> None:
    space = S.SpatialLabelSpace()
    assert len(space) == 1 + 6 + 3 * 4
    assert space.choices[0] == S.SpatialChoice() and space.choices[0].kind == "identity"
    assert [c.scale for c in space.choices[1:7]] == list(S.DEFAULT_SS_SCALES)
    assert space.choices[7] == S.SpatialChoice(projection=(0.8, "top"))
    assert space.choices[-1] == S.SpatialChoice(projection=(0.5, "right"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"identity": False},
        {"scales": ()},
        {"factors": ()},
        {"combine": "product"},
        {"combine": "product", "identity": False},
        {"factors": (0.8,), "sides": ("left", "right")},
    ],
)
def test_labels_are_a_bijection_with_the_parameters(kwargs: dict) -> None:
    space = S.SpatialLabelSpace(**kwargs)
    assert len(set(space.choices)) == len(space) == len(set(space.names))
    for label, choice in enumerate(space.choices):
        assert space.label_of(choice) == label
    rows = {tuple(r.tolist()) for r in params_of(space)}
    assert len(rows) == len(space)
    # Distinct parameters give distinct quads: the label is recoverable from the transformation.
    quads = S.quad_targets(params_of(space), (224, 224)).flatten(1)
    assert torch.cdist(quads, quads).add(torch.eye(len(space)) * 1e9).min() > 1.0
    if kwargs.get("combine") == "product":
        n_ss = len(kwargs.get("scales", S.DEFAULT_SS_SCALES)) + 1
        n_sp = len(kwargs.get("factors", S.DEFAULT_SP_FACTORS)) * 4 + 1
        assert len(space) == n_ss * n_sp - (0 if kwargs.get("identity", True) else 1)


def test_label_space_rejects_duplicates_and_bad_values() -> None:
    with pytest.raises(ValueError, match="not distinct"):
        S.SpatialLabelSpace(scales=((1.0, 1.0),))
    with pytest.raises(ValueError, match="not distinct"):
        S.SpatialLabelSpace(factors=(1.0,))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        S.SpatialLabelSpace(factors=(1.2,))
    with pytest.raises(ValueError, match="sides"):
        S.SpatialLabelSpace(sides=("front",))
    with pytest.raises(ValueError, match="empty"):
        S.SpatialLabelSpace(scales=(), factors=(), identity=False)
    with pytest.raises(ValueError, match="combine"):
        S.SpatialLabelSpace(combine="sum")
    with pytest.raises(ValueError, match="smaller than"):
        S.SpatialLabelSpace(scales=((1.0, 0.3),)).check_fits((224, 224), (112, 112))
    with pytest.raises(ValueError, match="not in this label space"):
        S.SpatialLabelSpace().label_of(S.SpatialChoice(scale=(2.0, 1.0)))


@pytest.mark.parametrize("combine", ["union", "product"])
@pytest.mark.parametrize("sp_crop", ["random", "center"])
def test_crop_windows_stay_inside_the_transformed_frame(combine: str, sp_crop: str) -> None:
    space = S.SpatialLabelSpace(combine=combine)
    k = len(space)
    params = params_of(space).repeat(20, 1)
    u = torch.rand(params.shape[0], 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u[:k] = 0.0
    u[k : 2 * k] = 1.0 - 1e-12  # the extreme positions
    windows = S.crop_windows(params, (224, 224), (112, 112), u, sp_crop=sp_crop)
    m = solve_homography(frame_corners(224, 224), S.quad_targets(params, (224, 224)))
    left, top, width, height = windows.unbind(1)
    corners = torch.stack(
        [
            torch.stack([left, top], 1),
            torch.stack([left + width, top], 1),
            torch.stack([left + width, top + height], 1),
            torch.stack([left, top + height], 1),
        ],
        1,
    )
    back = apply_homography(torch.linalg.inv(m), corners)  # window corners in the original frame
    assert back.min() > -1e-6 and back.max() < 224 + 1e-6
    projected = params[:, 2] < 1
    # Paper: crop l x l with l the head-end length (capped by the depth), otherwise the 112 crop.
    head = torch.where(params[:, 3] >= 2, params[:, 1], params[:, 0]) * 224 * params[:, 2]
    depth = torch.where(params[:, 3] >= 2, params[:, 0], params[:, 1]) * 224
    assert torch.allclose(width[projected], torch.minimum(head, depth)[projected])
    assert torch.all(width[~projected] == 112) and torch.all(height == width)
    # Plain crops sit at integer offsets.
    assert torch.equal(left[~projected], left[~projected].floor())


@pytest.mark.parametrize("combine", ["union", "product"])
def test_no_empty_pixels_for_any_class(combine: str) -> None:
    # With zero padding an output pixel sampled outside the warped frame would be < 0.5; pixels
    # within half a source pixel of the frame's edge legitimately blend a little (see v3s_spatial).
    space = S.SpatialLabelSpace(combine=combine)
    k = len(space)
    ones = torch.ones(3 * k, 1, 1, 48, 48)
    labels = torch.arange(k).repeat(3)
    params = space.params()[labels]
    u = torch.rand(3 * k, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u[:k], u[k : 2 * k] = 0.0, 1.0 - 1e-12
    windows = S.crop_windows(params, (48, 48), (24, 24), u)
    out = S.v3s_spatial(ones, params, windows, frame_size=48, out_size=24, padding_mode="zeros")
    assert out.min() > 0.5
    assert S.v3s_spatial(ones, params, windows, frame_size=48, out_size=24).min() > 1 - 1e-5


def test_identity_class_is_an_exact_random_crop() -> None:
    x = torch.rand(4, 3, 2, 32, 32)
    space = S.SpatialLabelSpace()
    params = params_of(space)[[0, 0, 0, 0]]
    u = torch.rand(4, 2, dtype=torch.float64)
    windows = S.crop_windows(params, (32, 32), (16, 16), u)
    out = S.v3s_spatial(x, params, windows, frame_size=32, out_size=16)
    expect = crop(x, windows[:, 1].long(), windows[:, 0].long(), 16)
    assert torch.allclose(out, expect, atol=1e-5)


def test_scale_and_projection_map_pixels_where_the_paper_says() -> None:
    # On a linear ramp bilinear interpolation is exact, so each output pixel's value is the
    # source coordinate it was sampled from: compare with the analytic inverse mapping.
    size = 40
    ramp_x = (torch.arange(size) + 0.5).view(1, size).expand(size, size)
    ramp_y = (torch.arange(size) + 0.5).view(size, 1).expand(size, size)
    x = torch.stack([ramp_x, ramp_y]).view(1, 2, 1, size, size).double()
    space = S.SpatialLabelSpace()
    for label in (3, 5, 10, 16):  # SS(1,1.45), SS(1.3,1), SP(0.8,right), SP(0.5,bottom)
        params = params_of(space)[[label]]
        windows = S.crop_windows(params, (size, size), (20, 20), torch.tensor([[0.3, 0.6]], dtype=torch.float64))
        # Where one sample lands is the plain sampler's geometry; supersampling averages around it.
        out = S.v3s_spatial(x, params, windows, frame_size=size, out_size=20, antialias=False)
        m = S.spatial_matrix(params, windows, (size, size), (size, size), (20, 20))
        centres = torch.stack(torch.meshgrid(torch.arange(20) + 0.5, torch.arange(20) + 0.5, indexing="xy"), -1)
        src = apply_homography(torch.linalg.inv(m[0]), centres.reshape(-1, 2).double()).view(20, 20, 2)
        inside = (src > 0.5).all(-1) & (src < size - 0.5).all(-1)
        assert inside.float().mean() > 0.9
        got = out[0, :, 0].permute(1, 2, 0)
        assert torch.allclose(got[inside], src[inside], atol=1e-6), space.names[label]


def test_scale_stretches_objects_by_a_and_b() -> None:
    # A bright square of side 8 in a 64 frame; SS(1.45, 1) makes it 1.45x wider, as tall.
    x = torch.zeros(1, 1, 1, 64, 64, dtype=torch.float64)
    x[..., 28:36, 28:36] = 1.0
    p = torch.tensor([[1.45, 1.0, 1.0, 0.0]], dtype=torch.float64)
    windows = torch.tensor([[0.0, 0.0, 64 * 1.45, 64.0]], dtype=torch.float64)
    out = S.v3s_spatial(x, p, windows, frame_size=64, out_size=(64, 93))  # ~1 output px per stretched px
    assert out[0, 0, 0].sum(1).max().item() == pytest.approx(8 * 1.45 * 93 / (64 * 1.45), rel=0.05)
    assert out[0, 0, 0].sum(0).max().item() == pytest.approx(8 * 93 / (64 * 1.45), rel=0.05)


def test_flip_happens_before_the_transformation() -> None:
    x = torch.rand(2, 3, 2, 24, 24)
    space = S.SpatialLabelSpace()
    label = space.label_of(S.SpatialChoice(projection=(0.65, "left")))
    params = params_of(space)[[label, label]]
    windows = S.crop_windows(params, (24, 24), (12, 12), torch.full((2, 2), 0.5, dtype=torch.float64))
    flipped = S.v3s_spatial(x, params, windows, frame_size=24, out_size=12, flip=torch.tensor([True, False]))
    plain = S.v3s_spatial(x.flip(-1), params, windows, frame_size=24, out_size=12)
    assert torch.allclose(flipped[0], plain[0], atol=1e-5)


def test_stored_size_is_resized_to_the_working_frame() -> None:
    # A 2x larger stored clip gives the same result as the working-size clip (on a smooth ramp).
    ramp = torch.linspace(0, 1, 64).view(1, 1, 1, 1, 64).expand(1, 1, 1, 64, 64)
    small = torch.nn.functional.interpolate(
        ramp.view(1, 1, 64, 64), size=(32, 32), mode="bilinear", align_corners=False
    ).view(1, 1, 1, 32, 32)
    p = params_of(S.SpatialLabelSpace())[[12]]
    w = S.crop_windows(p, (32, 32), (16, 16), torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    a = S.v3s_spatial(ramp.contiguous(), p, w, frame_size=32, out_size=16)
    b = S.v3s_spatial(small.contiguous(), p, w, frame_size=32, out_size=16)
    assert torch.allclose(a, b, atol=1e-3)


def test_sampling_is_per_clip_and_reproducible() -> None:
    x = torch.rand(16, 3, 2, 32, 32)
    space = S.SpatialLabelSpace()
    out1, lab1 = S.random_v3s_spatial(
        x, space, torch.Generator().manual_seed(7), frame_size=32, crop_size=16, out_size=16
    )
    out2, lab2 = S.random_v3s_spatial(
        x, space, torch.Generator().manual_seed(7), frame_size=32, crop_size=16, out_size=16
    )
    out3, lab3 = S.random_v3s_spatial(
        x, space, torch.Generator().manual_seed(8), frame_size=32, crop_size=16, out_size=16
    )
    assert torch.equal(out1, out2) and torch.equal(lab1, lab2)
    assert len(set(lab1.tolist())) > 4
    assert not torch.equal(lab1, lab3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_and_cuda_agree() -> None:
    x = torch.rand(8, 3, 2, 48, 48)
    space = S.SpatialLabelSpace()
    cpu, lab_c = S.random_v3s_spatial(
        x, space, torch.Generator().manual_seed(3), frame_size=48, crop_size=24, out_size=24
    )
    gpu, lab_g = S.random_v3s_spatial(
        x.cuda(), space, torch.Generator().manual_seed(3), frame_size=48, crop_size=24, out_size=24
    )
    assert torch.equal(lab_c, lab_g.cpu())
    assert torch.allclose(cpu, gpu.cpu(), atol=1e-4)


def test_shrinking_classes_are_antialiased_and_exact_crops_are_not_touched() -> None:
    # V3S geometry: SP c = 0.8 takes a 179 px square of the 224 frame down to 112 (1.6x): a one-pixel
    # checkerboard must come out grey, not aliased; the "O" class stays an exact pixel crop.
    board = ((torch.arange(224).view(-1, 1) + torch.arange(224)) % 2).float().expand(1, 3, 2, 224, 224)
    space = S.SpatialLabelSpace()
    u = torch.full((1, 2), 0.5, dtype=torch.float64)
    sp = params_of(space)[[space.names.index("SP(0.8,right)")]]
    windows = S.crop_windows(sp, (224, 224), (112, 112), u)
    smooth = S.v3s_spatial(board, sp, windows, frame_size=224, out_size=112)
    plain = S.v3s_spatial(board, sp, windows, frame_size=224, out_size=112, antialias=False)
    assert plain.std() > 0.1 and smooth.std() < 0.25 * plain.std()
    identity = params_of(space)[[0]]
    windows = S.crop_windows(identity, (224, 224), (112, 112), u)
    assert torch.equal(
        S.v3s_spatial(board, identity, windows, frame_size=224, out_size=112),
        S.v3s_spatial(board, identity, windows, frame_size=224, out_size=112, antialias=False),
    )
