"""Frame store: round trip, index integrity, random access, pickling, corruption errors."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from vssl.data.store import (
    HEADER_SIZE,
    FrameStore,
    FrameWriter,
    StoreError,
    read_meta,
    store_file,
    validate_key,
    verify_file,
    write_frames,
)

# torchvision (the reference the codec is held to below) deprecates its JPEG codecs in favour of
# TorchCodec; the warning fires on every call and would bury real ones.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities of TorchVision:DeprecationWarning",
    "ignore:The image decoding and encoding capabilities of TorchVision:UserWarning",
)

KEY = "Class A/v_clip (1).avi"  # spaces and brackets occur in real dataset names


def smooth_frames(t: int = 12, h: int = 24, w: int = 40, seed: int = 0) -> torch.Tensor:
    """Smooth gradients that move per frame: JPEG keeps them within a few levels."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    out = []
    for i in range(t):
        phase = int(torch.randint(0, 64, (1,), generator=g))
        out.append(torch.stack([(x * 3 + i * 9 + phase) % 200, (y * 5 + i * 7) % 200, (x + y + i * 11) % 200], -1))
    return torch.stack(out).to(torch.uint8)


@pytest.fixture()
def store(tmp_path: Path) -> tuple[FrameStore, torch.Tensor]:
    frames = smooth_frames()
    write_frames(store_file(tmp_path, KEY), frames, fps=29.97, quality=95, meta={"status": "ok"})
    return FrameStore(tmp_path), frames


def mean_abs_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().mean())


def test_round_trip_within_jpeg_tolerance(store):
    fs, frames = store
    assert fs.keys() == [KEY]
    assert fs.num_frames(KEY) == 12
    assert fs.frame_size(KEY) == (24, 40)
    assert fs.fps(KEY) == pytest.approx(29.97)
    out = fs.read(KEY, range(12))
    assert out.dtype == torch.uint8 and out.shape == (12, 24, 40, 3) and out.is_contiguous()
    assert mean_abs_error(out, frames) < 4.0
    # every frame is its own image: reading frame i is closest to source frame i
    errors = torch.tensor([[mean_abs_error(out[i], frames[j]) for j in range(12)] for i in range(12)])
    assert torch.equal(errors.argmin(1), torch.arange(12))


def test_random_access_matches_sequential_read(store):
    fs, _ = store
    everything = fs.read(KEY, np.arange(12))
    for idx in ([5], [11, 0, 3], [2, 2, 7, 2], torch.tensor([9, 10, 11]), np.array([0, 4, 8, 1])):
        got = fs.read(KEY, idx)
        assert torch.equal(got, everything[torch.as_tensor(np.asarray(idx))])
    assert fs.read(KEY, []).shape == (0, 24, 40, 3)


def test_crop_applies_after_decoding(store):
    fs, _ = store
    full = fs.read(KEY, [1, 6])
    cropped = fs.read(KEY, [1, 6], crop=(3, 10, 16, 20))
    assert torch.equal(cropped, full[:, 3:19, 10:30])
    with pytest.raises(ValueError, match="does not fit"):
        fs.read(KEY, [0], crop=(10, 0, 20, 20))


def test_out_of_range_index_names_the_file(store):
    fs, _ = store
    with pytest.raises(IndexError, match=r"v_clip \(1\)\.avi\.vfs.*frame index 12 out of range"):
        fs.read(KEY, [0, 12])
    with pytest.raises(IndexError, match="-1"):
        fs.read(KEY, [-1])


def test_index_integrity_and_metadata(store, tmp_path):
    fs, _ = store
    path = store_file(tmp_path, KEY)
    raw = path.read_bytes()
    magic, version, n, h, w, fps, index_offset, meta_length, _ = struct.unpack("<8sIIIIdQII", raw[:HEADER_SIZE])
    assert (magic, n, h, w) == (b"VSSLFRM\0", 12, 24, 40)
    offsets = np.frombuffer(raw[index_offset : index_offset + 8 * (n + 1)], dtype="<i8")
    assert offsets[0] == HEADER_SIZE and offsets[-1] == index_offset
    assert np.all(np.diff(offsets) > 0)
    for a, b in zip(offsets[:-1], offsets[1:]):  # each slice is one whole JPEG
        assert raw[a : a + 2] == b"\xff\xd8" and raw[b - 2 : b] == b"\xff\xd9"
    assert version == 2 and len(raw) == index_offset + 8 * (n + 1) + 4 * n + meta_length
    crcs = np.frombuffer(raw[index_offset + 8 * (n + 1) : index_offset + 8 * (n + 1) + 4 * n], dtype="<u4")
    assert [zlib.crc32(raw[a:b]) for a, b in zip(offsets[:-1], offsets[1:])] == crcs.tolist()
    meta = read_meta(path)
    assert meta["status"] == "ok" and meta["frames"] == 12 and meta["fps"] == pytest.approx(29.97)
    assert fs.meta(KEY)["height"] == 24


