"""Every training knob as one dataclass field (= one CLI flag = one run-file key).

``TrainConfig`` holds what pretraining and finetuning share (data, model,
optimisation, schedule, checkpoints, devices); ``PretrainConfig`` and
``FinetuneConfig`` add their own settings and paper defaults.

Batch size (3DRotNet "all rotated copies in one batch"): ``batch_size`` counts
*network inputs per optimizer step*, summed over all processes. With the
all-copies rotation layout (K copies of every clip) the loader therefore reads
``batch_size / K`` videos per step, so "batch 32" means 8 videos x 4
rotations. This is the reading under which the paper's R3D-18 fits a 2019 GPU;
``batch_unit: clips`` switches to the other reading (``batch_size`` loaded
clips, ``batch_size x K`` network inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vssl.train.runfile import setting

# Kinetics-400 mean/std in RGB order (torchvision's video models); the papers
# do not state their normalisation.
KINETICS_MEAN = [0.43216, 0.394666, 0.37645]
KINETICS_STD = [0.22803, 0.22145, 0.216989]


@dataclass
class TrainConfig:
    # data
    store: str = setting(help="frame store directory (holds manifest.csv)", metavar="DIR")
    out: str = setting(help="output directory (checkpoints, metrics.csv, run.json, train.log)", metavar="DIR")
    split_column: str = setting("split1", "manifest split column to filter on")
    split: str | None = setting(None, "rows whose split column equals this (train/test); unset = every usable video")
    clip_length: int = setting(16, "frames per clip (16/32/64)", minimum=1)
    crop: int = setting(112, "random crop size (pixels, square) taken from the stored frames", minimum=1)
    modality: str = setting("rgb", "input modality: rgb frames or dif (frame differences)", choices=("rgb", "dif"))
    hflip: bool | None = setting(
        None,
        "random horizontal flip p=0.5 per clip; unset = the method's default "
        "(on for finetuning and rotation pretexts, off for V3S, which names none)",
    )
    mean: list[float] = setting(list(KINETICS_MEAN), "per-channel mean for normalisation (RGB)")
    std: list[float] = setting(list(KINETICS_STD), "per-channel std for normalisation (RGB)")
    # model
    model: str = setting("r3d_18", "backbone name (see `vssl models`)")
    width: float = setting(1.0, "channel width multiplier", above=0)
    small_input: bool = setting(False, "backbone variant for tiny frames (less stem downsampling; see `vssl models`)")
    # optimisation
    batch_size: int = setting(32, "network inputs per optimizer step, over all processes", minimum=1)
    lr: float = setting(0.1, "initial learning rate", above=0)
    momentum: float = setting(0.9, "SGD momentum", minimum=0)
    weight_decay: float = setting(5e-4, "SGD weight decay", minimum=0)
    nesterov: bool = setting(False, "Nesterov momentum")
    schedule: str = setting("constant", "lr schedule", choices=("constant", "step", "multistep", "cosine"))
    schedule_unit: str = setting(
        "iter", "what drives the schedule: iterations (3DRotNet) or epochs (V3S)", choices=("iter", "epoch")
    )
    step_size: int | None = setting(None, "decay period for --schedule step (in --schedule-unit)", minimum=1)
    milestones: list[int] = setting([], "decay points for --schedule multistep (in --schedule-unit)", minimum=1)
    gamma: float = setting(0.1, "decay factor", above=0)
    warmup_iters: int = setting(0, "linear lr warm-up iterations", minimum=0)
    epochs: int | None = setting(None, "run length in epochs (give this or --iterations)", minimum=1)
    iterations: int | None = setting(None, "run length in optimizer steps (give this or --epochs)", minimum=1)
    # checkpoints, logging
    ckpt_every: int = setting(
        500, "write OUT/last.pt every N steps (also at every epoch end and at the end)", minimum=1
    )
    keep_every: int = setting(0, "also keep OUT/checkpoints/step_XXXXXXXX.pt every N steps (0 = none)", minimum=0)
    log_every: int = setting(20, "append a metrics.csv row every N steps", minimum=1)
    val_every: int = setting(1, "validate every N epochs (when there is validation data)", minimum=1)
    resume: bool = setting(False, "continue from OUT/last.pt if it exists")
    on_change: str = setting(
        "error",
        "when --resume finds OUT/last.pt made with other settings: stop with an "
        "error, or restart (the old files move to OUT/superseded-<time>/)",
        choices=("error", "restart"),
    )
    log: str | None = setting(None, "log file (default OUT/train.log)")
    progress: bool = setting(True, "tqdm progress bar (shown on terminals only)")
    # reproducibility, devices, speed
    seed: int = setting(0, "seed for weights, sampling and augmentation")
    workers: int = setting(4, "DataLoader worker processes", minimum=0)
    frame_cache_mb: float = setting(
        0.0,
        "keep decoded videos in memory up to this many MiB per process (0 = decode every read; the clips are the same)",
        minimum=0,
    )
    skip_bad_videos: bool = setting(
        False,
        "a store file that cannot be read is logged by name and the next readable video takes its place, "
        "with a count at the end (default: training stops with the error)",
    )
    device: str = setting("auto", "auto (cuda if available), cpu or cuda", choices=("auto", "cpu", "cuda"))
    gpus: int = setting(
        1, "GPUs this process takes via the GPU-slot locks when CUDA_VISIBLE_DEVICES is unset", minimum=0
    )
    gpu_wait: float = setting(3600.0, "seconds to wait for free GPU slots before failing", minimum=0)
    amp: str = setting("none", "autocast dtype on CUDA (bf16 recommended)", choices=("none", "bf16", "fp16"))
    channels_last: bool = setting(False, "channels_last_3d memory layout for model and inputs")
    compile: bool = setting(False, "torch.compile the model")
    deterministic: bool = setting(False, "deterministic algorithms (slower on GPU; CPU runs are deterministic anyway)")


@dataclass
class PretrainConfig(TrainConfig):
    pretext: str = setting("rotation", "pretext task (vssl.kernels.build_pretext name)")
    pretext_params: dict[str, Any] = setting({}, "pretext parameter KEY=VALUE (YAML value; repeatable)")
    head_hidden: int | None = setting(
        None,
        "hidden width of the pretext head; unset = the paper's (64 for "
        "rotation pretexts, none for V3S); 0 = no hidden layer",
        minimum=0,
    )
    regression_loss: str = setting("l1", "loss for regression heads (rotation360)", choices=("l1", "l2"))
    batch_unit: str = setting(
        "inputs", "what --batch-size counts: network inputs or loaded clips", choices=("inputs", "clips")
    )
    max_videos: int | None = setting(None, "use a random subset of this many videos (3DRotNet Table 4)", minimum=1)
    data_seed: int = setting(0, "seed for the --max-videos subset and the --holdout draw")
    holdout: int = setting(0, "videos held out for validation and best-checkpoint selection (V3S: 800)", minimum=0)
    select_by: str = setting("acc", "best-checkpoint criterion on the holdout", choices=("acc", "loss"))


@dataclass
class FinetuneConfig(TrainConfig):
    split: str | None = setting("train", "rows of the split column to train on")
    lr: float = setting(0.008, "initial learning rate (3DRotNet 0.008; V3S 0.001)", above=0)
    init: str | None = setting(None, "pretrained checkpoint (backbone weights only; new head)", metavar="CKPT")
    freeze_before: int = setting(
        1, "freeze the blocks before Cn (3DRotNet Fig. 4a; 1 = none frozen)", minimum=1, maximum=6
    )
    shots: int | None = setting(None, "few-shot: k training videos per class", minimum=1)
    shots_seed: int = setting(0, "seed of the few-shot draw (one seed per draw)")
    dropout: float = setting(0.0, "dropout before the classifier", minimum=0, maximum=1)
    val_split: str | None = setting(None, "rows of the split column to validate on each epoch (e.g. test)")
