"""Frame store: one file per video holding its JPEG frames and an offset index.

Why this layout: a training clip is 16 frames out of a few hundred, and a
Kinetics-sized dataset has ~10^8 frames. One file per *frame* drowns the file
system; one file per *video* with an index lets a clip be read with one open
and one ``pread`` of exactly the bytes it needs, and keeps frames JPEG-sized.

File layout (little endian), ``<root>/frames/<key>.vfs``::

    header   48 bytes   magic b"VSSLFRM\\0", version u32, num_frames u32,
                        height u32, width u32, fps f64, index_offset u64,
                        meta_length u32, crc32 u32
    data     the JPEG bytes of frame 0, 1, ..., n-1, back to back
    index    (n + 1) int64 absolute offsets; frame i is [off[i], off[i+1]),
             off[0] == 48 and off[n] == index_offset
    crcs     n uint32: the CRC32 of each frame's bytes (version 2)
    meta     meta_length bytes of UTF-8 JSON (extraction status, reason, source info, and
             the extraction settings that made the frames)

The index sits *after* the data so a writer can stream frames of any video
length with bounded memory and rewrite the fixed-size header last. A file is
valid only if its size is exactly ``index_offset + 8 (n + 1) + 4 n + meta_length``
and its CRC matches, so a truncated or half-copied file is detected at open
time and reported with its path instead of decoding garbage. In version 2 that
CRC covers the header's other fields, the index, the frame CRCs and the
metadata (an overwritten fps is caught), and every read checks the CRC of each
frame it returns (a flipped byte inside a JPEG is named, never decoded into
wrong pixels). Version 1 files (the CRC covers the index only, no frame CRCs)
are still read.

``key`` is the manifest's ``video`` column (a POSIX path relative to the
dataset root, e.g. ``ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi``); the store
file keeps the source extension so ``x.avi`` and ``x.mp4`` never collide.
"""

from __future__ import annotations

import collections
import json
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch

from vssl.data import jpeg
from vssl.utils.errors import UserError
from vssl.utils.io import atomic_path

MAGIC = b"VSSLFRM\0"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
SUFFIX = ".vfs"
FRAMES_DIR = "frames"
_HEADER = struct.Struct("<8sIIIIdQII")
HEADER_SIZE = _HEADER.size  # 48
# Open files and parsed indices kept per process: enough to make repeated reads
# of the same video (multi-clip test, several epochs on small sets) free, small
# enough to stay far below the per-process fd limit.
_CACHE_SIZE = 64


class StoreError(UserError, RuntimeError):
    """A store file is missing, truncated or corrupt; the message names the file."""


class _Entry:
    """Parsed header + index of one store file, with its open descriptor."""

    __slots__ = ("path", "fd", "num_frames", "height", "width", "fps", "offsets", "frame_crcs", "meta")

    def __init__(
        self, path: Path, fd: int, header: tuple, offsets: np.ndarray, frame_crcs: np.ndarray | None, meta: bytes
    ):
        _, _, n, h, w, fps, _, _, _ = header
        self.path = path
        self.fd = fd
        self.num_frames = int(n)
        self.height = int(h)
        self.width = int(w)
        self.fps = float(fps)
        self.offsets = offsets
        self.frame_crcs = frame_crcs  # None for version 1 files
        self.meta = meta


def validate_key(key: str) -> str:
    """Reject keys that would escape the store (absolute paths, ``..``)."""
    p = PurePosixPath(key)
    if not key or p.is_absolute() or ".." in p.parts or "\\" in key:
        raise ValueError(f"invalid video key {key!r}: must be a relative POSIX path without '..'")
    return key


def store_file(root: str | os.PathLike, key: str) -> Path:
    """Path of the store file for ``key`` under store directory ``root``."""
    return Path(root) / FRAMES_DIR / (validate_key(key) + SUFFIX)


def _read_exact(fd: int, size: int, offset: int, path: Path, what: str) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise StoreError(
            f"{path}: truncated store file (short read of {what}: {len(data)} of {size} bytes at {offset})"
        )
    return data


