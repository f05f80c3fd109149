"""Which videos a run trains and validates on: split rows, subsets, hold-outs, few-shot draws.

All draws are seeded and independent of row order on disk (rows are sorted
by ``video`` first), so the same seed picks the same videos on any machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

USABLE = ("ok", "partial")


def store_manifest(store: str | Path) -> pd.DataFrame:
    """The store's manifest.csv (usable rows only), sorted by video."""
    from vssl.data.datasets import read_manifest

    path = Path(store) / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: manifest not found (is {store} a frame store made by `vssl extract`?)")
    frame = read_manifest(path)
    if "status" in frame.columns:
        frame = frame[frame["status"].isin(USABLE)]
    frame = frame.sort_values("video").reset_index(drop=True)
    frame.attrs["source"] = str(path)
    return frame


def split_rows(frame: pd.DataFrame, split_column: str, split: str | None) -> pd.DataFrame:
    """Rows with ``split_column == split`` (all rows when ``split`` is None)."""
    if split is None:
        return frame.reset_index(drop=True)
    if split_column not in frame.columns:
        raise ValueError(
            f"{frame.attrs.get('source', 'manifest')}: no split column {split_column!r} "
            f"(columns: {', '.join(frame.columns)})"
        )
    rows = frame[frame[split_column].astype(str) == split].reset_index(drop=True)
    rows.attrs.update(frame.attrs)
    return rows


def random_subset(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` videos drawn without replacement (3DRotNet Table 4's amount of pretraining data)."""
    if n < 1:
        raise ValueError(f"--max-videos must be >= 1, got {n}")
    if n >= len(frame):
        # Silently using the whole pool made rot-T4's "400k" row train on the same data as "all".
        raise ValueError(
            f"--max-videos {n} asks for a subset of {n:,} videos, but the pool holds only "
            f"{len(frame):,}: that is the whole pool, not a subset"
        )
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(frame), size=n, replace=False))
    out = frame.iloc[keep].reset_index(drop=True)
    out.attrs.update(frame.attrs)
    return out


def holdout_split(frame: pd.DataFrame, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, held-out) with ``n`` random videos held out (V3S: 800 of UCF101 split-1 train)."""
    if n <= 0:
        return frame, frame.iloc[0:0]
    if n >= len(frame):
        raise ValueError(f"--holdout {n} leaves no training videos (only {len(frame)} available)")
    rng = np.random.default_rng(seed + 1_000_003)  # a different stream from random_subset's
    held = np.zeros(len(frame), dtype=bool)
    held[rng.choice(len(frame), size=n, replace=False)] = True
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)


def few_shot(frame: pd.DataFrame, shots: int, seed: int) -> pd.DataFrame:
    """``shots`` videos per class drawn with ``seed`` (3DRotNet Table 5: 1/5/10/20 per class, 3 seeds)."""
    if shots < 1:
        raise ValueError(f"--shots must be >= 1, got {shots}")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    if labels.isna().any():
        raise ValueError(f"{frame.attrs.get('source', 'manifest')}: few-shot sampling needs labelled videos")
    rng = np.random.default_rng(seed)
    picks = []
    for label in sorted(labels.unique()):
        rows = np.flatnonzero(labels.to_numpy() == label)
        if len(rows) < shots:
            name = frame["class"].iloc[rows[0]] if "class" in frame.columns else label
            raise ValueError(f"class {name!r} has only {len(rows)} training videos, fewer than --shots {shots}")
        picks.extend(rows[rng.choice(len(rows), size=shots, replace=False)].tolist())
    out = frame.iloc[sorted(picks)].reset_index(drop=True)
    out.attrs.update(frame.attrs)
    return out


def class_names(frame: pd.DataFrame) -> list[str]:
    """Class names indexed by label, from every labelled row of the manifest."""
    labels = pd.to_numeric(frame["label"], errors="coerce")
    labelled = frame[labels.notna()]
    if labelled.empty:
        raise ValueError(f"{frame.attrs.get('source', 'manifest')}: no labelled videos")
    n = int(labels.max()) + 1
    names = [""] * n
    for label, name in zip(labels[labels.notna()].astype(int), labelled.get("class", labelled["label"]).astype(str)):
        if names[label] and names[label] != name:
            raise ValueError(
                f"{frame.attrs.get('source', 'manifest')}: label {label} names two classes ({names[label]!r}, {name!r})"
            )
        names[label] = name
    return [name or str(i) for i, name in enumerate(names)]
