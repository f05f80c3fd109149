"""Single-node and multi-node data parallelism (DDP) from launcher environment variables.

Launch modes, in order of precedence:

1. ``torchrun`` (or any launcher that sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``
   and ``MASTER_ADDR``/``MASTER_PORT``).
2. SLURM ``srun`` with one task per GPU: ``SLURM_PROCID``/``SLURM_NTASKS``/
   ``SLURM_LOCALID``; ``MASTER_ADDR`` from the environment, else the first host
   of ``SLURM_JOB_NODELIST`` (via ``scontrol show hostnames``, or parsed for the
   simple ``node[01-04]`` forms); ``MASTER_PORT`` from the environment, else
   derived from ``SLURM_JOB_ID`` so concurrent jobs on a node do not collide.
3. Otherwise a single process.

The backend is NCCL on CUDA and gloo on CPU (which is what the CPU tests use).
Only rank 0 writes files; every rank takes part in collectives.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    launcher: str = "none"  # "torchrun", "slurm" or "none"

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _first_slurm_host(nodelist: str) -> str:
    try:
        out = subprocess.run(
            ["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, timeout=30, check=True
        )
        hosts = out.stdout.split()
        if hosts:
            return hosts[0]
    except (FileNotFoundError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pass
    # Fallback parser for "node07", "node[01-04,09]", "gpu-a[3,5]-x" style lists.
    first = re.split(r",(?![^\[]*\])", nodelist)[0]
    match = re.match(r"^(.*?)\[([^\]]+)\](.*)$", first)
    if not match:
        return first
    prefix, ranges, suffix = match.groups()
    start = ranges.split(",")[0].split("-")[0]
    return f"{prefix}{start}{suffix}"


def detect_launch(env: dict[str, str] | None = None) -> tuple[DistInfo, dict[str, str]]:
    """Read the launcher's variables; return the DistInfo and env vars to set for ``env://``."""
    env = dict(os.environ if env is None else env)
    if "RANK" in env and "WORLD_SIZE" in env:
        info = DistInfo(
            rank=int(env["RANK"]),
            world_size=int(env["WORLD_SIZE"]),
            local_rank=int(env.get("LOCAL_RANK", 0)),
            launcher="torchrun",
        )
        return info, {}
    if "SLURM_PROCID" in env and int(env.get("SLURM_NTASKS", "1")) > 1:
        info = DistInfo(
            rank=int(env["SLURM_PROCID"]),
            world_size=int(env["SLURM_NTASKS"]),
            local_rank=int(env.get("SLURM_LOCALID", 0)),
            launcher="slurm",
        )
        extra = {"RANK": str(info.rank), "WORLD_SIZE": str(info.world_size), "LOCAL_RANK": str(info.local_rank)}
        if "MASTER_ADDR" not in env:
            nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
            if not nodelist:
                raise RuntimeError("SLURM multi-task launch without MASTER_ADDR or SLURM_JOB_NODELIST")
            extra["MASTER_ADDR"] = _first_slurm_host(nodelist)
        if "MASTER_PORT" not in env:
            job_id = int(env.get("SLURM_JOB_ID", "0") or 0)
            extra["MASTER_PORT"] = str(15000 + job_id % 20000)
        return info, extra
    return DistInfo(), {}


def init_distributed(device_type: str, *, timeout_s: float = 1800.0) -> DistInfo:
    """Initialise the default process group when launched with more than one process."""
    info, extra = detect_launch()
    if not info.enabled:
        return info
    os.environ.update(extra)
    if dist.is_initialized():
        return info
    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(
        backend=backend,
        init_method="env://",
        rank=info.rank,
        world_size=info.world_size,
        timeout=timedelta(seconds=timeout_s),
    )
    return info


def cuda_device_for(info: DistInfo) -> torch.device:
    """The CUDA device this rank drives.

    When the GPU-slot mechanism gave each rank its own ``CUDA_VISIBLE_DEVICES``
    (one visible device), that is ``cuda:0``; otherwise ``cuda:LOCAL_RANK``.
    """
    count = torch.cuda.device_count()
    index = info.local_rank if count > info.local_rank else 0
    return torch.device("cuda", index)


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_mean(values: torch.Tensor) -> torch.Tensor:
    """Mean over ranks (identity in a single process)."""
    if dist.is_available() and dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= dist.get_world_size()
    return values


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_object(obj, src: int = 0):
    if dist.is_available() and dist.is_initialized():
        box = [obj]
        dist.broadcast_object_list(box, src=src)
        return box[0]
    return obj


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