def _open_entry(path: Path) -> _Entry:
    """Open and validate one store file; raise StoreError naming it on any problem."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise StoreError(f"{path}: store file not found") from None
    try:
        size = os.fstat(fd).st_size
        if size < HEADER_SIZE:
            raise StoreError(f"{path}: truncated store file ({size} bytes, header needs {HEADER_SIZE})")
        header_bytes = _read_exact(fd, HEADER_SIZE, 0, path, "header")
        header = _HEADER.unpack(header_bytes)
        magic, version, n, h, w, fps, index_offset, meta_length, crc = header
        if magic != MAGIC:
            raise StoreError(f"{path}: not a frame store file (bad magic {magic!r})")
        if version not in READABLE_VERSIONS:
            raise StoreError(
                f"{path}: store format version {version}, this reader supports {', '.join(map(str, READABLE_VERSIONS))}"
            )
        crc_bytes = 4 * n if version >= 2 else 0
        expected = index_offset + 8 * (n + 1) + crc_bytes + meta_length
        if size != expected:
            raise StoreError(f"{path}: truncated or corrupt store file (size {size} bytes, header implies {expected})")
        tail = _read_exact(fd, size - index_offset, index_offset, path, "index")
        raw, meta = tail[: 8 * (n + 1)], tail[8 * (n + 1) + crc_bytes :]
        if version == 1:
            if zlib.crc32(raw) != crc:
                raise StoreError(f"{path}: corrupt frame index (CRC mismatch)")
            frame_crcs = None
        else:
            if zlib.crc32(tail, zlib.crc32(header_bytes[:-4])) != crc:
                raise StoreError(f"{path}: corrupt store file (CRC mismatch over its header, index and metadata)")
            frame_crcs = np.frombuffer(tail[8 * (n + 1) : 8 * (n + 1) + crc_bytes], dtype="<u4")
        offsets = np.frombuffer(raw, dtype="<i8")
        if offsets[0] != HEADER_SIZE or offsets[-1] != index_offset or np.any(np.diff(offsets) <= 0):
            raise StoreError(
                f"{path}: corrupt frame index (offsets not increasing from {HEADER_SIZE} to {index_offset})"
            )
        return _Entry(path, fd, header, offsets, frame_crcs, meta)
    except BaseException:
        os.close(fd)
        raise


def read_meta(path: str | os.PathLike, *, verify: bool = False) -> dict[str, Any]:
    """Header fields plus the JSON metadata of one store file (validates it).

    ``verify`` also checks every frame against its CRC (reads the whole file) and raises
    StoreError naming the first frame that fails.
    """
    entry = _open_entry(Path(path))
    try:
        if verify:
            _check_all_frames(entry)
    finally:
        os.close(entry.fd)
    raw = entry.meta
    try:
        meta = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreError(f"{path}: corrupt metadata block ({err})") from None
    meta.update(frames=entry.num_frames, height=entry.height, width=entry.width, fps=entry.fps)
    return meta


def _check_frame_crcs(entry: _Entry, buf: bytearray, starts: list[int], first: int) -> None:
    """Each frame of a run read into ``buf`` against its stored CRC32."""
    view = memoryview(buf)
    for j in range(len(starts) - 1):
        if zlib.crc32(view[starts[j] : starts[j + 1]]) != entry.frame_crcs[first + j]:
            raise StoreError(
                f"{entry.path}: corrupt data in frame {first + j} (CRC mismatch); "
                "re-extract the store (vssl extract --verify finds every such file)"
            )


def _check_all_frames(entry: _Entry) -> None:
    if entry.frame_crcs is None:
        return  # version 1: its index CRC was checked at open; frames carry no CRC
    lo, hi = int(entry.offsets[0]), int(entry.offsets[-1])
    buf = bytearray(hi - lo)
    if os.preadv(entry.fd, [buf], lo) != len(buf):
        raise StoreError(f"{entry.path}: truncated store file (short read at {lo})")
    _check_frame_crcs(entry, buf, (entry.offsets - lo).tolist(), 0)


def verify_file(path: str | os.PathLike) -> str | None:
    """Check every CRC of one store file (header, index, metadata and every frame); the problem, or None."""
    try:
        read_meta(path, verify=True)
    except StoreError as err:
        return str(err)
    return None


def _sorted_unique(indices: Sequence[int] | torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Sorted unique indices and the map back to request order (None when already sorted unique).

    Clips are almost always increasing; skipping ``np.unique`` for them saves a
    noticeable share of the per-clip overhead.
    """
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size < 2 or bool(np.all(idx[1:] > idx[:-1])):
        return idx, None
    uniq, inverse = np.unique(idx, return_inverse=True)
    return uniq, inverse.reshape(-1)


