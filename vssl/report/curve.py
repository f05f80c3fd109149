"""``vssl curve``: the rot-F4b points, rotation accuracy and action accuracy per pretraining checkpoint.

Inputs per seed: the ``rotation.csv`` that `vssl eval-rotation` wrote for the kept step series
(``--rotation SEED CSV``: columns ``step`` and ``accuracy``) and the `vssl test` metrics of the
model finetuned from each step (``--action SEED STEP JSON``). Output: a CSV with one line per
(seed, step): ``step, seed, rotation_acc, action_acc`` in percent, plus the checkpoint and the
action metrics file, which ``vssl figure rot-F4b --curve`` plots. A step with a rotation accuracy
but no action result (or the reverse) is an error naming it: the figure never silently drops points.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from vssl.report.records import ReportError, load_metrics, metric_value, parse_metric
from vssl.utils.io import atomic_write_csv

COLUMNS = ("step", "seed", "rotation_acc", "action_acc", "checkpoint", "action_metrics")


def curve_points(
    rotation: list[tuple[str, Path]], action: list[tuple[str, str, Path]], action_metric: str = "top1_video*100"
) -> pd.DataFrame:
    key, scale = parse_metric(action_metric)
    actions: dict[tuple[int, int], Path] = {}
    for seed, step, path in action:
        actions[(int(seed), int(step))] = Path(path)
    records = []
    seen = set()
    for seed, path in rotation:
        try:
            table = pd.read_csv(path)
        except FileNotFoundError:
            raise ReportError(f"{path}: rotation CSV does not exist") from None
        missing = {"step", "accuracy", "checkpoint"} - set(table.columns)
        if missing:
            raise ReportError(f"{path}: missing columns {sorted(missing)}")
        for line in table.itertuples(index=False):
            point = (int(seed), int(line.step))
            if point not in actions:
                raise ReportError(f"{path}: step {line.step} (seed {seed}) has no --action metrics")
            metrics_path = actions[point]
            value = metric_value(load_metrics(metrics_path), key, metrics_path) * scale
            records.append(
                {
                    "step": point[1],
                    "seed": point[0],
                    "rotation_acc": float(line.accuracy),
                    "action_acc": value,
                    "checkpoint": line.checkpoint,
                    "action_metrics": str(metrics_path),
                }
            )
            seen.add(point)
    extra = sorted(set(actions) - seen)
    if extra:
        raise ReportError(f"--action given for (seed, step) {extra} without a rotation accuracy")
    return pd.DataFrame(records, columns=list(COLUMNS)).sort_values(["seed", "step"], kind="stable")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rotation",
        nargs=2,
        action="append",
        required=True,
        metavar=("SEED", "CSV"),
        help="rotation.csv of `vssl eval-rotation` over one seed's kept checkpoints",
    )
    parser.add_argument(
        "--action",
        nargs=3,
        action="append",
        required=True,
        metavar=("SEED", "STEP", "JSON"),
        help="`vssl test` metrics of the model finetuned from that seed's step checkpoint",
    )
    parser.add_argument("--action-metric", default="top1_video*100", help="key in the action metrics (*100: percent)")
    parser.add_argument("--out", required=True, type=Path, help="output CSV")


def run(args: argparse.Namespace) -> int:
    try:
        points = curve_points(
            [(s, Path(p)) for s, p in args.rotation], [(s, st, Path(p)) for s, st, p in args.action], args.action_metric
        )
    except ReportError as err:
        print(f"vssl curve: error: {err}", file=sys.stderr)
        return 2
    atomic_write_csv(args.out, points)
    print(f"{len(points)} points ({points['seed'].nunique()} seeds) -> {args.out}")
    return 0
