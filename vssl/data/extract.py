"""`vssl extract`: decode a dataset's videos into a JPEG frame store.

Pipeline per video (one worker process each, ``--jobs`` in parallel): PyAV
decode with FFmpeg's own threading, swscale resize + RGB conversion in one
``frame.reformat`` call, libjpeg-turbo encoding (`vssl.data.jpeg`), streamed into one store file per video
(see ``vssl.data.store``).

Outputs in ``--out``:

- ``frames/<video>.vfs``: the store; each file also carries its extraction
  record (status, reason, source frame count and fps) in its metadata block.
- ``manifest.csv``: the adapter's manifest plus ``frames``, ``height``,
  ``width``, ``fps``, ``status`` (ok / partial / failed) and ``reason``.
- ``failures.csv``: ``video, status, reason`` for every failed *and* partial video.
  A file name that is not valid UTF-8 or holds a backslash is such a failed row (never
  decoded, re-checked each run); in both CSVs its undecodable bytes read ``\\xNN``.
- ``extract.json``: the settings; a re-run with different settings is refused.
- ``failed.jsonl``: append-only log of failed videos (no store file exists to
  record them), so that a re-run does not decode them again.

Resumability: a store file appears only via temp file + rename, so after a
kill every video is either complete or absent. A re-run removes the killed
run's temp files, reads each existing store file's header and metadata (no
decoding) and the failure log, then extracts only what is missing; the
manifest is rebuilt from those records.

Memory: without ``--frames`` each video's JPEGs stream into its temp file as
they are encoded, so long videos need no more than one 32-frame chunk; with
``--frames`` a video's JPEGs stay in memory until its frame count is known.

Decisions where the papers or the brief leave room:

- ``--frames N`` (3DRotNet: "evenly downsampled into 160 / 90 frames") keeps
  source frames ``floor((i + 0.5) * n / N)`` for ``i < N``: the centre frame of N
  equal segments. A video with fewer than N frames has frames repeated to reach
  N. The stored fps becomes ``source_fps * N / n`` so the store still spans the
  video's real duration.
- ``--min-frames`` is checked on the number of *decoded source* frames.
- Frame count, duration and fps come from the decoded stream: the stored fps is
  the mean interval of the decoded frames' timestamps (``(n - 1) / span``), so a
  file whose container declares more frame slots than it codes (an AVI with
  dropped-frame slots: OpenCV's ``tree.avi`` declares 444 slots at 15 fps and
  codes 68 frames over 29.6 s) keeps its real duration, and a variable-rate file
  its real average rate. The container's nominal rate is used only below two
  timestamped frames.
- Truncation: FFmpeg often reads a truncated AVI to its cut without raising,
  so a video is also ``partial`` when its decoded frames end clearly before the
  duration its container declares (by more than 2 % and one frame slot); it
  keeps the frames that decoded and the reason gives both counts. Fewer frames
  than declared slots alone is not truncation.
- ``--short-side N`` rounds the long side to the nearest pixel (320x240 ->
  171x128, VCOP's 128x171). Non-square pixel aspect ratios are ignored.
- Display rotation (a phone video's display matrix): recorded per video as
  ``display_rotation`` (degrees counter-clockwise, as PyAV's ``VideoFrame.rotation``)
  in the manifest and the store file's metadata; the frames are stored as coded
  unless ``--apply-rotation`` turns them (multiples of 90 degrees; the size
  settings then apply to the upright frame).
- The vssl version is recorded in ``extract.json`` but a different version does
  not block reuse; the store *format* version and every setting that changes
  the stored frames or statuses (dataset, size, frames, quality, min-frames) do.
- Two ``vssl extract`` processes must not write the same store at once.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd
import torch

from vssl.data import jpeg
from vssl.data.store import FORMAT_VERSION, FRAMES_DIR, FrameWriter, StoreError, read_meta, store_file, validate_key
from vssl.utils.io import atomic_write_csv, atomic_write_json
from vssl.utils.locks import holder, try_lock

MANIFEST_COLUMNS = ("frames", "height", "width", "fps", "status", "reason", "display_rotation")
FAILURE_LOG = "failed.jsonl"
SETTINGS_FILE = "extract.json"
# Frames are resized and JPEG-encoded in chunks: amortises the per-call cost of
# encode_jpeg on a list while keeping memory per worker small for long videos.
_CHUNK = 32
# A video is partial when it decodes fewer frames than its container declares
# by more than this fraction (and more than one frame): small mismatches between
# header counts and decodable frames are common and harmless.
_SHORTFALL_TOLERANCE = 0.02


@dataclass(frozen=True)
class ExtractSettings:
    """Everything that determines what a store contains; compared on re-use."""

    dataset: str
    short_side: int | None = None
    size: tuple[int, int] | None = None  # (H, W)
    frames: int | None = None
    min_frames: int = 16
    quality: int = 90
    apply_rotation: bool = False  # turn frames by the container's display matrix (multiples of 90 degrees)

    def __post_init__(self) -> None:
        if self.short_side is not None and self.size is not None:
            raise ValueError("give either --short-side or --size, not both")
        if self.short_side is not None and self.short_side < 1:
            raise ValueError(f"--short-side must be >= 1, got {self.short_side}")
        if self.size is not None:
            object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
            if min(self.size) < 1:
                raise ValueError(f"--size must be positive, got {self.size}")
        if self.frames is not None and self.frames < 1:
            raise ValueError(f"--frames must be >= 1, got {self.frames}")
        if self.min_frames < 1:
            raise ValueError(f"--min-frames must be >= 1, got {self.min_frames}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"--quality must be in 1..100, got {self.quality}")

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) to store for a source of ``height`` x ``width``."""
        if self.size is not None:
            return self.size
        if self.short_side is not None:
            n = self.short_side
            if height <= width:
                return n, max(1, round(width * n / height))
            return max(1, round(height * n / width)), n
        return height, width

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["size"] = list(self.size) if self.size else None
        if not self.apply_rotation:  # the default stays out, so stores made before the option still match
            del d["apply_rotation"]
        return d


