"""Dataset adapters: each official layout -> one manifest DataFrame.

A manifest has one row per video, sorted by ``video``:

- ``video``: path relative to ``root``, POSIX separators, spelled as on disk;
- ``label``: 0-based class id, pandas nullable ``Int64`` (NA when unlabelled);
- ``class``: class name (``""`` when unlabelled);
- ``split1``, ``split2``, ``split3``: ``train`` / ``test`` / ``unused``, for the
  splits the dataset has (UCF101, HMDB51: 1-3; Kinetics, MiT: ``split1`` only,
  plus ``subset``; ASLAN: ``split`` and ``id``, see :mod:`.aslan`; folder: none).

``df.attrs`` holds ``dataset``, ``root`` and ``missing`` (messages for listed
videos dropped under ``missing="skip"``). :func:`read_manifest` reads a
manifest CSV back with these dtypes.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd

from vssl.data.datasets.aslan import load_aslan_pairs
from vssl.data.datasets.common import SPLIT_VALUES, VIDEO_EXTENSIONS, SplitFileError, check_policy

DATASETS: tuple[str, ...] = ("ucf101", "hmdb51", "kinetics", "mit", "aslan", "folder")

__all__ = [
    "DATASETS",
    "SPLIT_VALUES",
    "VIDEO_EXTENSIONS",
    "SplitFileError",
    "load_aslan_pairs",
    "load_manifest",
    "read_manifest",
]


def load_manifest(
    dataset: str, root: str | Path, splits: str | Path | None = None, *, missing: str = "error"
) -> pd.DataFrame:
    """Parse ``dataset``'s official layout under ``root`` into a manifest.

    ``splits`` is the split/annotation directory (ASLAN: ``View2.mat`` or its
    directory); each adapter documents its default. ``missing="error"`` raises
    :class:`SplitFileError` (file:line) for a listed video that is not on
    disk; ``missing="skip"`` drops such rows with a warning and lists them in
    ``df.attrs["missing"]``. A wrong root or split directory raises
    ``FileNotFoundError`` naming the path.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    policy = check_policy(missing)
    adapter = importlib.import_module(f"vssl.data.datasets.{dataset}")
    return adapter.load(root, splits, missing=policy)


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read a manifest CSV written by ``vssl manifest`` with the manifest dtypes.

    Every column is read as text with no NA guessing (a class called ``NA`` or
    ``null`` stays a string); ``label`` becomes ``Int64`` (empty -> NA) and
    ASLAN's ``id`` becomes int64.
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    absent = [c for c in ("video", "label", "class") if c not in frame.columns]
    if absent:
        raise SplitFileError(path, f"not a manifest: header lacks {absent}", line=1)
    labels = []
    for row, value in enumerate(frame["label"], start=2):
        try:
            labels.append(int(value) if value != "" else None)
        except ValueError:
            raise SplitFileError(path, f"label {value!r} is not an integer", line=row) from None
    frame["label"] = pd.array(labels, dtype="Int64")
    if "id" in frame.columns:
        frame["id"] = frame["id"].astype("int64")
    frame.attrs["source"] = str(path)
    return frame
