"""`vssl finetune`: finetune (`vssl.train.finetune`), then, with ``--test-out``, the video-level test
(`vssl.eval.test`) of the final checkpoint, in the same process.

Why one process: the workflow finetunes once per table cell (about 180 times at toy scale) and
every cell needs its 10-clip test; a second process per cell would pay Python's and torch's
start-up again for about a second of compute. This module belongs to the CLI layer, which may
import both ``vssl.train`` and ``vssl.eval``; ``vssl.train`` itself never imports ``vssl.eval``.

Without ``--test-out`` it is exactly `vssl.train.finetune`. With it, the test reads
``OUT/final.pt`` and writes ``scores.csv`` and ``metrics.json`` to ``--test-out`` as `vssl test`
does; the test's store, device, workers, seed and amp are the finetuning run's. A rerun after a
kill resumes the training (``--resume``) and then tests.
"""

from __future__ import annotations

import argparse
from pathlib import Path

TEST_FLAGS = ("test_out", "test_split", "test_split_column", "test_clips", "test_batch_size")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.train import finetune

    finetune.add_arguments(parser)
    group = parser.add_argument_group("video-level test of the final checkpoint (as `vssl test`, same process)")
    group.add_argument(
        "--test-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the test after training and write scores.csv + metrics.json here",
    )
    group.add_argument("--test-split", default="test", help="rows to test (default: test)")
    group.add_argument(
        "--test-split-column",
        default=None,
        help="manifest split column to test on (default: the training's --split-column)",
    )
    group.add_argument("--test-clips", type=int, default=10, help="evenly spaced clips per video (default: 10)")
    group.add_argument("--test-batch-size", type=int, default=4, help="videos per forward batch (default: 4)")


def run(args: argparse.Namespace) -> int:
    from vssl.train import finetune

    test = {name: getattr(args, name) for name in TEST_FLAGS}
    for name in TEST_FLAGS:
        delattr(args, name)
    code = finetune.run(argparse.Namespace(**vars(args)))
    if code or test["test_out"] is None:
        return code
    return _test(args, test)


def _test(args: argparse.Namespace, test: dict) -> int:
    from vssl.eval import test as video_test
    from vssl.train.config import FinetuneConfig
    from vssl.train.runfile import build_config

    config = build_config(FinetuneConfig, args)
    return video_test.run(
        argparse.Namespace(
            checkpoint=Path(config.out) / "final.pt",
            store=Path(config.store),
            split_column=test["test_split_column"] or config.split_column,
            split=test["test_split"],
            clips=test["test_clips"],
            clip_length=None,
            crop=None,
            modality=None,
            batch_size=test["test_batch_size"],
            workers=config.workers,
            frame_cache_mb=config.frame_cache_mb,
            device=config.device,
            amp=config.amp if config.amp == "bf16" else "none",
            seed=config.seed,
            out=test["test_out"],
            log=None,
            progress=False,
        )
    )
