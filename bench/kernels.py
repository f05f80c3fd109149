"""Pretext kernel throughput: batched kernels vs per-sample torchvision loops -> ``kernels.csv``.

Rows (clips/s, best of several timed runs after a warm-up):

* ``sp_projection``: the V3S spatial-projection warp on a batch of 32 clips of
  3x16x112x112, every clip with its own trapezoid homography, against a
  per-clip loop over ``torchvision.transforms.v2.functional.perspective`` on
  the same float tensor (the ratio row). Measured for the batched
  ``grid_sample`` path on contiguous clips and for the gather path on
  pixel-major clips (what ``to_float(..., pixel_major=True)`` produces); the
  notes give the largest difference from the reference output.
* ``sp_pipeline``: SP as V3S trains it, from stored 128x171 frames: resize to
  224, trapezoid warp, ``l x l`` crop, resize to 112 -- fused into one warp
  that computes only the output pixels; reference: the same four steps per
  clip with torchvision.
* ``to_float``: uint8 -> normalised float, contiguous vs pixel-major output.
* ``rotation_rot90_all_copies``: 4 exact rotations of every clip (32 -> 128);
  reference: per-clip ``torch.rot90`` loop.
* ``rotation8_grid``: a 45-degree-step rotation per clip with the inscribed
  crop, one warp; reference: per-clip torchvision rotate + centre crop + resize.
* ``ts_tp_gather``: V3S temporal sampling in memory (69-frame clips -> 16);
  reference: per-clip indexing loop.
* CUDA only: the full V3S transform of a batch (uint8 -> model input) and its
  share of one R3D-18 training step (bf16 autocast, batch 32, 16x112x112).

Throughput figures depend on the machine and its load; the CSV records the
torch version, device name and thread count with every row.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
import torchvision.transforms.v2.functional as TF

from vssl.kernels import (
    EIGHT_ANGLES,
    SpatialLabelSpace,
    TemporalLabelSpace,
    build_pretext,
    crop_windows,
    frame_corners,
    quad_targets,
    random_temporal,
    rotate90_all_copies,
    rotation_warp_matrix,
    solve_homography,
    to_float,
    to_pixel_major,
    v3s_spatial,
    warp_perspective,
)
from vssl.utils.io import atomic_write_csv

BATCH = 32
CLIP = (3, 16, 112, 112)
TV_ORDER = [0, 3, 2, 1]  # paper corner order (TL, BL, BR, TR) -> torchvision's (TL, TR, BR, BL)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{cpu_name()} ({torch.get_num_threads()} threads, {os.cpu_count()} cores)"


def timed(fn: Callable[[], object], device: torch.device, *, repeats: int = 7, warmup: int = 1) -> float:
    """Best-of-``repeats`` wall time of ``fn`` in seconds (CUDA work is synchronised).

    The minimum, as ``timeit`` reports, because on a shared machine the other
    runs measure the neighbours' load rather than the kernel.
    """

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def row(
    kernel: str,
    device: torch.device,
    batch: int,
    shape: str,
    seconds: float,
    *,
    reference: str = "",
    ref_seconds: float | None = None,
    notes: str = "",
) -> dict:
    return {
        "kernel": kernel,
        "device": device.type,
        "batch": batch,
        "shape": shape,
        "clips_per_s": round(batch / seconds, 2),
        "reference": reference,
        "ratio": round(ref_seconds / seconds, 2) if ref_seconds else None,
        "notes": notes,
        "torch_version": torch.__version__,
        "device_name": device_name(device),
    }


def sp_projection_rows(device: torch.device, gen: torch.Generator) -> list[dict]:
    c, t, h, w = CLIP
    clips = torch.rand(BATCH, c, t, h, w, generator=gen).to(device)
    space = SpatialLabelSpace(scales=(), identity=False)  # SP classes only: c x side
    labels = torch.randint(len(space), (BATCH,), generator=gen)
    corners = frame_corners(w, h)
    quads = quad_targets(space.params()[labels], (h, w))
    matrix = solve_homography(corners, quads).to(device)
    points = [(corners[TV_ORDER].tolist(), quads[i][TV_ORDER].tolist()) for i in range(BATCH)]

    def reference() -> torch.Tensor:
        return torch.stack([TF.perspective(clips[i], start, end) for i, (start, end) in enumerate(points)])

    ref_out = reference()
    ref_s = timed(reference, device)
    shape = "x".join(map(str, CLIP))
    ref_name = "torchvision.transforms.v2.functional.perspective, per-clip loop"
    rows = [
        row(
            "sp_projection_torchvision_loop",
            device,
            BATCH,
            shape,
            ref_s,
            reference="(this is the reference)",
            ref_seconds=ref_s,
            notes="torchvision solves each clip's coefficients (lstsq) and warps it",
        )
    ]

    def batched() -> torch.Tensor:
        return warp_perspective(clips, matrix, (h, w), backend="grid_sample")

    diff = (batched() - ref_out).abs().max().item()
    rows.append(
        row(
            "sp_projection",
            device,
            BATCH,
            shape,
            timed(batched, device),
            reference=ref_name,
            ref_seconds=ref_s,
            notes=f"one grid_sample, T folded into channels, contiguous clips; max|diff| vs reference {diff:.1e}",
        )
    )
    if device.type == "cpu":
        pixel_major = to_pixel_major(clips)

        def gathered() -> torch.Tensor:
            return warp_perspective(pixel_major, matrix, (h, w), backend="gather")

        diff = (gathered() - ref_out).abs().max().item()
        rows.append(
            row(
                "sp_projection",
                device,
                BATCH,
                shape,
                timed(gathered, device),
                reference=ref_name,
                ref_seconds=ref_s,
                notes=f"gather backend (one embedding_bag) on pixel-major clips "
                f"(to_float(pixel_major=True)); output pixel-major; "
                f"max|diff| vs reference {diff:.1e}",
            )
        )

        def convert_then_gather() -> torch.Tensor:
            return warp_perspective(to_pixel_major(clips), matrix, (h, w), backend="gather").contiguous()

        rows.append(
            row(
                "sp_projection",
                device,
                BATCH,
                shape,
                timed(convert_then_gather, device),
                reference=ref_name,
                ref_seconds=ref_s,
                notes="gather backend including the layout conversions in and out (contiguous -> contiguous)",
            )
        )
    return rows


def conversion_rows(device: torch.device, gen: torch.Generator) -> list[dict]:
    """uint8 (B, T, H, W, C) -> normalised float (B, C, T, H, W), contiguous vs pixel-major storage."""
    c, t, h, w = CLIP
    raw = torch.randint(0, 256, (BATCH, t, h, w, c), generator=gen, dtype=torch.uint8).to(device)
    shape = f"uint8 {t}x{h}x{w}x{c} -> {c}x{t}x{h}x{w}"
    contiguous_s = timed(lambda: to_float(raw), device)
    return [
        row("to_float", device, BATCH, shape, contiguous_s, notes="contiguous output"),
        row(
            "to_float",
            device,
            BATCH,
            shape,
            timed(lambda: to_float(raw, pixel_major=True), device),
            reference="to_float, contiguous output",
            ref_seconds=contiguous_s,
            notes="pixel-major output (the layout of the gather warp rows)",
        ),
    ]


def sp_pipeline_rows(device: torch.device, gen: torch.Generator) -> list[dict]:
    """The SP transform as V3S uses it: stored frames -> 224 frame -> trapezoid -> l x l crop -> 112."""
    c, t = CLIP[:2]
    stored_h, stored_w, frame, out = 128, 171, 224, 112
    clips = torch.rand(BATCH, c, t, stored_h, stored_w, generator=gen).to(device)
    space = SpatialLabelSpace(scales=(), identity=False)
    params = space.params()[torch.randint(len(space), (BATCH,), generator=gen)]
    windows = crop_windows(params, (frame, frame), (out, out), torch.rand(BATCH, 2, generator=gen, dtype=torch.float64))
    corners = frame_corners(frame, frame)
    quads = quad_targets(params, (frame, frame))
    boxes = [[int(round(float(v))) for v in windows[i]] for i in range(BATCH)]
    points = [(corners[TV_ORDER].tolist(), quads[i][TV_ORDER].tolist()) for i in range(BATCH)]

    def reference() -> torch.Tensor:
        outs = []
        for i, (start, end) in enumerate(points):
            left, top, width, height = boxes[i]
            x = TF.resize(clips[i], [frame, frame], antialias=False)
            x = TF.perspective(x, start, end)
            outs.append(TF.resize(TF.crop(x, top, left, height, width), [out, out], antialias=False))
        return torch.stack(outs)

    def fused() -> torch.Tensor:
        return v3s_spatial(clips, params, windows, frame_size=frame, out_size=out, padding_mode="zeros")

    shape = f"{c}x{t}x{stored_h}x{stored_w} -> {c}x{t}x{out}x{out}"
    return [
        row(
            "sp_pipeline",
            device,
            BATCH,
            shape,
            timed(fused, device),
            reference="torchvision resize 224 + perspective + crop l x l + resize 112, per-clip loop",
            ref_seconds=timed(reference, device),
            notes="V3S SP as trained: one warp computes only the 112x112 output pixels; the reference "
            "rounds the crop box to whole pixels and resamples three times, so values differ slightly",
        )
    ]


def rotation_rows(device: torch.device, gen: torch.Generator) -> list[dict]:
    c, t, h, w = CLIP
    clips = torch.rand(BATCH, c, t, h, w, generator=gen).to(device)
    shape = "x".join(map(str, CLIP))
    angles = (0, 90, 180, 270)

    def ref_rot90() -> torch.Tensor:
        return torch.stack([torch.rot90(clips[i], a // 90, dims=(-2, -1)) for i in range(BATCH) for a in angles])

    def ours_rot90() -> torch.Tensor:
        return rotate90_all_copies(clips, angles)[0]

    assert torch.equal(ref_rot90(), ours_rot90())
    ref_s = timed(ref_rot90, device)
    rows = [
        row(
            "rotation_rot90_all_copies",
            device,
            BATCH,
            shape,
            timed(ours_rot90, device),
            reference="torch.rot90 per clip and angle, stacked",
            ref_seconds=ref_s,
            notes="clips/s counts input clips (each gives 4 outputs); one exact gather; outputs identical",
        )
    ]

    degrees = torch.tensor(EIGHT_ANGLES, dtype=torch.float64)[torch.randint(8, (BATCH,), generator=gen)]
    matrix = rotation_warp_matrix(degrees, (h, w), (h, w), crop="inscribed", device=device)
    side = round(h / math.sqrt(2))

    def ref_rot8() -> torch.Tensor:
        return torch.stack(
            [
                TF.resize(TF.center_crop(TF.rotate(clips[i], float(degrees[i])), [side, side]), [h, w], antialias=False)
                for i in range(BATCH)
            ]
        )

    def ours_rot8() -> torch.Tensor:
        return warp_perspective(clips, matrix, (h, w), backend="grid_sample")

    rows.append(
        row(
            "rotation8_grid",
            device,
            BATCH,
            shape,
            timed(ours_rot8, device),
            reference="torchvision rotate + center_crop + resize, per-clip loop",
            ref_seconds=timed(ref_rot8, device),
            notes=f"one grid_sample (rotation, inscribed crop and resize in one matrix); the reference "
            f"crops an integer {side}px square, so outputs differ slightly",
        )
    )
    return rows


def temporal_rows(device: torch.device, gen: torch.Generator) -> list[dict]:
    c, _, h, w = CLIP
    space = TemporalLabelSpace()
    frames = space.max_span
    clips = torch.rand(BATCH, c, frames, h, w, generator=gen).to(device)
    labels = space.sample(BATCH, gen)
    table = space.offset_table()

    def ours() -> torch.Tensor:
        return random_temporal(clips, space, torch.Generator().manual_seed(0), labels=labels)[0]

    starts = torch.zeros(BATCH, dtype=torch.int64)

    def reference() -> torch.Tensor:
        return torch.stack([clips[i][:, starts[i] + table[labels[i]]] for i in range(BATCH)])

    return [
        row(
            "ts_tp_gather",
            device,
            BATCH,
            f"{c}x{frames}x{h}x{w} -> {c}x16x{h}x{w}",
            timed(ours, device),
            reference="per-clip advanced indexing, stacked",
            ref_seconds=timed(reference, device),
            notes="TS 1-3 + 8 TP patterns, per-clip class and start; one index_select of whole frames",
        )
    ]


def cuda_rows(device: torch.device, gen: torch.Generator) -> list[dict]:
    """Full V3S transform vs one R3D-18 training step (bf16 autocast)."""
    pretext = build_pretext("v3s")
    stored = torch.randint(0, 256, (BATCH, 16, 224, 224, 3), generator=gen, dtype=torch.uint8).to(device)
    temporal = torch.randint(len(pretext.temporal_choices), (BATCH,), generator=gen).to(device)

    def transform() -> torch.Tensor:
        x = to_float(stored)
        return pretext.apply(x, {"temporal_label": temporal}, torch.Generator().manual_seed(0))[0]

    transform_s = timed(transform, device, repeats=10)
    rows = [
        row(
            "v3s_full_transform",
            device,
            BATCH,
            "uint8 16x224x224x3 -> 3x16x112x112",
            transform_s,
            notes="to_float + temporal labels from the loader + SS/SP warp (19 spatial classes)",
        )
    ]
    try:
        from vssl.models import get_model

        backbone = get_model("r3d_18")
    except (ImportError, ValueError) as err:  # the models layer is written in parallel
        print(f"  skipping the R3D-18 step row: {err}")
        return rows
    model = torch.nn.Sequential(backbone, torch.nn.Linear(512, 19)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs = transform().detach()
    target = torch.randint(19, (BATCH,), generator=gen).to(device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(inputs), target)
        loss.backward()
        opt.step()

    step_s = timed(step, device, repeats=10, warmup=3)
    rows.append(
        row(
            "r3d18_train_step",
            device,
            BATCH,
            "3x16x112x112",
            step_s,
            notes=f"bf16 autocast, SGD; the V3S transform is {100 * transform_s / step_s:.1f}% of a step (goal <= 5%)",
        )
    )
    return rows


def main(out_dir: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    cpu = torch.device("cpu")
    suites = (sp_projection_rows, conversion_rows, sp_pipeline_rows, rotation_rows, temporal_rows)
    rows = [r for suite in suites for r in suite(cpu, gen)]
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        rows += [r for suite in suites for r in suite(gpu, gen)]
        rows += cuda_rows(gpu, gen)
    else:
        print("  CUDA not available: GPU rows (V3S transform vs R3D-18 step) skipped")
    frame = pd.DataFrame(rows)
    atomic_write_csv(Path(out_dir) / "kernels.csv", frame)
    with pd.option_context("display.max_colwidth", 60, "display.width", 250):
        print(frame.drop(columns=["torch_version", "device_name"]).to_string(index=False))
    print(f"torch {torch.__version__}; {device_name(cpu)}")
