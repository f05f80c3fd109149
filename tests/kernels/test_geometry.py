"""Homography solver and batched perspective warp, cross-checked against torchvision."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torchvision.transforms.v2.functional._geometry import _get_perspective_coeffs

from vssl.kernels import geometry as G
from vssl.kernels.spatial import SpatialLabelSpace, quad_targets

# torchvision orders corners TL, TR, BR, BL; the paper (and `frame_corners`) TL, BL, BR, TR.
TV_ORDER = [0, 3, 2, 1]


def random_quads(n: int, size: float, gen: torch.Generator) -> torch.Tensor:
    """Convex-ish quads: frame corners jittered by up to 20% of the side."""
    base = G.frame_corners(size, size)
    return base + (torch.rand(n, 4, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.4 * size


def test_homography_maps_corners_to_requested_points() -> None:
    gen = torch.Generator().manual_seed(0)
    src = G.frame_corners(112, 112)
    dst = random_quads(64, 112, gen)
    m = G.solve_homography(src, dst)
    assert m.shape == (64, 3, 3)
    assert torch.all(m[:, 2, 2] == 1)
    assert (G.apply_homography(m, src) - dst).abs().max() < 1e-4


def test_paper_quads_solve_exactly() -> None:
    space = SpatialLabelSpace()
    dst = quad_targets(space.params(), (224, 224))
    m = G.solve_homography(G.frame_corners(224, 224), dst)
    assert (G.apply_homography(m, G.frame_corners(224, 224)) - dst).abs().max() < 1e-4
    # The identity class solves to the identity, SS classes to diag(a, b, 1).
    assert torch.allclose(m[0], torch.eye(3, dtype=torch.float64), atol=1e-12)
    for label, choice in enumerate(space.choices):
        if choice.kind == "ss":
            a, b = choice.scale
            assert torch.allclose(m[label], torch.diag(torch.tensor([a, b, 1.0], dtype=torch.float64)), atol=1e-12)


def test_degenerate_correspondence_is_a_clear_error() -> None:
    src = G.frame_corners(10, 10)
    dst = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="degenerate"):
        G.solve_homography(src, dst)


def test_coefficients_match_torchvision() -> None:
    gen = torch.Generator().manual_seed(1)
    src = G.frame_corners(64, 48)
    for dst in random_quads(8, 64, gen):
        tv = torch.tensor(_get_perspective_coeffs(src[TV_ORDER].tolist(), dst[TV_ORDER].tolist()), dtype=torch.float64)
        # torchvision's coefficients map output -> input: our solver with the roles swapped ...
        ours_inverse = G.solve_homography(dst, src).flatten()[:8]
        assert torch.allclose(ours_inverse, tv, atol=1e-4, rtol=1e-4)
        # ... and the normalised inverse of the forward matrix.
        inv = torch.linalg.inv(G.solve_homography(src, dst))
        assert torch.allclose((inv / inv[2, 2]).flatten()[:8], tv, atol=1e-4, rtol=1e-4)


def test_warp_matches_torchvision_perspective() -> None:
    gen = torch.Generator().manual_seed(2)
    clips = torch.rand(4, 3, 2, 40, 48, generator=gen)
    src = G.frame_corners(48, 40)
    dst = random_quads(4, 40, gen)
    ours = G.warp_perspective(clips, G.solve_homography(src, dst), (40, 48))
    for i in range(4):
        ref = TF.perspective(clips[i], src[TV_ORDER].tolist(), dst[i][TV_ORDER].tolist())
        diff = (ours[i] - ref).abs()
        assert diff.max() < 1e-4, f"clip {i}: max diff {diff.max():.2e}"


def test_identity_warp_is_identity() -> None:
    clips = torch.rand(3, 2, 4, 17, 23)
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(G.warp_perspective(clips, eye, (17, 23)), clips, atol=1e-5)


def test_integer_translation_is_an_exact_crop() -> None:
    clips = torch.rand(2, 3, 2, 20, 20)
    m = G.translation_matrix(torch.tensor([-3.0, -5.0]), torch.tensor([-4.0, 0.0]), 2)
    out = G.warp_perspective(clips, m, (8, 10))
    assert torch.allclose(out[0], clips[0, :, :, 4:12, 3:13], atol=1e-5)
    assert torch.allclose(out[1], clips[1, :, :, 0:8, 5:15], atol=1e-5)


def test_each_clip_uses_its_own_matrix_and_all_frames_share_it() -> None:
    gen = torch.Generator().manual_seed(3)
    clips = torch.rand(3, 2, 5, 16, 16, generator=gen)
    src = G.frame_corners(16, 16)
    m = G.solve_homography(src, random_quads(3, 16, gen))
    batched = G.warp_perspective(clips, m, (16, 16))
    for i in range(3):
        alone = G.warp_perspective(clips[i : i + 1], m[i], (16, 16))
        assert torch.allclose(batched[i : i + 1], alone, atol=1e-6)
        per_frame = G.warp_perspective(clips[i].permute(1, 0, 2, 3), m[i], (16, 16))  # frames as a batch
        assert torch.allclose(batched[i], per_frame.permute(1, 0, 2, 3), atol=1e-6)


def test_rotation_matrix_90_matches_rot90() -> None:
    clips = torch.rand(2, 3, 2, 12, 12)
    m = G.rotation_matrix(90.0, (6.0, 6.0), 2)
    out = G.warp_perspective(clips, m, (12, 12))
    assert torch.allclose(out, torch.rot90(clips, 1, dims=(-2, -1)), atol=1e-5)


def test_inscribed_square_side() -> None:
    assert G.inscribed_square_side(100, 45) == pytest.approx(100 / 2**0.5)
    assert G.inscribed_square_side(100, 90) == pytest.approx(100)
    assert G.inscribed_square_side(100, 30) == pytest.approx(100 / (3**0.5 / 2 + 0.5))


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="3x3"):
        G.warp_perspective(torch.rand(2, 3, 4, 8, 8), torch.eye(3).expand(3, 3, 3), 8)
    with pytest.raises(TypeError, match="float"):
        G.warp_perspective(torch.zeros(1, 3, 2, 8, 8, dtype=torch.uint8), torch.eye(3), 8)
    with pytest.raises(ValueError, match="out_size"):
        G.warp_perspective(torch.rand(1, 3, 2, 8, 8), torch.eye(3), (0, 8))


@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
def test_backends_agree_and_keep_the_layout(padding_mode: str) -> None:
    gen = torch.Generator().manual_seed(5)
    clips = torch.rand(3, 3, 4, 20, 24, generator=gen)
    m = G.solve_homography(G.frame_corners(24, 20), random_quads(3, 20, gen))
    ref = G.warp_perspective(clips, m, (15, 17), backend="grid_sample", padding_mode=padding_mode)
    gathered = G.warp_perspective(clips, m, (15, 17), backend="gather", padding_mode=padding_mode)
    pixel_major = G.to_pixel_major(clips)
    assert G.is_pixel_major(pixel_major) and not G.is_pixel_major(clips) and torch.equal(pixel_major, clips)
    auto = G.warp_perspective(pixel_major, m, (15, 17), padding_mode=padding_mode)  # picks gather on CPU
    assert torch.allclose(gathered, ref, atol=1e-5) and torch.allclose(auto, ref, atol=1e-5)
    assert G.is_pixel_major(auto) and ref.is_contiguous()
    with pytest.raises(ValueError, match="gather backend"):
        G.warp_perspective(clips, m, 8, backend="gather", mode="nearest")


@pytest.mark.parametrize("backend", ["grid_sample", "gather"])
@pytest.mark.parametrize("pixel_major", [False, True])
def test_copies_warp_each_clip_k_times(backend: str, pixel_major: bool) -> None:
    gen = torch.Generator().manual_seed(6)
    clips = torch.rand(2, 3, 3, 16, 16, generator=gen)
    if pixel_major:
        clips = G.to_pixel_major(clips)
    m = G.solve_homography(G.frame_corners(16, 16), random_quads(6, 16, gen))  # 2 clips x 3 copies
    out = G.warp_perspective(clips, m, (10, 12), backend=backend, copies=3)
    assert out.shape == (6, 3, 3, 10, 12)
    for i in range(6):
        alone = G.warp_perspective(clips[i // 3 : i // 3 + 1].contiguous(), m[i], (10, 12), backend="grid_sample")
        assert torch.allclose(out[i : i + 1], alone, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("antialias", [False, True])
def test_warp_cpu_and_cuda_agree(antialias: bool) -> None:
    gen = torch.Generator().manual_seed(4)
    clips = torch.rand(4, 3, 4, 32, 32, generator=gen)
    m = G.solve_homography(G.frame_corners(32, 32), random_quads(4, 32, gen))
    cpu = G.warp_perspective(clips, m, (12, 12), antialias=antialias)
    gpu = G.warp_perspective(clips.cuda(), m.cuda(), (12, 12), antialias=antialias).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-4)


# --------------------------------------------------------------------------- anti-aliasing


def test_supersample_factor_is_the_pixel_footprint() -> None:
    shrink = torch.stack([G.scale_matrix(s, s, 1)[0] for s in (1.0, 1.5, 1 / 1.6, 1 / 2.5, 1 / 10)])
    factors = G.supersample_factors(torch.linalg.inv(shrink), (16, 16))
    assert factors.tolist() == [1, 1, 2, 3, G.MAX_SUPERSAMPLE]


@pytest.mark.parametrize("pixel_major", [False, True])
def test_antialiased_integer_reduction_equals_area_interpolation(pixel_major: bool) -> None:
    # Held to the library: a k-fold reduction averages whole k x k input pixels, as mode="area" does.
    clips = torch.rand(2, 3, 4, 36, 36, generator=torch.Generator().manual_seed(0))
    if pixel_major:
        clips = G.to_pixel_major(clips)
    out = G.warp_perspective(clips, G.scale_matrix(1 / 3, 1 / 3, 2), 12, antialias=True)
    area = torch.nn.functional.interpolate(clips.reshape(2, 12, 36, 36), size=(12, 12), mode="area")
    assert torch.allclose(out, area.view(2, 3, 4, 12, 12), atol=1e-5)
    assert G.is_pixel_major(out) == pixel_major
    plain = G.warp_perspective(clips, G.scale_matrix(1 / 3, 1 / 3, 2), 12)
    assert (plain - area.view(2, 3, 4, 12, 12)).abs().max() > 0.3  # what the plain sampler does instead


def test_antialiasing_blends_detail_finer_than_the_output_grid() -> None:
    # A one-pixel checkerboard shrunk 1.6x is grey to an anti-aliased resize; a plain sampler aliases it.
    board = ((torch.arange(32).view(-1, 1) + torch.arange(32)) % 2).float().view(1, 1, 32, 32)
    m = G.scale_matrix(1 / 1.6, 1 / 1.6, 1)
    plain = G.warp_perspective(board, m, 20)
    smooth = G.warp_perspective(board, m, 20, antialias=True)
    library = torch.nn.functional.interpolate(board, size=(20, 20), mode="bilinear", antialias=True)
    assert plain.std() > 0.1 and smooth.std() < 0.03
    assert (smooth - library).abs().mean() < 0.2 * (plain - library).abs().mean()
    assert torch.allclose(smooth.mean(), torch.tensor(0.5), atol=0.01)


@pytest.mark.parametrize("pixel_major", [False, True])
def test_antialias_leaves_crops_and_enlargements_bit_for_bit(pixel_major: bool) -> None:
    gen = torch.Generator().manual_seed(3)
    clips = torch.rand(3, 3, 2, 24, 24, generator=gen)
    if pixel_major:
        clips = G.to_pixel_major(clips)
    # Clip 0 enlarged, clip 1 shifted (an exact crop), clip 2 shrunk: one batch.
    m = torch.stack(
        [G.scale_matrix(1.3, 1.3, 1)[0], G.translation_matrix(-3.0, -5.0, 1)[0], G.scale_matrix(0.6, 0.6, 1)[0]]
    )
    out = G.warp_perspective(clips, m, 16, antialias=True)
    plain = G.warp_perspective(clips, m, 16)
    assert torch.equal(out[:2], plain[:2])
    assert not torch.allclose(out[2], plain[2], atol=1e-3)


def test_antialias_with_copies_matches_each_copy_alone() -> None:
    gen = torch.Generator().manual_seed(4)
    clips = torch.rand(2, 3, 2, 24, 24, generator=gen)
    m = torch.stack([G.scale_matrix(s, s, 1)[0] for s in (1.0, 0.5, 0.7, 1.2)])  # 2 clips x 2 copies
    out = G.warp_perspective(clips, m, 12, copies=2, antialias=True)
    for i in range(4):
        alone = G.warp_perspective(clips[i // 2 : i // 2 + 1], m[i], 12, antialias=True)
        assert torch.allclose(out[i : i + 1], alone, atol=1e-6)