def resample_indices(num_source: int, num_out: int) -> np.ndarray:
    """Centre frames of ``num_out`` equal segments of a ``num_source``-frame video."""
    return np.floor((np.arange(num_out) + 0.5) * num_source / num_out).astype(np.int64)


@dataclass
class _Decoded:
    count: int = 0  # frames decoded (and encoded)
    jpegs: list[bytes] = field(default_factory=list)  # kept only without a sink
    height: int = 0
    width: int = 0
    source_height: int = 0
    source_width: int = 0
    fps: float = 0.0  # from the decoded timestamps; the container's rate below two timestamped frames
    nominal_fps: float = 0.0  # what the container declares
    declared: int = 0  # frame slots the container declares
    declared_s: float = 0.0  # duration the container declares (0: unknown)
    decoded_s: float = 0.0  # where the decoded frames end: last timestamp + one frame interval
    error: str = ""
    opened: bool = True
    rotation: int = 0  # display matrix: degrees counter-clockwise the frames are meant to be turned
    turns: int = 0  # quarter turns applied (--apply-rotation)


Sink = Callable[[list[bytes], int, int], None]


def _encode_chunk(frames: list[np.ndarray], quality: int) -> list[bytes]:
    return jpeg.encode_many(frames, quality)


def decode_video(src: str | os.PathLike, settings: ExtractSettings, sink: Sink | None = None) -> _Decoded:
    """Decode, resize and JPEG-encode every frame of ``src``; never raises for bad input.

    Encoded chunks go to ``sink(jpegs, height, width)`` as they are made, or are
    collected in ``jpegs`` when there is no sink. Anything that goes wrong while
    *reading* the video is a property of the input, so it is caught and reported
    in ``error`` with the frames decoded so far. Errors raised by the sink
    (writing the store: disk full, permissions) propagate and stop the run,
    since every later video would fail the same way and must not be recorded as
    a bad video.
    """
    dec = _Decoded()
    try:
        if os.stat(src).st_size == 0:
            dec.error, dec.opened = "empty file (0 bytes)", False
            return dec
        container = av.open(str(src))
    except Exception as err:  # corrupt, missing or unreadable file
        dec.error = f"cannot open: {_describe(err)}"
        dec.opened = False
        return dec

    def emit(frames: list[np.ndarray]) -> None:
        jpegs = _encode_chunk(frames, settings.quality)
        dec.count += len(jpegs)
        if sink is None:
            dec.jpegs.extend(jpegs)
        else:
            sink(jpegs, dec.height, dec.width)

    pending: list[np.ndarray] = []
    try:
        if not container.streams.video:
            dec.error = "no video stream"
            return dec
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        dec.nominal_fps = float(rate) if rate else 0.0
        dec.declared = int(stream.frames or 0)
        dec.declared_s = _declared_seconds(stream, container, dec)
        timestamps: list[float] = []
        frames = container.decode(stream)
        while True:
            try:
                frame = next(frames)
                if frame.pts is not None and frame.time_base is not None:
                    timestamps.append(float(frame.pts * frame.time_base))
                if not dec.source_height:
                    _first_frame(dec, frame, settings)
                # swscale resizes and converts to RGB in one pass; one thread per
                # call because the parallelism is across videos
                h, w = (dec.width, dec.height) if dec.turns % 2 else (dec.height, dec.width)
                rgb = frame.reformat(width=w, height=h, format="rgb24", interpolation="AREA", threads=1).to_ndarray()
                pending.append(np.ascontiguousarray(np.rot90(rgb, dec.turns)) if dec.turns else rgb)
            except StopIteration:
                break
            except Exception as err:  # mid-stream corruption: keep what decoded
                dec.error = _describe(err)
                break
            if len(pending) == _CHUNK:  # outside the try: sink errors must propagate
                emit(pending)
                pending = []
    finally:
        container.close()
    if pending:
        emit(pending)
    _time_decoded(dec, timestamps)
    return dec


