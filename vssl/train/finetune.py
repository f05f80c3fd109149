"""`vssl finetune`: action recognition from a pretrained backbone or from scratch.

- ``--init CKPT`` takes only the backbone weights (and its architecture:
  model name, width, input variant) from a pretraining checkpoint; the
  classifier head is new (V3S §4.3: "initialize the fully connected layer
  randomly"). Without ``--init`` the backbone is built from ``--model``,
  ``--width``, ``--small-input`` with random weights (the "scratch" rows).
- Training rows: ``--split-column`` == ``--split`` (default ``split1`` ==
  ``train``); ``--shots k --shots-seed s`` keeps k random videos per class (one
  seed per draw; 3DRotNet Table 5 uses 3 draws).
- ``--freeze-before n``: 3DRotNet Fig. 4a (see `vssl.models.freeze_before`).
- Clips: ``--clip-length`` consecutive frames (``+1`` loaded for DIF), random
  ``--crop`` square (drawn by the loader from the per-sample generator) and a
  horizontal flip p=0.5 (on the device), normalised, then DIF if asked.
- Optional per-epoch validation on ``--val-split`` rows (centre clip, centre
  crop): clip-level accuracy, best checkpoint by it. The paper's 10-clip
  video-level number comes from `vssl test`.

The optimisation, schedule, checkpoint, resume and metrics machinery is
`vssl.train.loop`, shared with pretraining.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vssl.train.config import FinetuneConfig
from vssl.train.loop import ModelParts, Task, run_training
from vssl.train.runfile import add_config_arguments, build_config
from vssl.train.selection import class_names, few_shot, split_rows, store_manifest


def device_flip(clips: Tensor, generator: torch.Generator, p: float = 0.5) -> Tensor:
    """Per-clip horizontal flip of uint8 ``(B, T, H, W, C)`` clips on their device (one gather)."""
    from vssl.kernels import _random
    from vssl.kernels.augment import crop

    flip = _random.bernoulli(p, clips.shape[0], generator, "cpu")
    return crop(clips, 0, 0, (clips.shape[2], clips.shape[3]), flip=flip, layout="bthwc")


def clips_to_inputs(
    clip: Tensor,
    *,
    device: torch.device,
    mean: list[float],
    std: list[float],
    modality: str,
    channels_last: bool,
    flip_generator: torch.Generator | None = None,
) -> Tensor:
    """uint8 loader clips -> normalised model inputs on ``device`` (flip first when a generator is given)."""
    from vssl.kernels.augment import apply_modality, to_float

    x = clip.to(device, non_blocking=True)
    if flip_generator is not None:
        x = device_flip(x, flip_generator)
    x = apply_modality(to_float(x, mean, std), modality)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    return x


class FinetuneTask(Task):
    kind = "finetune"

    def __init__(self, config: FinetuneConfig, log: logging.Logger | None = None) -> None:
        self.config = config
        self.log = log or logging.getLogger("vssl.train")
        manifest = store_manifest(config.store)
        self.classes = class_names(manifest)
        train = split_rows(manifest, config.split_column, config.split)
        if config.shots is not None:
            train = few_shot(train, config.shots, config.shots_seed)
        if train.empty:
            raise ValueError(
                f"{manifest.attrs['source']}: no usable videos with {config.split_column} == {config.split!r}"
            )
        if (train["label"].isna()).any():
            raise ValueError(f"{manifest.attrs['source']}: finetuning rows must be labelled")
        self.train_rows = train
        self.val_rows = split_rows(manifest, config.split_column, config.val_split) if config.val_split else None
        self.init_state: dict[str, Any] | None = None
        if config.init:
            from vssl.train.checkpoint import load_checkpoint

            self.init_state = load_checkpoint(config.init)
            spec = self.init_state["model"]["backbone"]
            kwargs = dict(spec.get("kwargs", {}))
            # The architecture comes with the weights; record it in the config so run.json tells the truth.
            if (config.model, config.width, config.small_input) != (
                spec["name"],
                float(kwargs.get("width", config.width)),
                bool(kwargs.get("small_input", False)),
            ):
                self.log.warning(
                    "backbone architecture taken from %s: %s %s (overrides --model/--width/--small-input)",
                    config.init,
                    spec["name"],
                    kwargs,
                )
            config.model = spec["name"]
            config.width = float(kwargs.get("width", config.width))
            config.small_input = bool(kwargs.get("small_input", config.small_input))

    @property
    def heads(self) -> dict[str, tuple[str, int]]:
        return {"action": ("classification", len(self.classes))}

    def datasets(self):
        from vssl.data.clips import ClipDataset, EvenlySpaced, RandomConsecutive
        from vssl.kernels.augment import frames_for_modality

        c = self.config
        frames = frames_for_modality(c.clip_length, c.modality)
        train = ClipDataset(
            c.store,
            self.train_rows,
            sampler=RandomConsecutive(frames),
            seed=c.seed,
            crop=c.crop,
            crop_mode="random",
            frame_cache_mb=c.frame_cache_mb,
            skip_bad=c.skip_bad_videos,
        )
        val = None
        if self.val_rows is not None and len(self.val_rows):
            val = ClipDataset(
                c.store,
                self.val_rows,
                sampler=EvenlySpaced(1, frames),
                seed=c.seed,
                crop=c.crop,
                crop_mode="center",
                frame_cache_mb=c.frame_cache_mb,
                skip_bad=c.skip_bad_videos,
            )
        return train, val

    def loader_batch_size(self, world_size: int) -> int:
        if self.config.batch_size % world_size:
            raise ValueError(f"--batch-size {self.config.batch_size} is not divisible by {world_size} processes")
        return self.config.batch_size // world_size

    def build_model(self) -> ModelParts:
        from vssl.models import LinearClassifier, get_model

        c = self.config
        kwargs = {"width": c.width, "small_input": c.small_input}
        if self.init_state is not None:
            kwargs = dict(self.init_state["model"]["backbone"].get("kwargs", {}))
        backbone = get_model(c.model, **kwargs)
        head_kwargs = {"in_features": backbone.out_features, "num_classes": len(self.classes), "dropout": c.dropout}
        head = LinearClassifier(**head_kwargs)
        spec = {
            "backbone": {"name": c.model, "kwargs": kwargs},
            "head": {"type": "LinearClassifier", "kwargs": head_kwargs},
        }
        return ModelParts(backbone, head, spec)

    def after_model_built(self, parts: ModelParts, log: logging.Logger) -> None:
        from vssl.models import freeze_before

        if self.init_state is not None:
            parts.backbone.load_state_dict(self.init_state["weights"]["backbone"])
            log.info(
                "backbone initialised from %s (sha256 %s, step %s)",
                self.config.init,
                self.init_state["sha256"][:12],
                self.init_state.get("progress", {}).get("step"),
            )
            pre_modality = (self.init_state.get("config") or {}).get("modality")
            if pre_modality and pre_modality != self.config.modality:
                log.warning(
                    "backbone was pretrained on %s input but finetuning uses --modality %s",
                    pre_modality,
                    self.config.modality,
                )
            self.init_state = {
                "sha256": self.init_state["sha256"],
                "path": self.init_state["path"],
                "step": self.init_state.get("progress", {}).get("step"),
                "selected": _selected_from(Path(self.init_state["path"])),
            }
        frozen = freeze_before(parts.backbone, self.config.freeze_before)
        if frozen:
            log.info("frozen stages: %s", ", ".join(frozen))

    def prepare(
        self,
        batch: Mapping[str, Any],
        generator: torch.Generator,
        *,
        train: bool,
        device: torch.device,
        channels_last: bool,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        c = self.config
        clip = batch["clip"]
        if clip.ndim == 6:  # the validation sampler gives one clip per video as (B, 1, T, H, W, C)
            clip = clip.flatten(0, 1)
        x = clips_to_inputs(
            clip,
            device=device,
            mean=c.mean,
            std=c.std,
            modality=c.modality,
            channels_last=channels_last,
            flip_generator=generator if (train and c.hflip is not False) else None,
        )
        return x, {"action": batch["label"].to(device, non_blocking=True)}

    def checkpoint_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"classes": list(self.classes), "pretext": None}
        if self.config.init:
            state = self.init_state or {}
            fields["init"] = {
                "path": str(self.config.init),
                "sha256": state.get("sha256"),
                "step": state.get("step"),
                "selected": state.get("selected"),
            }
        return fields


def _selected_from(init: Path) -> str | None:
    """For ``.../selected.pt``: which checkpoint its run selected (``best.pt`` / ``final.pt``), from run.json."""
    if init.name != "selected.pt" or not (init.parent / "run.json").is_file():
        return None
    try:
        return (json.loads((init.parent / "run.json").read_text()).get("selected") or {}).get("file")
    except ValueError:
        return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, FinetuneConfig)


def run(args: argparse.Namespace) -> int:
    from vssl.train.loop import run_command

    return run_command(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    config = build_config(FinetuneConfig, args)
    task = FinetuneTask(config)
    return run_training(config, task)
