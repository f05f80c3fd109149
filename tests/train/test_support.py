"""The tiny store the training tests share is a store the real reader reads."""

from __future__ import annotations

import torch
from train_support import make_store


def test_make_store_is_readable(tmp_path):
    from vssl.data.clips import ClipDataset, RandomConsecutive

    store = make_store(tmp_path / "store", classes=2, per_class=2, frames=10, size=16)
    ds = ClipDataset(store, split="train", sampler=RandomConsecutive(8))
    item = ds[0]
    assert len(ds) == 2
    assert item["clip"].shape == (8, 16, 16, 3) and item["clip"].dtype == torch.uint8
    assert item["label"] in (0, 1)
