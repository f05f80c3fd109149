"""Pretraining step throughput: naive vs fast path, and in-memory vs real store loading.

Every row times `vssl.train.loop.train_step` (the product step: kernels,
forward, loss, backward, SGD) with a 4-way all-copies rotation pretext, so
``batch`` counts network inputs (``batch / 4`` clips loaded per step).

Rows:
- ``r3d18_naive``: R3D-18, 16x112x112, fp32, NCDHW, eager; the pretext
  kernels run on the host and the float inputs are copied to the device (the
  usual DataLoader-side augmentation).
- ``r3d18_fast``: uint8 clips to the device, kernels there, channels_last_3d,
  bf16 autocast and cudnn.benchmark on CUDA (autocast is off on CPU, where the
  training loop never enables it); ``r3d18_fast_compiled`` adds torch.compile
  on CUDA only (on CPU compiling costs minutes, more than this benchmark).
- ``tiny_*``: the embedded default's size (R3D-18 at width 0.1875, 16x32x32
  crops from 40x40 frames, batch 32): naive, fast on synthetic in-memory
  uint8 clips, and fast with real loading (``vssl pretrain`` on a generated
  frame store, DataLoader with 2 workers, clips/s read from its metrics.csv
  after a warm-up interval). The GPU goal is loading >= 90% of in-memory.

On CPU a full-size R3D-18 step at batch 32 takes minutes, so those rows use
batch 2 with one random rotation per clip (the same 4-way pretext, ``mode:
random``), 1 warm-up + 2 timed steps; the notes say so.
"""

from __future__ import annotations

import csv
import datetime as _dt
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vssl.runtime.device import check_cudnn_bf16_conv3d, configure_backends
from vssl.runtime.provenance import device_name
from vssl.train.config import PretrainConfig
from vssl.train.loop import ModelParts, train_step
from vssl.train.pretrain import PretrainTask

COLUMNS = [
    "config",
    "device",
    "dtype",
    "layout",
    "compiled",
    "batch",
    "clip_shape",
    "clips_per_s",
    "ratio_vs_naive",
    "loading",
    "notes",
    "torch_version",
    "date",
]


def _config(**kw: Any) -> PretrainConfig:
    base = dict(store="", out="", pretext="rotation", model="r3d_18", lr=0.01, seed=0, workers=0)
    base.update(kw)
    return PretrainConfig(**base)


def _model(task: PretrainTask, device: torch.device, channels_last: bool, compile_model: bool):
    from vssl.models.heads import BackboneWithHead

    parts: ModelParts = task.build_model()
    model = BackboneWithHead(parts.backbone, parts.head).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    optimizer = torch.optim.SGD(model.parameters(), lr=task.config.lr, momentum=0.9, weight_decay=5e-4)
    if compile_model:
        model = torch.compile(model)
    return model, optimizer