def _first_frame(dec: _Decoded, frame: Any, settings: ExtractSettings) -> None:
    """Source size, display rotation and the stored size, from the first decoded frame."""
    dec.source_height, dec.source_width = frame.height, frame.width
    dec.rotation = int(round(float(getattr(frame, "rotation", 0) or 0))) % 360  # PyAV >= 13 reads the matrix
    if settings.apply_rotation and dec.rotation % 90 == 0:
        dec.turns = dec.rotation // 90
    upright = (frame.width, frame.height) if dec.turns % 2 else (frame.height, frame.width)
    dec.height, dec.width = settings.target_size(*upright)


def _declared_seconds(stream: Any, container: Any, dec: _Decoded) -> float:
    """The duration the container declares for the stream (0 when it declares none)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if dec.declared and dec.nominal_fps:
        return dec.declared / dec.nominal_fps
    return float(container.duration) / 1e6 if container.duration else 0.0


def _time_decoded(dec: _Decoded, timestamps: list[float]) -> None:
    """Rate and end time from the decoded frames' timestamps (mean interval; nominal rate as fallback)."""
    dec.fps = dec.nominal_fps
    span = max(timestamps) - min(timestamps) if len(timestamps) >= 2 else 0.0
    if span > 0:
        dec.fps = (len(timestamps) - 1) / span
    if timestamps and dec.fps > 0:
        dec.decoded_s = span + 1.0 / dec.fps


class _Rejected(Exception):
    """Raised inside a FrameWriter block to discard a video's temp file."""


def extract_video(src: str | os.PathLike, dst: str | os.PathLike, settings: ExtractSettings) -> dict[str, Any]:
    """Decode one video into store file ``dst`` and return its record.

    The record is ``{status, reason, frames, height, width, fps, source_*}``;
    a store file is written only for status ok / partial. Without ``--frames``
    the frames stream into the store file's temp file as they are encoded (memory
    stays bounded for long videos); with ``--frames`` the encoded frames are kept
    in memory until the count is known and the resampled subset is written.
    """
    start = time.perf_counter()
    dst = Path(dst)
    if settings.frames is not None:
        dec = decode_video(src, settings)
        record = _judge(dec, settings)
        if record["status"] != "failed":
            keep = [dec.jpegs[i] for i in resample_indices(dec.count, settings.frames)]
            record.update(frames=len(keep), fps=dec.fps * settings.frames / dec.count)
            _write(dst, keep, record, settings)
        return _timed(record, start)
    record = {}
    try:
        with FrameWriter(dst, fps=0.0, quality=settings.quality) as writer:
            dec = decode_video(src, settings, sink=lambda jpegs, h, w: writer.add_encoded(jpegs, height=h, width=w))
            record = _judge(dec, settings)
            if record["status"] == "failed":
                raise _Rejected
            writer.fps = record["fps"]
            writer.meta = _meta(record, settings)
    except _Rejected:
        pass
    return _timed(record, start)


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".replace("\n", " ").strip()


def _failed(reason: str, **info: Any) -> dict[str, Any]:
    return {"status": "failed", "reason": reason, "frames": 0, "height": 0, "width": 0, "fps": 0.0, **info}


