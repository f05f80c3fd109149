"""V3S temporal scale / projection: index formulas, label space, the in-memory gather path."""

from __future__ import annotations

import pytest
import torch

from vssl.kernels import temporal as T

TS_SPEEDS = (1, 2, 3, 4)


@pytest.mark.parametrize("s", TS_SPEEDS)
def test_ts_indices_follow_the_formula(s: int) -> None:
    # Reading of V3S §3.2: skip s-1 frames, i.e. r, r+s, r+2s, ...; s=1 is the original speed.
    r = 7
    idx = T.interval_indices(r, s, 16)
    assert idx.tolist() == [r + s * i for i in range(16)]
    assert T.interval_span(s, 16) == idx[-1] - r + 1


@pytest.mark.parametrize("pattern", T.DEFAULT_TP_PATTERNS)
def test_tp_indices_follow_the_formula(pattern: tuple[int, int]) -> None:
    s1, s2 = pattern
    r = 3
    idx = T.two_stage_indices(r, s1, s2, 8, 8).tolist()
    first = [r + s1 * i for i in range(8)]
    second = [first[-1] + s2 * j for j in range(1, 9)]
    assert idx == first + second
    assert T.two_stage_span(s1, s2, 8, 8) == idx[-1] - r + 1
    assert T.TemporalChoice("tp", pattern).indices(r).tolist() == idx


def test_pattern_4_5_spans_69_frames() -> None:
    assert T.TemporalChoice("tp", (4, 5)).span == 69
    assert T.TemporalLabelSpace().max_span == 69


def test_random_start_never_runs_past_the_clip() -> None:
    gen = torch.Generator().manual_seed(0)
    space = T.TemporalLabelSpace(TS_SPEEDS)
    for choice in space.choices:
        for num_frames in (choice.span, choice.span + 1, choice.span + 13, 300):
            for _ in range(20):
                idx = choice.indices(T.random_start(num_frames, choice.span, gen))
                assert idx.min() >= 0 and idx.max() < num_frames
    # Shorter videos start at 0 and are clamped, keeping the clip length.
    short = T.clamp_indices(T.interval_indices(T.random_start(10, 46, gen), 3), 10)
    assert short.max() == 9 and short.numel() == 16


def test_default_label_space_order() -> None:
    space = T.TemporalLabelSpace()
    assert len(space) == 3 + 8
    assert space.choices[0] == T.ORIGINAL
    assert space.names[:3] == ["TS1", "TS2", "TS3"]
    assert [c.speeds for c in space.choices[3:]] == list(T.DEFAULT_TP_PATTERNS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"ts_speeds": ()},
        {"tp_patterns": ()},
        {"ts_speeds": (2, 3)},
        {"ts_speeds": (), "identity": False},
        {"ts_speeds": (1, 2), "tp_patterns": ((1, 2), (2, 1))},
        {"length": 32},
    ],
)
def test_labels_are_a_bijection_with_the_parameters(kwargs: dict) -> None:
    space = T.TemporalLabelSpace(**kwargs)
    assert len(set(space.choices)) == len(space)
    offsets = {tuple(row.tolist()) for row in space.offset_table()}
    assert len(offsets) == len(space)  # every class samples different frames
    for label, choice in enumerate(space.choices):
        assert space.label_of(choice) == label
        assert choice.length == space.length
    ts = [c.speeds[0] for c in space.choices if c.kind == "ts"]
    tp = [c.speeds for c in space.choices if c.kind == "tp"]
    assert tp == list(kwargs.get("tp_patterns", T.DEFAULT_TP_PATTERNS))
    expected_ts = list(kwargs.get("ts_speeds", T.DEFAULT_TS_SPEEDS))
    if kwargs.get("identity", True) and 1 not in expected_ts:
        expected_ts = [1] + expected_ts  # the original clip joins as class 0
    assert ts == expected_ts


def test_label_space_errors() -> None:
    with pytest.raises(ValueError, match="identical frames"):
        T.TemporalLabelSpace(ts_speeds=(1, 2), tp_patterns=((2, 2),))
    with pytest.raises(ValueError, match="empty"):
        T.TemporalLabelSpace((), (), identity=False)
    with pytest.raises(ValueError, match="pairs"):
        T.TemporalLabelSpace(tp_patterns=((1, 2, 3),))
    with pytest.raises(ValueError, match=">= 1"):
        T.TemporalLabelSpace(ts_speeds=(0,))
    with pytest.raises(ValueError, match="not in this label space"):
        T.TemporalLabelSpace().label_of(T.TemporalChoice("ts", (7,)))


def test_temporal_gather_matches_per_clip_indexing() -> None:
    x = torch.rand(3, 2, 10, 4, 5)
    idx = torch.tensor([[0, 2, 4], [9, 9, 1], [3, 4, 5]])
    out = T.temporal_gather(x, idx)
    assert out.shape == (3, 2, 3, 4, 5)
    for b in range(3):
        assert torch.equal(out[b], x[b][:, idx[b]])
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        T.temporal_gather(x, torch.tensor([[0, 10, 1]] * 3))


def test_random_temporal_samples_the_labelled_pattern() -> None:
    space = T.TemporalLabelSpace()
    frames = 80
    # Frame t carries the value t, so the output reveals which frames were read.
    x = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1).expand(32, 1, frames, 2, 2).contiguous()
    out, labels = T.random_temporal(x, space, torch.Generator().manual_seed(0))
    assert out.shape == (32, 1, 16, 2, 2) and len(set(labels.tolist())) > 5
    table = space.offset_table()
    for b in range(32):
        read = out[b, 0, :, 0, 0].long()
        start = int(read[0])
        assert torch.equal(read, start + table[labels[b]])
        assert 0 <= start and read.max() < frames


def test_random_temporal_start_is_uniform_over_valid_positions() -> None:
    space = T.TemporalLabelSpace(ts_speeds=(3,), tp_patterns=(), identity=False)  # span 46
    x = torch.arange(50, dtype=torch.float32).view(1, 1, 50, 1, 1).expand(400, 1, 50, 1, 1).contiguous()
    out, _ = T.random_temporal(x, space, torch.Generator().manual_seed(1))
    starts = out[:, 0, 0, 0, 0].long()
    assert set(starts.tolist()) == {0, 1, 2, 3, 4}


def test_random_temporal_is_reproducible_and_checks_length() -> None:
    space = T.TemporalLabelSpace()
    x = torch.rand(8, 3, 70, 4, 4)
    a = T.random_temporal(x, space, torch.Generator().manual_seed(5))
    b = T.random_temporal(x, space, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(ValueError, match="load at least 69"):
        T.random_temporal(
            torch.rand(4, 3, 40, 4, 4), space, torch.Generator().manual_seed(0), labels=torch.tensor([0, 5, 6, 10])
        )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gather_cpu_and_cuda_agree() -> None:
    space = T.TemporalLabelSpace()
    x = torch.rand(6, 3, 70, 8, 8)
    cpu = T.random_temporal(x, space, torch.Generator().manual_seed(2))
    gpu = T.random_temporal(x.cuda(), space, torch.Generator().manual_seed(2))
    assert torch.equal(cpu[0], gpu[0].cpu()) and torch.equal(cpu[1], gpu[1].cpu())
