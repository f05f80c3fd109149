"""`vssl manifest`: parse a dataset's official layout into a manifest CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vssl.data.datasets import DATASETS, SPLIT_VALUES, SplitFileError, load_manifest
from vssl.utils.io import atomic_write_csv

SHOWN_MISSING = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--root", required=True, type=Path, help="video root of the official layout")
    parser.add_argument(
        "--splits",
        type=Path,
        default=None,
        help="split/annotation directory (ASLAN: View2.mat); default depends on the dataset",
    )
    parser.add_argument("--out", required=True, type=Path, help="manifest CSV to write")
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="drop listed videos that are not on disk (with a warning) instead of failing",
    )


def summary_lines(frame) -> list[str]:
    """Total and class counts, then counts per split column."""
    classes = frame.loc[frame["class"] != "", "class"].nunique()
    lines = [f"{len(frame)} videos, {classes} classes"]
    for column in [c for c in frame.columns if c.startswith("split")]:
        counts = frame[column].value_counts(sort=False)
        others = sorted((v for v in counts.index if v not in SPLIT_VALUES), key=lambda v: (len(v), v))
        order = [v for v in SPLIT_VALUES if v in counts.index] + others
        lines.append(f"{column}: " + " ".join(f"{value}={counts[value]}" for value in order))
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        frame = load_manifest(args.dataset, args.root, args.splits, missing="skip" if args.skip_missing else "error")
    except (SplitFileError, FileNotFoundError, NotADirectoryError) as error:
        print(f"vssl manifest: error: {error}", file=sys.stderr)
        return 1
    atomic_write_csv(args.out, frame)
    print(f"wrote {args.out}")
    for line in summary_lines(frame):
        print(line)
    skipped = frame.attrs.get("missing", ())
    if skipped:
        print(f"skipped {len(skipped)} missing videos:")
        for message in skipped[:SHOWN_MISSING]:
            print(f"  {message}")
        if len(skipped) > SHOWN_MISSING:
            print(f"  ... and {len(skipped) - SHOWN_MISSING} more")
    return 0
