"""VCOP's clip-order kernels, the InfoNCE loss, and the pace / VCOP / contrastive pretexts built on them."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from vssl.kernels import order
from vssl.kernels.losses import info_nce, positive_index
from vssl.kernels.pretext import build_pretext
from vssl.models.heads import ClipOrderHead, ProjectionHead


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def frame_numbered(b: int, t: int, size: int = 4) -> torch.Tensor:
    """Clips whose every pixel holds its frame number + 1000 * clip number (to trace gathers)."""
    frames = torch.arange(t, dtype=torch.float32).view(1, 1, t, 1, 1)
    clips = torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1, 1) * 1000
    return (frames + clips).expand(b, 3, t, size, size).contiguous()


def test_permutations_are_vcops_orders() -> None:
    for k in (2, 3, 4):
        table = order.permutations(k)
        assert table.tolist() == [list(p) for p in itertools.permutations(range(k))]
        assert len(table) == math.factorial(k)
    with pytest.raises(ValueError):
        order.permutations(1)


def test_split_tuple_cuts_clips_interval_apart() -> None:
    assert order.tuple_span(16, 8, 3) == 64  # VCOP's default tuple
    clips = frame_numbered(2, 64)
    tuples = order.split_tuple(clips, 16, 8, 3)
    assert tuples.shape == (2, 3, 3, 16, 4, 4)
    for k in range(3):
        assert tuples[1, k, 0, :, 0, 0].tolist() == [1000 + 24 * k + i for i in range(16)]
    with pytest.raises(ValueError, match="T>=64"):
        order.split_tuple(clips[:, :, :63], 16, 8, 3)


def test_shuffle_tuple_label_names_each_clips_original_position() -> None:
    tuples = order.split_tuple(frame_numbered(64, 40), 8, 4, 3)
    shuffled, labels = order.shuffle_tuple(tuples, gen(1))
    orders = order.permutations(3)
    assert set(labels.tolist()) == set(range(6))  # 64 draws reach every order
    for b in range(64):
        first_frames = shuffled[b, :, 0, 0, 0, 0] - 1000 * b
        assert (first_frames / 12).long().tolist() == orders[labels[b]].tolist()
    again, same = order.shuffle_tuple(tuples, gen(1))
    assert torch.equal(again, shuffled) and torch.equal(same, labels)


def test_info_nce_equals_a_hand_computed_value() -> None:
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, -1.0]])
    loss, correct = info_nce(z, temperature=0.5)
    unit = F.normalize(z, dim=1)
    expected = 0.0
    for i, positive in enumerate([2, 3, 0, 1]):
        sims = {j: float(unit[i] @ unit[j]) / 0.5 for j in range(4) if j != i}
        expected += -sims[positive] + math.log(sum(math.exp(v) for v in sims.values()))
    assert float(loss) == pytest.approx(expected / 4, rel=1e-6)
    # rows 0, 2 are each other's nearest; rows 1 and 3 are opposite (nearest is another row)
    assert int(correct) == 2
    assert positive_index(2).tolist() == [2, 3, 0, 1]
    with pytest.raises(ValueError):
        info_nce(torch.zeros(3, 2))


def test_info_nce_decreases_when_trained_on_a_toy_batch() -> None:
    torch.manual_seed(0)
    views = torch.randn(8, 16)
    data = torch.cat([views, views + 0.3 * torch.randn(8, 16)])  # two noisy views of 8 samples
    projection = torch.nn.Linear(16, 8)
    optimizer = torch.optim.SGD(projection.parameters(), lr=0.5)
    losses = []
    for _ in range(60):
        loss, _ = info_nce(projection(data), temperature=0.2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
    assert int(info_nce(projection(data), 0.2)[1]) == 16


def test_clip_order_head_is_vcops_pairwise_head() -> None:
    torch.manual_seed(0)
    head = ClipOrderHead(6, 3, hidden=5, dropout=0.0)
    features = torch.randn(4 * 3, 6)
    logits = head(features)
    assert logits.shape == (4, 6)
    f = features.view(4, 3, 6)
    pairs = [torch.cat([f[:, i], f[:, j]], 1) for i, j in ((0, 1), (0, 2), (1, 2))]
    expected = head.fc8(torch.cat([torch.relu(head.fc7(p)) for p in pairs], 1))
    torch.testing.assert_close(logits, expected)
    with pytest.raises(ValueError, match="whole tuples"):
        head(torch.randn(5, 6))
    assert ProjectionHead(6, 3, hidden=4)(torch.randn(2, 6)).shape == (2, 3)


def test_pace_reads_every_speeds_frames_and_labels_them() -> None:
    pretext = build_pretext("pace", speeds=(1, 2, 4), crop_size=4, flip_p=0.0, length=4)
    assert pretext.heads == {"pace": ("classification", 3)}
    assert pretext.frames_needed() == 13  # speed 4: frames 0, 4, 8, 12
    assert [c.speeds[0] for c in pretext.temporal_choices] == [1, 2, 4]
    clips = frame_numbered(32, 13)
    x, targets = pretext.apply(clips, None, gen(2))
    speeds = torch.tensor([1, 2, 4])[targets["pace"]]
    steps = x[:, 0, 1:, 0, 0] - x[:, 0, :-1, 0, 0]
    assert torch.equal(steps, speeds.view(-1, 1).float().expand(-1, 3))
    loaded, _ = pretext.apply(clips[:, :, :4], {"temporal_label": torch.zeros(32, dtype=torch.int64)}, gen(2))
    assert loaded.shape == (32, 3, 4, 4, 4)
    with pytest.raises(ValueError, match="at least 2"):
        build_pretext("pace", speeds=(2,))


def test_vcop_pretext_shuffles_tuples_of_crops() -> None:
    pretext = build_pretext("vcop", crop_size=3, length=4, interval=2, tuple_len=3)
    assert pretext.frames_needed() == 16 and pretext.heads == {"order": ("classification", 6)}
    x, targets = pretext.apply(frame_numbered(5, 20), None, gen(3))
    assert x.shape == (15, 3, 4, 3, 3)
    orders = order.permutations(3)
    starts = x[:, 0, 0, 0, 0].view(5, 3) % 1000  # first frame of each shown clip
    offsets = (starts - starts.min(1, keepdim=True).values) / 6  # clip k starts 6k frames after the first
    assert torch.equal(offsets.long(), orders[targets["order"]])


def test_contrastive_pretext_gives_two_views_of_each_clip() -> None:
    pretext = build_pretext("contrastive", window=10, length=4, crop_size=3, jitter_p=0.0, dim=8)
    assert pretext.frames_needed() == 10 and pretext.outputs_per_clip == 2
    x, targets = pretext.apply(frame_numbered(6, 12), None, gen(4))
    assert x.shape == (12, 3, 4, 3, 3)
    video = (x[:, 0, 0, 0, 0] / 1000).floor()
    assert torch.equal(video[:6], video[6:]) and torch.equal(video[:6], torch.arange(6.0))
    loss, correct = pretext.head_loss("contrastive", torch.randn(12, 8), targets["contrastive"])
    assert torch.isfinite(loss) and 0 <= int(correct) <= 12
    with pytest.raises(ValueError, match="window"):
        build_pretext("contrastive", window=8, length=16)


def test_classification_and_regression_losses_are_the_loops_per_head_kind() -> None:
    from vssl.kernels.losses import classification_loss, regression_loss

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    loss, correct = classification_loss(logits, torch.tensor([0, 0, 0]))
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(1)) + math.log(1 + math.exp(-3))) / 3
    assert float(loss) == pytest.approx(expected) and float(correct) == 2.0
    prediction, target = torch.tensor([[1.0], [4.0]]), torch.tensor([2.0, 2.0])
    l1, abs_sum = regression_loss(prediction, target, "l1")
    l2, _ = regression_loss(prediction, target, "l2")
    assert float(l1) == pytest.approx(1.5) and float(l2) == pytest.approx(2.5) and float(abs_sum) == pytest.approx(3.0)
    pairs = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert float(regression_loss(pairs, torch.zeros(2, 2))[1]) == pytest.approx(0.5 + 1.0)  # per-sample means
    with pytest.raises(ValueError, match="l1"):
        regression_loss(prediction, target, "huber")
