"""Pretext objects: heads, frame counts, targets consistent with the transformations, reproducibility."""

from __future__ import annotations

import pytest
import torch

from vssl.kernels import pretext as P
from vssl.kernels.rotation import rotate90
from vssl.kernels.temporal import TemporalLabelSpace


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def clips_(b: int = 4, t: int = 16, size: int = 20, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 3, t, size, size, generator=gen(seed))


def test_registry_and_errors() -> None:
    # At least the pretexts the docs list; a pretext added by docs/pretexts.md needs no edit here.
    assert set(P.PRETEXTS) >= {"rotation", "rotation8", "rotation360", "v3s", "pace", "vcop", "contrastive"}
    with pytest.raises(ValueError, match="unknown pretext"):
        P.build_pretext("jigsaw")
    with pytest.raises(ValueError, match="no parameter"):
        P.build_pretext("rotation", angle=(0, 90))
    with pytest.raises(ValueError, match="mode"):
        P.build_pretext("rotation", mode="some")
    with pytest.raises(ValueError, match="at least one"):
        P.build_pretext("v3s", ss=False, sp=False, ts=False, tp=False)
    with pytest.raises(ValueError, match="float clips"):
        P.build_pretext("rotation").apply(torch.zeros(2, 3, 16, 20, 20, dtype=torch.uint8))


def test_heads_and_frames_needed() -> None:
    assert P.build_pretext("rotation").heads == {"rotation": ("classification", 4)}
    assert P.build_pretext("rotation", angles="0,90").heads == {"rotation": ("classification", 2)}
    assert P.build_pretext("rotation8").heads == {"rotation": ("classification", 8)}
    assert P.build_pretext("rotation360").heads == {"rotation": ("regression", 1)}
    assert P.build_pretext("rotation360", encoding="cos_sin").heads == {"rotation": ("regression", 2)}
    v3s = P.build_pretext("v3s")
    assert v3s.heads == {"spatial": ("classification", 19), "temporal": ("classification", 11)}
    assert v3s.frames_needed() == 69 and v3s.frames_needed(32) == 15 * 4 + 16 * 5 + 1  # TP (4, 5), 16+16
    assert v3s.frames_needed() == TemporalLabelSpace().max_span
    assert P.build_pretext("v3s", ts=False, tp=False).heads == {"spatial": ("classification", 19)}
    assert P.build_pretext("v3s", ts=False, tp=False).temporal_choices is None
    assert P.build_pretext("v3s", ss=False, sp=False).heads == {"temporal": ("classification", 11)}
    assert P.build_pretext("v3s", ss=True, sp=False, ts=False, tp=False).heads["spatial"][1] == 7
    assert P.build_pretext("v3s", ts=False).heads["temporal"][1] == 9  # original + 8 TP patterns
    assert P.build_pretext("rotation").frames_needed() == 16
    assert P.build_pretext("rotation", modality="dif").frames_needed() == 17
    assert P.build_pretext("rotation", length=64).frames_needed() == 64


def test_spec_round_trips() -> None:
    for name, params in [
        ("rotation", {"angles": (90, 180, 270), "mode": "random"}),
        ("rotation360", {"encoding": "cos_sin"}),
        ("v3s", {"ss": False, "sp_factors": [0.8, 0.7, 0.6], "tp_patterns": [[1, 2], [2, 1]]}),
    ]:
        p = P.build_pretext(name, **params)
        q = P.build_pretext(p.spec()["name"], **p.spec()["params"])
        assert q.heads == p.heads and q.spec() == p.spec()


