"""CPU training-step throughput of the embedded default's models -> ``cpu_step.csv``.

The toy DAG trains every row on the CPU, so what a step costs there sets the run's length. For each
toy backbone (16x16x16 clips, the widths of ``config.yaml``) this times one SGD step (forward,
cross-entropy, backward, update) under the CPU options a run could take:

- ``fp32`` contiguous (``NCDHW``), the reference;
- ``fp32 channels_last_3d`` (``--channels-last``);
- ``bf16 autocast`` (``--amp bf16`` on CPU), which only pays on CPUs with native bf16 (AVX512-BF16,
  AMX); ``cpu_flags`` in the notes says what this CPU has.

Rows are medians of interleaved rounds (each round times every variant once), so drifting load
from other processes hits all variants alike; ``ratio`` is against the fp32 contiguous row.
"""

from __future__ import annotations

import csv
import datetime as _dt
import statistics
import time
from pathlib import Path

import torch

COLUMNS = ["model", "width", "variant", "batch", "clip_shape", "inputs_per_s", "ratio", "notes", "date"]
MODELS = (("r3d_10", 0.125), ("r21d_10", 0.125), ("r3d_18", 0.125), ("c3d", 0.125), ("s3d_g", 0.125))
VARIANTS = ("fp32", "fp32 channels_last_3d", "bf16 autocast")
BATCH, CLIP = 16, (3, 16, 16, 16)
ROUNDS, STEPS = 3, 2  # bf16 autocast can be ~10x slower where the CPU lacks bf16: keep the bench short


def _cpu_flags() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return "unknown"
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    return " ".join(f for f in wanted if f" {f}" in flags) or "none of " + "/".join(wanted)


def _step_fn(name: str, width: float, variant: str):
    from vssl.models import LinearClassifier, get_model
    from vssl.models.heads import BackboneWithHead

    torch.manual_seed(0)
    backbone = get_model(name, width=width)
    model = BackboneWithHead(backbone, LinearClassifier(backbone.out_features, 10))
    x = torch.randn(BATCH, *CLIP)
    if "channels_last" in variant:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    y = torch.randint(10, (BATCH,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    amp = variant.startswith("bf16")

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            out = model(x)
        loss = torch.nn.functional.cross_entropy(out.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def main(out_dir: Path) -> None:
    torch.set_num_threads(1)  # as every toy job runs (OMP_NUM_THREADS=1)
    rows = []
    flags = _cpu_flags()
    for name, width in MODELS:
        steps = {v: _step_fn(name, width, v) for v in VARIANTS}
        for fn in steps.values():
            fn()  # warm-up: oneDNN picks its kernels on the first call
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(ROUNDS):
            for variant, fn in steps.items():
                start = time.perf_counter()
                for _ in range(STEPS):
                    fn()
                times[variant].append((time.perf_counter() - start) / STEPS)
        reference = BATCH / statistics.median(times["fp32"])
        for variant in VARIANTS:
            rate = BATCH / statistics.median(times[variant])
            rows.append(
                {
                    "model": name,
                    "width": width,
                    "variant": variant,
                    "batch": BATCH,
                    "clip_shape": "x".join(map(str, CLIP)),
                    "inputs_per_s": round(rate, 1),
                    "ratio": round(rate / reference, 3),
                    "notes": f"1 thread; medians of {ROUNDS} interleaved rounds of {STEPS} steps; cpu_flags {flags}",
                    "date": _dt.date.today().isoformat(),
                }
            )
            print(f"{name:8s} {variant:22s} {rate:8.1f} inputs/s  x{rate / reference:.2f}", flush=True)
    path = out_dir / "cpu_step.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