def _timed(record: dict[str, Any], start: float) -> dict[str, Any]:
    record["seconds"] = round(time.perf_counter() - start, 4)
    return record


def _meta(record: dict[str, Any], settings: ExtractSettings) -> dict[str, Any]:
    """What the store file's metadata block keeps (its header has frames, size, fps), and the settings
    that made its frames: a rerun with other settings re-extracts the file even without ``extract.json``."""
    kept = {k: v for k, v in record.items() if k not in ("frames", "height", "width", "fps", "seconds")}
    return {**kept, SETTINGS_KEY: settings.to_json()}


def _write(dst: Path, jpegs: list[bytes], record: dict[str, Any], settings: ExtractSettings) -> None:
    with FrameWriter(dst, fps=record["fps"], quality=settings.quality) as writer:
        writer.add_encoded(jpegs, height=record["height"], width=record["width"])
        writer.meta = _meta(record, settings)


def _ends_early(dec: _Decoded) -> bool:
    """The decoded frames stop clearly before the declared duration (2 % and one frame slot)."""
    if dec.count == 0 or dec.declared_s <= 0 or dec.decoded_s <= 0:
        return False
    slot = 1.0 / dec.nominal_fps if dec.nominal_fps else 0.0
    return dec.declared_s - dec.decoded_s > max(slot, _SHORTFALL_TOLERANCE * dec.declared_s)


def _judge(dec: _Decoded, settings: ExtractSettings) -> dict[str, Any]:
    """Status and reason of a decoded video (before any resampling)."""
    if not dec.opened:
        return _failed(dec.error)
    n = dec.count
    info = {
        "source_frames": n,
        "declared_frames": dec.declared,
        "source_fps": dec.fps,
        "declared_fps": dec.nominal_fps,
        "source_seconds": round(dec.decoded_s, 4),
        "source_height": dec.source_height,
        "source_width": dec.source_width,
        "display_rotation": dec.rotation,
        "rotation_applied": dec.turns * 90,
    }
    problems = []
    if dec.error:
        problems.append(f"decode error after {n} frames ({dec.error})")
    if _ends_early(dec):
        problems.append(
            f"decoded {n} of {dec.declared} frames the container declares (truncated?): "
            f"they end at {dec.decoded_s:.2f} s of its {dec.declared_s:.2f} s"
        )
    if n == 0:
        return _failed("; ".join(problems or ["no decodable frames"]), **info)
    if n < settings.min_frames:
        return _failed("; ".join([f"too short: {n} frames < --min-frames {settings.min_frames}"] + problems), **info)
    status = "partial" if problems else "ok"
    kept = f"kept {n} frames"
    if settings.frames is not None and settings.frames != n:  # --frames resamples what decoded
        kept = f"kept {n} decoded frames, stored {settings.frames} (--frames {settings.frames})"
    reason = "; ".join(problems + ([kept] if problems else []))
    return {
        "status": status,
        "reason": reason,
        "frames": n,
        "height": dec.height,
        "width": dec.width,
        "fps": dec.fps,
        **info,
    }


# -- store-level driver ------------------------------------------------------------------


