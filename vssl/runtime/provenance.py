"""What produced a result: one provenance block, the same keys in every run and metrics file.

`vssl.report.records` reads ``seed``, ``vssl_version`` and ``git_commit`` from these files into
every table footnote, so a file without them prints commit ``unknown``.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

import vssl

PROVENANCE_KEYS = ("vssl_version", "git_commit", "torch_version", "python_version", "device", "device_name")


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """HEAD of the repository this package runs from, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(vssl.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (out.stdout.strip() or "unknown") if out.returncode == 0 else "unknown"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return "cpu: " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu: " + (platform.processor() or platform.machine())


def provenance(device: torch.device) -> dict[str, Any]:
    """The block every run file and metrics file carries (`PROVENANCE_KEYS`)."""
    return {
        "vssl_version": vssl.__version__,
        "git_commit": git_commit(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": str(device),
        "device_name": device_name(device),
    }