def test_pickled_store_reads_in_a_fresh_state(store):
    fs, frames = store
    fs.read(KEY, [0])  # populate the descriptor cache
    state = pickle.dumps(fs)
    assert b"_cache" not in state  # no descriptors travel
    clone = pickle.loads(state)
    assert torch.equal(clone.read(KEY, [3, 4]), fs.read(KEY, [3, 4]))


def test_truncated_store_file_is_a_clear_error(store, tmp_path):
    fs, _ = store
    path = store_file(tmp_path, KEY)
    raw = path.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 1, 10):
        bad_key = f"cut{cut}.avi"
        store_file(tmp_path, bad_key).write_bytes(raw[:cut])
        with pytest.raises(StoreError, match=rf"cut{cut}\.avi\.vfs: truncated"):
            fs.read(bad_key, [0])


def test_corrupt_store_files_are_clear_errors(store, tmp_path):
    fs, _ = store
    raw = bytearray(store_file(tmp_path, KEY).read_bytes())
    _, _, n, _, _, _, index_offset, _, _ = struct.unpack("<8sIIIIdQII", raw[:HEADER_SIZE])

    not_store = bytearray(raw)
    not_store[:8] = b"RIFFxxxx"
    store_file(tmp_path, "magic.avi").write_bytes(not_store)
    with pytest.raises(StoreError, match=r"magic\.avi\.vfs: not a frame store file"):
        fs.num_frames("magic.avi")

    bad_index = bytearray(raw)
    bad_index[index_offset + 8 : index_offset + 16] = struct.pack("<q", 3)
    store_file(tmp_path, "index.avi").write_bytes(bad_index)
    with pytest.raises(StoreError, match=r"index\.avi\.vfs: corrupt store file \(CRC mismatch"):
        fs.read("index.avi", [0])

    bad_jpeg = bytearray(raw)
    bad_jpeg[HEADER_SIZE : HEADER_SIZE + 4] = b"\x00\x00\x00\x00"  # frame 0 loses its SOI marker
    store_file(tmp_path, "jpeg.avi").write_bytes(bad_jpeg)
    with pytest.raises(StoreError, match=r"jpeg\.avi\.vfs: corrupt data in frame 0 \(CRC mismatch\)"):
        fs.read("jpeg.avi", [0, 1])
    assert fs.read("jpeg.avi", [1]).shape == (1, 24, 40, 3)  # other frames stay readable

    with pytest.raises(StoreError, match=r"absent\.avi\.vfs: store file not found"):
        fs.read("absent.avi", [0])