class _HostKernels(PretrainTask):
    """The naive placement: pretext kernels on the host, float inputs copied to the device."""

    def prepare(self, batch, generator, *, train, device, channels_last):
        inputs, targets = super().prepare(
            batch, generator, train=train, device=torch.device("cpu"), channels_last=False
        )
        return inputs.to(device), {k: v.to(device) for k, v in targets.items()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_in_memory(
    config: PretrainConfig,
    device: torch.device,
    *,
    frame: int,
    naive: bool,
    warmup: int,
    steps: int,
    compile_model: bool = False,
) -> float:
    """Network inputs per second of `train_step` on one fixed uint8 batch already in (pinned) memory."""
    task = (_HostKernels if naive else PretrainTask)(config)
    model, optimizer = _model(task, device, config.channels_last, compile_model)
    model.train()
    clips = config.batch_size // task.pretext.outputs_per_clip
    g = torch.Generator().manual_seed(0)
    uint8 = torch.randint(0, 256, (clips, config.clip_length, frame, frame, 3), dtype=torch.uint8, generator=g)
    if device.type == "cuda":
        uint8 = uint8.pin_memory()
    batch = {"clip": uint8, "label": torch.full((clips,), -1)}
    gen = torch.Generator().manual_seed(1)
    for _ in range(warmup):
        train_step(
            model,
            task,
            batch,
            optimizer,
            generator=gen,
            device=device,
            amp=config.amp,
            channels_last=config.channels_last,
        )
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        loss, _, n = train_step(
            model,
            task,
            batch,
            optimizer,
            generator=gen,
            device=device,
            amp=config.amp,
            channels_last=config.channels_last,
        )
    loss.item()
    _sync(device)
    return steps * n / (time.perf_counter() - start)


def _make_store(root: Path, *, videos: int, frames: int, size: int) -> Path:
    """Random-texture videos written with the real store writer (content does not matter for timing)."""
    import pandas as pd

    from vssl.data.store import store_file, write_frames

    rng = np.random.default_rng(0)
    rows = []
    for i in range(videos):
        key = f"pool/v{i:04d}.mp4"
        coarse = rng.integers(0, 256, size=(frames, size // 4, size // 4, 3), dtype=np.uint8)
        video = coarse.repeat(4, axis=1).repeat(4, axis=2)
        write_frames(store_file(root, key), torch.from_numpy(np.ascontiguousarray(video)), fps=25.0)
        rows.append(
            {
                "video": key,
                "label": "",
                "class": "",
                "frames": frames,
                "height": size,
                "width": size,
                "fps": 25.0,
                "status": "ok",
                "reason": "",
            }
        )
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root


def time_with_loading(config: PretrainConfig, store: Path, out: Path, *, iterations: int, log_every: int) -> float:
    """Clips/s of a real `vssl pretrain` run (store + DataLoader), from metrics.csv after the first interval."""
    from vssl.train.loop import run_training

    cfg = replace(
        config,
        store=str(store),
        out=str(out),
        iterations=iterations,
        log_every=log_every,
        ckpt_every=0,
        progress=False,
        workers=2,
    )
    code = run_training(cfg, PretrainTask(cfg))
    if code != 0:
        raise RuntimeError(f"benchmark pretraining run failed with exit code {code}")
    with open(out / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["phase"] == "train"][1:]  # drop the warm-up interval
    per_interval = cfg.batch_size * log_every
    return len(rows) * per_interval / sum(per_interval / float(r["clips_per_s"]) for r in rows)


def main(out_dir: Path) -> None:
    out_dir = Path(out_dir)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    configure_backends(device, deterministic=False)
    name = device_name(device)
    date = _dt.date.today().isoformat()
    rows: list[dict[str, Any]] = []

    def add(
        config: str,
        *,
        dtype: str,
        layout: str,
        compiled: bool,
        batch: int,
        shape: str,
        cps: float,
        ratio: float | None,
        loading: str,
        notes: str,
    ) -> None:
        # Other processes on a shared machine skew CPU timings; say how busy it was.
        load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        notes = "; ".join(n for n in (notes, load) if n)
        rows.append(
            {
                "config": config,
                "device": name,
                "dtype": dtype,
                "layout": layout,
                "compiled": compiled,
                "batch": batch,
                "clip_shape": shape,
                "clips_per_s": round(cps, 3),
                "ratio_vs_naive": "" if ratio is None else round(ratio, 3),
                "loading": loading,
                "notes": notes,
                "torch_version": torch.__version__,
                "date": date,
            }
        )
        print(f"{config:24s} {cps:10.2f} clips/s  ratio_vs_naive={rows[-1]['ratio_vs_naive']}  {notes}", flush=True)

    cudnn_note = ""
    if cuda:
        report = check_cudnn_bf16_conv3d(device)
        cudnn_note = (
            f"cuDNN {report['cudnn_version']}: bf16 conv3d contiguous {report['contiguous_ms']:.2f} ms vs "
            f"channels_last_3d {report['channels_last_ms']:.2f} ms"
        )

    # Full-size R3D-18, 16x112x112 crops from 136x136 frames (3DRotNet).
    batch = 32 if cuda else 2
    warmup, steps = (3, 10) if cuda else (1, 2)
    size_note = (
        ""
        if cuda
        else (
            f"CPU: batch {batch} clips with one random rotation each (not all 4 copies), "
            f"{warmup} warm-up + {steps} timed steps"
        )
    )
    full = _config(clip_length=16, crop=112, batch_size=batch, pretext_params={} if cuda else {"mode": "random"})
    naive = time_in_memory(full, device, frame=136, naive=True, warmup=warmup, steps=steps)
    add(
        "r3d18_naive",
        dtype="fp32",
        layout="ncdhw",
        compiled=False,
        batch=batch,
        shape="3x16x112x112",
        cps=naive,
        ratio=1.0,
        loading="in-memory, kernels on host",
        notes=size_note,
    )
    fast_cfg = replace(full, channels_last=True, amp="bf16" if cuda else "none")
    fast = time_in_memory(fast_cfg, device, frame=136, naive=False, warmup=warmup, steps=steps)
    add(
        "r3d18_fast",
        dtype="bf16" if cuda else "fp32",
        layout="channels_last_3d",
        compiled=False,
        batch=batch,
        shape="3x16x112x112",
        cps=fast,
        ratio=fast / naive,
        loading="in-memory, kernels on device",
        notes="; ".join(n for n in (size_note, cudnn_note, "" if cuda else "autocast off on CPU") if n),
    )
    if cuda:
        compiled = time_in_memory(
            fast_cfg, device, frame=136, naive=False, warmup=warmup, steps=steps, compile_model=True
        )
        add(
            "r3d18_fast_compiled",
            dtype="bf16",
            layout="channels_last_3d",
            compiled=True,
            batch=batch,
            shape="3x16x112x112",
            cps=compiled,
            ratio=compiled / naive,
            loading="in-memory, kernels on device",
            notes="torch.compile (default mode); compile time excluded by warm-up",
        )

    # The embedded default's size: R3D-18 width 0.1875 on 16x32x32 crops of 40x40 frames, batch 32.
    tiny = _config(clip_length=16, crop=32, batch_size=32, width=0.1875)
    warmup, steps = (3, 20) if cuda else (2, 6)
    tiny_naive = time_in_memory(tiny, device, frame=40, naive=True, warmup=warmup, steps=steps)
    add(
        "tiny_naive",
        dtype="fp32",
        layout="ncdhw",
        compiled=False,
        batch=32,
        shape="3x16x32x32",
        cps=tiny_naive,
        ratio=1.0,
        loading="in-memory, kernels on host",
        notes="r3d_18 width 0.1875",
    )
    tiny_fast_cfg = replace(tiny, channels_last=True, amp="bf16" if cuda else "none")
    tiny_fast = time_in_memory(tiny_fast_cfg, device, frame=40, naive=False, warmup=warmup, steps=steps)
    add(
        "tiny_fast",
        dtype="bf16" if cuda else "fp32",
        layout="channels_last_3d",
        compiled=False,
        batch=32,
        shape="3x16x32x32",
        cps=tiny_fast,
        ratio=tiny_fast / tiny_naive,
        loading="in-memory, kernels on device",
        notes="r3d_18 width 0.1875; synthetic uint8 clips",
    )
    with tempfile.TemporaryDirectory(prefix="vssl-bench-train-") as tmp:
        store = _make_store(Path(tmp) / "store", videos=64, frames=48, size=40)
        iterations, log_every = (60, 20) if cuda else (16, 8)
        loaded = time_with_loading(tiny_fast_cfg, store, Path(tmp) / "run", iterations=iterations, log_every=log_every)
    add(
        "tiny_fast_store",
        dtype="bf16" if cuda else "fp32",
        layout="channels_last_3d",
        compiled=False,
        batch=32,
        shape="3x16x32x32",
        cps=loaded,
        ratio=loaded / tiny_naive,
        loading="frame store + DataLoader (2 workers)",
        notes=(
            f"vssl pretrain on 64 stored 40x40 videos; loading/in-memory = {loaded / tiny_fast:.3f} (GPU goal >= 0.9)"
        ),
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    from vssl.utils.io import atomic_path

    with atomic_path(out_dir / "train.csv") as tmp_path:
        with open(tmp_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    print(f"wrote {out_dir / 'train.csv'}")


if __name__ == "__main__":
    main(Path(os.environ.get("VSSL_BENCH_OUT", "results/bench")))
