"""Encoding synthetic frames into real video files with PyAV, atomically.

UCF101, HMDB51 and ASLAN ship MPEG-4 Part 2 in AVI, and Kinetics clips are H.264
in MP4, so the generator writes the same codecs (falling back to MPEG-4 Part 2
when this PyAV build lacks libx264). Encoders run single-threaded: parallelism
comes from rendering many videos at once, and x264's output depends on its
thread count, which would break bit-for-bit determinism across machines.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np

from vssl.utils.io import atomic_path

FPS = 25
_FF_QP2LAMBDA = 118  # libavcodec's quantiser -> lambda factor for fixed-quality MPEG-4


def kinetics_codec() -> str:
    """H.264 when PyAV was built with libx264, else MPEG-4 Part 2."""
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def write_video(
    path: Path, frames: Iterable[np.ndarray], *, height: int, width: int, codec: str, container: str, fps: int = FPS
) -> int:
    """Encode uint8 RGB frames (H, W, 3) to ``path``; returns the number of frames written.

    The file is written to a temporary name beside ``path`` and renamed on success,
    so a video either exists complete or not at all (a re-run may then skip it).
    """
    count = 0
    with atomic_path(path) as tmp:
        # the temp name ends in .tmp, so the muxer must be named explicitly
        with av.open(str(tmp), mode="w", format=container) as out:
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            ctx = stream.codec_context
            ctx.thread_count = 1
            if codec == "mpeg4":
                ctx.qscale = True  # fixed quantiser: quality independent of the frame size
                ctx.global_quality = 3 * _FF_QP2LAMBDA
                ctx.gop_size = 12
            elif codec == "libx264":
                # Same bytes in every process: with its own thread count, CRF rate control, adaptive
                # quantisation, psy-RD and macroblock-tree, x264 wrote different bytes for the same
                # frames in pool workers than in the parent process; without them it does not.
                stream.options = {
                    "qp": "18",
                    "preset": "veryfast",
                    "threads": "1",
                    "x264-params": "threads=1:aq-mode=0:no-psy=1:no-mbtree=1",
                }
            for image in frames:
                if image.shape != (height, width, 3) or image.dtype != np.uint8:
                    raise ValueError(
                        f"{path}: frame {count} has shape {image.shape} {image.dtype}, "
                        f"expected ({height}, {width}, 3) uint8"
                    )
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    out.mux(packet)
                count += 1
            for packet in stream.encode():
                out.mux(packet)
    return count


def read_video(path: Path) -> np.ndarray:
    """Decode every frame of a video as uint8 RGB (T, H, W, 3) -- for checks and tests."""
    try:
        with av.open(str(path)) as src:
            frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    except av.FFmpegError as exc:
        raise ValueError(f"{path}: cannot decode video: {exc}") from exc
    if not frames:
        raise ValueError(f"{path}: no video frames")
    return np.stack(frames)
