"""Device choice and the GPU fast path: slots, cuDNN settings, autocast, the bf16 Conv3d check.

Order matters: GPU slots set ``CUDA_VISIBLE_DEVICES`` and must run before
anything initialises CUDA, so ``resolve_device`` acquires slots first and only
then asks torch about CUDA.

The cuDNN check (``check_cudnn_bf16_conv3d``): some cuDNN 9 builds run bf16
``Conv3d`` on contiguous (NCDHW) tensors through slow fallback kernels while
the channels_last_3d (NDHWC) path stays fast (reports: LightX2V PR #860 for
cuDNN >= 9.8, pytorch#166643 for the bf16 conv3d regression fixed in 9.15).
A version range is only a hint, so we *measure*: one tiny bf16 Conv3d
forward+backward in both layouts, timed after warm-up; when contiguous is
more than ``slow_factor`` times slower, we warn (and suggest
``--channels-last``). The measured times and the cuDNN version go to the log
and run.json. CPU runs skip the check.
"""

from __future__ import annotations

import contextlib
import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import torch

from vssl.runtime import slots as gpu_slots

# cuDNN versions with reported bf16 Conv3d trouble (informational; the timing decides).
SUSPECT_CUDNN = (90800, 91500)


@dataclass
class DeviceChoice:
    device: torch.device
    gpu_assignment: gpu_slots.GpuAssignment | None
    description: str


def resolve_device(
    requested: str, *, gpus: int = 1, gpu_wait: float = 3600.0, log: logging.Logger | None = None
) -> DeviceChoice:
    """``auto``: GPU slots, then CUDA if available, else CPU. ``cuda`` without a GPU is an error."""
    log = log or logging.getLogger(__name__)
    assignment = None
    if requested in ("auto", "cuda") and torch.cuda.is_initialized():
        # A second run inside one process (benchmarks, tests): the visible devices are fixed already.
        log.info("CUDA already initialised in this process; keeping its visible devices")
    elif requested in ("auto", "cuda"):
        assignment = gpu_slots.acquire_gpus(gpus, timeout=gpu_wait, log_fn=log.info)
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return DeviceChoice(torch.device("cpu"), assignment, "cpu")
    if not torch.cuda.is_available():
        raise ValueError("--device cuda requested but CUDA is not available")
    return DeviceChoice(torch.device("cuda"), assignment, "cuda")


def configure_backends(device: torch.device, *, deterministic: bool) -> None:
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    elif device.type == "cuda":
        # Fixed clip shapes: let cuDNN pick the fastest algorithms once.
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def autocast_context(device: torch.device, amp: str) -> AbstractContextManager[Any]:
    """bf16/fp16 autocast on CUDA; fp32 (a null context) on CPU or with ``amp="none"``."""
    if amp == "none" or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def _time_conv(conv: torch.nn.Module, x: torch.Tensor, reps: int) -> float:
    for _ in range(3):
        conv(x).float().sum().backward()
    torch.cuda.synchronize(x.device)
    start = time.perf_counter()
    for _ in range(reps):
        conv(x).float().sum().backward()
    torch.cuda.synchronize(x.device)
    return (time.perf_counter() - start) / reps


def check_cudnn_bf16_conv3d(device: torch.device, *, slow_factor: float = 2.0, reps: int = 5) -> dict[str, Any]:
    """Time a tiny bf16 Conv3d in contiguous vs channels_last_3d layout (see module docstring)."""
    result: dict[str, Any] = {
        "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    }
    if device.type != "cuda":
        result["checked"] = False
        return result
    version = result["cudnn_version"] or 0
    result["suspect_version"] = SUSPECT_CUDNN[0] <= version < SUSPECT_CUDNN[1]
    times = {}
    for layout, fmt in (("contiguous", torch.contiguous_format), ("channels_last_3d", torch.channels_last_3d)):
        conv = torch.nn.Conv3d(32, 32, 3, padding=1).to(device=device, dtype=torch.bfloat16, memory_format=fmt)
        x = torch.randn(4, 32, 8, 28, 28, device=device, dtype=torch.bfloat16).contiguous(memory_format=fmt)
        x.requires_grad_(True)
        times[layout] = _time_conv(conv, x, reps)
    result.update(
        checked=True,
        contiguous_ms=times["contiguous"] * 1e3,
        channels_last_ms=times["channels_last_3d"] * 1e3,
        contiguous_slow=times["contiguous"] > slow_factor * times["channels_last_3d"],
    )
    return result
