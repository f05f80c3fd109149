"""Decoded stores shared by the fork server's children (`vssl.data.shared`): the same reads, decoded once."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from vssl.data import shared
from vssl.data.store import HEADER_SIZE, FrameStore, StoreError, store_file, write_frames
from vssl.runtime import forkserver

KEY = "Class A/v_clip (1).avi"
ONE_VIDEO = 12 * 24 * 40 * 3  # bytes of one smooth_frames() video decoded


def smooth_frames(seed: int) -> torch.Tensor:
    """12 frames of 24 x 40: gradients that move per frame (JPEG keeps them close)."""
    y, x = torch.meshgrid(torch.arange(24), torch.arange(40), indexing="ij")
    return torch.stack(
        [torch.stack([(x * 3 + i * 9 + seed * 17) % 200, (y * 5 + i * 7) % 200, (x + y) % 200], -1) for i in range(12)]
    ).to(torch.uint8)


@pytest.fixture(autouse=True)
def empty_table():
    shared.clear()
    yield
    shared.clear()


def _two_videos(root):
    for key, seed in ((KEY, 0), ("b/other.avi", 1)):
        write_frames(store_file(root, key), smooth_frames(seed=seed), fps=25.0, quality=90)


def test_shared_frames_read_exactly_what_decoding_reads_and_spend_no_budget(tmp_path):
    _two_videos(tmp_path)
    assert shared.share_store(tmp_path, budget_bytes=2 * ONE_VIDEO) == 2 * ONE_VIDEO
    plain, cached = FrameStore(tmp_path), FrameStore(tmp_path, decoded_cache_mb=1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        key = (KEY, "b/other.avi")[int(rng.integers(2))]
        idx = rng.integers(0, 12, size=int(rng.integers(1, 9)))
        crop = None if rng.random() < 0.3 else (int(rng.integers(0, 8)), int(rng.integers(0, 20)), 16, 20)
        assert torch.equal(cached.read(key, idx, crop=crop), plain.read(key, idx, crop=crop))
    # The frames are the shared ones, not a decoded copy of this process's own.
    assert cached._decoded_bytes == 0
    assert cached._decoded[KEY].data_ptr() == shared.shared_video(tmp_path, KEY).ctypes.data
    # Reads never write into the shared frames.
    before = shared.shared_video(tmp_path, KEY).copy()
    cached.read(KEY, [0, 1])[:] = 0
    assert np.array_equal(shared.shared_video(tmp_path, KEY), before)
    # Sharing needs the per-process cache on: a store without one decodes as before.
    assert torch.equal(FrameStore(tmp_path).read(KEY, [2]), plain.read(KEY, [2]))


def test_a_rewritten_video_is_read_afresh_and_resharing_decodes_only_it(tmp_path):
    _two_videos(tmp_path)
    shared.share_store(tmp_path, budget_bytes=2 * ONE_VIDEO)
    other = shared.shared_video(tmp_path, "b/other.avi")
    write_frames(store_file(tmp_path, KEY), smooth_frames(seed=5), fps=25.0, quality=90)  # a new file
    assert shared.shared_video(tmp_path, KEY) is None  # stale: not served
    expected = FrameStore(tmp_path).read(KEY, [0, 3])
    assert torch.equal(FrameStore(tmp_path, decoded_cache_mb=1).read(KEY, [0, 3]), expected)
    shared.share_store(tmp_path, budget_bytes=2 * ONE_VIDEO)
    assert shared.shared_video(tmp_path, "b/other.avi") is other  # unchanged: kept, not decoded again
    assert np.array_equal(shared.shared_video(tmp_path, KEY)[[0, 3]], expected.numpy())
    os.remove(store_file(tmp_path, "b/other.avi"))
    shared.share_store(tmp_path, budget_bytes=2 * ONE_VIDEO)
    assert shared.shared_video(tmp_path, "b/other.avi") is None and shared.shared_bytes() == ONE_VIDEO


def test_a_store_over_the_budget_is_not_shared_and_a_bad_video_is_left_out(tmp_path):
    _two_videos(tmp_path)
    assert shared.share_store(tmp_path, budget_bytes=2 * ONE_VIDEO - 1) == 0
    assert shared.shared_video(tmp_path, KEY) is None
    path = store_file(tmp_path, "b/other.avi")
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE + 2 : HEADER_SIZE + 40] = b"\xff" * 38  # frame 0 does not decode
    path.write_bytes(bytes(data))
    assert shared.share_store(tmp_path, budget_bytes=2 * ONE_VIDEO) == ONE_VIDEO
    with pytest.raises(StoreError, match=r"other.avi.vfs: corrupt data in frame 0"):
        FrameStore(tmp_path, decoded_cache_mb=1).read("b/other.avi", [0])  # the normal path names it


def test_the_fork_server_shares_the_store_of_a_job_that_caches_frames(tmp_path):
    _two_videos(tmp_path / "stores" / "ucf")
    request = {"argv": ["finetune", "--store", "stores/ucf", "--frame-cache-mb", "1"], "cwd": str(tmp_path)}
    forkserver._share_stores(dict(request, argv=request["argv"][:3]))  # no --frame-cache-mb: nothing
    assert shared.shared_bytes() == 0
    forkserver._share_stores(dict(request, argv=["finetune", "--store", "nowhere", "--frame-cache-mb", "1"]))
    assert shared.shared_bytes() == 0  # not a store: the job reports it itself
    forkserver._share_stores(request)
    assert shared.shared_bytes() == 2 * ONE_VIDEO
    assert shared.shared_video(tmp_path / "stores" / "ucf", KEY) is not None