class FrameStore:
    """Random-access reader of a frame store directory.

    Safe to pickle into DataLoader workers: files are opened lazily by the
    process that reads, and the cache of open descriptors is dropped on pickling
    and whenever the process id changes (after ``fork``), so no descriptor or
    CUDA state is ever shared between processes.

    ``decoded_cache_mb`` > 0 keeps whole decoded videos in memory, up to that
    many MiB per process: the first CPU read of a video decodes all its frames
    once, later reads slice them. A small store read for many epochs (the
    embedded default re-reads every clip 20 times) then decodes each frame once
    instead of once per read. Reads return exactly what the decoding path
    returns; videos past the budget, or with a frame that does not decode, are
    read the normal way. Under `make run`'s fork server the frames come decoded
    from the server instead, shared by every job (`vssl.data.shared`).
    """

    def __init__(self, root: str | os.PathLike, *, decoded_cache_mb: float = 0):
        self.root = Path(root)
        if not (self.root / FRAMES_DIR).is_dir():
            raise FileNotFoundError(f"{self.root}: not a frame store (no {FRAMES_DIR}/ directory)")
        if decoded_cache_mb < 0:
            raise ValueError(f"decoded_cache_mb must be >= 0, got {decoded_cache_mb}")
        self.decoded_cache_bytes = int(decoded_cache_mb * 2**20)
        self._cache: collections.OrderedDict[str, _Entry] = collections.OrderedDict()
        self._pid = os.getpid()
        self._reset_decoded()

    def _reset_decoded(self) -> None:
        self._decoded: dict[str, torch.Tensor | None] = {}  # None: read this video the normal way
        self._decoded_bytes = 0

    # -- pickling / process safety -------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "decoded_budget": self.decoded_cache_bytes}  # never the frames

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root = state["root"]
        self.decoded_cache_bytes = state.get("decoded_budget", 0)
        self._cache = collections.OrderedDict()
        self._pid = os.getpid()
        self._reset_decoded()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close cached descriptors (only those this process opened)."""
        cache = getattr(self, "_cache", None)
        if cache and getattr(self, "_pid", None) == os.getpid():
            for entry in cache.values():
                try:
                    os.close(entry.fd)
                except OSError:
                    pass
        if cache is not None:
            cache.clear()

    def _entry(self, key: str) -> _Entry:
        if self._pid != os.getpid():
            # Forked child: it has its own copies of the parent's descriptors
            # (closing them here does not affect the parent). Start afresh.
            for inherited in self._cache.values():
                try:
                    os.close(inherited.fd)
                except OSError:
                    pass
            self._cache = collections.OrderedDict()
            self._pid = os.getpid()
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            return entry
        entry = _open_entry(store_file(self.root, key))
        self._cache[key] = entry
        if len(self._cache) > _CACHE_SIZE:
            _, old = self._cache.popitem(last=False)
            os.close(old.fd)
        return entry

    # -- metadata ---------------------------------------------------------------------
    def path(self, key: str) -> Path:
        return store_file(self.root, key)

    def __contains__(self, key: str) -> bool:
        return store_file(self.root, key).is_file()

    def keys(self) -> list[str]:
        """All video keys in the store, sorted (temp files from killed writers are ignored)."""
        base = self.root / FRAMES_DIR
        out = []
        for dirpath, _, files in os.walk(base):
            for name in files:
                if name.endswith(SUFFIX) and not name.startswith("."):
                    rel = Path(dirpath, name).relative_to(base).as_posix()
                    out.append(rel[: -len(SUFFIX)])
        return sorted(out)

    def num_frames(self, key: str) -> int:
        return self._entry(key).num_frames

    def frame_size(self, key: str) -> tuple[int, int]:
        """(H, W) of the stored frames."""
        entry = self._entry(key)
        return entry.height, entry.width

    def fps(self, key: str) -> float:
        return self._entry(key).fps

    def meta(self, key: str) -> dict[str, Any]:
        return read_meta(store_file(self.root, key))

    # -- frames ------------------------------------------------------------------------
    def read_encoded(self, key: str, indices: Sequence[int] | torch.Tensor | np.ndarray) -> list[torch.Tensor]:
        """The JPEG bytes of the requested frames as 1-D uint8 tensors, in request order.

        Each maximal run of consecutive frames is fetched with one ``pread``; a
        16-frame consecutive clip is a single read.
        """
        uniq, inverse = _sorted_unique(indices)
        pieces = self._read_sorted(key, uniq)
        return pieces if inverse is None else [pieces[i] for i in inverse]

    def _read_sorted(self, key: str, uniq: np.ndarray) -> list[torch.Tensor]:
        """JPEG bytes of strictly increasing frame indices ``uniq``."""
        entry = self._entry(key)
        if uniq.size == 0:
            return []
        n = entry.num_frames
        if uniq[0] < 0 or uniq[-1] >= n:
            bad = uniq[0] if uniq[0] < 0 else uniq[-1]
            raise IndexError(f"{entry.path}: frame index {int(bad)} out of range for {n} frames")
        offsets = entry.offsets
        # split into runs of consecutive frames: one pread per run
        breaks = (np.flatnonzero(np.diff(uniq) != 1) + 1).tolist()
        pieces: list[torch.Tensor] = []
        for lo_i, hi_i in zip([0] + breaks, breaks + [len(uniq)]):
            first, last = int(uniq[lo_i]), int(uniq[hi_i - 1])
            lo, hi = int(offsets[first]), int(offsets[last + 1])
            buf = bytearray(hi - lo)
            if os.preadv(entry.fd, [buf], lo) != len(buf):
                raise StoreError(f"{entry.path}: truncated store file (short read at {lo})")
            starts = (offsets[first : last + 2] - lo).tolist()
            if entry.frame_crcs is not None:
                _check_frame_crcs(entry, buf, starts, first)
            blob = torch.frombuffer(buf, dtype=torch.uint8)
            pieces.extend(blob[starts[j] : starts[j + 1]] for j in range(last - first + 1))
        return pieces

    def read(
        self,
        key: str,
        indices: Sequence[int] | torch.Tensor | np.ndarray,
        *,
        device: str | torch.device = "cpu",
        crop: tuple[int, int, int, int] | None = None,
    ) -> torch.Tensor:
        """Decode frames ``indices`` of ``key`` into a uint8 tensor ``(T, H, W, C)``.

        ``crop=(top, left, height, width)`` crops each frame right after decoding,
        before the frames are stacked, so only the kept pixels are copied.
        ``device="cuda"`` decodes with nvJPEG; CPU decoding uses libjpeg-turbo
        (`vssl.data.jpeg`).
        Repeated indices are decoded once.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            entry = self._entry(key)
            h, w = (crop[2], crop[3]) if crop else (entry.height, entry.width)
            return torch.empty((0, h, w, 3), dtype=torch.uint8, device=device)
        if self.decoded_cache_bytes and torch.device(device).type == "cpu":
            video = self._decoded_video(key)
            if video is not None:
                return self._slice_decoded(video, key, idx, crop)
        uniq, inverse = _sorted_unique(idx)
        data = self._read_sorted(key, uniq)
        if torch.device(device).type != "cpu":
            try:
                return self._assemble(jpeg.decode_cuda(data, device), key, crop, inverse)
            except RuntimeError as err:
                raise self._corrupt_frame_error(key, uniq, data, err) from None
        frames = []
        for frame, encoded in zip(uniq.tolist(), data):
            try:
                frames.append(jpeg.decode(encoded))
            except jpeg.JpegError as err:
                raise StoreError(f"{self.path(key)}: corrupt JPEG data in frame {frame} ({err})") from None
        return self._assemble([torch.from_numpy(f) for f in frames], key, crop, inverse)

    def _decoded_video(self, key: str) -> torch.Tensor | None:
        """Every frame of ``key`` decoded ``(N, H, W, C)``, from the cache or decoded now; None past the budget."""
        if key in self._decoded:
            return self._decoded[key]
        from vssl.data import shared  # imports this module

        frames = shared.shared_video(self.root, key)
        if frames is not None:  # decoded once by the fork server, shared by its forks: no budget spent
            self._decoded[key] = torch.from_numpy(frames)
            return self._decoded[key]
        entry = self._entry(key)
        size = entry.num_frames * entry.height * entry.width * 3
        video = None
        self._decoded[key] = None  # so the read below takes the decoding path
        if self._decoded_bytes + size <= self.decoded_cache_bytes:
            try:
                video = self.read(key, np.arange(entry.num_frames), crop=None) if entry.num_frames else None
            except (StoreError, IndexError):
                video = None  # the normal path names the bad frame when (and only if) a clip needs it
            if video is not None:
                self._decoded_bytes += size
        self._decoded[key] = video
        return video

    def _slice_decoded(
        self, video: torch.Tensor, key: str, idx: np.ndarray, crop: tuple[int, int, int, int] | None
    ) -> torch.Tensor:
        n = video.shape[0]
        if idx.min() < 0 or idx.max() >= n:
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise IndexError(f"{self.path(key)}: frame index {int(bad)} out of range for {n} frames")
        if crop is not None:
            top, left, ch, cw = crop
            h, w = video.shape[1:3]
            if top < 0 or left < 0 or top + ch > h or left + cw > w:
                raise ValueError(f"crop {crop} does not fit frames of size {h}x{w} ({self.path(key)})")
            video = video[:, top : top + ch, left : left + cw]
        return video[torch.from_numpy(idx)].contiguous()

    def _assemble(
        self, hwc: list[torch.Tensor], key: str, crop: tuple[int, int, int, int] | None, inverse: np.ndarray | None
    ) -> torch.Tensor:
        """Crop decoded ``(H, W, C)`` frames, stack them into ``(T, H, W, C)`` (copying only the kept pixels)."""
        if crop is not None:
            top, left, ch, cw = crop
            h, w = hwc[0].shape[:2]
            if top < 0 or left < 0 or top + ch > h or left + cw > w:
                raise ValueError(f"crop {crop} does not fit frames of size {h}x{w} ({self.path(key)})")
            hwc = [f[top : top + ch, left : left + cw] for f in hwc]
        out = torch.stack(hwc)
        if inverse is not None:
            out = out[torch.from_numpy(inverse)]
        return out

    def _corrupt_frame_error(
        self, key: str, frames: np.ndarray, data: list[torch.Tensor], err: RuntimeError
    ) -> StoreError:
        """Name the first frame that fails to decode (the batch error does not say which)."""
        for frame, encoded in zip(frames.tolist(), data):
            try:
                jpeg.decode(encoded)
            except jpeg.JpegError as frame_err:
                return StoreError(f"{self.path(key)}: corrupt JPEG data in frame {frame} ({frame_err})")
        return StoreError(f"{self.path(key)}: JPEG decoding failed for frames {frames.tolist()} ({err})")


