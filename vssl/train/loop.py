"""The training machinery shared by ``vssl pretrain`` and ``vssl finetune``.

A `Task` says what differs (datasets, model, how a loaded batch becomes
inputs and targets, the loss); `run_training` does the rest once: devices and
GPU slots, DDP, seeding, the epoch/step loop, the lr schedule, autocast,
checkpoints and exact resume, validation and best-checkpoint selection,
metrics.csv / run.json / the log file, the non-finite-loss stop.

Exact resume. Every source of randomness is either checkpointed or a pure
function of (seed, epoch, index/step):
- data order: `ShardedEpochSampler` permutes with a generator seeded by
  (seed, epoch) and can start mid-epoch at a batch offset;
- per-sample loading randomness: the dataset derives it from
  (seed, epoch, index) (``ClipDataset.set_epoch``), independent of workers;
- device-side augmentation and pretext parameters: drawn from a CPU
  generator reseeded from (seed, rank, step) before every step;
- the DataLoader gets its own generator, so creating an iterator mid-epoch
  does not consume the global torch RNG;
- global Python/NumPy/torch/CUDA RNG states (dropout) are checkpointed;
- the lr is a pure function of (step, epoch) (`vssl.train.schedule`).
So a run killed after a checkpoint and resumed computes exactly the same
steps as an uninterrupted one (bitwise on CPU with the same thread count).

Non-finite losses are detected without a per-step host sync: a device-side
"first bad step" is updated each step and read at every log interval and
before every checkpoint; checkpoints also refuse non-finite weights. The run
then stops naming the step, keeps the last good checkpoint, and exits non-zero.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as _dt
import logging
import math
import os
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler

from vssl.kernels import losses
from vssl.runtime import logs as runtime_logs
from vssl.runtime.device import autocast_context, check_cudnn_bf16_conv3d, configure_backends, resolve_device
from vssl.runtime.provenance import provenance
from vssl.runtime.seeding import seed_everything
from vssl.train import checkpoint as ckpt
from vssl.train import distributed as dist_utils
from vssl.train.config import TrainConfig
from vssl.train.rng import capture_rng_state, restore_rng_state
from vssl.train.runfile import config_to_dict
from vssl.train.schedule import Schedule
from vssl.train.sgd import SGD
from vssl.utils.errors import USER_ERRORS
from vssl.utils.io import atomic_path, atomic_write_json
from vssl.utils.proc import seconds_since_process_start

EXIT_NONFINITE = 3

# Settings that may change between a run and its resumption without changing the result.
RESUME_MUTABLE = frozenset(
    {
        "resume",
        "on_change",
        "workers",
        "frame_cache_mb",
        "log",
        "progress",
        "device",
        "gpus",
        "gpu_wait",
        "compile",
        "ckpt_every",
        "keep_every",
        "log_every",
        "run_file",
        # Turned on to resume a run a bad video stopped: identical until that video; run.json lists the skips.
        "skip_bad_videos",
    }
)


class NonFiniteLossError(RuntimeError):
    def __init__(self, step: int, epoch: int, last_good: str | None) -> None:
        self.step, self.epoch, self.last_good = step, epoch, last_good
        kept = f"last good checkpoint kept: {last_good}" if last_good else "no checkpoint had been written yet"
        super().__init__(f"non-finite loss at step {step} (epoch {epoch}); stopping; {kept}")


# ---------------------------------------------------------------- sampling


def _mix(*values: int) -> int:
    """A 63-bit seed from several integers (order-sensitive, no collisions for small values)."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h ^= (int(v) + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2)) & 0xFFFFFFFFFFFFFFFF
        h = (h * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    return h & 0x7FFFFFFFFFFFFFFF


class ShardedEpochSampler(Sampler[int]):
    """Per-epoch permutation seeded by (seed, epoch), sharded over ranks, resumable mid-epoch.

    Every rank gets ``n // world`` indices (the remainder is dropped, like
    ``DistributedSampler(drop_last=True)``), truncated to whole batches, so all
    ranks run the same number of steps. ``set_epoch(e, start_batch)`` skips
    the first ``start_batch`` batches without loading them.
    """

    def __init__(
        self, n: int, *, batch_size: int, seed: int, shuffle: bool = True, rank: int = 0, world: int = 1
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.rank, self.world = rank, world
        self.epoch, self.start_batch = 0, 0

    @property
    def batches_per_epoch(self) -> int:
        return (self.n // self.world) // self.batch_size

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(_mix(self.seed, self.epoch))
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        per_rank = self.n // self.world
        mine = order[self.rank :: self.world][:per_rank]
        return mine[: self.batches_per_epoch * self.batch_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.start_batch * self.batch_size :])

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch - self.start_batch) * self.batch_size


class ShardSampler(Sampler[int]):
    """Every index once, in order, sharded ``rank::world`` (evaluation: nothing dropped)."""

    def __init__(self, n: int, *, rank: int = 0, world: int = 1) -> None:
        self.indices = list(range(rank, n, world))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


# ---------------------------------------------------------------- tasks


@dataclasses.dataclass
class ModelParts:
    backbone: nn.Module
    head: nn.Module
    spec: dict[str, Any]  # {"backbone": {"name", "kwargs"}, "head": {"type", "kwargs"}}


class Task(ABC):
    """What pretraining and finetuning do differently. Built on every rank."""

    kind: str  # "pretrain" | "finetune"

    @property
    @abstractmethod
    def heads(self) -> dict[str, tuple[str, int]]:
        """Head name -> ("classification", classes) or ("regression", dim)."""

    @abstractmethod
    def datasets(self) -> tuple[Dataset, Dataset | None]:
        """(train set, validation set or None), each with ``set_epoch``."""

    @abstractmethod
    def loader_batch_size(self, world_size: int) -> int:
        """Clips each rank loads per step."""

    @abstractmethod
    def build_model(self) -> ModelParts: ...

    @abstractmethod
    def prepare(
        self,
        batch: Mapping[str, Any],
        generator: torch.Generator,
        *,
        train: bool,
        device: torch.device,
        channels_last: bool,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Loaded CPU batch -> (device inputs (B, C, T, H, W), device targets per head)."""

    def outputs_by_head(self, outputs: Tensor | Mapping[str, Tensor]) -> dict[str, Tensor]:
        return losses.outputs_by_head(outputs, self.heads)

    def regression_loss(self) -> str:
        return "l1"

    @property
    def inputs_per_target(self) -> int:
        """Network inputs behind one target (VCOP: a tuple's clips); metrics count targets."""
        return 1

    def head_loss(self, name: str, outputs: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """(loss, correct count) of a head kind the loop does not know (the contrastive pretext's InfoNCE)."""
        raise NotImplementedError(f"no loss for head {name!r} of kind {self.heads[name][0]!r}")

    def checkpoint_fields(self) -> dict[str, Any]:
        """Extra checkpoint entries (pretext spec, classes)."""
        return {}

    def after_model_built(self, parts: ModelParts, log: logging.Logger) -> None:  # noqa: B027 (optional hook)
        """Hook: load init weights, freeze stages."""

    @property
    def metric_names(self) -> list[str]:
        return [losses.metric_name(name, kind) for name, (kind, _) in self.heads.items()]

    def loss(
        self, outputs: Tensor | Mapping[str, Tensor], targets: Mapping[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Sum of per-head losses (V3S: L = L_S + L_T) and per-head metric sums (`vssl.kernels.losses`)."""
        return losses.heads_loss(
            self.heads,
            self.outputs_by_head(outputs),
            targets,
            regression=self.regression_loss(),
            other=self.head_loss,
        )


def train_step(
    model: nn.Module,
    task: Task,
    batch: Mapping[str, Any],
    optimizer: SGD,
    *,
    generator: torch.Generator,
    device: torch.device,
    amp: str = "none",
    channels_last: bool = False,
    scaler: torch.amp.GradScaler | None = None,
) -> tuple[Tensor, dict[str, Tensor], int]:
    """One optimizer step on a loaded batch; returns (detached loss, metric sums, network inputs).

    The same function runs in `run_training` and in ``bench/train.py``, so the
    benchmark times exactly the product step. Nothing here syncs with the host.
    """
    inputs, targets = task.prepare(batch, generator, train=True, device=device, channels_last=channels_last)
    with autocast_context(device, amp):
        outputs = model(inputs)
    loss, stats = task.loss(outputs, targets)
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    return loss.detach().float(), {k: v.detach() for k, v in stats.items()}, int(inputs.shape[0])


# ---------------------------------------------------------------- outputs


def select_checkpoint(out: Path, best: dict[str, Any] | None, *, final_step: int) -> dict[str, Any]:
    """Link ``OUT/selected.pt``, the checkpoint downstream jobs start from, and say which one it is.

    ``best.pt`` when a hold-out chose one (V3S: "the best validation accuracy model is used for
    downstream tasks"), else ``final.pt``.
    """
    if best is not None and (out / "best.pt").exists():
        choice = {"file": "best.pt", "step": int(best["step"]), "why": "best validation score on the hold-out"}
    else:
        choice = {"file": "final.pt", "step": int(final_step), "why": "no hold-out: the final weights"}
    ckpt.link_checkpoint(out / choice["file"], out / "selected.pt")
    return choice


class MetricsCSV:
    """Append-only metrics.csv, flushed per row so a kill keeps every written row.

    On resume, rows after the checkpoint's step are dropped first (they will be
    recomputed), so the file never holds duplicates.
    """

    def __init__(self, path: Path, columns: list[str], *, keep_through_step: int | None) -> None:
        self.path, self.columns = path, columns
        if keep_through_step is not None and path.exists():
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                if reader.fieldnames != columns:
                    raise RuntimeError(f"{path}: columns {reader.fieldnames} differ from this run's {columns}")
                kept = [row for row in reader if int(row["step"]) <= keep_through_step]
            with atomic_path(path) as tmp:
                with open(tmp, "w", newline="") as f:
                    writer = csv.DictWriter(f, fieldnames=columns)
                    writer.writeheader()
                    writer.writerows(kept)
        elif path.exists():
            path.unlink()
        new = not path.exists()
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=columns)
        if new:
            self.writer.writeheader()
            self.file.flush()

    def write(self, row: Mapping[str, Any]) -> None:
        self.writer.writerow({c: _fmt(row.get(c, "")) for c in self.columns})
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def setup_logging(log_path: Path | None, *, main: bool) -> logging.Logger:
    """The runtime's command logging; DDP ranks other than the main one log warnings to stderr only."""
    runtime_logs.setup_logging(log_path if main else None, console_level=logging.INFO if main else logging.WARNING)
    return logging.getLogger("vssl.train")


# ---------------------------------------------------------------- the loop


def _all_finite(modules: list[nn.Module]) -> bool:
    flags = [torch.isfinite(p.detach()).all() for m in modules for p in m.parameters()]
    return bool(torch.stack(flags).all().item()) if flags else True


def _unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "_orig_mod", model)
    return getattr(model, "module", model)


EXIT_USAGE = 2  # bad settings or inputs (vssl.utils.errors.USER_ERRORS): one line, no traceback


def run_command(body: Callable[[], int]) -> int:
    """Run a training command; bad settings or inputs print one clear line and exit 2 (no traceback)."""
    from vssl.train.runfile import RunFileError

    try:
        return body()
    except USER_ERRORS + (RunFileError,) as exc:
        if not getattr(exc, "vssl_logged", False):
            print(f"vssl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def run_training(config: TrainConfig, task: Task) -> int:
    """Train ``task`` under ``config``; return the process exit code (0, or EXIT_NONFINITE)."""
    out = Path(config.out)
    if config.epochs is None and config.iterations is None:
        raise ValueError("give the run length: --epochs or --iterations")
    if config.epochs is not None and config.iterations is not None:
        raise ValueError("give --epochs or --iterations, not both")

    # Slots before anything touches CUDA; then DDP.
    info, _ = dist_utils.detect_launch()
    log = setup_logging(Path(config.log) if config.log else out / "train.log", main=info.is_main)
    choice = resolve_device(config.device, gpus=config.gpus, gpu_wait=config.gpu_wait, log=log)
    device = choice.device
    info = dist_utils.init_distributed(device.type)
    if device.type == "cuda":
        device = dist_utils.cuda_device_for(info)
        torch.cuda.set_device(device)
    try:
        return _run(config, task, out, device, info, log)
    except USER_ERRORS as exc:
        log.error("error: %s", exc)  # into the log file too, while it is open
        exc.vssl_logged = True  # type: ignore[attr-defined]
        raise
    finally:
        dist_utils.cleanup()
        runtime_logs.close_logging()


@dataclasses.dataclass
class LoopState:
    """Where the run is: what a checkpoint's ``progress`` holds, plus the bookkeeping between steps."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best: dict[str, Any] | None = None
    last_good: str | None = None  # the last checkpoint written with finite weights
    last_val_step: int = -1
    wall_before: float = 0.0  # wall time of the runs this one resumes
    t_start: float = dataclasses.field(default_factory=time.perf_counter)
    first_step_s: float | None = None  # start-up cost: process start to the end of the first step

    def wall_time(self) -> float:
        return self.wall_before + (time.perf_counter() - self.t_start)


@dataclasses.dataclass
class Run:
    """Everything the loop functions share, built once by `build_run`."""

    config: TrainConfig
    task: Task
    out: Path
    device: torch.device
    info: dist_utils.DistInfo
    log: logging.Logger
    parts: ModelParts
    model: nn.Module
    optimizer: SGD
    scaler: torch.amp.GradScaler | None
    schedule: Schedule
    train_set: Dataset
    val_set: Dataset | None
    sampler: ShardedEpochSampler
    per_rank_batch: int
    total_steps: int
    kernel_gen: torch.Generator  # CPU: the kernels' per-clip draws cause no host sync (vssl.kernels._random)
    nonfinite_step: Tensor  # device-side first non-finite step (-1: none), read without a per-step sync
    cudnn_report: dict[str, Any]
    metrics: MetricsCSV | None = None
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # --skip-bad-videos

    @property
    def main(self) -> bool:
        return self.info.is_main

    @property
    def last_path(self) -> Path:
        return self.out / "last.pt"

    @property
    def batches_per_epoch(self) -> int:
        return self.sampler.batches_per_epoch


def metric_sums(task: Task, device: torch.device) -> dict[str, Tensor]:
    """Zeroed device-side sums: loss, each head's metric, network inputs (``count``) and targets."""
    return {name: torch.zeros((), device=device) for name in ["loss", *task.metric_names, "count", "targets"]}


class Interval:
    """Sums between two metrics.csv rows: loss, per-head metric sums, network inputs and targets."""

    def __init__(self, task: Task, device: torch.device) -> None:
        self.sums = metric_sums(task, device)
        self.inputs_per_target = task.inputs_per_target
        self.steps, self.t0, self.data_wait = 0, time.perf_counter(), 0.0
        self.epoch_rows: list[dict[str, Any]] = []

    def add(self, loss: Tensor, stats: Mapping[str, Tensor], n_inputs: int) -> None:
        self.sums["loss"] += loss
        for k, v in stats.items():
            self.sums[k] += v
        self.sums["count"] += n_inputs
        self.sums["targets"] += n_inputs // self.inputs_per_target
        self.steps += 1

    def reset(self) -> None:
        for v in self.sums.values():
            v.zero_()
        self.steps, self.t0, self.data_wait = 0, time.perf_counter(), 0.0


def _run(
    config: TrainConfig, task: Task, out: Path, device: torch.device, info: dist_utils.DistInfo, log: logging.Logger
) -> int:
    prepare_out(config, task, out, info.is_main, log)
    run = build_run(config, task, out, device, info, log)
    state = LoopState(last_good=str(run.last_path) if run.last_path.exists() else None)
    resumed_from = resume(run, state)
    wrap_model(run)
    columns = [
        "phase",
        "step",
        "epoch",
        "loss",
        *task.metric_names,
        "lr",
        "clips_per_s",
        "data_wait_frac",
        "wall_time_s",
    ]
    run.metrics = MetricsCSV(out / "metrics.csv", columns, keep_through_step=resumed_from) if run.main else None
    run_info = run_record(run, resumed_from)
    if run.main:
        atomic_write_json(out / "run.json", run_info)
    state.t_start = time.perf_counter()
    status = "completed"
    bar = _progress_bar(run, state)
    try:
        train(run, state, bar)
        finish(run, state, run_info)
    except NonFiniteLossError as exc:
        status = f"failed: {exc}"
        log.error("%s", exc)
        return EXIT_NONFINITE
    except BaseException as exc:
        status = f"failed: {type(exc).__name__}: {exc}"
        raise
    finally:
        if bar is not None:
            bar.close()
        if run.metrics is not None:
            run.metrics.close()
        if run.main:
            run_info.update(
                status=status,
                finished=_dt.datetime.now().isoformat(timespec="seconds"),
                steps_done=state.step,
                wall_time_s=state.wall_time(),
                best=state.best,
                first_step_after_s=state.first_step_s,
            )
            if config.skip_bad_videos:
                run_info["skipped_videos"] = dict(sorted(run.skipped.items()))
            atomic_write_json(out / "run.json", run_info)
    if info.enabled:
        _check_replicas(run.parts, log)
    if run.skipped:
        log.warning(
            "skipped %d unreadable video(s), %d item(s) in all (--skip-bad-videos): %s",
            len(run.skipped),
            sum(run.skipped.values()),
            ", ".join(sorted(run.skipped)),
        )
    best = state.best
    log.info(
        "done: %d steps, final checkpoint %s%s",
        state.step,
        out / "final.pt",
        f", best {out / 'best.pt'} (step {best['step']})" if best and run.val_set is not None else "",
    )
    return 0


# ---------------------------------------------------------------- setup


def prepare_out(config: TrainConfig, task: Task, out: Path, main: bool, log: logging.Logger) -> None:
    """Create OUT; refuse to overwrite a run without --resume; move a changed run aside (--on-change restart)."""
    out.mkdir(parents=True, exist_ok=True)
    last_path = out / "last.pt"
    if last_path.exists() and not config.resume:
        raise FileExistsError(
            f"{out} already holds a run ({last_path.name}); pass --resume to continue it or use another --out"
        )
    if config.resume and config.on_change == "restart" and last_path.exists():
        if main:
            _supersede_if_changed(out, last_path, config, task, log)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()


def _check_cudnn(config: TrainConfig, device: torch.device, log: logging.Logger) -> dict[str, Any]:
    """On CUDA with bf16: measure whether contiguous Conv3d is off cuDNN's fast path, and say so."""
    if device.type != "cuda" or config.amp != "bf16":
        return {}
    report = check_cudnn_bf16_conv3d(device)
    log.info(
        "cuDNN %s bf16 Conv3d: contiguous %.2f ms, channels_last_3d %.2f ms",
        report.get("cudnn_version"),
        report.get("contiguous_ms", float("nan")),
        report.get("channels_last_ms", float("nan")),
    )
    if report.get("contiguous_slow") and not config.channels_last:
        log.warning(
            "this cuDNN build runs contiguous bf16 Conv3d off its fast path (%.1fx slower than "
            "channels_last_3d); pass --channels-last",
            report["contiguous_ms"] / report["channels_last_ms"],
        )
    return report


def build_run(
    config: TrainConfig, task: Task, out: Path, device: torch.device, info: dist_utils.DistInfo, log: logging.Logger
) -> Run:
    """Seed, data, sampler, model, optimizer and schedule: the run before its first step."""
    configure_backends(device, deterministic=config.deterministic)
    seed_everything(config.seed)
    cudnn_report = _check_cudnn(config, device, log)
    train_set, val_set = task.datasets()
    per_rank_batch = task.loader_batch_size(info.world_size)
    sampler = ShardedEpochSampler(
        len(train_set), batch_size=per_rank_batch, seed=config.seed, rank=info.rank, world=info.world_size
    )
    if sampler.batches_per_epoch < 1:
        raise ValueError(
            f"{len(train_set)} training videos give no full batch of {per_rank_batch} per process "
            f"({info.world_size} process(es)); lower --batch-size"
        )
    batches_per_epoch = sampler.batches_per_epoch
    total_steps = config.iterations if config.iterations is not None else config.epochs * batches_per_epoch

    parts = task.build_model()
    task.after_model_built(parts, log)
    from vssl.models.heads import BackboneWithHead

    model: nn.Module = BackboneWithHead(parts.backbone, parts.head).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    optimizer = SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        nesterov=config.nesterov,
    )
    scaler = torch.amp.GradScaler("cuda") if (config.amp == "fp16" and device.type == "cuda") else None
    unit_total = None
    if config.schedule == "cosine":
        unit_total = total_steps if config.schedule_unit == "iter" else math.ceil(total_steps / batches_per_epoch)
    schedule = Schedule(
        base_lr=config.lr,
        kind=config.schedule,
        unit=config.schedule_unit,
        gamma=config.gamma,
        step_size=config.step_size,
        milestones=tuple(config.milestones),
        total=unit_total,
        warmup_iters=config.warmup_iters,
    )
    return Run(
        config=config,
        task=task,
        out=out,
        device=device,
        info=info,
        log=log,
        parts=parts,
        model=model,
        optimizer=optimizer,
        scaler=scaler,
        schedule=schedule,
        train_set=train_set,
        val_set=val_set,
        sampler=sampler,
        per_rank_batch=per_rank_batch,
        total_steps=total_steps,
        kernel_gen=torch.Generator(),
        nonfinite_step=torch.full((), -1, dtype=torch.long, device=device),
        cudnn_report=cudnn_report,
    )


def resume(run: Run, state: LoopState) -> int | None:
    """With --resume and OUT/last.pt: restore weights, optimizer, scaler, RNGs and progress; return the step."""
    config, log = run.config, run.log
    if not config.resume:
        return None
    if not run.last_path.exists():
        log.info("--resume: no %s yet; starting a new run", run.last_path)
        return None
    saved = ckpt.load_checkpoint(run.last_path, map_location="cpu")
    _check_resume(saved, config, run.task, run.last_path)
    run.parts.backbone.load_state_dict(saved["weights"]["backbone"])
    run.parts.head.load_state_dict(saved["weights"]["head"])
    run.optimizer.load_state_dict(saved["optimizer"])
    if run.scaler is not None and saved.get("scaler"):
        run.scaler.load_state_dict(saved["scaler"])
    progress = saved["progress"]
    state.step, state.epoch = int(progress["step"]), int(progress["epoch"])
    state.batch_in_epoch = int(progress["batch_in_epoch"])
    state.wall_before = float(progress.get("wall_time_s", 0.0))
    state.best = progress.get("best")
    restore_rng_state(saved["rng"], run.kernel_gen)
    log.info(
        "resumed from %s at step %d (epoch %d, batch %d)", run.last_path, state.step, state.epoch, state.batch_in_epoch
    )
    return state.step


def wrap_model(run: Run) -> None:
    """DDP and torch.compile wrap the model after resume loaded the plain modules' weights."""
    if run.info.enabled:
        device_ids = [run.device.index] if run.device.type == "cuda" else None
        run.model = nn.parallel.DistributedDataParallel(run.model, device_ids=device_ids)
    if run.config.compile:
        run.model = torch.compile(run.model)


def run_record(run: Run, resumed_from: int | None) -> dict[str, Any]:
    """run.json while the run is going: settings, provenance, data sizes, schedule length."""
    config = run.config
    return {
        "command": run.task.kind,
        "config": config_to_dict(config),
        "seed": config.seed,
        **provenance(run.device),
        "world_size": run.info.world_size,
        "launcher": run.info.launcher,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "cudnn": run.cudnn_report,
        "train_videos": len(run.train_set),
        "val_videos": len(run.val_set) if run.val_set is not None else 0,
        "batches_per_epoch": run.batches_per_epoch,
        "total_steps": run.total_steps,
        "inputs_per_step": config.batch_size,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "resumed_from_step": resumed_from,
        "status": "running",
        **{k: v for k, v in run.task.checkpoint_fields().items() if k in ("pretext", "classes")},
    }


def _progress_bar(run: Run, state: LoopState):
    if not (run.main and run.config.progress):
        return None
    from tqdm import tqdm

    return tqdm(total=run.total_steps, initial=state.step, unit="step", dynamic_ncols=True, disable=None)


# ---------------------------------------------------------------- checkpoints


def checkpoint_state(run: Run, state: LoopState) -> dict[str, Any]:
    return {
        "kind": run.task.kind,
        "model": run.parts.spec,
        "weights": {"backbone": run.parts.backbone.state_dict(), "head": run.parts.head.state_dict()},
        "optimizer": run.optimizer.state_dict(),
        "scaler": run.scaler.state_dict() if run.scaler is not None else None,
        "progress": {
            "step": state.step,
            "epoch": state.epoch,
            "batch_in_epoch": state.batch_in_epoch,
            "wall_time_s": state.wall_time(),
            "best": state.best,
        },
        "rng": capture_rng_state(run.kernel_gen),
        "seed": run.config.seed,
        "config": config_to_dict(run.config),
        "metrics": {"best": state.best},
        **run.task.checkpoint_fields(),
    }


def check_finite(run: Run, state: LoopState) -> None:
    """Stop (NonFiniteLossError) if any rank saw a non-finite loss since the run began."""
    flag = run.nonfinite_step.clone()
    if run.info.enabled:
        flag = flag.float()
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    bad = int(flag.item())
    if bad >= 0:
        raise NonFiniteLossError(bad, state.epoch, state.last_good)


def save(run: Run, state: LoopState, path: Path) -> None:
    """Write a checkpoint (main rank) after checking the losses and the weights are finite."""
    check_finite(run, state)
    if not _all_finite([run.parts.backbone, run.parts.head]):
        raise NonFiniteLossError(state.step, state.epoch, state.last_good)
    if run.main:
        ckpt.save_checkpoint(path, checkpoint_state(run, state))
        if path == run.last_path:
            state.last_good = str(path)


# ---------------------------------------------------------------- validation


def evaluate(run: Run) -> dict[str, float]:
    """Loss and metrics on the hold-out.

    Fixed clips (epoch 0) and fixed kernel draws, so scores compare across epochs.
    """
    config, task, device, world = run.config, run.task, run.device, run.info.world_size
    eval_model = _unwrap(run.model)
    eval_model.eval()
    run.val_set.set_epoch(0)
    val_loader = DataLoader(
        run.val_set,
        batch_size=run.per_rank_batch,
        sampler=ShardSampler(len(run.val_set), rank=run.info.rank, world=world),
        num_workers=config.workers,
        pin_memory=device.type == "cuda",
        generator=torch.Generator(),
    )
    gen = torch.Generator()
    sums = metric_sums(task, device)
    with torch.no_grad():
        for i, batch in enumerate(val_loader):
            count_skipped(run, batch)
            gen.manual_seed(_mix(config.seed, 7919, run.info.rank, i))
            inputs, targets = task.prepare(batch, gen, train=False, device=device, channels_last=config.channels_last)
            with autocast_context(device, config.amp):
                outputs = eval_model(inputs)
            loss, stats = task.loss(outputs, targets)
            n = inputs.shape[0]
            sums["loss"] += loss.detach().float() * n
            for k, v in stats.items():
                sums[k] += v
            sums["count"] += n
            sums["targets"] += n // task.inputs_per_target
    keys = list(sums)
    values = dict(zip(keys, dist_utils.all_reduce_sum(torch.stack([sums[k] for k in keys])).tolist()))
    loss = values.pop("loss") / max(values.pop("count"), 1.0)
    targets = max(values.pop("targets"), 1.0)
    return {"loss": loss, **{k: v / targets for k, v in values.items()}}


def selection_score(result: Mapping[str, float], metric_names: list[str], criterion: str) -> float:
    """``--select-by acc``: mean accuracy over the classification heads (else, or without one, -loss)."""
    acc_keys = [k for k in metric_names if k.startswith("acc_")]
    if criterion == "acc" and acc_keys:
        return sum(result[k] for k in acc_keys) / len(acc_keys)
    return -result["loss"]


def validate(run: Run, state: LoopState) -> None:
    """Score the hold-out, write its metrics row, and keep OUT/best.pt when the score improved."""
    state.last_val_step = state.step
    result = evaluate(run)
    scores = ", ".join(f"{k}={v:.4f}" for k, v in result.items())
    run.log.info("validation epoch %d step %d: %s", state.epoch, state.step, scores)
    if run.metrics is not None:
        run.metrics.write(
            {"phase": "val", "step": state.step, "epoch": state.epoch, "wall_time_s": state.wall_time(), **result}
        )
    score = selection_score(result, run.task.metric_names, getattr(run.config, "select_by", "acc"))
    if state.best is None or score > state.best["score"]:
        state.best = {
            "score": score,
            "step": state.step,
            "epoch": state.epoch,
            **{f"val_{k}": v for k, v in result.items()},
        }
        save(run, state, run.out / "best.pt")
        run.log.info("new best checkpoint at step %d (%s)", state.step, scores)


# ---------------------------------------------------------------- training


def log_interval(run: Run, state: LoopState, interval: Interval, bar) -> None:
    """One metrics.csv row for the steps since the last one (summed over ranks)."""
    check_finite(run, state)
    keys = list(interval.sums)
    values = dict(zip(keys, dist_utils.all_reduce_sum(torch.stack([interval.sums[k] for k in keys])).tolist()))
    elapsed = time.perf_counter() - interval.t0
    count = max(values.pop("count"), 1.0)
    targets = max(values.pop("targets"), 1.0)
    row = {
        "phase": "train",
        "step": state.step,
        "epoch": state.epoch,
        "loss": values.pop("loss") / max(interval.steps, 1),
        **{k: v / targets for k, v in values.items()},
        "lr": run.optimizer.param_groups[0]["lr"],
        "clips_per_s": count / max(elapsed, 1e-9),
        "data_wait_frac": interval.data_wait / max(elapsed, 1e-9),
        "wall_time_s": state.wall_time(),
    }
    if run.metrics is not None:
        run.metrics.write(row)
    if bar is not None:
        bar.set_postfix(loss=f"{row['loss']:.4f}", clips_s=f"{row['clips_per_s']:.1f}")
    interval.reset()
    interval.epoch_rows.append(row)


def train(run: Run, state: LoopState, bar) -> None:
    """Epochs until ``total_steps``; after each full epoch: its log line, validation, OUT/last.pt."""
    interval = Interval(run.task, run.device)
    # Persistent workers survive epochs: the sampler is iterated in this process
    # and ClipDataset keeps its epoch in shared memory, so set_epoch reaches them.
    loader = DataLoader(
        run.train_set,
        batch_size=run.per_rank_batch,
        sampler=run.sampler,
        num_workers=run.config.workers,
        pin_memory=run.device.type == "cuda",
        drop_last=True,
        generator=torch.Generator(),
        persistent_workers=run.config.workers > 0,
    )
    while state.step < run.total_steps:
        if state.batch_in_epoch >= run.batches_per_epoch:
            state.epoch, state.batch_in_epoch = state.epoch + 1, 0
        train_one_epoch(run, state, loader, interval, bar)
        if state.batch_in_epoch >= run.batches_per_epoch:
            end_epoch(run, state, interval, bar)
    if interval.steps:  # an iteration-based run ending mid-epoch
        log_interval(run, state, interval, bar)


def train_one_epoch(run: Run, state: LoopState, loader: DataLoader, interval: Interval, bar) -> None:
    """The rest of the current epoch (from ``batch_in_epoch``), or up to ``total_steps``."""
    config = run.config
    run.model.train()
    run.train_set.set_epoch(state.epoch)
    run.sampler.set_epoch(state.epoch, state.batch_in_epoch)
    interval.epoch_rows = []
    t_wait = time.perf_counter()
    for batch in loader:
        interval.data_wait += time.perf_counter() - t_wait
        count_skipped(run, batch)
        run.kernel_gen.manual_seed(_mix(config.seed, run.info.rank, state.step))
        lr = run.schedule.lr(state.step, state.epoch)
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        loss, stats, n_inputs = train_step(
            run.model,
            run.task,
            batch,
            run.optimizer,
            generator=run.kernel_gen,
            device=run.device,
            amp=config.amp,
            channels_last=config.channels_last,
            scaler=run.scaler,
        )
        _note_nonfinite(run.nonfinite_step, loss, state.step)
        state.step += 1
        state.batch_in_epoch += 1
        if state.first_step_s is None:
            state.first_step_s = seconds_since_process_start()
            run.log.info("first step done %.2f s after the process started", state.first_step_s or float("nan"))
        interval.add(loss, stats, n_inputs)
        if bar is not None:
            bar.update(1)
        after_step(run, state, interval, bar)
        if state.step >= run.total_steps:
            break
        t_wait = time.perf_counter()


def count_skipped(run: Run, batch: Mapping[str, Any]) -> None:
    """Tally the unreadable videos a batch's items stood in for (`ClipDataset(skip_bad=True)`)."""
    for names in batch.get("skipped", ()):
        run.skipped.update(name for name in names.split("|") if name)


def _note_nonfinite(first_bad: Tensor, loss: Tensor, step: int) -> None:
    """Record the first step whose loss is not finite, on the device (no host sync)."""
    first_bad.copy_(
        torch.where((first_bad < 0) & ~torch.isfinite(loss), torch.full_like(first_bad, step + 1), first_bad)
    )


def after_step(run: Run, state: LoopState, interval: Interval, bar) -> None:
    """Metrics row, OUT/last.pt and kept step checkpoints at their intervals."""
    config, step = run.config, state.step
    if step % config.log_every == 0 or step == run.total_steps:
        log_interval(run, state, interval, bar)
    # The last batch of an epoch is checkpointed after the epoch-end validation instead,
    # so a resume never skips a validation (and best-checkpoint choice).
    if (
        config.ckpt_every
        and step % config.ckpt_every == 0
        and step < run.total_steps
        and state.batch_in_epoch < run.batches_per_epoch
    ):
        save(run, state, run.last_path)
    if config.keep_every and step % config.keep_every == 0:
        save(run, state, run.out / "checkpoints" / f"step_{step:08d}.pt")


def end_epoch(run: Run, state: LoopState, interval: Interval, bar) -> None:
    if interval.steps:
        log_interval(run, state, interval, bar)
    run.log.info(
        "epoch %d done (step %d/%d): %s", state.epoch, state.step, run.total_steps, _epoch_summary(interval.epoch_rows)
    )
    if run.val_set is not None and (state.epoch + 1) % run.config.val_every == 0:
        validate(run, state)
    state.epoch, state.batch_in_epoch = state.epoch + 1, 0
    if state.step < run.total_steps:
        save(run, state, run.last_path)


def finish(run: Run, state: LoopState, run_info: dict[str, Any]) -> None:
    """Validate the final weights if the last epoch did not; write last.pt, final.pt and selected.pt."""
    if run.val_set is not None and state.last_val_step != state.step:
        # Iteration-based runs end mid-epoch: validate the final weights too.
        validate(run, state)
    save(run, state, run.last_path)
    save(run, state, run.out / "final.pt")
    if run.main:
        selected = select_checkpoint(run.out, state.best if run.val_set is not None else None, final_step=state.step)
        run_info["selected"] = selected
        run.log.info("selected checkpoint: %s (step %d)", selected["file"], selected["step"])


def _epoch_summary(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no steps"
    keys = [k for k in rows[-1] if k not in ("phase", "step", "epoch", "wall_time_s")]
    means = {k: sum(float(r[k]) for r in rows) / len(rows) for k in keys}
    return ", ".join(f"{k}={v:.4g}" for k, v in means.items())


def _resume_diffs(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    return [
        f"{k}: checkpoint {stored.get(k)!r} vs now {current.get(k)!r}"
        for k in sorted(set(stored) | set(current))
        if k not in RESUME_MUTABLE and stored.get(k) != current.get(k)
    ]


def _run_changes(saved: Mapping[str, Any], config: TrainConfig, task: Task) -> list[str]:
    """What makes ``config`` another run than the checkpoint ``saved``: its settings, and its --init weights.

    The --init path can stay the same while its file is rewritten (Snakemake reruns the pretraining
    when its settings change): resuming would then finish a run that started from the old weights.
    The task already hashed the init file when it loaded it (`checkpoint_fields`).
    """
    diffs = _resume_diffs(saved.get("config") or {}, config_to_dict(config))
    then, now = saved.get("init") or {}, task.checkpoint_fields().get("init") or {}
    if then.get("sha256") and now.get("sha256") and then["sha256"] != now["sha256"]:
        diffs.append(
            f"init: {now['path']} holds other weights now "
            f"(sha256 {then['sha256'][:12]} at the start, {now['sha256'][:12]} now)"
        )
    return diffs


def _check_resume(saved: Mapping[str, Any], config: TrainConfig, task: Task, path: Path) -> None:
    diffs = _run_changes(saved, config, task)
    if diffs:
        raise ValueError(f"{path}: cannot resume with different settings:\n  " + "\n  ".join(diffs))


def _supersede_if_changed(out: Path, last_path: Path, config: TrainConfig, task: Task, log: logging.Logger) -> None:
    """``--on-change restart``: a run made with other settings or --init weights moves aside (nothing is deleted).

    The workflow uses this: Snakemake reruns a job whose parameters changed, and that job must start
    over rather than resume the old run, while a job that was merely killed resumes.
    """
    import time as _time

    diffs = _run_changes(ckpt.load_checkpoint(last_path, map_location="cpu"), config, task)
    if not diffs:
        return
    log_file = Path(config.log) if config.log else out / "train.log"
    target = out / f"superseded-{_time.strftime('%Y%m%dT%H%M%S', _time.gmtime())}"
    target.mkdir()
    for item in sorted(out.iterdir()):
        if item == target or item.name.startswith("superseded-") or item.resolve() == log_file.resolve():
            continue
        item.rename(target / item.name)
    log.warning(
        "%s was made with other settings (%s); moved the old run to %s and starting afresh",
        last_path,
        "; ".join(diffs),
        target,
    )


def _check_replicas(parts: ModelParts, log: logging.Logger) -> None:
    """DDP sanity check: every rank ends with the same weights (one all-gather of a checksum)."""
    with torch.no_grad():
        local = torch.stack([p.detach().double().sum() for p in parts.backbone.parameters()]).sum().reshape(1)
    gathered = (
        [torch.zeros_like(local) for _ in range(torch.distributed.get_world_size())]
        if torch.distributed.is_initialized()
        else [local]
    )
    if torch.distributed.is_initialized():
        torch.distributed.all_gather(gathered, local)
    values = [float(t.item()) for t in gathered]
    if max(values) - min(values) > 1e-6 * max(1.0, abs(values[0])):
        log.error("replicas diverged: weight checksums %s", values)
        raise RuntimeError(f"DDP replicas diverged: weight checksums {values}")
    log.info("replicas in sync: %d ranks, weight checksum %.6f", len(values), values[0])
