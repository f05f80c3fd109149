"""GPU slots for concurrent local jobs.

Snakemake's ``--resources gpu=N`` only limits how many GPU jobs run at once;
it assigns no devices, so two jobs would both land on GPU 0. A job that needs
``k`` GPUs and finds ``CUDA_VISIBLE_DEVICES`` unset therefore claims ``k``
free *slots*: one lock file per physical GPU, taken with a non-blocking
``fcntl.flock``. The locks are held by open file descriptors for the life of
the process, so a job that dies (even by SIGKILL) frees its slots: the kernel
drops flock locks when the descriptors close. The claimed ids go into
``CUDA_VISIBLE_DEVICES`` before CUDA initialises.

- ``CUDA_VISIBLE_DEVICES`` already set (SLURM, the user, a launcher): respected,
  nothing is locked.
- Device count without initialising CUDA: env ``VSSL_NUM_GPUS`` (tests, or to
  restrict), else ``nvidia-smi -L``; no GPU (or no nvidia-smi) means CPU.
- All slots taken: wait, with one log line, polling until ``timeout`` seconds.
- Lock directory: ``$VSSL_GPU_LOCK_DIR`` or ``/tmp/vssl-gpu-locks``.

This module imports only the standard library (and `vssl.utils.locks`) so it can run before torch.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vssl.utils.locks import try_lock

DEFAULT_LOCK_DIR = "/tmp/vssl-gpu-locks"

log = logging.getLogger(__name__)

# Descriptors of the slots this process holds; module-level so they live as
# long as the process (closing them would release the locks).
_HELD: list[int] = []


class GpuSlotTimeout(TimeoutError):
    """No ``k`` GPU slots became free within the timeout."""


@dataclass
class GpuAssignment:
    """What a job got: the visible device ids and where they came from."""

    devices: list[str]
    source: str  # "locked", "preset" (CUDA_VISIBLE_DEVICES was set), "none" (CPU)
    lock_files: list[str] = field(default_factory=list)

    @property
    def uses_gpu(self) -> bool:
        return bool(self.devices)


def lock_dir() -> Path:
    return Path(os.environ.get("VSSL_GPU_LOCK_DIR", DEFAULT_LOCK_DIR))


def count_gpus() -> int:
    """Number of physical GPUs, found without initialising CUDA in this process."""
    forced = os.environ.get("VSSL_NUM_GPUS")
    if forced is not None and forced != "":
        try:
            n = int(forced)
        except ValueError:
            raise ValueError(f"VSSL_NUM_GPUS must be an integer, got {forced!r}") from None
        if n < 0:
            raise ValueError(f"VSSL_NUM_GPUS must be >= 0, got {n}")
        return n
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (FileNotFoundError, PermissionError, subprocess.TimeoutExpired):
        return 0
    if out.returncode != 0:
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def _cuda_already_initialised() -> bool:
    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_initialized())


def acquire_gpus(
    k: int = 1,
    *,
    timeout: float | None = 3600.0,
    poll: float = 2.0,
    lock_directory: str | os.PathLike | None = None,
    num_gpus: int | None = None,
    set_env: bool = True,
    log_fn: Callable[[str], None] | None = None,
) -> GpuAssignment:
    """Claim ``k`` GPU slots (see the module docstring) and set ``CUDA_VISIBLE_DEVICES``.

    ``k = 0`` or no GPUs on the machine gives a CPU assignment. Raises
    ``GpuSlotTimeout`` when ``k`` slots stay busy for ``timeout`` seconds
    (``None`` waits forever) and ``ValueError`` when ``k`` exceeds the GPUs
    present.
    """
    say = log_fn or log.info
    preset = os.environ.get("CUDA_VISIBLE_DEVICES")
    if preset is not None:
        devices = [d for d in preset.split(",") if d.strip() != ""]
        say(f"gpu slots: CUDA_VISIBLE_DEVICES={preset!r} already set; using it as given")
        return GpuAssignment(devices=devices, source="preset")
    if k <= 0:
        return GpuAssignment(devices=[], source="none")
    total = count_gpus() if num_gpus is None else num_gpus
    if total == 0:
        say("gpu slots: no GPU found; running on CPU")
        return GpuAssignment(devices=[], source="none")
    if k > total:
        raise ValueError(f"job needs {k} GPUs but this machine has {total}")
    if _cuda_already_initialised():
        raise RuntimeError("acquire_gpus must run before CUDA is initialised (CUDA_VISIBLE_DEVICES would be ignored)")
    directory = Path(lock_directory) if lock_directory is not None else lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    announced = False
    while True:
        taken: list[tuple[int, int]] = []
        for gpu in range(total):
            fd = try_lock(directory / f"gpu{gpu}.lock", 0o666)
            if fd is not None:
                taken.append((gpu, fd))
                if len(taken) == k:
                    break
        if len(taken) == k:
            _HELD.extend(fd for _, fd in taken)
            devices = [str(gpu) for gpu, _ in taken]
            if set_env:
                os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
            say(f"gpu slots: took GPU(s) {','.join(devices)} of {total} (locks in {directory})")
            return GpuAssignment(
                devices=devices, source="locked", lock_files=[str(directory / f"gpu{g}.lock") for g, _ in taken]
            )
        # Give back a partial claim so two jobs wanting 2 of 4 never deadlock.
        for _, fd in taken:
            os.close(fd)
        waited = time.monotonic() - start
        if timeout is not None and waited >= timeout:
            raise GpuSlotTimeout(
                f"gpu slots: {k} of {total} GPU slot(s) not free after {waited:.0f}s (locks in {directory})"
            )
        if not announced:
            say(f"gpu slots: waiting for {k} free GPU slot(s) of {total} (locks in {directory})")
            announced = True
        # Jitter so competing waiters do not retry in lockstep.
        time.sleep(poll * (0.5 + random.random()))


def release_gpus() -> None:
    """Release every slot this process holds (normally left to process exit)."""
    while _HELD:
        os.close(_HELD.pop())
