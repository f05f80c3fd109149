"""Batched augmentation: uint8 -> float, crops and flips (both layouts), resize, DIF."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from vssl.kernels import augment as A

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


def uint8_clips(b: int = 3, t: int = 4, h: int = 10, w: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (b, t, h, w, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_to_float_layout_and_normalisation() -> None:
    raw = uint8_clips()
    out = A.to_float(raw, MEAN, STD)
    assert out.shape == (3, 3, 4, 10, 12) and out.dtype == torch.float32 and out.is_contiguous()
    expect = (raw.permute(0, 4, 1, 2, 3).float() / 255 - torch.tensor(MEAN).view(1, 3, 1, 1, 1)) / torch.tensor(
        STD
    ).view(1, 3, 1, 1, 1)
    assert torch.allclose(out, expect, atol=1e-5)
    assert torch.equal(A.to_uint8(out, MEAN, STD), raw)


def test_to_float_pixel_major_layout() -> None:
    from vssl.kernels.geometry import is_pixel_major

    raw = uint8_clips()
    pm = A.to_float(raw, MEAN, STD, pixel_major=True)
    assert is_pixel_major(pm) and pm.shape == (3, 3, 4, 10, 12)
    assert torch.equal(pm, A.to_float(raw, MEAN, STD))


def test_to_float_errors() -> None:
    with pytest.raises(ValueError, match="uint8"):
        A.to_float(torch.rand(1, 2, 3, 4, 3))
    with pytest.raises(ValueError, match="3 channels"):
        A.to_float(uint8_clips(), (0.5, 0.5), STD)
    with pytest.raises(ValueError, match="positive"):
        A.to_float(uint8_clips(), MEAN, (0.1, 0.0, 0.1))


def test_crop_and_flip_per_clip_both_layouts() -> None:
    raw = uint8_clips(b=4)
    x = A.to_float(raw, MEAN, STD)
    top, left = torch.tensor([0, 2, 1, 3]), torch.tensor([4, 0, 2, 1])
    flip = torch.tensor([False, True, True, False])
    out = A.crop(x, top, left, (6, 8), flip=flip)
    out_u8 = A.crop(raw, top, left, (6, 8), flip=flip, layout="bthwc")
    for b in range(4):
        expect = x[b, :, :, top[b] : top[b] + 6, left[b] : left[b] + 8]
        if flip[b]:
            expect = expect.flip(-1)
        assert torch.equal(out[b], expect)
    assert torch.allclose(A.to_float(out_u8, MEAN, STD), out, atol=1e-6)


def test_crop_rejects_offsets_outside_the_frame() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        A.crop(torch.rand(2, 3, 2, 10, 10), torch.tensor([0, 5]), torch.tensor([0, 0]), 6)
    with pytest.raises(ValueError, match="larger than"):
        A.random_crop(torch.rand(2, 3, 2, 10, 10), 11)


def test_random_crop_flip_is_per_clip_and_reproducible() -> None:
    x = torch.arange(20 * 20, dtype=torch.float32).view(1, 1, 1, 20, 20).expand(16, 3, 2, 20, 20).contiguous()
    a = A.random_crop_flip(x, 8, torch.Generator().manual_seed(0))
    b = A.random_crop_flip(x, 8, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    corners = {tuple(a[i, 0, 0, 0, [0, -1]].tolist()) for i in range(16)}
    assert len(corners) > 8  # different clips got different offsets/flips
    flipped = (a[:, 0, 0, 0, 0] > a[:, 0, 0, 0, -1]).sum().item()
    assert 0 < flipped < 16


def test_center_crop_matches_torchvision() -> None:
    x = torch.rand(2, 3, 2, 13, 17)
    out = A.center_crop(x, (8, 10))
    ref = TF.center_crop(x.view(2, 6, 13, 17), [8, 10]).view(2, 3, 2, 8, 10)
    assert torch.equal(out, ref)
    raw = uint8_clips(h=13, w=17)
    assert torch.equal(A.center_crop(raw, 8, layout="bthwc"), raw[:, :, 2:10, 4:12])


def test_horizontal_flip_per_clip() -> None:
    x = torch.rand(3, 3, 2, 4, 5)
    out = A.horizontal_flip(x, torch.tensor([True, False, True]))
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1]) and torch.equal(out[2], x[2].flip(-1))
    r = A.random_horizontal_flip(x, torch.Generator().manual_seed(0), p=1.0)
    assert torch.equal(r, x.flip(-1))


def test_resize_matches_interpolate() -> None:
    x = torch.rand(2, 3, 4, 20, 30)
    out = A.resize(x, (10, 12))
    ref = F.interpolate(x.view(2, 12, 20, 30), size=(10, 12), mode="bilinear", align_corners=False)
    assert torch.equal(out, ref.view(2, 3, 4, 10, 12))
    assert A.resize(x, (20, 30)) is x


def test_frame_difference_convention() -> None:
    x = torch.arange(5, dtype=torch.float32).view(1, 1, 5, 1, 1).expand(2, 3, 5, 2, 2) ** 2
    d = A.frame_difference(x)
    assert d.shape == (2, 3, 4, 2, 2)
    assert d[0, 0, :, 0, 0].tolist() == [1.0, 3.0, 5.0, 7.0]
    assert A.dif_frames_needed(16) == 17
    assert A.frames_for_modality(16, "rgb") == 16 and A.frames_for_modality(16, "dif") == 17
    with pytest.raises(ValueError, match="modality"):
        A.frames_for_modality(16, "flow")
    with pytest.raises(ValueError, match="T>=2"):
        A.frame_difference(torch.rand(1, 3, 1, 2, 2))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cpu_and_cuda_agree() -> None:
    raw = uint8_clips(b=4, h=16, w=16)
    cpu = A.random_crop_flip(A.to_float(raw, MEAN, STD), 8, torch.Generator().manual_seed(0))
    gpu = A.random_crop_flip(A.to_float(raw.cuda(), MEAN, STD), 8, torch.Generator().manual_seed(0))
    assert torch.allclose(cpu, gpu.cpu(), atol=1e-6)