def test_rotation_all_copies_content_and_labels() -> None:
    # Crop = whole frame and no flip, so the only transformation is the rotation.
    x = clips_(b=3)
    pre = P.build_pretext("rotation", crop_size=20, flip_p=0.0)
    inputs, targets = pre.apply(x, None, gen())
    assert inputs.shape == (12, 3, 16, 20, 20) and pre.outputs_per_clip == 4
    assert targets["rotation"].tolist() == [0, 1, 2, 3] * 3
    for i in range(12):
        k = int(targets["rotation"][i])
        assert torch.equal(rotate90(inputs[i : i + 1], (4 - k) % 4), x[i // 4 : i // 4 + 1])


def test_rotation_random_subset_with_crop_and_flip() -> None:
    x = clips_(b=16, size=24)
    angles = (90, 180, 270)
    pre = P.build_pretext("rotation", angles=angles, mode="random", crop_size=16, flip_p=0.5)
    inputs, targets = pre.apply(x, None, gen(1))
    assert inputs.shape == (16, 3, 16, 16, 16)
    assert set(targets["rotation"].tolist()) == {0, 1, 2}
    for i in range(16):
        k = angles[int(targets["rotation"][i])] // 90
        back = rotate90(inputs[i : i + 1], (4 - k) % 4)[0]
        # Un-rotated, the clip must be a crop of the source, possibly flipped.
        found = False
        for flip in (False, True):
            src = x[i].flip(-1) if flip else x[i]
            for top in range(9):
                for left in range(9):
                    if torch.equal(back, src[:, :, top : top + 16, left : left + 16]):
                        found = True
        assert found, f"clip {i}: not a rotated crop of its source"


def test_rotation_uses_a_window_when_the_clip_is_longer() -> None:
    x = torch.arange(30, dtype=torch.float32).view(1, 1, 30, 1, 1).expand(4, 3, 30, 20, 20).contiguous()
    inputs, _ = P.build_pretext("rotation", mode="random", crop_size=20).apply(x, None, gen())
    frames = inputs[:, 0, :, 0, 0]
    assert torch.equal(frames - frames[:, :1], torch.arange(16.0).expand(4, 16))
    with pytest.raises(ValueError, match="need 17"):
        P.build_pretext("rotation", modality="dif").apply(clips_(t=16))


def test_dif_modality() -> None:
    x = clips_(t=17)
    inputs, _ = P.build_pretext("rotation", modality="dif", crop_size=20, flip_p=0.0).apply(x, None, gen())
    assert inputs.shape == (16, 3, 16, 20, 20)
    assert torch.allclose(inputs[0], x[0, :, 1:] - x[0, :, :-1])


@pytest.mark.parametrize("mode", ["random", "all_copies"])
def test_rotation8(mode: str) -> None:
    x = clips_(b=4, size=24)
    pre = P.build_pretext("rotation8", mode=mode, crop_size=16)
    inputs, targets = pre.apply(x, None, gen())
    n = 4 * pre.outputs_per_clip
    assert inputs.shape == (n, 3, 16, 16, 16) and targets["rotation"].shape == (n,)
    if mode == "all_copies":
        assert targets["rotation"].tolist() == list(range(8)) * 4
    ones, _ = pre.apply(torch.ones(4, 1, 16, 24, 24), None, gen())
    assert ones.min() > 1 - 1e-4  # inscribed crop: no empty corners


def test_rotation360_targets() -> None:
    pre = P.build_pretext("rotation360", crop_size=16)
    inputs, targets = pre.apply(clips_(b=8, size=24), None, gen())
    t = targets["rotation"]
    assert inputs.shape == (8, 3, 16, 16, 16)
    assert t.shape == (8, 1) and t.min() >= 0 and t.max() < 1 and len(set(t.flatten().tolist())) == 8


def test_v3s_with_loader_sampled_clips() -> None:
    pre = P.build_pretext("v3s", frame_size=32, crop_size=16, out_size=16)
    labels = torch.tensor([0, 3, 10, 5])
    x = clips_(b=4, t=16, size=40)
    inputs, targets = pre.apply(x, {"temporal_label": labels}, gen())
    assert inputs.shape == (4, 3, 16, 16, 16)
    assert torch.equal(targets["temporal"], labels)
    assert targets["spatial"].shape == (4,) and targets["spatial"].max() < 19
    with pytest.raises(ValueError, match="must have 16 frames"):
        pre.apply(clips_(b=4, t=20, size=40), {"temporal_label": labels}, gen())


def test_v3s_in_memory_temporal_path_and_label_consistency() -> None:
    pre = P.build_pretext("v3s", frame_size=16, crop_size=8, out_size=8)
    frames = 70
    # Frame t is filled with t: after any spatial warp (border padding) the values are still t.
    x = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1).expand(24, 3, frames, 16, 16)
    inputs, targets = pre.apply(x.contiguous(), None, gen(3))
    table = pre.temporal_space.offset_table()
    read = inputs[:, 0, :, 4, 4].round().long()
    for b in range(24):
        assert torch.equal(read[b] - read[b, 0], table[targets["temporal"][b]])
    assert len(set(targets["spatial"].tolist())) > 5 and len(set(targets["temporal"].tolist())) > 5


def test_v3s_is_reproducible() -> None:
    pre = P.build_pretext("v3s", frame_size=32, crop_size=16, out_size=16)
    x = clips_(b=6, t=70, size=32)
    a = pre.apply(x, None, gen(9))
    b = pre.apply(x, None, gen(9))
    assert torch.equal(a[0], b[0]) and all(torch.equal(a[1][k], b[1][k]) for k in a[1])


def test_temporal_choices_are_the_label_space_the_loader_uses() -> None:
    pre = P.build_pretext("v3s", modality="dif")
    assert pre.temporal_choices == pre.temporal_space.choices
    assert all(c.length == 17 for c in pre.temporal_choices)  # DIF: one more frame per clip
    x = clips_(b=2, t=17, size=224)
    inputs, _ = pre.apply(x, {"temporal_label": torch.tensor([0, 1])}, gen())
    assert inputs.shape == (2, 3, 16, 112, 112)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["rotation", "rotation8", "v3s"])
def test_cpu_and_cuda_agree(name: str) -> None:
    pre = P.build_pretext(name) if name != "v3s" else P.build_pretext(name, frame_size=32, crop_size=16, out_size=16)
    x = clips_(b=4, t=70 if name == "v3s" else 16, size=136 if name != "v3s" else 32)
    cpu_in, cpu_t = pre.apply(x, None, gen(4))
    gpu_in, gpu_t = pre.apply(x.cuda(), None, gen(4))
    assert torch.allclose(cpu_in, gpu_in.cpu(), atol=1e-4)
    assert all(torch.equal(cpu_t[k], gpu_t[k].cpu()) for k in cpu_t)