def check_settings(out: Path, settings: ExtractSettings) -> None:
    """Write ``extract.json`` for a new store; refuse a store made with other settings."""
    path = out / SETTINGS_FILE
    from vssl import __version__

    wanted = {"settings": settings.to_json(), "store_format": FORMAT_VERSION}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: unreadable settings file (line {err.lineno}: {err.msg})") from None
        have = {"settings": old.get("settings"), "store_format": old.get("store_format")}
        if have != wanted:
            diffs = [
                f"{k}: store has {have['settings'].get(k) if have['settings'] else None!r}, asked {v!r}"
                for k, v in wanted["settings"].items()
                if not have["settings"] or have["settings"].get(k) != v
            ]
            if have["store_format"] != FORMAT_VERSION:
                diffs.append(f"store_format: store has {have['store_format']!r}, this code writes {FORMAT_VERSION}")
            raise ValueError(
                f"{path}: store was made with different settings ({'; '.join(diffs)}); "
                "use another --out or delete the store"
            )
        return
    atomic_write_json(path, {**wanted, "vssl_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def _load_failure_log(path: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return records
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
                records[rec["video"]] = rec
            except (json.JSONDecodeError, KeyError, TypeError):
                # a kill mid-append leaves a torn last line; that video is simply redone
                print(f"warning: {path}:{lineno}: ignoring unreadable failure record", file=sys.stderr)
    return records


def _append_failure(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _existing_record(out: Path, key: str, wanted: dict[str, Any], *, verify: bool = False) -> dict[str, Any] | None:
    """Record of an already extracted video, or None when it must be (re)done.

    A file is reused when it opens (its header, index and metadata CRCs hold) and was made with the
    settings ``wanted`` (`ExtractSettings.to_json`); ``verify`` also checks the CRC of every frame.
    """
    path = store_file(out, key)
    if not path.exists():
        return None
    try:
        meta = read_meta(path, verify=verify)
    except StoreError as err:
        print(f"warning: {err}; re-extracting", file=sys.stderr)
        return None
    made_with = meta.pop(SETTINGS_KEY, None)
    if made_with != wanted:
        print(f"warning: {path}: made with other extraction settings ({made_with}); re-extracting", file=sys.stderr)
        return None
    return meta


def _remove_stale_temps(out: Path) -> int:
    """Delete temp files a killed run left in the store (``.<name>.<random>.tmp``)."""
    removed = 0
    for dirpath, _, files in os.walk(out / FRAMES_DIR):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                os.unlink(os.path.join(dirpath, name))
                removed += 1
    return removed


LOCK_FILE = ".extract.lock"
SETTINGS_KEY = "extract_settings"  # in each store file's metadata and each failure record


class StoreBusyError(ValueError):
    """Another `vssl extract` is writing this store."""


def lock_store(out: Path) -> int:
    """Take the store's writer lock (``flock``, held until the descriptor closes or the process dies).

    A second writer would delete the first one's temp files as orphans; it stops here instead,
    naming the holder.
    """
    fd = try_lock(out / LOCK_FILE)
    if fd is None:
        raise StoreBusyError(
            f"{out}: another vssl extract (pid {holder(out / LOCK_FILE)}) is writing this store; "
            "wait for it to finish or stop it"
        )
    return fd


def _exit_with(parent: int) -> None:
    """Exit this worker as soon as the extract process ``parent`` is gone.

    A pool worker's parent is the fork server, which outlives a killed extract (it and its
    workers were seen writing store files after ``kill -9``), so neither the parent-death signal
    nor the pool's own pipes stop it; a daemon thread polls the extract's pid instead.
    """
    import threading

    def gone() -> bool:
        try:
            os.kill(parent, 0)
        except (ProcessLookupError, PermissionError):  # PermissionError: the pid now belongs to another user
            return True
        try:  # a killed extract not yet reaped by its shell is a zombie: gone too
            return Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            return False

    def watch() -> None:
        while not gone():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-extract", daemon=True).start()


def _worker_init(parent: int) -> None:
    _exit_with(parent)  # a killed extract leaves no workers writing into its store
    # one core per worker: parallelism is across videos
    torch.set_num_threads(1)


def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers that share no threads or open handles with this process.

    ``fork`` would copy the parent's threads' locks (tqdm's monitor, OpenMP) into
    the children; ``spawn`` is safe but imports torch once per worker. A fork
    server that preloads this module imports it once and forks clean workers.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


def _run_one(args: tuple[str, str, str, ExtractSettings]) -> tuple[str, dict[str, Any]]:
    key, src, dst, settings = args
    return key, extract_video(src, dst, settings)


def extract_store(
    manifest: pd.DataFrame,
    root: str | os.PathLike,
    out: str | os.PathLike,
    settings: ExtractSettings,
    *,
    jobs: int | None = None,
    retry_failed: bool = False,
    verify: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Extract every ``manifest.video`` under ``root`` into the store ``out``.

    Returns the output manifest (also written to ``out/manifest.csv``).
    ``jobs=1`` runs in this process; more uses a process pool. One writer per store: a second
    extract of the same ``out`` stops with `StoreBusyError` naming the first one's pid.
    ``verify`` checks every frame CRC of the files already there and re-extracts those that fail.
    """
    if "video" not in manifest.columns:
        raise ValueError("manifest has no 'video' column")
    root, out = Path(root), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = lock_store(out)
    try:
        return _extract_locked(
            manifest, root, out, settings, jobs=jobs, retry_failed=retry_failed, verify=verify, progress=progress
        )
    finally:
        os.close(lock)


def _extract_locked(
    manifest: pd.DataFrame,
    root: Path,
    out: Path,
    settings: ExtractSettings,
    *,
    jobs: int | None,
    retry_failed: bool,
    verify: bool,
    progress: bool,
) -> pd.DataFrame:
    from tqdm import tqdm

    check_settings(out, settings)
    jobs = jobs or len(os.sched_getaffinity(0))
    log_path = out / FAILURE_LOG
    stale = _remove_stale_temps(out)  # one writer per store (see module doc), so these are orphans
    if stale:
        print(f"extract: removed {stale} temp files left by an interrupted run", file=sys.stderr)
    failed_before = {} if retry_failed else _load_failure_log(log_path)

    wanted = settings.to_json()  # what each reused file and failure record must have been made with
    videos = list(dict.fromkeys(manifest["video"].astype(str)))
    records, todo, refused = _reuse_done(videos, out, wanted, failed_before, verify=verify)

    t0 = time.perf_counter()
    tasks = [(key, str(root / key), str(store_file(out, key)), settings) for key in todo]
    bar = tqdm(
        total=len(videos),
        initial=len(videos) - len(todo),
        unit="video",
        desc="extract",
        disable=not progress,
        mininterval=1.0,
        file=sys.stderr,
    )

    def collect(key: str, rec: dict[str, Any]) -> None:
        records[key] = rec
        if rec["status"] == "failed":
            _append_failure(log_path, {"video": key, **rec, SETTINGS_KEY: wanted})
        bar.update(1)

    try:
        _run_tasks(tasks, jobs, collect)
    finally:
        bar.close()

    result = _build_manifest(manifest, records)
    atomic_write_csv(out / "manifest.csv", result)
    bad = result[result["status"] != "ok"][["video", "status", "reason"]]
    atomic_write_csv(out / "failures.csv", bad)
    counts = result["status"].value_counts()
    elapsed = time.perf_counter() - t0
    rate = len(todo) / elapsed if elapsed > 0 else 0.0
    names = f", {refused} refused for their file names (see failures.csv)" if refused else ""
    print(
        f"extract: {len(result)} videos: {counts.get('ok', 0)} ok, {counts.get('partial', 0)} partial, "
        f"{counts.get('failed', 0)} failed; {len(todo)} decoded now, {len(videos) - len(todo) - refused} "
        f"already done{names}; "
        f"{elapsed:.1f} s ({rate:.1f} videos/s) -> {out}",
        file=sys.stderr,
    )
    return result


def _reuse_done(
    videos: list[str], out: Path, wanted: str, failed_before: dict, *, verify: bool
) -> tuple[dict[str, dict[str, Any]], list[str], int]:
    """Records of videos already done (a store file or failure record made with ``wanted``), the rest to do,
    and how many names were refused."""
    records: dict[str, dict[str, Any]] = {}
    todo: list[str] = []
    refused = 0
    for key in videos:
        problem = _name_problem(key)
        if problem:  # checked again on every run (costs nothing), so never put in the failure log
            records[key] = _failed(problem)
            refused += 1
            continue
        rec = _existing_record(out, key, wanted, verify=verify)
        if rec is None and failed_before.get(key, {}).get(SETTINGS_KEY) == wanted:
            rec = {k: v for k, v in failed_before[key].items() if k != SETTINGS_KEY}
        if rec is None:
            todo.append(key)
        else:
            records[key] = rec
    return records, todo, refused


def _run_tasks(tasks: list, jobs: int, collect) -> None:
    """Run ``_run_one`` over ``tasks``, in this process or a pool of ``jobs``, handing each result to ``collect``."""
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            collect(*_run_one(task))
        return
    with cf.ProcessPoolExecutor(
        max_workers=jobs, mp_context=_pool_context(), initializer=_worker_init, initargs=(os.getpid(),)
    ) as pool:
        pending: set[cf.Future] = set()
        # bounded window: Kinetics-sized task lists need not all be queued at once
        for task in tasks:
            pending.add(pool.submit(_run_one, task))
            if len(pending) >= 4 * jobs:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    collect(*fut.result())
        for fut in cf.as_completed(pending):
            collect(*fut.result())


def printable(name: str) -> str:
    """``name`` with its undecodable bytes as ``\\xNN``, so that a non-UTF-8 file name can be written.

    ``os.scandir`` returns such a name with surrogate escapes (``caf\\udce9.mp4``), which no UTF-8
    file (CSV, log) accepts; a valid name comes back unchanged.
    """
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name decodes to
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _name_problem(key: str) -> str | None:
    """Why ``key`` cannot be a store key, or None; such a video is a failure row, never decoded.

    A non-UTF-8 name would make manifest.csv unwritable, and a backslash (or a path escaping the
    store) is refused by the store, so either would stop the whole run instead of one video.
    """
    shown = printable(key)
    if shown != key:
        return f"file name is not valid UTF-8: {shown} (rename the file to extract it)"
    if "\\" in key:
        return f"file name contains a backslash: {key} (rename the file to extract it)"
    try:
        validate_key(key)
    except ValueError as err:
        return str(err)
    return None


def _build_manifest(manifest: pd.DataFrame, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The output manifest; text cells of non-UTF-8 rows are escaped (see `printable`) so it can be written."""
    result = manifest.drop(columns=[c for c in MANIFEST_COLUMNS if c in manifest.columns]).copy()
    keys = result["video"].astype(str)
    result["frames"] = [int(records[k].get("frames", 0)) for k in keys]
    result["height"] = [int(records[k].get("height", 0)) for k in keys]
    result["width"] = [int(records[k].get("width", 0)) for k in keys]
    result["fps"] = [float(records[k].get("fps", 0.0)) for k in keys]
    result["status"] = [records[k]["status"] for k in keys]
    result["reason"] = [records[k].get("reason", "") for k in keys]
    result["display_rotation"] = [int(records[k].get("display_rotation", 0)) for k in keys]
    _escape_undecodable(result)
    return result


def _escape_undecodable(frame: pd.DataFrame) -> None:
    """Escape, in place, the text cells that are not valid UTF-8 (video and class names from disk)."""
    rows = [i for i, key in enumerate(frame["video"].astype(str)) if printable(key) != key]
    for i in rows:  # few rows: only they can hold names from an undecodable directory or file
        for j, value in enumerate(frame.iloc[i]):
            if isinstance(value, str) and printable(value) != value:
                frame.iat[i, j] = printable(value)


# -- CLI ---------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.data.datasets import DATASETS

    parser.add_argument("--dataset", required=True, choices=DATASETS, help="layout of --root")
    parser.add_argument("--root", required=True, type=Path, help="dataset video directory")
    parser.add_argument("--splits", type=Path, default=None, help="split / annotation directory")
    parser.add_argument("--out", required=True, type=Path, help="frame store directory")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--short-side",
        type=int,
        default=None,
        metavar="N",
        help="resize so the short side is N, keeping aspect (128 -> 128x171 for 320x240)",
    )
    size.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=None,
        metavar=("H", "W"),
        help="resize to exactly H x W (3DRotNet: 136 136)",
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=None,
        metavar="N",
        help="resample every video to N frames evenly over its length (3DRotNet: 160 / 90)",
    )
    parser.add_argument("--min-frames", type=int, default=16, help="fewer decoded frames marks a video failed")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality 1..100")
    parser.add_argument(
        "--apply-rotation",
        action="store_true",
        help="turn each video's frames by its display matrix (phone videos; multiples of 90 degrees); "
        "without it the frames are stored as coded and the manifest's display_rotation says the angle",
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: available cores)")
    parser.add_argument(
        "--skip-missing", action="store_true", help="drop manifest videos whose file is missing instead of stopping"
    )
    parser.add_argument(
        "--retry-failed", action="store_true", help="decode again videos that an earlier run recorded as failed"
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check the CRC of every stored frame and re-extract the files that fail "
        "(a rerun without it checks each file's header, index and metadata CRC only)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Returns 0, or 2 with a one-line error for bad settings, layouts or split files."""
    from vssl.data.datasets import load_manifest

    try:
        if args.jobs is not None and args.jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
        settings = ExtractSettings(
            dataset=args.dataset,
            short_side=args.short_side,
            size=tuple(args.size) if args.size else None,
            frames=args.frames,
            min_frames=args.min_frames,
            quality=args.quality,
            apply_rotation=args.apply_rotation,
        )
        manifest = load_manifest(args.dataset, args.root, args.splits, missing="skip" if args.skip_missing else "error")
        extract_store(
            manifest,
            args.root,
            args.out,
            settings,
            jobs=args.jobs,
            retry_failed=args.retry_failed,
            verify=args.verify,
            progress=not args.no_progress,
        )
    except (ValueError, FileNotFoundError) as err:  # bad input, not a bug: no traceback
        print(f"vssl extract: error: {err}", file=sys.stderr)
        return 2
    return 0