class FrameWriter:
    """Stream one video's frames into a store file, atomically.

    Use as a context manager; the file appears under its final name only when the
    block exits without error (temp file + rename), so a killed extraction never
    leaves a half-written store file that looks valid::

        with FrameWriter(path, fps=25.0, quality=90) as w:
            w.add(frames_thwc_uint8)
            w.meta = {"status": "ok"}
    """

    def __init__(self, path: str | os.PathLike, *, fps: float, quality: int = 90):
        if not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
        self.path = Path(path)
        self.fps = float(fps)
        self.quality = int(quality)
        self.meta: dict[str, Any] = {}
        self.height = 0
        self.width = 0
        self._offsets: list[int] = [HEADER_SIZE]
        self._crcs: list[int] = []
        self._ctx = None
        self._file = None

    @property
    def num_frames(self) -> int:
        return len(self._offsets) - 1

    def __enter__(self) -> FrameWriter:
        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        self._file = open(tmp, "wb")
        self._file.write(b"\0" * HEADER_SIZE)
        return self

    def add(self, frames: torch.Tensor | np.ndarray) -> None:
        """Append uint8 frames ``(T, H, W, C)`` (or one ``(H, W, C)``) with C = 3."""
        t = torch.as_tensor(frames)
        if t.ndim == 3:
            t = t.unsqueeze(0)
        if t.ndim != 4 or t.shape[-1] != 3 or t.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8 (T, H, W, 3), got {tuple(t.shape)} {t.dtype}")
        if t.shape[0] == 0:
            return
        encoded = jpeg.encode_many(t.numpy(), self.quality)
        self.add_encoded(encoded, height=t.shape[1], width=t.shape[2])

    def add_encoded(self, jpegs: Iterable[torch.Tensor | bytes], *, height: int, width: int) -> None:
        """Append already-encoded JPEG frames of size ``height`` x ``width``."""
        if self._file is None:
            raise RuntimeError("FrameWriter must be used as a context manager")
        if self.num_frames == 0:
            self.height, self.width = int(height), int(width)
        elif (height, width) != (self.height, self.width):
            raise ValueError(f"{self.path}: frame size {height}x{width} differs from {self.height}x{self.width}")
        for encoded in jpegs:
            data = encoded.numpy().tobytes() if isinstance(encoded, torch.Tensor) else bytes(encoded)
            self._file.write(data)
            self._offsets.append(self._offsets[-1] + len(data))
            self._crcs.append(zlib.crc32(data))

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._ctx is not None and self._file is not None
        try:
            if exc_type is None:
                if self.num_frames == 0:
                    raise ValueError(f"{self.path}: refusing to write a store file with no frames")
                tail = (
                    np.asarray(self._offsets, dtype="<i8").tobytes()
                    + np.asarray(self._crcs, dtype="<u4").tobytes()
                    + json.dumps(self.meta, sort_keys=True, default=str).encode("utf-8")
                )
                self._file.write(tail)
                fields = (
                    MAGIC,
                    FORMAT_VERSION,
                    self.num_frames,
                    self.height,
                    self.width,
                    self.fps,
                    self._offsets[-1],
                    len(tail) - 8 * (self.num_frames + 1) - 4 * self.num_frames,
                )
                crc = zlib.crc32(tail, zlib.crc32(_HEADER.pack(*fields, 0)[:-4]))
                header = _HEADER.pack(*fields, crc)
                self._file.seek(0)
                self._file.write(header)
                self._file.flush()
                os.fsync(self._file.fileno())
        except BaseException as err:
            self._file.close()
            self._ctx.__exit__(type(err), err, err.__traceback__)
            raise
        self._file.close()
        return bool(self._ctx.__exit__(exc_type, exc, tb))


def write_frames(
    path: str | os.PathLike,
    frames: torch.Tensor | np.ndarray | Iterable[torch.Tensor | np.ndarray],
    *,
    fps: float,
    quality: int = 90,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a whole store file from ``(T, H, W, 3)`` uint8 frames (or an iterable of chunks)."""
    with FrameWriter(path, fps=fps, quality=quality) as writer:
        chunks: Iterator = iter([frames]) if isinstance(frames, (torch.Tensor, np.ndarray)) else iter(frames)
        for chunk in chunks:
            writer.add(chunk)
        writer.meta = dict(meta or {})
    return Path(path)
