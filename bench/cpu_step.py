"""CPU training-step throughput of the embedded default's models -> ``cpu_step.csv``.

The toy DAG trains every row on the CPU, so what a step costs there sets the run's length. For each
toy backbone (16x16x16 clips, the widths of ``config.yaml``) this times one SGD step (forward,
cross-entropy, backward, update) under the CPU options a run could take:

- ``fp32`` contiguous (``NCDHW``), the reference;
- ``fp32 channels_last_3d`` (``--channels-last``);
- ``bf16 autocast`` (``torch.autocast("cpu", torch.bfloat16)``; a run's ``--amp`` acts on CUDA only),
  which only pays on CPUs with native bf16 (AVX512-BF16, AMX); ``cpu_flags`` in the notes says what
  this CPU has.

Speed alone would mislead: ``grad_rel_err`` is the worst relative error (``|g - g_fp64| / |g_fp64|``,
all parameters as one vector) of one backward pass against float64 gradients from the same weights,
over ``GRAD_BATCHES`` random batches, and ``worst_param`` names the parameter that contributes most.
Measured on this 2-core host (torch 2.14.1, 2026-12-04): fp32 in either layout 1e-5 to 4e-2 (0.16
for S3D-G's stem in channels-last; not investigated further); bf16 autocast about 0.5 where it is
finite, and the bf16 weight gradient of a Conv3d whose input is 1 x 1 in space (the last blocks at
these clip sizes) is garbage (errors of 1e17 and more, NaN in some steps; toy finetuning under CPU
bf16 autocast stopped on a non-finite loss within 100 steps in 10 of 10 runs). So CPU runs stay in
fp32, although bf16 steps are 1.1-1.4x faster here.

Rows are medians of interleaved rounds (each round times every variant once), so drifting load
from other processes hits all variants alike; ``ratio`` is against the fp32 contiguous row.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import statistics
import time
from pathlib import Path

import torch

COLUMNS = [
    "model",
    "width",
    "variant",
    "batch",
    "clip_shape",
    "inputs_per_s",
    "ratio",
    "grad_rel_err",
    "worst_param",
    "notes",
    "date",
]
MODELS = (("r3d_10", 0.125), ("r21d_10", 0.125), ("r3d_18", 0.125), ("c3d", 0.125), ("s3d_g", 0.125))
VARIANTS = ("fp32", "fp32 channels_last_3d", "bf16 autocast", "bf16 autocast channels_last_3d")
BATCH, CLIP = 16, (3, 16, 16, 16)
ROUNDS, STEPS = 3, 2  # bf16 autocast can be ~10x slower where the CPU lacks bf16: keep the bench short
GRAD_BATCHES = 5


def _cpu_flags() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return "unknown"
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    return " ".join(f for f in wanted if f" {f}" in flags) or "none of " + "/".join(wanted)


def _model(name: str, width: float, variant: str) -> torch.nn.Module:
    from vssl.models import LinearClassifier, get_model
    from vssl.models.heads import BackboneWithHead

    torch.manual_seed(0)  # every variant starts from the same weights
    backbone = get_model(name, width=width)
    model = BackboneWithHead(backbone, LinearClassifier(backbone.out_features, 10))
    if variant == "fp64":
        return model.double()
    return model.to(memory_format=torch.channels_last_3d) if "channels_last" in variant else model


def _loss(model: torch.nn.Module, variant: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if variant == "fp64":
        x = x.double()
    if "channels_last" in variant:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant.startswith("bf16")):
        out = model(x)
    return torch.nn.functional.cross_entropy(out.float(), y)


def _step_fn(name: str, width: float, variant: str):
    model = _model(name, width, variant)
    x, y = torch.randn(BATCH, *CLIP), torch.randint(10, (BATCH,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        loss = _loss(model, variant, x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def _gradients(name: str, width: float, variant: str, batches: list) -> list[dict[str, torch.Tensor]]:
    model = _model(name, width, variant)
    grads = []
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        _loss(model, variant, x, y).backward()
        grads.append({n: p.grad.double().clone() for n, p in model.named_parameters()})
    return grads


def _worst_grad_error(grads: list[dict[str, torch.Tensor]], reference: list[dict[str, torch.Tensor]]):
    """(worst relative error of the whole gradient, the parameter with the largest error) over batches.

    The error is taken over all parameters at once: a parameter whose true gradient is near zero (a
    BatchNorm bias feeding another normalisation) would otherwise show rounding noise as 100 %.
    NaN counts as infinite.
    """
    worst, where = 0.0, ""
    for got, want in zip(grads, reference, strict=True):
        diffs = {n: float((got[n] - g).norm()) for n, g in want.items()}
        diffs = {n: d if math.isfinite(d) else math.inf for n, d in diffs.items()}
        err = math.hypot(*diffs.values()) / max(math.hypot(*(float(g.norm()) for g in want.values())), 1e-12)
        if err > worst:
            worst, where = err, max(diffs, key=diffs.__getitem__)
    return worst, where


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
        torch.manual_seed(1)
        batches = [(torch.randn(BATCH, *CLIP), torch.randint(10, (BATCH,))) for _ in range(GRAD_BATCHES)]
        grad_reference = _gradients(name, width, "fp64", batches)
        for variant in VARIANTS:
            rate = BATCH / statistics.median(times[variant])
            grad_err, worst_param = _worst_grad_error(_gradients(name, width, variant, batches), grad_reference)
            rows.append(
                {
                    "model": name,
                    "width": width,
                    "variant": variant,
                    "batch": BATCH,
                    "clip_shape": "x".join(map(str, CLIP)),
                    "inputs_per_s": round(rate, 1),
                    "ratio": round(rate / reference, 3),
                    "grad_rel_err": f"{grad_err:.2g}",
                    "worst_param": worst_param,
                    "notes": f"1 thread; medians of {ROUNDS} interleaved rounds of {STEPS} steps; "
                    f"gradients of {GRAD_BATCHES} batches; cpu_flags {flags}",
                    "date": _dt.date.today().isoformat(),
                }
            )
            print(
                f"{name:8s} {variant:31s} {rate:8.1f} inputs/s  x{rate / reference:.2f}  "
                f"grad err {grad_err:.2g} ({worst_param})",
                flush=True,
            )
    path = out_dir / "cpu_step.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