def test_writer_is_atomic_and_streams_chunks(tmp_path):
    frames = smooth_frames(t=10)
    path = store_file(tmp_path, "a/b.mp4")
    with pytest.raises(RuntimeError, match="boom"):
        with FrameWriter(path, fps=25.0) as writer:
            writer.add(frames[:4])
            raise RuntimeError("boom")
    assert not path.exists() and list(path.parent.iterdir()) == []  # no temp file left behind
    with FrameWriter(path, fps=25.0) as writer:
        writer.add(frames[:4])
        writer.add(frames[4])  # a single (H, W, C) frame
        writer.add(frames[5:])
    fs = FrameStore(tmp_path)
    assert fs.num_frames("a/b.mp4") == 10
    with pytest.raises(ValueError, match="no frames"):
        with FrameWriter(store_file(tmp_path, "empty.avi"), fps=25.0):
            pass
    with pytest.raises(ValueError, match="differs"):
        with FrameWriter(store_file(tmp_path, "mixed.avi"), fps=25.0) as writer:
            writer.add(frames[:2])
            writer.add(torch.zeros(1, 8, 8, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"uint8 \(T, H, W, 3\)"):
        with FrameWriter(store_file(tmp_path, "float.avi"), fps=25.0) as writer:
            writer.add(frames.float())


def test_keys_reject_escaping_paths(tmp_path):
    assert validate_key("x/y.avi") == "x/y.avi"
    for bad in ("/abs.avi", "../up.avi", "a/../../b.avi", ""):
        with pytest.raises(ValueError, match="invalid video key"):
            store_file(tmp_path, bad)
    with pytest.raises(FileNotFoundError, match="not a frame store"):
        FrameStore(tmp_path / "nowhere")


def test_many_videos_exceed_descriptor_cache(tmp_path):
    frames = smooth_frames(t=2, h=8, w=8)
    keys = [f"v{i:03d}.avi" for i in range(70)]  # more than the per-process cache
    for key in keys:
        write_frames(store_file(tmp_path, key), frames, fps=25.0)
    fs = FrameStore(tmp_path)
    for key in keys + keys[:3]:
        assert fs.read(key, [1]).shape == (1, 8, 8, 3)
    assert fs.keys() == keys
    assert len(fs._cache) <= 64


@pytest.mark.parametrize("size", [(20, 20), (28, 37), (128, 171)])
def test_codec_is_held_to_torchvision(size):
    """The store's simplejpeg codec replaces torchvision.io for start-up time (issue 9); same pixels.

    Decoding: bit-identical to ``torchvision.io.decode_jpeg`` on the same bytes. Encoding: the same
    4:2:0 subsampling, quality and DCT; the colour conversion rounds differently (a level here and
    there), so the test holds the round-trip error of ours to torchvision's, not the bytes.
    """
    from torchvision.io import decode_jpeg, encode_jpeg

    from vssl.data import jpeg

    h, w = size
    frames = smooth_frames(t=4, h=h, w=w, seed=3).numpy()
    for frame in frames:
        reference = encode_jpeg(torch.from_numpy(frame).permute(2, 0, 1).contiguous(), quality=90)
        reference_pixels = decode_jpeg(reference).permute(1, 2, 0)
        torch.testing.assert_close(
            torch.from_numpy(jpeg.decode(reference.numpy().tobytes())), reference_pixels, rtol=0, atol=0
        )
        ours_pixels = torch.from_numpy(jpeg.decode(jpeg.encode(frame, 90)))
        original = torch.from_numpy(frame).int()
        ours_error = (ours_pixels.int() - original).abs().float().mean()
        reference_error = (reference_pixels.int() - original).abs().float().mean()
        assert ours_error <= 1.1 * reference_error + 0.1


def test_corrupt_jpeg_in_a_frame_names_the_file_and_frame(tmp_path):
    path = write_frames(tmp_path / "s" / "frames" / "v.avi.vfs", smooth_frames(t=3), fps=25.0)
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE + 2 : HEADER_SIZE + 40] = b"\xff" * 38  # wreck the first frame's JPEG header
    path.write_bytes(bytes(data))
    store = FrameStore(tmp_path / "s")
    with pytest.raises(StoreError, match=r"v.avi.vfs: corrupt data in frame 0"):
        store.read("v.avi", [0, 1])


def test_decoded_cache_reads_exactly_what_decoding_reads(tmp_path):
    """`decoded_cache_mb` only changes how often frames are decoded, never what a read returns."""
    for key, seed in ((KEY, 0), ("b/other.avi", 1)):
        write_frames(store_file(tmp_path, key), smooth_frames(seed=seed), fps=25.0, quality=90)
    plain, cached = FrameStore(tmp_path), FrameStore(tmp_path, decoded_cache_mb=1)
    rng = np.random.default_rng(0)
    for _ in range(40):
        key = (KEY, "b/other.avi")[int(rng.integers(2))]
        idx = rng.integers(0, 12, size=int(rng.integers(1, 9)))  # repeats and any order
        top, left = int(rng.integers(0, 8)), int(rng.integers(0, 20))
        crop = None if rng.random() < 0.3 else (top, left, 16, 20)
        expected, actual = plain.read(key, idx, crop=crop), cached.read(key, idx, crop=crop)
        assert actual.is_contiguous() and actual.dtype == torch.uint8
        assert torch.equal(actual, expected)
    assert cached._decoded_bytes == 2 * 12 * 24 * 40 * 3
    with pytest.raises(IndexError, match=r"v_clip \(1\)\.avi\.vfs.*frame index 12 out of range"):
        cached.read(KEY, [0, 12])
    with pytest.raises(ValueError, match="does not fit"):
        cached.read(KEY, [0], crop=(10, 0, 16, 20))
    # workers get the budget, not the parent's frames
    child = pickle.loads(pickle.dumps(cached))
    assert child.decoded_cache_bytes == cached.decoded_cache_bytes and child._decoded == {}


