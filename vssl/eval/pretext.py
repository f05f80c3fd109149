"""`vssl eval-pretext`: a pretrained checkpoint's accuracy on its own pretext, on videos it did not train on.

suite-T1's "pretext" column scores every pretext the same way. The pretext is rebuilt from the
checkpoint's spec and applied to one clip per video of the store's ``--split`` videos, with every
random draw fixed by ``--seed`` (the clip start per video, and each batch's transform generator,
seeded from the seed and the batch index), so two checkpoints see the same clips. Each head is scored
with the training loop's metric (`vssl.kernels.losses.heads_loss`): the share of correct argmaxes for
a classification head (VCOP: per tuple), the share of rows whose nearest row is their positive for the
contrastive head, the mean absolute error for a regression head. ``accuracy`` is the mean over the
heads that have an accuracy (V3S: spatial and temporal), and ``chance`` the same mean for a uniform
guess (1/K per classification head; 1/(rows - 1) for the contrastive one, rows counted per batch).

The contrastive accuracy depends on how many negatives a batch holds, so ``--batch-size`` counts
network inputs, as ``vssl pretrain``'s does; a last batch with a single contrastive clip (no negative)
is left out and counted in ``left_out_videos``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

log = logging.getLogger("vssl.eval")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F

    parser.add_argument("--checkpoint", required=True, type=Path, help="a `vssl pretrain` checkpoint")
    F.add_store_arguments(parser)
    parser.add_argument("--split", default=None, help="only videos whose --split-column equals this (default: all)")
    F.add_runtime_arguments(parser)


def pretext_scores(
    model: torch.nn.Module,
    pretext,
    dataset,
    *,
    batch_size: int,
    seed: int,
    device: torch.device,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    channels_last: bool = False,
    regression: str = "l1",
    workers: int = 0,
) -> dict[str, Any]:
    """Mean loss and per-head metrics of ``pretext`` over ``dataset`` (fractions, per target)."""
    from vssl.kernels import losses
    from vssl.kernels.augment import to_float

    clips_per_batch = max(batch_size // pretext.outputs_per_clip, 1)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=clips_per_batch, shuffle=False, drop_last=False, num_workers=workers
    )
    pairs = any(kind == "contrastive" for kind, _ in pretext.heads.values())
    sums: dict[str, float] = {}
    chance: dict[str, float] = {}  # per head: the expected correct count of a guess
    loss_sum, inputs_seen, targets_seen, left_out = 0.0, 0, 0, 0
    generator = torch.Generator()
    model.eval()
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if pairs and len(batch["clip"]) < 2:
                left_out += len(batch["clip"])
                continue
            generator.manual_seed(seed * 1_000_003 + i)
            clips = to_float(batch["clip"].to(device), mean, std)
            extras = {"temporal_label": batch["temporal_label"].to(device)} if "temporal_label" in batch else {}
            inputs, targets = pretext.apply(clips, extras, generator)
            if channels_last:
                inputs = inputs.contiguous(memory_format=torch.channels_last_3d)
            loss, stats = losses.heads_loss(
                pretext.heads,
                losses.outputs_by_head(model(inputs), pretext.heads),
                targets,
                regression=regression,
                other=pretext.head_loss,
            )
            n = inputs.shape[0]
            loss_sum += float(loss) * n
            inputs_seen += n
            targets_seen += n // pretext.inputs_per_target
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + float(value)
            for name, (kind, size) in pretext.heads.items():
                chance[name] = chance.get(name, 0.0) + _chance(kind, size, targets[name], n)
    if not targets_seen:
        raise ValueError(f"no video to score: {len(dataset)} video(s), {clips_per_batch} clip(s) per batch")
    metrics = {key: value / targets_seen for key, value in sums.items()}
    accuracies = [value for key, value in metrics.items() if key.startswith("acc_")]
    chances = [chance[name] / targets_seen for name, (kind, _) in pretext.heads.items() if kind != "regression"]
    return {
        "loss": loss_sum / inputs_seen,
        **metrics,
        "accuracy": sum(accuracies) / len(accuracies) if accuracies else None,
        "chance": sum(chances) / len(chances) if chances else None,
        "n_targets": targets_seen,
        "left_out_videos": left_out,
    }


def _chance(kind: str, size: int, target: Tensor | None, inputs: int) -> float:
    """Expected correct count of a uniform guess: 1/K per target; for InfoNCE, 1/(rows - 1) per row."""
    if kind == "classification":
        return len(target) / size
    if kind == "contrastive":
        return inputs / (inputs - 1)
    return 0.0


def run(args: argparse.Namespace) -> int:
    from vssl.data.clips import RandomConsecutive, TemporalPretext
    from vssl.eval import features as F
    from vssl.kernels.pretext import build_pretext
    from vssl.runtime.context import command_context
    from vssl.train.checkpoint import load_pretext_model
    from vssl.utils.io import atomic_write_json

    with command_context(args, "eval_pretext") as ctx:
        model, meta = load_pretext_model(args.checkpoint, map_location="cpu")
        pretext = build_pretext(meta["pretext"]["name"], **meta["pretext"]["params"])
        config = meta.get("config") or {}
        manifest = F.read_manifest(args.store, args.manifest)
        rows, excluded = F.select_rows(
            manifest, split_column=args.split_column, split=args.split, allow_failed=args.allow_failed
        )
        if pretext.temporal_choices:
            sampler = TemporalPretext(pretext.temporal_choices)
        else:
            sampler = RandomConsecutive(pretext.frames_needed())
        dataset = F.build_dataset(args.store, rows, sampler=sampler, seed=args.seed)
        log.info("eval-pretext: %s (%s) on %d videos of %s", args.checkpoint, pretext.name, len(dataset), args.store)
        scores = pretext_scores(
            model.to(ctx.device),
            pretext,
            dataset,
            batch_size=args.batch_size,
            seed=args.seed,
            device=ctx.device,
            mean=tuple(config.get("mean") or F.DEFAULT_MEAN),
            std=tuple(config.get("std") or F.DEFAULT_STD),
            channels_last=bool(config.get("channels_last")),
            regression=str(config.get("regression_loss") or "l1"),  # rotation360's L1 or L2, as it trained
            workers=args.workers,
        )
        log.info("eval-pretext: %s", {k: v for k, v in scores.items() if k != "left_out_videos"})
        metrics = F.run_metadata(
            "eval-pretext",
            args,
            [F.source_from_meta(meta)],
            device=ctx.device,
            started=ctx.started,
            extra={
                **scores,
                "pretext": meta["pretext"],
                "heads": {name: list(spec) for name, spec in pretext.heads.items()},
                "n_videos": len(rows),
                "excluded_videos": excluded,
                "units": "fractions of targets (accuracy, acc_*); mean absolute error (mae_*)",
            },
        )
        atomic_write_json(args.out / "metrics.json", metrics)
    return 0
