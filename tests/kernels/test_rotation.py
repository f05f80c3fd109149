"""3DRotNet rotation kernels: exact rot90 subsets, all-copies layout, 45-degree and continuous rotations."""

from __future__ import annotations

import math

import pytest
import torch

from vssl.kernels import rotation as R
from vssl.kernels.geometry import apply_homography


def clips_(b: int = 3, t: int = 2, size: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, t, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rot90_four_times_is_identity_and_inverse_restores(k: int) -> None:
    x = clips_()
    once = R.rotate90(x, torch.full((3,), k))
    assert torch.equal(once, torch.rot90(x, k, dims=(-2, -1)))
    assert torch.equal(R.rotate90(once, torch.full((3,), (4 - k) % 4)), x)
    y = x
    for _ in range(4):
        y = R.rotate90(y, torch.full((3,), k))
    assert torch.equal(y, x)


def test_per_clip_k_matches_rot90_clip_by_clip() -> None:
    x = clips_(b=5)
    k = torch.tensor([0, 1, 2, 3, 1])
    out = R.rotate90(x, k)
    for i in range(5):
        assert torch.equal(out[i], torch.rot90(x[i], int(k[i]), dims=(-2, -1)))


def test_non_square_frames() -> None:
    x = torch.rand(2, 3, 2, 6, 9)
    assert torch.equal(
        R.rotate90(x, torch.tensor([1, 3])),
        torch.stack([torch.rot90(x[0], 1, dims=(-2, -1)), torch.rot90(x[1], 3, dims=(-2, -1))]),
    )
    with pytest.raises(ValueError, match="square"):
        R.rotate90(x, torch.tensor([0, 1]))


@pytest.mark.parametrize("angles", list(R.TABLE3_SUBSETS.values()))
def test_all_copies_layout_labels_and_content(angles: tuple[int, ...]) -> None:
    x = clips_(b=3)
    out, labels = R.rotate90_all_copies(x, angles)
    k = len(angles)
    assert out.shape == (3 * k, *x.shape[1:])
    assert labels.tolist() == list(range(k)) * 3
    for b in range(3):
        for j, angle in enumerate(angles):
            assert torch.equal(out[b * k + j], torch.rot90(x[b], angle // 90, dims=(-2, -1)))


def test_random_rotate90_labels_index_the_subset() -> None:
    x = clips_(b=16)
    angles = (90, 180, 270)
    out, labels = R.random_rotate90(x, angles, torch.Generator().manual_seed(0))
    assert set(labels.tolist()) <= {0, 1, 2} and len(set(labels.tolist())) > 1
    for i in range(16):
        k = angles[int(labels[i])] // 90
        assert torch.equal(R.rotate90(out[i : i + 1], (4 - k) % 4), x[i : i + 1])


def test_bad_angle_sets() -> None:
    with pytest.raises(ValueError, match="must be in"):
        R.check_right_angles((0, 45))
    with pytest.raises(ValueError, match="distinct"):
        R.check_right_angles((0, 0))
    with pytest.raises(ValueError, match="at least one"):
        R.check_right_angles(())


@pytest.mark.parametrize("degrees", [0.0, 45.0, 90.0, 135.0, 200.0, 315.0, 17.0])
def test_inscribed_crop_leaves_no_empty_pixels(degrees: float) -> None:
    ones = torch.ones(1, 1, 1, 32, 32)
    out = R.rotate(ones, degrees, crop="inscribed")
    assert out.min() > 1 - 1e-4, f"{degrees} deg: min {out.min():.6f}"


def test_without_crop_45_degrees_has_empty_corners() -> None:
    out = R.rotate(torch.ones(1, 1, 1, 32, 32), 45.0, crop="none")
    assert out[..., 0, 0].item() == 0.0 and out[..., 16, 16].item() == pytest.approx(1.0)


def test_grid_rotation_of_symmetric_pattern() -> None:
    # A pattern symmetric under 90-degree rotation is unchanged by the grid path at 90/180/270.
    yy, xx = torch.meshgrid(torch.arange(16) + 0.5, torch.arange(16) + 0.5, indexing="ij")
    disc = ((yy - 8) ** 2 + (xx - 8) ** 2 < 25).float().view(1, 1, 1, 16, 16)
    for deg in (90.0, 180.0, 270.0):
        assert torch.allclose(R.rotate(disc, deg, crop="none"), disc, atol=1e-5)
    # And the grid path at right angles equals the exact one.
    x = clips_(b=2, size=16)
    assert torch.allclose(R.rotate(x, 90.0, crop="none"), torch.rot90(x, 1, dims=(-2, -1)), atol=1e-5)


def test_inscribed_crop_geometry() -> None:
    # Output corners map back inside the source frame for every one of the 8 angles.
    deg = torch.tensor(R.EIGHT_ANGLES, dtype=torch.float64)
    m = R.rotation_warp_matrix(deg, (112, 112), 112, crop="inscribed")
    corners = torch.tensor([[0.5, 0.5], [111.5, 0.5], [111.5, 111.5], [0.5, 111.5]], dtype=torch.float64)
    back = apply_homography(torch.linalg.inv(m), corners.expand(8, 4, 2))
    assert back.min() >= 0.5 - 1e-6 and back.max() <= 111.5 + 1e-6
    # The crop is the same size for every angle (the zoom does not reveal the label).
    scale = torch.linalg.det(m[:, :2, :2])
    assert torch.allclose(scale, torch.full_like(scale, 2.0), atol=1e-9)


def test_window_and_flip_compose_with_rotation() -> None:
    x = clips_(b=2, size=20)
    window = torch.tensor([[2.0, 3.0, 12.0, 12.0], [5.0, 0.0, 12.0, 12.0]], dtype=torch.float64)
    flip = torch.tensor([False, True])
    m = R.rotation_warp_matrix(torch.tensor([0.0, 90.0]), (20, 20), 12, crop="none", window=window, flip=flip)
    from vssl.kernels.geometry import warp_perspective

    out = warp_perspective(x, m, 12)
    assert torch.allclose(out[0], x[0, :, :, 3:15, 2:14], atol=1e-5)
    expect = torch.rot90(x[1, :, :, 0:12, 5:17].flip(-1), 1, dims=(-2, -1))
    assert torch.allclose(out[1], expect, atol=1e-5)


@pytest.mark.parametrize("encoding", list(R.ANGLE_ENCODINGS))
def test_angle_targets_round_trip(encoding: str) -> None:
    deg = torch.tensor([0.0, 44.5, 90.0, 181.0, 359.0], dtype=torch.float64)
    target = R.angle_target(deg, encoding)
    assert target.shape == (5, R.ANGLE_ENCODINGS[encoding])
    back = R.angle_from_target(target, encoding)
    assert torch.allclose(back, deg, atol=1e-3)
    if encoding == "fraction":
        assert target.min() >= 0 and target.max() < 1
    else:
        assert torch.allclose(target.norm(dim=1), torch.ones(5), atol=1e-6)
        assert target[2, 1].item() == pytest.approx(math.sin(math.pi / 2))
    with pytest.raises(ValueError, match="encoding"):
        R.angle_target(deg, "radians")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_rotations_cpu_and_cuda_agree() -> None:
    x = clips_(b=4, size=16)
    k = torch.tensor([0, 1, 2, 3])
    assert torch.equal(R.rotate90(x, k), R.rotate90(x.cuda(), k).cpu())
    deg = torch.tensor([0.0, 45.0, 135.0, 300.0])
    assert torch.allclose(R.rotate(x, deg), R.rotate(x.cuda(), deg.cuda()).cpu(), atol=1e-4)
