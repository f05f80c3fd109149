"""`vssl pretrain`: self-supervised pretraining on any pretext of `vssl.kernels`.

Data: the store's usable videos, optionally filtered by ``--split-column``
/``--split`` (unset = every video: the unlabelled-pool case), then
``--max-videos N`` random videos (3DRotNet Table 4, drawn with
``--data-seed``), then ``--holdout N`` random videos set aside for validation
(V3S: 800 of UCF101 split-1 train; Kinetics 3000). With a hold-out, every
``--val-every`` epochs (and at the end) the pretext loss/accuracy on it is
measured with fixed transform parameters and ``OUT/best.pt`` keeps the best
(``--select-by acc``: mean accuracy over classification heads; ``loss``).

Pretext: ``--pretext NAME`` with ``--pretext-params KEY=VALUE`` (repeatable,
YAML values; the run file takes a mapping). The general flags feed the
pretext's own parameters unless the params set them: ``--clip-length`` ->
``length``, ``--crop`` -> ``crop_size`` (and V3S ``out_size``), ``--modality``
-> ``modality``, ``--hflip`` -> ``flip_p`` (0.5 / 0). Each pretext draws its
own crop/flip on the device (V3S's crop depends on the transformation).

Batch composition: ``--batch-size`` counts network inputs per step (see
`vssl.train.config`); with the all-copies rotation layout a step loads
``batch_size / K`` clips and feeds all ``K`` rotations of each.

Heads: one ``MultiHead`` branch per pretext head. ``--head-hidden`` unset
gives the papers' heads: 512 -> 64 -> K for the rotation pretexts (3DRotNet
§3.3), a single FC per family for V3S. Losses: cross-entropy per
classification head, ``--regression-loss`` (L1 or L2) for rotation360; the
total is their sum (V3S: L = L_S + L_T).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vssl.train.config import PretrainConfig
from vssl.train.loop import ModelParts, Task, run_training
from vssl.train.runfile import add_config_arguments, build_config
from vssl.train.selection import holdout_split, random_subset, split_rows, store_manifest

ROTATION_HIDDEN = 64


def build_config_pretext(config: PretrainConfig):
    """The `vssl.kernels.Pretext` for ``config`` (general flags mapped onto pretext parameters)."""
    import inspect

    from vssl.kernels.pretext import PRETEXTS, build_pretext

    if config.pretext not in PRETEXTS:
        raise ValueError(f"unknown pretext {config.pretext!r}; choose from {sorted(PRETEXTS)}")
    accepted = inspect.signature(PRETEXTS[config.pretext].__init__).parameters
    params: dict[str, Any] = dict(config.pretext_params)
    implied: dict[str, Any] = {"length": config.clip_length, "crop_size": config.crop, "modality": config.modality}
    if config.pretext == "v3s":
        implied["out_size"] = config.crop
    if config.hflip is not None:
        implied["flip_p"] = 0.5 if config.hflip else 0.0
    for key, value in implied.items():
        if key in accepted and key not in params:
            params[key] = value
    return build_pretext(config.pretext, **params)


class PretrainTask(Task):
    kind = "pretrain"

    def __init__(self, config: PretrainConfig, log: logging.Logger | None = None) -> None:
        self.config = config
        self.log = log or logging.getLogger("vssl.train")
        self.pretext = build_config_pretext(config)

    def select_rows(self):
        """(train rows, held-out rows) of the store's manifest for this config."""
        c = self.config
        manifest = store_manifest(c.store)
        rows = split_rows(manifest, c.split_column, c.split)
        if c.max_videos is not None:
            try:
                rows = random_subset(rows, c.max_videos, c.data_seed)
            except ValueError as exc:  # name the run (the table row) and the store with the counts
                raise ValueError(
                    f"{Path(c.out).name}: {exc} ({manifest.attrs['source']}, {c.split_column} == {c.split!r})"
                ) from None
        train_rows, val_rows = holdout_split(rows, c.holdout, c.data_seed)
        if train_rows.empty:
            raise ValueError(
                f"{manifest.attrs['source']}: no usable videos for pretraining ({c.split_column} == {c.split!r})"
            )
        return train_rows, val_rows

    @property
    def heads(self) -> dict[str, tuple[str, int]]:
        return dict(self.pretext.heads)

    def regression_loss(self) -> str:
        return self.config.regression_loss

    def _sampler(self):
        from vssl.data.clips import RandomConsecutive, TemporalPretext

        if self.pretext.temporal_choices:
            return TemporalPretext(self.pretext.temporal_choices)
        return RandomConsecutive(self.pretext.frames_needed())

    def datasets(self):
        from vssl.data.clips import ClipDataset

        c = self.config
        train_rows, val_rows = self.select_rows()
        train = ClipDataset(
            c.store,
            train_rows,
            sampler=self._sampler(),
            seed=c.seed,
            frame_cache_mb=c.frame_cache_mb,
            skip_bad=c.skip_bad_videos,
        )
        val = None
        if len(val_rows):
            # Validation clips and transforms are fixed (epoch 0, fixed generator) so scores compare across epochs.
            val = ClipDataset(
                c.store,
                val_rows,
                sampler=self._sampler(),
                seed=c.seed + 1,
                frame_cache_mb=c.frame_cache_mb,
                skip_bad=c.skip_bad_videos,
            )
        return train, val

    def loader_batch_size(self, world_size: int) -> int:
        c = self.config
        copies = self.pretext.outputs_per_clip
        clips = c.batch_size // copies if c.batch_unit == "inputs" else c.batch_size
        if c.batch_unit == "inputs" and c.batch_size % copies:
            raise ValueError(
                f"--batch-size {c.batch_size} counts network inputs and must be a multiple of the "
                f"{copies} copies per clip of pretext {c.pretext!r}"
            )
        if clips % world_size:
            raise ValueError(f"{clips} clips per step are not divisible by {world_size} processes")
        return clips // world_size

    @property
    def inputs_per_target(self) -> int:
        return self.pretext.inputs_per_target

    def head_loss(self, name: str, outputs: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return self.pretext.head_loss(name, outputs, target)

    def build_model(self) -> ModelParts:
        from vssl.models import get_model
        from vssl.models import heads as head_types

        c = self.config
        kwargs = {"width": c.width, "small_input": c.small_input}
        backbone = get_model(c.model, **kwargs)
        hidden = c.head_hidden
        if hidden is None:
            hidden = ROTATION_HIDDEN if c.pretext.startswith("rotation") else 0
        head_kwargs = {"in_features": backbone.out_features, **self.pretext.head_kwargs(hidden or None)}
        head = getattr(head_types, self.pretext.head_type)(**head_kwargs)
        spec = {
            "backbone": {"name": c.model, "kwargs": kwargs},
            "head": {"type": self.pretext.head_type, "kwargs": head_kwargs},
        }
        return ModelParts(backbone, head, spec)

    def prepare(
        self,
        batch: Mapping[str, Any],
        generator: torch.Generator,
        *,
        train: bool,
        device: torch.device,
        channels_last: bool,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        from vssl.kernels.augment import to_float

        c = self.config
        clips = to_float(batch["clip"].to(device, non_blocking=True), c.mean, c.std)
        extras = {}
        if "temporal_label" in batch:
            extras["temporal_label"] = batch["temporal_label"].to(device, non_blocking=True)
        inputs, targets = self.pretext.apply(clips, extras, generator)
        if channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last_3d)
        return inputs, targets

    def checkpoint_fields(self) -> dict[str, Any]:
        return {"pretext": self.pretext.spec(), "classes": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, PretrainConfig)


def run(args: argparse.Namespace) -> int:
    from vssl.train.loop import run_command

    return run_command(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    config = build_config(PretrainConfig, args)
    task = PretrainTask(config)
    return run_training(config, task)
