"""Clip samplers and ClipDataset: indices, determinism, epochs, DataLoader workers."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from vssl.data.clips import (
    AllFrames,
    ClipDataset,
    EvenlySpaced,
    RandomConsecutive,
    Strided,
    TemporalPretext,
    collate,
    sample_seed,
)
from vssl.data.store import store_file, write_frames
from vssl.kernels.temporal import TemporalChoice, TemporalLabelSpace

# torchvision 0.29 deprecates its JPEG codecs in favour of TorchCodec (not a dependency here);
# the warning fires on every call and would bury real ones.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities of TorchVision:DeprecationWarning"
)

# (frames, label, split1, status): frame i of every video is uniform grey 2 i,
# so a decoded frame tells which source frame it is
VIDEOS = {
    "A/a0.avi": (60, 0, "train", "ok"),
    "A/a1.avi": (45, 0, "test", "ok"),
    "B/b0.avi": (100, 1, "train", "partial"),
    "B/b1.avi": (12, 1, "train", "ok"),  # shorter than a 16-frame clip
    "C/c0.avi": (70, None, "train", "ok"),  # unlabelled
    "C/bad.avi": (0, 2, "train", "failed"),
}
H, W = 20, 24


def frame_ids(clip: torch.Tensor) -> torch.Tensor:
    """Source frame index of every frame of a uint8 clip (..., H, W, C)."""
    return torch.round(clip.float().mean(dim=(-3, -2, -1)) / 2).long()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store")
    rows = []
    for key, (n, label, split, status) in VIDEOS.items():
        if status != "failed":
            levels = (torch.arange(n) * 2).to(torch.uint8)
            frames = levels[:, None, None, None].expand(n, H, W, 3).contiguous()
            write_frames(store_file(root, key), frames, fps=25.0, quality=95)
        rows.append(
            {
                "video": key,
                "label": "" if label is None else label,
                "class": key[0],
                "split1": split,
                "frames": n,
                "height": H if n else 0,
                "width": W if n else 0,
                "fps": 25.0,
                "status": status,
                "reason": "",
            }
        )
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root


# -- samplers ---------------------------------------------------------------------------


def test_random_consecutive_in_bounds_and_clamped():
    sampler = RandomConsecutive(16)
    g = torch.Generator().manual_seed(0)
    starts = set()
    for _ in range(200):
        idx, extras = sampler(40, g)
        assert idx.shape == (16,) and idx.dtype == torch.int64 and extras == {}
        assert torch.equal(idx, idx[0] + torch.arange(16))
        assert 0 <= idx[0] and idx[-1] <= 39
        starts.add(int(idx[0]))
    assert starts == set(range(25))  # every valid start occurs
    idx, _ = sampler(5, g)
    assert idx.tolist() == [0, 1, 2, 3, 4] + [4] * 11  # short video: last frame repeated


def test_evenly_spaced_clips():
    idx, _ = EvenlySpaced(10, 16)(160)
    assert idx.shape == (10, 16)
    starts = idx[:, 0]
    assert starts[0] == 0 and idx[-1, -1] == 159
    assert torch.equal(idx, starts[:, None] + torch.arange(16))
    gaps = starts.diff()
    assert gaps.max() - gaps.min() <= 1  # evenly spaced up to flooring
    assert torch.equal(starts, torch.floor(torch.linspace(0, 144, 10, dtype=torch.float64)).long())
    centre, _ = EvenlySpaced(1, 16)(100)
    assert centre[0, 0] == 42
    short, _ = EvenlySpaced(10, 16)(8)
    assert short.shape == (10, 16) and short.max() == 7 and torch.equal(short[0], short[9])
    with pytest.raises(ValueError):
        EvenlySpaced(0, 16)


def test_strided_clips():
    idx, _ = Strided(16, 8)(50)
    assert idx[:, 0].tolist() == [0, 8, 16, 24, 32]  # 32 + 16 = 48 <= 50, 40 + 16 > 50
    assert torch.equal(idx, idx[:, :1] + torch.arange(16))
    assert Strided(16, 8)(16)[0].shape == (1, 16)
    short, _ = Strided(16, 8)(10)
    assert short.shape == (1, 16) and short[0, -1] == 9


def test_all_frames():
    idx, extras = AllFrames()(37)
    assert torch.equal(idx, torch.arange(37)) and extras == {}


def test_temporal_pretext_matches_temporal_choice_indices():
    choices = [
        TemporalChoice("ts", (1,)),
        TemporalChoice("ts", (3,)),
        TemporalChoice("tp", (4, 5)),
        TemporalChoice("tp", (2, 1)),
    ]
    sampler = TemporalPretext(choices)
    g = torch.Generator().manual_seed(1)
    seen = set()
    for _ in range(300):
        idx, extras = sampler(120, g)
        label = extras["temporal_label"]
        seen.add(label)
        choice = choices[label]
        start = int(idx[0])
        assert torch.equal(idx, choice.indices(start))
        assert 0 <= start <= 120 - choice.span and idx.max() <= 119
    assert seen == {0, 1, 2, 3}
    # a video shorter than every span (here the one (4, 5) class, 69 frames) starts at 0 and is clamped
    only_tp = TemporalPretext([TemporalChoice("tp", (4, 5))])
    idx, extras = only_tp(40, g)
    assert extras == {"temporal_label": 0}
    assert torch.equal(idx, TemporalChoice("tp", (4, 5)).indices(0).clamp(max=39))
    with pytest.raises(ValueError):
        TemporalPretext([])


def test_temporal_pretext_draws_only_the_classes_that_fit_a_short_video():
    # V3S's 11 temporal classes span 16-69 frames; a 40-frame video fits six of them.
    space = TemporalLabelSpace()
    sampler = TemporalPretext(space.choices)
    fits = {i for i, choice in enumerate(space.choices) if choice.span <= 40}
    assert len(fits) == 6
    g = torch.Generator().manual_seed(2)
    seen = set()
    for _ in range(400):
        idx, extras = sampler(40, g)
        label = extras["temporal_label"]
        seen.add(label)
        # No clamped (repeated) frame: the clip shows the speed its label names.
        assert torch.equal(idx, space.choices[label].indices(int(idx[0]))) and idx.max() <= 39
        assert bool((idx.diff() > 0).all())
    assert seen == fits
    # A video long enough for every class draws exactly as a plain uniform label.
    a, b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    labels = [sampler(100, a)[1]["temporal_label"] for _ in range(50)]
    plain = []
    for _ in range(50):
        label = int(torch.randint(len(space), (1,), generator=b).item())
        plain.append(label)
        torch.randint(100 - space.choices[label].span + 1, (1,), generator=b)  # the start draw
    assert labels == plain


def test_samplers_pickle():
    for sampler in (
        RandomConsecutive(16),
        EvenlySpaced(10, 16),
        Strided(16, 8),
        AllFrames(),
        TemporalPretext([TemporalChoice("ts", (2,))]),
    ):
        assert pickle.loads(pickle.dumps(sampler)) == sampler


def test_sample_seed_mixes_all_inputs():
    seeds = {sample_seed(s, e, i) for s in range(3) for e in range(3) for i in range(50)}
    assert len(seeds) == 450 and all(0 <= x < 2**63 for x in seeds)


# -- dataset ----------------------------------------------------------------------------


def test_items_are_uint8_clips_of_the_right_frames(store_dir):
    ds = ClipDataset(store_dir, sampler=RandomConsecutive(16))
    assert ds.videos == ["A/a0.avi", "A/a1.avi", "B/b0.avi", "B/b1.avi", "C/c0.avi"]  # failed dropped
    for i in range(len(ds)):
        item = ds[i]
        clip = item["clip"]
        assert clip.dtype == torch.uint8 and clip.shape == (16, H, W, 3)
        ids = frame_ids(clip)
        n = VIDEOS[item["video"]][0]
        expected = (ids[0] + torch.arange(16)).clamp(max=n - 1)
        assert torch.equal(ids, expected)
        assert item["index"] == i
    assert ds[0]["label"] == 0 and ds[2]["label"] == 1
    assert ds[4]["label"] == -1  # unlabelled
    assert frame_ids(ds[3]["clip"])[-5:].tolist() == [11] * 5  # 12-frame video clamped


def test_split_keys_and_indices_filters(store_dir):
    train = ClipDataset(store_dir, split="train", sampler=RandomConsecutive(8))
    assert train.videos == ["A/a0.avi", "B/b0.avi", "B/b1.avi", "C/c0.avi"]
    test = ClipDataset(store_dir, split="test", sampler=RandomConsecutive(8))
    assert test.videos == ["A/a1.avi"]
    subset = ClipDataset(
        store_dir, split="train", sampler=RandomConsecutive(8), keys={"B/b0.avi", "A/a0.avi", "C/bad.avi"}
    )
    assert subset.videos == ["A/a0.avi", "B/b0.avi"]
    picked = ClipDataset(store_dir, split="train", sampler=RandomConsecutive(8), indices=[3, 0])
    assert picked.videos == ["C/c0.avi", "A/a0.avi"]
    with pytest.raises(ValueError, match=r"manifest\.csv: no split column 'split2'"):
        ClipDataset(store_dir, split="train", split_column="split2", sampler=RandomConsecutive(8))
    frame = pd.read_csv(store_dir / "manifest.csv").drop(columns=["frames", "height", "width"])
    from_frame = ClipDataset(store_dir, frame, sampler=RandomConsecutive(8))  # sizes read from the store
    assert from_frame.num_frames.tolist() == [60, 45, 100, 12, 70]
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        ClipDataset(store_dir, store_dir / "nothere.csv", sampler=RandomConsecutive(8))


def test_multi_clip_and_temporal_items(store_dir):
    ds = ClipDataset(store_dir, sampler=EvenlySpaced(10, 16))
    item = ds[2]
    assert item["clip"].shape == (10, 16, H, W, 3)
    expected, _ = EvenlySpaced(10, 16)(100)
    assert torch.equal(frame_ids(item["clip"]), expected)

    choices = [TemporalChoice("ts", (s,)) for s in (1, 2, 3)]
    ts = ClipDataset(store_dir, sampler=TemporalPretext(choices))
    labels = set()
    for i in range(len(ts)):
        for epoch in range(4):
            ts.set_epoch(epoch)
            item = ts[i]
            speed = item["temporal_label"] + 1
            ids = frame_ids(item["clip"])
            n = ts.num_frames[i]
            assert torch.equal(ids, (ids[0] + speed * torch.arange(16)).clamp(max=n - 1))
            labels.add(item["temporal_label"])
    assert labels == {0, 1, 2}


def test_crops(store_dir, tmp_path):
    ds = ClipDataset(store_dir, sampler=RandomConsecutive(4), crop=(16, 12))
    assert ds[0]["clip"].shape == (4, 16, 12, 3)
    # crop boxes vary with the sample generator; pixel (y, x) of this frame is (10 y, 10 x, 0)
    store_dir = tmp_path
    y, x = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    marked = torch.stack([y * 10, x * 10, torch.zeros_like(x)], -1).to(torch.uint8)[None].expand(3, H, W, 3)
    write_frames(store_file(store_dir, "M/marked.avi"), marked.contiguous(), fps=25.0, quality=100)
    frame = pd.DataFrame(
        {"video": ["M/marked.avi"], "label": [0], "frames": [3], "height": [H], "width": [W], "status": ["ok"]}
    )
    boxes = set()
    rand = ClipDataset(store_dir, frame, sampler=RandomConsecutive(2), crop=10, seed=3)
    for epoch in range(20):
        rand.set_epoch(epoch)
        clip = rand[0]["clip"].float()
        top, left = round(float(clip[0, 0, 0, 0]) / 10), round(float(clip[0, 0, 0, 1]) / 10)
        assert 0 <= top <= H - 10 and 0 <= left <= W - 10
        boxes.add((top, left))
    assert len(boxes) > 5
    centre = ClipDataset(store_dir, frame, sampler=RandomConsecutive(2), crop=10, crop_mode="center")
    clip = centre[0]["clip"].float()
    assert (round(float(clip[0, 0, 0, 0]) / 10), round(float(clip[0, 0, 0, 1]) / 10)) == (5, 7)
    with pytest.raises(ValueError, match="larger than the frames"):
        ClipDataset(store_dir, frame, sampler=RandomConsecutive(2), crop=32)[0]


def collect(ds: ClipDataset, workers: int, *, persistent: bool = False, epochs=(0,)) -> list[dict]:
    """Every sample of each epoch, through a DataLoader, concatenated in order."""
    loader = DataLoader(ds, batch_size=2, num_workers=workers, persistent_workers=persistent and workers > 0)
    out = []
    for epoch in epochs:
        ds.set_epoch(epoch)
        batches = list(loader)
        out.append({key: torch.cat([b[key] for b in batches]) for key in ("clip", "index", "temporal_label")})
    return out


def test_deterministic_across_worker_counts_and_epochs(store_dir):
    choices = [TemporalChoice("ts", (1,)), TemporalChoice("tp", (2, 3))]
    ds = ClipDataset(store_dir, sampler=TemporalPretext(choices), seed=7, crop=16)
    serial = collect(ds, 0, epochs=(0, 1))
    parallel = collect(ds, 2, persistent=True, epochs=(0, 1))  # set_epoch must reach persistent workers
    for a, b in zip(serial, parallel):
        for key in a:
            assert torch.equal(a[key], b[key])
    assert not torch.equal(serial[0]["clip"], serial[1]["clip"])  # epochs differ
    other_seed = ClipDataset(store_dir, sampler=TemporalPretext(choices), seed=8, crop=16)
    assert not torch.equal(collect(other_seed, 0)[0]["clip"], serial[0]["clip"])


def test_dataloader_with_workers_and_pin_memory(store_dir):
    ds = ClipDataset(store_dir, split="train", sampler=RandomConsecutive(16))
    restored = pickle.loads(pickle.dumps(ds))
    assert torch.equal(restored[1]["clip"], ds[1]["clip"])
    loader = DataLoader(
        ds,
        batch_size=2,
        num_workers=2,
        pin_memory=torch.cuda.is_available(),
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    batches = list(loader)
    assert sum(len(b["video"]) for b in batches) == 4
    first = batches[0]
    assert first["clip"].shape == (2, 16, H, W, 3) and first["clip"].dtype == torch.uint8
    assert first["label"].dtype == torch.int64 and isinstance(first["video"], list)


@pytest.mark.filterwarnings("ignore:.*pin_memory.*:UserWarning")
def test_pin_memory_flag_is_accepted(store_dir):
    ds = ClipDataset(store_dir, split="test", sampler=RandomConsecutive(16))
    batch = next(iter(DataLoader(ds, batch_size=1, num_workers=1, pin_memory=True)))
    assert batch["clip"].shape == (1, 16, H, W, 3)
    if torch.cuda.is_available():
        assert batch["clip"].is_pinned()


def test_collate_variable_clip_counts(store_dir):
    ds = ClipDataset(store_dir, sampler=Strided(16, 8))
    counts = [ds[i]["clip"].shape[0] for i in range(len(ds))]
    assert counts == [6, 4, 11, 1, 7]  # (n - 16) // 8 + 1, at least 1
    loader = DataLoader(ds, batch_size=3, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["clip"].shape == (6 + 4 + 11, 16, H, W, 3)
    assert batch["num_clips"].tolist() == [6, 4, 11]
    assert batch["index"].tolist() == [0, 1, 2]
    same = collate([ds[0], ds[0]])
    assert same["clip"].shape == (2, 6, 16, H, W, 3) and same["num_clips"].tolist() == [6, 6]
    all_frames = ClipDataset(store_dir, sampler=AllFrames())
    with pytest.raises(ValueError, match="batch_size=1"):
        collate([all_frames[0], all_frames[1]])
    assert collate([all_frames[0]])["clip"].shape == (1, 60, H, W, 3)