def test_decoded_cache_stops_at_its_budget_and_skips_undecodable_videos(tmp_path):
    write_frames(store_file(tmp_path, KEY), smooth_frames(), fps=25.0)
    path = write_frames(store_file(tmp_path, "bad.avi"), smooth_frames(t=3), fps=25.0)
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE + 2 : HEADER_SIZE + 40] = b"\xff" * 38  # frame 0 does not decode
    path.write_bytes(bytes(data))
    one_video = 12 * 24 * 40 * 3 / 2**20
    small = FrameStore(tmp_path, decoded_cache_mb=one_video * 0.5)
    assert torch.equal(small.read(KEY, [3, 4]), FrameStore(tmp_path).read(KEY, [3, 4]))
    assert small._decoded_bytes == 0  # over budget: read the normal way
    fits = FrameStore(tmp_path, decoded_cache_mb=one_video * 1.5)
    assert fits.read("bad.avi", [1, 2]).shape == (2, 24, 40, 3)  # the good frames still read
    with pytest.raises(StoreError, match=r"bad.avi.vfs: corrupt data in frame 0"):
        fits.read("bad.avi", [0])
    assert fits._decoded_bytes == 0
    with pytest.raises(ValueError, match="decoded_cache_mb"):
        FrameStore(tmp_path, decoded_cache_mb=-1)


def _as_version_1(raw: bytes) -> bytes:
    """The same frames in the version-1 layout (no frame CRCs; the CRC covers the index only)."""
    magic, _, n, h, w, fps, index_offset, meta_length, _ = struct.unpack("<8sIIIIdQII", raw[:HEADER_SIZE])
    index = raw[index_offset : index_offset + 8 * (n + 1)]
    meta = raw[len(raw) - meta_length :]
    header = struct.pack("<8sIIIIdQII", magic, 1, n, h, w, fps, index_offset, meta_length, zlib.crc32(index))
    return header + raw[HEADER_SIZE:index_offset] + index + meta


def test_every_crc_is_checked(tmp_path):
    """Version 2: the header, index and metadata are covered by one CRC, and each frame by its own."""
    path = write_frames(store_file(tmp_path, "v.avi"), smooth_frames(t=4), fps=25.0, meta={"status": "ok"})
    raw = path.read_bytes()
    assert verify_file(path) is None
    store = FrameStore(tmp_path)

    fps_1000 = bytearray(raw)
    fps_1000[24:32] = struct.pack("<d", 1000.0)  # the header's fps field
    store_file(tmp_path, "fps.avi").write_bytes(fps_1000)
    with pytest.raises(StoreError, match=r"fps\.avi\.vfs: corrupt store file \(CRC mismatch"):
        store.fps("fps.avi")

    meta_edit = raw.replace(b'"ok"', b'"OK"')
    store_file(tmp_path, "meta.avi").write_bytes(meta_edit)
    with pytest.raises(StoreError, match=r"meta\.avi\.vfs: corrupt store file"):
        store.meta("meta.avi")

    _, _, n, *_ = struct.unpack("<8sIIIIdQII", raw[:HEADER_SIZE])
    offsets = np.frombuffer(raw[struct.unpack("<Q", raw[32:40])[0] :][: 8 * (n + 1)], dtype="<i8")
    flipped = bytearray(raw)
    middle = int(offsets[2] + offsets[3]) // 2  # a byte inside frame 2's entropy-coded data
    flipped[middle] ^= 0x01
    store_file(tmp_path, "flip.avi").write_bytes(flipped)
    assert store.read("flip.avi", [0, 1, 3]).shape[0] == 3  # the other frames are intact
    with pytest.raises(StoreError, match=r"flip\.avi\.vfs: corrupt data in frame 2 \(CRC mismatch\)"):
        store.read("flip.avi", [1, 2])
    assert "corrupt data in frame 2" in verify_file(store_file(tmp_path, "flip.avi"))
    assert "CRC mismatch" in verify_file(store_file(tmp_path, "fps.avi"))


def test_version_1_files_are_still_read(tmp_path):
    frames = smooth_frames(t=5)
    path = write_frames(store_file(tmp_path, "new.avi"), frames, fps=25.0, meta={"status": "ok"})
    store_file(tmp_path, "old.avi").write_bytes(_as_version_1(path.read_bytes()))
    store = FrameStore(tmp_path)
    assert torch.equal(store.read("old.avi", range(5)), store.read("new.avi", range(5)))
    assert store.meta("old.avi") == store.meta("new.avi")
    assert verify_file(store_file(tmp_path, "old.avi")) is None  # no frame CRCs to check
