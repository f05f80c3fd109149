"""`vssl extract`: good and bad videos, resumability, resampling, settings, the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import torch

import vssl.data.extract as extract
from vssl.cli import main as cli_main
from vssl.data.extract import ExtractSettings, extract_store, resample_indices
from vssl.data.store import FrameStore, store_file, verify_file

# torchvision 0.29 deprecates its JPEG codecs in favour of TorchCodec (not a dependency here);
# the warning fires on every call and would bury real ones.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities of TorchVision:DeprecationWarning"
)


def write_video(path: Path, frames: np.ndarray, fps: int = 25, codec: str = "mpeg4", gop: int = 12) -> Path:
    """Encode uint8 ``(T, H, W, 3)`` frames with PyAV (container from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t, h, w, _ = frames.shape
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def moving_frames(t: int, h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack(
        [np.stack([(x * 4 + i * 3 + seed) % 256, (y * 4 + i * 5) % 256, ((x + y) * 2) % 256], -1) for i in range(t)]
    ).astype(np.uint8)


def level_frames(t: int, h: int = 32, w: int = 32) -> np.ndarray:
    """Frame i is uniform grey 8 i: identifies which source frame a stored frame came from."""
    return np.broadcast_to((np.arange(t) * 8).astype(np.uint8)[:, None, None, None], (t, h, w, 3)).copy()


def noisy_frames(t: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Incompressible frames of similar size, so a byte cut maps to a frame cut."""
    return np.random.default_rng(0).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    write_video(root / "Walk" / "good_a.avi", moving_frames(40))
    write_video(root / "Walk" / "good b (1).avi", moving_frames(30, h=40, w=60, seed=7))  # odd name, other size
    write_video(root / "Run" / "good_c.mp4", moving_frames(24, seed=3))
    write_video(root / "Run" / "short.avi", moving_frames(10))
    (root / "Run" / "corrupt.avi").write_bytes(np.random.default_rng(1).integers(0, 256, 20_000, np.uint8).tobytes())
    (root / "Run" / "empty.avi").write_bytes(b"")
    full = write_video(root / "tmp_full.avi", noisy_frames(80), gop=1).read_bytes()
    (root / "tmp_full.avi").unlink()
    (root / "Jump" / "truncated.avi").parent.mkdir(parents=True, exist_ok=True)
    (root / "Jump" / "truncated.avi").write_bytes(full[: int(len(full) * 0.4)])
    mp4 = write_video(root / "tmp_full.mp4", moving_frames(40)).read_bytes()
    (root / "tmp_full.mp4").unlink()
    (root / "Jump" / "truncated.mp4").write_bytes(mp4[: int(len(mp4) * 0.4)])
    return root


GOOD = {"Walk/good_a.avi": (40, 24, 32), "Walk/good b (1).avi": (30, 24, 36), "Run/good_c.mp4": (24, 24, 32)}
BAD = ["Run/corrupt.avi", "Run/empty.avi", "Run/short.avi", "Jump/truncated.avi", "Jump/truncated.mp4"]


def run_cli(root: Path, out: Path, *extra: str) -> int:
    return cli_main(
        [
            "extract",
            "--dataset",
            "folder",
            "--root",
            str(root),
            "--out",
            str(out),
            "--short-side",
            "24",
            "--jobs",
            "1",
            "--no-progress",
            *extra,
        ]
    )


@pytest.fixture()
def count_decodes(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = extract.decode_video

    def counting(src, settings, sink=None):
        calls.append(str(src))
        return real(src, settings, sink)

    monkeypatch.setattr(extract, "decode_video", counting)
    return calls


def test_good_and_bad_videos(video_dir, tmp_path, count_decodes, capsys):
    out = tmp_path / "store"
    assert run_cli(video_dir, out) == 0
    assert len(count_decodes) == len(GOOD) + len(BAD)
    assert "extract: 8 videos: 3 ok, 1 partial, 4 failed" in capsys.readouterr().err

    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert sorted(manifest["video"]) == sorted(list(GOOD) + BAD)
    rows = manifest.set_index("video")
    store = FrameStore(out)
    for key, (frames, h, w) in GOOD.items():
        row = rows.loc[key]
        assert (row.status, row.reason, row.frames, row.height, row.width) == ("ok", "", frames, h, w)
        assert row.fps == pytest.approx(25.0)
        assert store.num_frames(key) == frames and store.frame_size(key) == (h, w)
        assert store.read(key, [0, frames - 1]).shape == (2, h, w, 3)

    failures = pd.read_csv(out / "failures.csv", keep_default_na=False).set_index("video")
    assert sorted(failures.index) == sorted(BAD)
    assert failures.loc["Run/empty.avi", "reason"] == "empty file (0 bytes)"
    assert failures.loc["Run/corrupt.avi", "reason"].startswith("cannot open: InvalidDataError")
    assert failures.loc["Run/short.avi", "reason"] == "too short: 10 frames < --min-frames 16"
    assert failures.loc["Jump/truncated.mp4", "status"] == "failed"
    # the truncated AVI keeps the frames that decoded and says how many of how many
    assert failures.loc["Jump/truncated.avi", "status"] == "partial"
    partial = rows.loc["Jump/truncated.avi"]
    assert 16 <= partial.frames < 80
    assert f"decoded {partial.frames} of 80 frames" in partial.reason and f"kept {partial.frames}" in partial.reason
    assert store.num_frames("Jump/truncated.avi") == partial.frames
    for key in ("Run/corrupt.avi", "Run/empty.avi", "Run/short.avi", "Jump/truncated.mp4"):
        assert rows.loc[key, "frames"] == 0 and not store_file(out, key).exists()

    settings = json.loads((out / "extract.json").read_text())
    assert settings["settings"] == {
        "dataset": "folder",
        "short_side": 24,
        "size": None,
        "frames": None,
        "min_frames": 16,
        "quality": 90,
    }
    assert "vssl_version" in settings


def test_rerun_does_no_decoding_and_resumes_after_a_kill(video_dir, tmp_path, count_decodes):
    out = tmp_path / "store"
    run_cli(video_dir, out)
    first = (out / "manifest.csv").read_text()
    count_decodes.clear()

    run_cli(video_dir, out)
    assert count_decodes == []
    assert (out / "manifest.csv").read_text() == first

    # a kill loses at most the videos in flight: here, one store file and the
    # end-of-run manifests; the re-run decodes exactly the missing video
    store_file(out, "Walk/good_a.avi").unlink()
    (out / "manifest.csv").unlink()
    (out / "failures.csv").unlink()
    run_cli(video_dir, out)
    assert [Path(p).name for p in count_decodes] == ["good_a.avi"]
    assert (out / "manifest.csv").read_text() == first

    # a torn last line in the failure log (kill mid-append) costs one re-decode, no crash
    log = out / extract.FAILURE_LOG
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    count_decodes.clear()
    run_cli(video_dir, out)
    assert len(count_decodes) == 1
    assert (out / "manifest.csv").read_text() == first

    count_decodes.clear()
    run_cli(video_dir, out, "--retry-failed")
    assert sorted(Path(p).name for p in count_decodes) == ["corrupt.avi", "empty.avi", "short.avi", "truncated.mp4"]


def test_corrupt_store_file_is_redone(video_dir, tmp_path, count_decodes):
    out = tmp_path / "store"
    run_cli(video_dir, out)
    path = store_file(out, "Run/good_c.mp4")
    path.write_bytes(path.read_bytes()[:-10])
    count_decodes.clear()
    run_cli(video_dir, out)
    assert [Path(p).name for p in count_decodes] == ["good_c.mp4"]
    assert FrameStore(out).num_frames("Run/good_c.mp4") == 24


def test_other_settings_are_refused(video_dir, tmp_path, capsys):
    out = tmp_path / "store"
    run_cli(video_dir, out)
    capsys.readouterr()
    assert run_cli(video_dir, out, "--quality", "70") == 2
    err = capsys.readouterr().err
    assert "vssl extract: error:" in err and "extract.json: store was made with different settings" in err
    assert "quality: store has 90, asked 70" in err and "Traceback" not in err
    assert (
        cli_main(
            [
                "extract",
                "--dataset",
                "folder",
                "--root",
                str(video_dir),
                "--out",
                str(out),
                "--size",
                "24",
                "24",
                "--jobs",
                "1",
                "--no-progress",
            ]
        )
        == 2
    )
    assert "short_side: store has 24, asked None" in capsys.readouterr().err
    with pytest.raises(ValueError, match="different settings"):  # the library call raises
        extract_store(
            pd.DataFrame({"video": ["Walk/good_a.avi"]}),
            video_dir,
            out,
            ExtractSettings(dataset="folder", short_side=24, min_frames=8),
            jobs=1,
            progress=False,
        )


def test_resample_indices_are_segment_centres():
    assert resample_indices(10, 5).tolist() == [1, 3, 5, 7, 9]
    assert resample_indices(100, 4).tolist() == [12, 37, 62, 87]
    assert resample_indices(3, 6).tolist() == [0, 0, 1, 1, 2, 2]  # short videos repeat frames
    idx = resample_indices(181, 160)
    assert idx[0] >= 0 and idx[-1] <= 180 and np.all(np.diff(idx) >= 0)


def test_frames_option_resamples_evenly_and_size_is_exact(tmp_path):
    root = tmp_path / "videos"
    write_video(root / "levels.avi", level_frames(30), fps=30, gop=1)  # intra only: levels within +-3
    out = tmp_path / "store"
    cli_main(
        [
            "extract",
            "--dataset",
            "folder",
            "--root",
            str(root),
            "--out",
            str(out),
            "--size",
            "20",
            "28",
            "--frames",
            "7",
            "--jobs",
            "1",
            "--no-progress",
        ]
    )
    row = pd.read_csv(out / "manifest.csv").iloc[0]
    assert (row.status, row.frames, row.height, row.width) == ("ok", 7, 20, 28)
    assert row.fps == pytest.approx(30 * 7 / 30)  # the 7 frames still span the 1-second video
    store = FrameStore(out)
    levels = store.read("levels.avi", range(7)).float().mean(dim=(1, 2, 3))
    source = torch.round(levels / 8).long()
    assert source.tolist() == resample_indices(30, 7).tolist() == [2, 6, 10, 15, 19, 23, 27]
    assert store.meta("levels.avi")["source_frames"] == 30


def test_parallel_jobs_match_serial(video_dir, tmp_path):
    manifest = pd.DataFrame(
        {
            "video": ["Walk/good_a.avi", "Run/good_c.mp4", "Run/empty.avi", "Run/short.avi"],
            "label": pd.array([0, 1, 1, 1], dtype="Int64"),
            "class": ["Walk", "Run", "Run", "Run"],
        }
    )
    settings = ExtractSettings(dataset="folder", short_side=24)
    serial = extract_store(manifest, video_dir, tmp_path / "serial", settings, jobs=1, progress=False)
    parallel = extract_store(manifest, video_dir, tmp_path / "parallel", settings, jobs=2, progress=False)
    pd.testing.assert_frame_equal(serial, parallel)
    assert list(serial.columns) == [
        "video",
        "label",
        "class",
        "frames",
        "height",
        "width",
        "fps",
        "status",
        "reason",
        "display_rotation",
    ]
    a, b = FrameStore(tmp_path / "serial"), FrameStore(tmp_path / "parallel")
    assert torch.equal(a.read("Walk/good_a.avi", range(40)), b.read("Walk/good_a.avi", range(40)))


def test_settings_validation():
    with pytest.raises(ValueError, match="either --short-side or --size"):
        ExtractSettings(dataset="folder", short_side=128, size=(128, 171))
    with pytest.raises(ValueError, match="quality"):
        ExtractSettings(dataset="folder", quality=0)
    with pytest.raises(ValueError, match="--frames"):
        ExtractSettings(dataset="folder", frames=0)
    s = ExtractSettings(dataset="ucf101", short_side=128)
    assert s.target_size(240, 320) == (128, 171)  # VCOP's 128x171
    assert s.target_size(320, 240) == (171, 128)
    assert ExtractSettings(dataset="kinetics", size=(136, 136)).target_size(360, 640) == (136, 136)
    assert ExtractSettings(dataset="folder").target_size(31, 47) == (31, 47)


def test_missing_root_is_a_clear_error(tmp_path, capsys):
    assert run_cli(tmp_path / "nowhere", tmp_path / "store") == 2
    assert "nowhere" in capsys.readouterr().err
    assert run_cli(tmp_path, tmp_path / "store", "--jobs", "0") == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err


def test_tiny_synthetic_ucf101_end_to_end(tmp_path):
    synth = pytest.importorskip("vssl.data.synth")
    info = synth.generate(tmp_path / "synth", scale="tiny", datasets=["ucf101"], jobs=1)
    root = tmp_path / "synth" / "ucf101"
    out = tmp_path / "store"
    assert (
        cli_main(
            [
                "extract",
                "--dataset",
                "ucf101",
                "--root",
                str(root / "UCF-101"),
                "--splits",
                str(root / "ucfTrainTestlist"),
                "--out",
                str(out),
                "--short-side",
                "32",
                "--jobs",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert len(manifest) == info["counts"]["ucf101"] and (manifest["status"] == "ok").all()
    assert (manifest["frames"] == info["frames"]).all()
    assert {"split1", "split2", "split3", "label", "class"} <= set(manifest.columns)
    assert set(manifest["split1"]) == {"train", "test"}
    assert pd.read_csv(out / "failures.csv").empty
    store = FrameStore(out)
    assert sorted(store.keys()) == sorted(manifest["video"])
    key = manifest["video"].iloc[0]
    assert store.read(key, [0, 47]).shape == (2, 32, 32, 3)


def test_stale_temp_files_are_removed_and_nothing_leaks(video_dir, tmp_path):
    out = tmp_path / "store"
    run_cli(video_dir, out)
    stale = out / "frames" / "Walk" / ".good_a.avi.vfs.abc123.tmp"
    stale.write_bytes(b"half a video")
    run_cli(video_dir, out)
    assert not stale.exists()
    # failed videos leave no temp files behind either
    leftovers = [p for p in (out / "frames").rglob("*") if p.is_file() and p.suffix != ".vfs"]
    assert leftovers == []


def test_write_errors_stop_the_run(video_dir, tmp_path, monkeypatch):
    """A full disk is not a bad video: it must stop extraction, not fill failures.csv."""

    def no_space(self, jpegs, *, height, width):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(extract.FrameWriter, "add_encoded", no_space)
    manifest = pd.DataFrame({"video": ["Walk/good_a.avi", "Run/good_c.mp4"]})
    with pytest.raises(OSError, match="No space left"):
        extract_store(
            manifest, video_dir, tmp_path / "store", ExtractSettings(dataset="folder"), jobs=1, progress=False
        )
    assert not (tmp_path / "store" / extract.FAILURE_LOG).exists()


def test_a_second_writer_of_the_same_store_stops_naming_the_first(video_dir, tmp_path, capsys):
    """One writer per store: the second extract would delete the first one's temp files as orphans."""
    import fcntl

    out = tmp_path / "store"
    out.mkdir()
    holder = os.open(out / extract.LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    os.pwrite(holder, b"4242\n", 0)
    try:
        assert run_cli(video_dir, out) == 2
        err = capsys.readouterr().err
        assert f"{out}: another vssl extract (pid 4242) is writing this store" in err, err
        assert not (out / "manifest.csv").exists()
    finally:
        os.close(holder)
    assert run_cli(video_dir, out) == 0  # the lock died with its holder


def test_workers_do_not_outlive_a_killed_extract(tmp_path):
    """kill -9 of `vssl extract` takes its pool workers down too: none keeps writing into the store."""
    import signal
    import subprocess
    import sys
    import time

    videos = tmp_path / "videos" / "Run"
    videos.mkdir(parents=True)
    for i in range(16):
        write_video(videos / f"v{i:02d}.mp4", noisy_frames(400, 120, 160))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from vssl.cli import console; console()",
            "extract",
            "--dataset",
            "folder",
            "--root",
            str(tmp_path / "videos"),
            "--out",
            str(tmp_path / "s"),
            "--short-side",
            "96",
            "--jobs",
            "2",
            "--no-progress",
        ]
    )
    workers: list[int] = []
    deadline = time.time() + 90
    while len(workers) < 2 and time.time() < deadline:
        time.sleep(0.2)
        servers = [pid for pid, ppid, _ in _processes() if ppid == proc.pid]
        workers = [pid for pid, ppid, state in _processes() if ppid in servers and state != "Z"]
    assert len(workers) == 2, "the extract never started its two workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(3)  # the workers poll their extract every 0.5 s
    alive = [pid for pid, _, state in _processes() if pid in workers and state != "Z"]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers of the killed extract still running: {alive}"


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, state) of every process (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                found.append((int(entry.name), int(fields[1]), fields[0]))
            except (OSError, IndexError, ValueError):
                continue
    return found


def extract_with_bad_name(tmp_path: Path, raw_name: bytes) -> pd.DataFrame:
    """Extract ``Walk/good.avi`` beside a copy named ``raw_name`` (bytes, as on disk), twice; failures.csv."""
    root = tmp_path / "videos"
    good = write_video(root / "Walk" / "good.avi", moving_frames(20))
    with open(os.path.join(os.fsencode(root / "Walk"), raw_name), "wb") as f:
        f.write(good.read_bytes())
    out = tmp_path / "store"
    for _ in range(2):  # the re-run too: the name must not leave the store unusable
        assert run_cli(root, out) == 0
    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False).set_index("video")
    assert manifest.loc["Walk/good.avi", "status"] == "ok"
    assert FrameStore(out).num_frames("Walk/good.avi") == 20
    assert os.listdir(out / "frames" / "Walk") == ["good.avi.vfs"]
    return pd.read_csv(out / "failures.csv", keep_default_na=False)


@pytest.mark.parametrize(
    "raw_name, video, reason",
    [
        # Latin-1 ``café.mp4``: Python sees ``caf\\udce9``, which manifest.csv cannot hold.
        (
            b"caf\xe9.mp4",
            "Walk/caf\\xe9.mp4",
            "file name is not valid UTF-8: Walk/caf\\xe9.mp4 (rename the file to extract it)",
        ),
        (b"a\\b.mp4", "Walk/a\\b.mp4", "file name contains a backslash: Walk/a\\b.mp4 (rename the file to extract it)"),
    ],
    ids=["non-utf8", "backslash"],
)
def test_a_bad_file_name_is_one_failure_row(tmp_path, count_decodes, raw_name, video, reason):
    failures = extract_with_bad_name(tmp_path, raw_name)
    assert [Path(p).name for p in count_decodes] == ["good.avi"]  # never decoded
    assert failures.to_dict("records") == [{"video": video, "status": "failed", "reason": reason}]


def write_gapped_avi(path: Path, coded: int, every: int, fps: int = 15) -> Path:
    """An MJPEG AVI whose container declares ``every`` frame slots per coded frame (dropped-frame slots),
    like OpenCV's tree.avi (444 slots at 15 fps, 68 coded frames over 29.6 s)."""
    from fractions import Fraction

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=fps)
        stream.width = stream.height = 32
        stream.pix_fmt, stream.time_base = "yuvj420p", Fraction(1, fps)
        for i, frame in enumerate(level_frames(coded)):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = i * every
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_declared_slots_without_coded_frames_are_not_truncation(tmp_path):
    """Every coded frame decodes: the video is ok, and its stored rate keeps its real duration."""
    path = write_gapped_avi(tmp_path / "videos" / "gapped.avi", coded=20, every=6)
    with av.open(str(path)) as container:
        declared = container.streams.video[0].frames
    assert declared > 100  # the container declares 115 slots for 20 coded frames
    out = tmp_path / "store"
    assert (
        cli_main(
            [
                "extract",
                "--dataset",
                "folder",
                "--root",
                str(tmp_path / "videos"),
                "--out",
                str(out),
                "--short-side",
                "24",
                "--jobs",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    row = pd.read_csv(out / "manifest.csv", keep_default_na=False).iloc[0]
    assert (row.status, row.reason, row.frames) == ("ok", "", 20)
    assert row.fps == pytest.approx(15 / 6)  # one coded frame per 6 slots of 1/15 s
    meta = FrameStore(out).meta("gapped.avi")
    assert meta["declared_frames"] == declared and meta["declared_fps"] == pytest.approx(15)
    assert meta["source_seconds"] == pytest.approx(20 * 6 / 15)  # 8 s, as the container says


def test_variable_rate_video_stores_its_average_rate(tmp_path):
    from fractions import Fraction

    path = tmp_path / "videos" / "vfr.mkv"
    path.parent.mkdir(parents=True)
    pts = np.cumsum([0] + [1, 3] * 12)  # intervals of 1 and 3 ticks of 1/30 s: mean 2 ticks = 15 fps
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=30)
        stream.width = stream.height = 32
        stream.pix_fmt, stream.time_base = "yuvj420p", Fraction(1, 30)
        for frame, t in zip(level_frames(len(pts)), pts):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts, video_frame.time_base = int(t), Fraction(1, 30)
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    out = tmp_path / "store"
    assert (
        cli_main(
            [
                "extract",
                "--dataset",
                "folder",
                "--root",
                str(path.parent),
                "--out",
                str(out),
                "--short-side",
                "24",
                "--jobs",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    row = pd.read_csv(out / "manifest.csv", keep_default_na=False).iloc[0]
    assert (row.status, row.frames) == ("ok", 25)
    assert row.fps == pytest.approx(15.0, rel=0.01)


def test_frames_option_names_both_counts_for_a_partial_video(video_dir, tmp_path):
    out = tmp_path / "store"
    assert run_cli(video_dir, out, "--frames", "50") == 0
    row = pd.read_csv(out / "manifest.csv", keep_default_na=False).set_index("video").loc["Jump/truncated.avi"]
    decoded = FrameStore(out).meta("Jump/truncated.avi")["source_frames"]
    assert row.status == "partial" and row.frames == 50 and decoded < 50
    assert f"kept {decoded} decoded frames, stored 50 (--frames 50)" in row.reason


def test_verify_finds_a_corrupt_frame_and_re_extracts_it(video_dir, tmp_path, count_decodes, capsys):
    out = tmp_path / "store"
    run_cli(video_dir, out)
    path = store_file(out, "Walk/good_a.avi")
    raw = bytearray(path.read_bytes())
    raw[200] ^= 0x01  # one flipped bit inside frame data: header, index and metadata still check out
    path.write_bytes(bytes(raw))
    count_decodes.clear()
    run_cli(video_dir, out)  # a plain rerun checks the cheap CRCs only: the file is reused
    assert count_decodes == []
    capsys.readouterr()
    run_cli(video_dir, out, "--verify")
    assert [Path(p).name for p in count_decodes] == ["good_a.avi"]
    assert "good_a.avi.vfs: corrupt data in frame" in capsys.readouterr().err
    assert verify_file(path) is None
    assert FrameStore(out).read("Walk/good_a.avi", range(40)).shape[0] == 40


def test_each_store_file_keeps_the_settings_that_made_it(video_dir, tmp_path, count_decodes, capsys):
    """Without extract.json, other settings re-extract every file instead of adopting the old frames."""
    out = tmp_path / "store"
    run_cli(video_dir, out)
    assert FrameStore(out).meta("Walk/good_a.avi")["extract_settings"]["quality"] == 90
    (out / "extract.json").unlink()
    count_decodes.clear()
    capsys.readouterr()
    run_cli(video_dir, out, "--quality", "70")
    assert len(count_decodes) == len(GOOD) + len(BAD)  # the failed ones too: their records name settings
    assert "made with other extraction settings" in capsys.readouterr().err
    assert FrameStore(out).meta("Walk/good_a.avi")["extract_settings"]["quality"] == 70
    count_decodes.clear()
    run_cli(video_dir, out, "--quality", "70")
    assert count_decodes == []


def _rotated_phone_video(path: Path, degrees: int) -> Path:
    """16 x 32 frames (dark left half, bright right half) with a display matrix of ``degrees``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = np.zeros((16, 32, 3), np.uint8)
    frame[:, 16:] = 230
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 16, "yuv420p"
        stream.set_display_rotation(degrees)
        for _ in range(20):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.skipif(not hasattr(av.video.stream.VideoStream, "set_display_rotation"), reason="PyAV < 18")
def test_display_rotation_is_recorded_and_applied_on_request(tmp_path):
    _rotated_phone_video(tmp_path / "videos" / "phone.mp4", 90)
    base = ["extract", "--dataset", "folder", "--root", str(tmp_path / "videos"), "--jobs", "1", "--no-progress"]
    assert cli_main(base + ["--out", str(tmp_path / "as_coded")]) == 0
    row = pd.read_csv(tmp_path / "as_coded" / "manifest.csv", keep_default_na=False).iloc[0]
    assert (row.status, row.display_rotation, row.height, row.width) == ("ok", 90, 16, 32)
    assert FrameStore(tmp_path / "as_coded").meta("phone.mp4")["rotation_applied"] == 0
    assert cli_main(base + ["--out", str(tmp_path / "upright"), "--apply-rotation"]) == 0
    row = pd.read_csv(tmp_path / "upright" / "manifest.csv", keep_default_na=False).iloc[0]
    assert (row.status, row.display_rotation, row.height, row.width) == ("ok", 90, 32, 16)
    frames = FrameStore(tmp_path / "upright").read("phone.mp4", [0]).float()[0].mean(dim=2)
    # 90 degrees counter-clockwise: the bright right half becomes the top half.
    assert frames[:14].mean() > 200 and frames[18:].mean() < 30
    settings = json.loads((tmp_path / "upright" / "extract.json").read_text())["settings"]
    assert settings["apply_rotation"] is True
    assert "apply_rotation" not in json.loads((tmp_path / "as_coded" / "extract.json").read_text())["settings"]
