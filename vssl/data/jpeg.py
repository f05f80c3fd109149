"""JPEG encoding and decoding of store frames with simplejpeg (libjpeg-turbo), without torchvision.

Why not ``torchvision.io``: importing it pulls in ``torch._dynamo`` and costs
several seconds per process, and the workflow starts hundreds of training and
evaluation processes. simplejpeg binds the same libjpeg-turbo; measured on the
2-core machine (issue 9, `bench/startup.py`): import 0.2 s against torchvision's
~4 s, and a 16-frame 20x20 clip decodes in 0.34 ms against 0.42 ms (128x171:
4.6 ms against 6.1 ms), PIL being slowest (3.4 / 10.9 ms). Decoded pixels are
bit-identical to ``torchvision.io.decode_jpeg`` (`tests/data/test_store.py` holds
them to it). Encoding uses the same 4:2:0 chroma subsampling and accurate DCT
as torchvision's ``encode_jpeg``; the bytes differ slightly in entropy coding,
the decoded pixels by at most a few levels.

Decoding on CUDA (nvJPEG) is torchvision's alone; it is imported only there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import simplejpeg
import torch


class JpegError(RuntimeError):
    """A JPEG could not be decoded."""


def encode(frame: np.ndarray, quality: int) -> bytes:
    """uint8 ``(H, W, 3)`` RGB -> JPEG bytes (4:2:0, accurate DCT, as torchvision's ``encode_jpeg``)."""
    return simplejpeg.encode_jpeg(
        np.ascontiguousarray(frame), quality=int(quality), colorspace="RGB", colorsubsampling="420", fastdct=False
    )


def encode_many(frames: Sequence[np.ndarray] | np.ndarray, quality: int) -> list[bytes]:
    return [encode(f, quality) for f in frames]


def decode(data: bytes | memoryview | np.ndarray | torch.Tensor) -> np.ndarray:
    """JPEG bytes -> uint8 ``(H, W, 3)`` RGB (grey JPEGs are expanded to RGB)."""
    if isinstance(data, torch.Tensor):
        data = data.numpy()
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=False, fastupsample=False)
    except ValueError as err:  # simplejpeg reports corrupt data as ValueError
        raise JpegError(str(err)) from None


def decode_cuda(data: Sequence[torch.Tensor], device: str | torch.device) -> list[torch.Tensor]:
    """nvJPEG decoding on ``device``: ``(H, W, 3)`` uint8 tensors (torchvision, imported only here)."""
    from torchvision.io import ImageReadMode, decode_jpeg

    return [f.permute(1, 2, 0) for f in decode_jpeg(list(data), mode=ImageReadMode.RGB, device=device)]
