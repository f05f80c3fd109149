"""GPU-slot locking with fake devices (VSSL_NUM_GPUS): no GPU needed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vssl.runtime import slots as gpu_slots

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os, sys
    from vssl.runtime.slots import acquire_gpus, GpuSlotTimeout
    k, timeout = int(sys.argv[1]), float(sys.argv[2])
    try:
        got = acquire_gpus(k, timeout=timeout, poll=0.05, log_fn=lambda m: print("LOG", m, flush=True))
    except GpuSlotTimeout as exc:
        print("TIMEOUT", exc, flush=True)
        sys.exit(5)
    print("GOT", os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
    sys.stdin.read()  # hold the slots until the parent closes stdin
    """
)


def _env(lock_dir: Path, gpus: int = 4) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(
        VSSL_NUM_GPUS=str(gpus),
        VSSL_GPU_LOCK_DIR=str(lock_dir),
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def _spawn(env: dict[str, str], k: int = 1, timeout: float = 30.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(k), str(timeout)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _result_line(proc: subprocess.Popen) -> str:
    for line in proc.stdout:
        if line.startswith(("GOT", "TIMEOUT")):
            return line.strip()
    raise AssertionError(f"child exited without a result (rc={proc.wait()})")


def test_four_jobs_get_distinct_devices_fifth_waits_and_kill_frees(tmp_path):
    env = _env(tmp_path)
    holders = [_spawn(env) for _ in range(4)]
    try:
        devices = [_result_line(p).split()[1] for p in holders]
        assert sorted(devices) == ["0", "1", "2", "3"]

        fifth = _spawn(env, timeout=0.5)
        line = _result_line(fifth)
        assert line.startswith("TIMEOUT") and "not free" in line
        assert fifth.wait(timeout=30) == 5

        # A SIGKILLed holder frees its slot; a waiting job picks it up.
        victim = holders.pop(1)
        freed = devices[1]
        waiter = _spawn(env, timeout=30)
        time.sleep(0.3)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        got = _result_line(waiter)
        assert got == f"GOT {freed}"
        holders.append(waiter)
    finally:
        for p in holders:
            p.stdin.close()
            p.wait(timeout=30)


def test_waiting_is_logged(tmp_path):
    env = _env(tmp_path, gpus=1)
    holder = _spawn(env)
    try:
        assert _result_line(holder) == "GOT 0"
        waiter = _spawn(env, timeout=0.3)
        out = waiter.communicate(timeout=30)[0]
        assert "waiting for 1 free GPU slot(s) of 1" in out
        assert waiter.returncode == 5
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_multi_gpu_claim_and_partial_claims_released(tmp_path):
    env = _env(tmp_path, gpus=3)
    first = _spawn(env, k=2)
    try:
        assert sorted(_result_line(first).split()[1].split(",")) == ["0", "1"]
        # Two more slots are not available (only GPU 2 is free): times out...
        second = _spawn(env, k=2, timeout=0.3)
        assert _result_line(second).startswith("TIMEOUT")
        second.wait(timeout=30)
        # ...and did not keep GPU 2 locked while failing.
        third = _spawn(env, k=1)
        assert _result_line(third) == "GOT 2"
        third.stdin.close()
        third.wait(timeout=30)
    finally:
        first.stdin.close()
        first.wait(timeout=30)


def test_preset_visible_devices_respected(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.setenv("VSSL_GPU_LOCK_DIR", str(tmp_path))
    got = gpu_slots.acquire_gpus(1, num_gpus=8)
    assert got.source == "preset" and got.devices == ["3", "5"]
    assert not list(tmp_path.iterdir())  # nothing locked


def test_no_gpus_means_cpu(monkeypatch, tmp_path):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    got = gpu_slots.acquire_gpus(1, lock_directory=tmp_path)
    assert got.source == "none" and not got.uses_gpu
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_too_many_gpus_requested(monkeypatch, tmp_path):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(ValueError, match="needs 3 GPUs but this machine has 2"):
        gpu_slots.acquire_gpus(3, num_gpus=2, lock_directory=tmp_path)


def test_bad_gpu_count_env(monkeypatch):
    monkeypatch.setenv("VSSL_NUM_GPUS", "two")
    with pytest.raises(ValueError, match="VSSL_NUM_GPUS"):
        gpu_slots.count_gpus()
