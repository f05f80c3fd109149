"""ASLAN adapter: ``<root>/<id:04d>.avi`` videos + ``View2.mat``.

``View2.mat`` holds ``action_splits_pairs``, 600 x 5 x 10 in the release:
pairs x (id1, id2, same 0/1, action1, action2) x splits. Both MATLAB formats
are read: v4-v7 through ``scipy.io.loadmat`` and v7.3 (HDF5) through
``h5py``. MATLAB stores arrays column-major, so h5py sees the axes reversed
(10 x 5 x 600); they are transposed back. MATLAB drops trailing singleton
dimensions, so a one-split file (P x 5) is read as P x 5 x 1.

:func:`load_aslan_pairs` gives the pairs table (``split`` and ``pair`` are
1-based). The manifest has one row per video id used in any pair: ``id``,
``video``, ``label`` = action id - 1, ``class`` = the action id as text (the
release ships no action names), and ``split`` = the View-2 split(s) the id
appears in, ``;``-joined (one split per id in the release, whose splits are
class-disjoint). An id maps to the video whose file stem is that number
(``0001.avi``; any video extension, ``.avi`` preferred).

With ``missing="skip"`` ids without a video are dropped from the manifest but
stay in the pairs table: consumers drop the pairs that name them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vssl.data.datasets.common import (
    VIDEO_EXTENSIONS,
    DirIndex,
    MissingLog,
    MissingPolicy,
    SplitFileError,
    build_manifest,
    not_found,
    require_dir,
)

VARIABLE = "action_splits_pairs"
MAT_NAME = "View2.mat"
PAIR_COLUMNS = ("id1", "id2", "same", "action1", "action2")


def resolve_mat(path: str | Path) -> Path:
    """``path`` itself, or ``path/View2.mat`` when ``path`` is a directory."""
    path = Path(path)
    if path.is_dir():
        path = path / MAT_NAME
    if not path.is_file():
        raise not_found("ASLAN View-2 file", path)
    return path


def _read_array(path: Path) -> np.ndarray:
    import h5py

    if h5py.is_hdf5(str(path)):
        with h5py.File(path, "r") as handle:
            if VARIABLE not in handle or not isinstance(handle[VARIABLE], h5py.Dataset):
                raise SplitFileError(path, f"no {VARIABLE!r} array; variables: {sorted(handle.keys())}")
            # Column-major MATLAB data read row-major: reverse all axes.
            return np.asarray(handle[VARIABLE][()]).T
    import scipy.io

    try:
        contents = scipy.io.loadmat(path, variable_names=[VARIABLE])
    except Exception as error:  # noqa: BLE001 -- scipy fails on non-MATLAB bytes in many ways (MatReadError, IndexError, ...)
        raise SplitFileError(path, f"not a readable MATLAB file: {error}") from error
    if VARIABLE not in contents:
        names = [name for name, _, _ in scipy.io.whosmat(path)]
        raise SplitFileError(path, f"no {VARIABLE!r} array; variables: {sorted(names)}")
    return np.asarray(contents[VARIABLE])


def load_aslan_pairs(path: str | Path) -> pd.DataFrame:
    """The View-2 pairs: columns split, pair, id1, id2, same, action1, action2 (int64).

    ``path`` is ``View2.mat`` or a directory holding it. Rows are ordered by
    split, then pair, as stored.
    """
    path = resolve_mat(path)
    array = _read_array(path)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[1] != len(PAIR_COLUMNS) or array.shape[0] == 0 or array.shape[2] == 0:
        raise SplitFileError(
            path, f"{VARIABLE} must be pairs x 5 x splits (600 x 5 x 10 in the release), got shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise SplitFileError(path, f"{VARIABLE} must be numeric, got dtype {array.dtype}")
    values = array.astype(np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        pair, column, split = np.argwhere(bad)[0]
        raise SplitFileError(
            path,
            f"{PAIR_COLUMNS[column]} = {values[pair, column, split]} is not an integer",
            where=f"split {split + 1}, pair {pair + 1}",
        )
    n_pairs, _, n_splits = values.shape
    table = values.astype(np.int64).transpose(2, 0, 1).reshape(-1, len(PAIR_COLUMNS))  # split-major rows
    frame = pd.DataFrame(table, columns=list(PAIR_COLUMNS))
    frame.insert(0, "pair", np.tile(np.arange(1, n_pairs + 1), n_splits))
    frame.insert(0, "split", np.repeat(np.arange(1, n_splits + 1), n_pairs))
    checks = [
        (frame[["id1", "id2"]].min(axis=1) < 1, "video ids must be >= 1"),
        (~frame["same"].isin([0, 1]), "same must be 0 or 1"),
        (frame[["action1", "action2"]].min(axis=1) < 1, "action ids must be >= 1"),
    ]
    for mask, message in checks:
        if mask.any():
            row = frame[mask].iloc[0]
            raise SplitFileError(
                path,
                f"{message}; got {row[list(PAIR_COLUMNS)].to_dict()}",
                where=f"split {row['split']}, pair {row['pair']}",
            )
    frame.attrs["source"] = str(path)
    return frame


def _index_ids(index: DirIndex, root: Path) -> dict[int, str]:
    """video id -> file name, for files whose stem is a number."""
    rank = {ext: i for i, ext in enumerate(VIDEO_EXTENSIONS)}  # .avi first
    found: dict[int, str] = {}
    for name in sorted(index.videos(root), key=lambda n: (rank[Path(n).suffix.lower()], len(n), n)):
        stem = Path(name).stem
        if stem.isascii() and stem.isdigit():
            found.setdefault(int(stem), name)
    return found


def load(root: str | Path, splits: str | Path | None = None, *, missing: MissingPolicy = "error") -> pd.DataFrame:
    root = require_dir(root, "ASLAN video directory")
    if splits is None:
        candidates = [d / MAT_NAME for d in (root, root.parent) if (d / MAT_NAME).is_file()]
        if not candidates:
            raise not_found(f"ASLAN {MAT_NAME} (also looked in {root.parent}; pass splits/--splits)", root / MAT_NAME)
        mat = candidates[0]
    else:
        mat = resolve_mat(splits)
    pairs = load_aslan_pairs(mat)
    files = _index_ids(DirIndex(), root)
    missing_log = MissingLog(missing)
    actions: dict[int, tuple[int, str]] = {}  # id -> (action, where first seen)
    in_splits: dict[int, set[int]] = {}
    reported: set[int] = set()
    for split, pair, *fields in pairs.itertuples(index=False):
        record = dict(zip(PAIR_COLUMNS, fields))
        where = f"split {split}, pair {pair}"
        for side in ("1", "2"):
            video_id, action = int(record[f"id{side}"]), int(record[f"action{side}"])
            first = actions.setdefault(video_id, (action, where))
            if first[0] != action:
                raise SplitFileError(
                    mat, f"video {video_id} has action {action} here but {first[0]} at {first[1]}", where=where
                )
            in_splits.setdefault(video_id, set()).add(split)
            if video_id not in files and video_id not in reported:
                reported.add(video_id)
                missing_log.add(
                    SplitFileError(
                        mat,
                        f"video id {video_id} ({video_id:04d}.avi or another video extension) not found in {root}",
                        where=where,
                    )
                )
    skipped = missing_log.finish()
    rows = [
        {
            "video": files[video_id],
            "label": action - 1,
            "class": str(action),
            "id": video_id,
            "split": ";".join(str(s) for s in sorted(in_splits[video_id])),
        }
        for video_id, (action, _) in actions.items()
        if video_id in files
    ]
    frame = build_manifest(rows, [], dataset="aslan", root=root, missing=skipped, extra_columns=["split", "id"])
    frame["id"] = frame["id"].astype("int64")
    frame["split"] = frame["split"].astype(str)
    return frame
