"""`vssl illustrate`: the V3S transform panels come from the training kernels with explicit parameters."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vssl.cli import main
from vssl.data.store import FrameStore, store_file, write_frames
from vssl.eval.illustrate import illustrate

T, H, W = 48, 32, 32


def _store(root: Path, frames: np.ndarray) -> Path:
    write_frames(store_file(root, "C0/v.avi"), torch.from_numpy(frames), fps=25.0, quality=100)
    pd.DataFrame(
        [
            {
                "video": "C0/v.avi",
                "label": 0,
                "class": "C0",
                "split1": "train",
                "frames": T,
                "height": H,
                "width": W,
                "fps": 25.0,
                "status": "ok",
                "reason": "",
            }
        ]
    ).to_csv(root / "manifest.csv", index=False)
    return root


@pytest.fixture()
def frame_index_store(tmp_path) -> Path:
    # Each frame is a flat grey level equal to 5 * its index, so the temporal panels reveal their indices.
    levels = (np.arange(T) * 5).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (T, H, W, 3)).copy()
    return _store(tmp_path, frames)


def test_temporal_panels_follow_ts_and_tp_indices(frame_index_store):
    panels = illustrate(FrameStore(frame_index_store), "C0/v.avi", length=16, frame_size=32, crop=24, ts=2, tp=(1, 2))
    level = lambda name: panels[name][:, 12, 12, 0].astype(int)  # noqa: E731
    assert np.abs(level("original") - np.arange(16) * 5).max() <= 2
    assert np.abs(level("ts") - np.arange(16) * 2 * 5).max() <= 2
    tp = np.concatenate([np.arange(8), 7 + 2 * np.arange(1, 9)])
    assert np.abs(level("tp") - tp * 5).max() <= 2
    for name in ("original", "ss", "sp", "ts", "tp"):
        assert panels[name].shape == (16, 24, 24, 3) and panels[name].dtype == np.uint8


def test_spatial_panels_stretch_the_object(tmp_path):
    # A centred square: SS (1, 1.45) stretches it vertically, SP leaves the original untouched elsewhere.
    frames = np.zeros((T, H, W, 3), np.uint8)
    frames[:, 12:20, 12:20] = 255
    root = _store(tmp_path, frames)
    panels = illustrate(
        FrameStore(root), "C0/v.avi", length=16, frame_size=32, crop=32, ss=(1.0, 1.45), sp=(0.5, "right")
    )
    bright = lambda img: np.argwhere(img[..., 0] > 128)  # noqa: E731
    orig, ss = bright(panels["original"][0]), bright(panels["ss"][0])
    height = lambda pts: pts[:, 0].max() - pts[:, 0].min() + 1  # noqa: E731
    width = lambda pts: pts[:, 1].max() - pts[:, 1].min() + 1  # noqa: E731
    assert height(ss) > height(orig) and abs(width(ss) - width(orig)) <= 1
    assert not np.array_equal(panels["sp"], panels["original"])


def test_cli_writes_npz_and_rejects_short_video(frame_index_store, tmp_path):
    out = tmp_path / "ill.npz"
    assert (
        main(["illustrate", "--store", str(frame_index_store), "--frame-size", "32", "--crop", "24", "--out", str(out)])
        == 0
    )
    with np.load(out) as data:
        assert {"original", "ss", "sp", "ts", "tp", "sp_label"} <= set(data.files)
    with pytest.raises(ValueError, match="needs"):
        illustrate(FrameStore(frame_index_store), "C0/v.avi", ts=4, start=0)  # 61 frames needed, 48 stored
