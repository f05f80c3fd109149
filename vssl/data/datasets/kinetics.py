"""Kinetics-400 / Kinetics-600 adapter: ``<root>/{train,val,test}/`` + annotation CSVs (one format).

Annotations (default ``<root>/annotations``): ``train.csv``, ``validate.csv``
(original DeepMind release) or ``val.csv`` (CVDF mirror), ``test.csv``. They are
read by header name: ``youtube_id``, ``time_start``, ``time_end`` are required;
``label`` is optional (test CSVs of the first release have none); ``split`` and
``is_cc`` are ignored (the file, not the column, says which subset a row is).

Files are named ``<youtube_id>_<start:06d>_<end:06d><ext>`` (the ActivityNet
``download.py`` / CVDF convention; any video extension is accepted, ``.mp4``
preferred) and may sit flat in the subset directory (CVDF tarballs) or in
class folders (ActivityNet downloader and most re-hosts).

Class folder names: downloaders disagree (raw label with spaces, spaces to
``_``, parentheses to ``-``), so a label and a folder are matched through one
normalised key, :func:`class_key`: drop ``"`` ``'`` ``(`` ``)``, collapse runs
of whitespace, ``_`` and ``-`` into one ``_``, strip ``_`` at the ends,
casefold. ``"passing American football (in game)"``,
``passing_American_football_in_game`` and ``passing_American_football_-in_game-``
all give ``passing_american_football_in_game``. :func:`folder_name` is the
spelling this suite writes (spaces to ``_``, quotes and parentheses dropped).

Manifest: ``split1`` is ``train`` for train.csv, ``test`` for the validation
CSV (Kinetics has no public labelled test set, so "val" is the evaluation
split) and ``unused`` for test.csv rows and for videos on disk that no CSV
lists. The extra column ``subset`` keeps the source (``train``/``val``/``test``).
Labels are positions in the sorted (code-point order) set of label strings of
all CSVs.

Dead YouTube links make listed-but-absent videos normal here; with
``missing="error"`` the error says how many are missing and suggests
``--skip-missing``.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vssl.data.datasets.common import (
    VIDEO_EXTENSIONS,
    DirIndex,
    MissingLog,
    MissingPolicy,
    SplitFileError,
    build_manifest,
    log,
    not_found,
    require_dir,
)

# subset -> (annotation file names in order of preference, video dir names, manifest split)
SUBSETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "train": (("train.csv",), ("train",), "train"),
    "val": (("validate.csv", "val.csv"), ("val", "validate", "valid"), "test"),
    "test": (("test.csv",), ("test",), "unused"),
}
REQUIRED_COLUMNS = ("youtube_id", "time_start", "time_end")
SKIP_HINT = "; dead YouTube links are common in Kinetics: pass --skip-missing (missing='skip') to drop them"


@functools.lru_cache(maxsize=4096)
def class_key(name: str) -> str:
    """Normalised key that matches a Kinetics label to its class folder (see module doc)."""
    text = re.sub(r"[\"'()]", "", name)
    return re.sub(r"[\s_\-]+", "_", text).strip("_").casefold()


def folder_name(label: str) -> str:
    """The class-folder spelling this suite writes for a label."""
    return re.sub(r"\s+", "_", re.sub(r"[\"'()]", "", label).strip())


def video_stem(youtube_id: str, start: int, end: int) -> str:
    return f"{youtube_id}_{start:06d}_{end:06d}"


@dataclass(frozen=True)
class Row:
    path: Path
    line: int
    subset: str
    stem: str
    label: str  # "" when the CSV has none


def _parse_time(value: str, column: str, path: Path, line: int) -> int:
    try:
        seconds = float(value)
    except ValueError:
        raise SplitFileError(path, f"{column} {value!r} is not a number", line=line) from None
    if not math.isfinite(seconds) or seconds < 0 or seconds != int(seconds):
        raise SplitFileError(path, f"{column} {value!r} is not a whole number of seconds", line=line)
    return int(seconds)


def read_annotations(path: Path, subset: str) -> list[Row]:
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        absent = [c for c in REQUIRED_COLUMNS if c not in header]
        if absent:
            raise SplitFileError(path, f"header lacks column(s) {absent}; got {header}", line=1)
        col = {name: header.index(name) for name in (*REQUIRED_COLUMNS, "label") if name in header}
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise SplitFileError(
                    path, f"expected {len(header)} fields ({','.join(header)}), got {len(fields)}", line=line
                )
            youtube_id = fields[col["youtube_id"]].strip()
            if not youtube_id:
                raise SplitFileError(path, "empty youtube_id", line=line)
            start = _parse_time(fields[col["time_start"]].strip(), "time_start", path, line)
            end = _parse_time(fields[col["time_end"]].strip(), "time_end", path, line)
            label = fields[col["label"]].strip() if "label" in col else ""
            rows.append(Row(path, line, subset, video_stem(youtube_id, start, end), label))
    return rows


def _annotation_file(splits_dir: Path, names: tuple[str, ...]) -> Path | None:
    present = [splits_dir / n for n in names if (splits_dir / n).is_file()]
    if len(present) > 1:
        log.warning("both %s exist; using %s", " and ".join(map(str, present)), present[0])
    return present[0] if present else None


def _index_videos(index: DirIndex, directory: Path) -> dict[str, list[tuple[str | None, str]]]:
    """stem -> [(class folder or None when flat, file name)], flat files and one folder level."""
    found: dict[str, list[tuple[str | None, str]]] = {}
    for name in index.videos(directory):
        found.setdefault(os.path.splitext(name)[0], []).append((None, name))
    for folder in index.subdirs(directory):
        for name in index.videos(directory / folder):
            found.setdefault(os.path.splitext(name)[0], []).append((folder, name))
    # Several files for one clip: prefer .mp4, then VIDEO_EXTENSIONS order.
    rank = {ext: i for i, ext in enumerate(dict.fromkeys((".mp4", *VIDEO_EXTENSIONS)))}
    for candidates in found.values():
        if len(candidates) > 1:
            candidates.sort(key=lambda c: (rank[os.path.splitext(c[1])[1].lower()], c[0] or "", c[1]))
    return found


def load(root: str | Path, splits: str | Path | None = None, *, missing: MissingPolicy = "error") -> pd.DataFrame:
    root = require_dir(root, "Kinetics video root")
    splits_dir = require_dir(splits if splits is not None else root / "annotations", "Kinetics annotation directory")
    annotations = {s: _annotation_file(splits_dir, names) for s, (names, _, _) in SUBSETS.items()}
    if not any(annotations.values()):
        raise not_found("Kinetics annotation CSVs (train.csv, validate.csv/val.csv, test.csv)", splits_dir)
    subset_dirs = {
        s: next((root / d for d in dirs if (root / d).is_dir()), None) for s, (_, dirs, _) in SUBSETS.items()
    }
    if not any(subset_dirs.values()):
        raise not_found("Kinetics video directories (train/, val/, test/)", root)

    rows = {s: read_annotations(p, s) for s, p in annotations.items() if p is not None}
    _, label_of, key_to_class = _classes(rows)

    index = DirIndex()
    missing_log = MissingLog(missing, hint=SKIP_HINT)
    videos: dict[str, dict] = {}
    seen: dict[str, Row] = {}
    on_disk_by_subset = {s: _index_videos(index, d) for s, d in subset_dirs.items() if d is not None}
    for subset, subset_rows in rows.items():
        directory = subset_dirs[subset]
        on_disk = on_disk_by_subset.get(subset, {})
        dir_name = directory.name if directory is not None else SUBSETS[subset][1][0]
        for row in subset_rows:
            if row.stem in seen:
                first = seen[row.stem]
                if (first.subset, first.label) == (row.subset, row.label):
                    log.warning("%s:%d: duplicate of line %d, ignored", row.path, row.line, first.line)
                    continue
                raise SplitFileError(
                    row.path, f"{row.stem} is already listed at {first.path}:{first.line}", line=row.line
                )
            seen[row.stem] = row
            candidates = _fitting_candidates(row, on_disk.get(row.stem, []), directory)
            if not candidates:
                where = directory if directory is not None else f"{root / dir_name} (directory does not exist)"
                missing_log.add(SplitFileError(row.path, f"video {row.stem}.mp4 not found in {where}", line=row.line))
                continue
            folder, name = candidates[0]
            video = f"{dir_name}/{folder}/{name}" if folder is not None else f"{dir_name}/{name}"
            videos[video] = {
                "video": video,
                "label": label_of[row.label] if row.label else None,
                "class": row.label,
                "split1": SUBSETS[subset][2],
                "subset": subset,
            }
    skipped = missing_log.finish()

    _add_unlisted(videos, on_disk_by_subset, subset_dirs, seen, key_to_class, label_of)
    return build_manifest(
        videos.values(), ["split1"], dataset="kinetics", root=root, missing=skipped, extra_columns=["subset"]
    )


def _classes(rows: dict[str, list[Row]]) -> tuple[list[str], dict[str, int], dict[str, str]]:
    """Sorted class names, their labels, and folder key -> class; two labels with one folder key raise."""
    label_rows: dict[str, Row] = {}
    for subset_rows in rows.values():
        for row in subset_rows:
            if row.label:
                label_rows.setdefault(row.label, row)
    class_names = sorted(label_rows)
    label_of = {name: i for i, name in enumerate(class_names)}
    key_to_class: dict[str, str] = {}
    for name in class_names:
        other = key_to_class.setdefault(class_key(name), name)
        if other != name:
            first = label_rows[name]
            raise SplitFileError(
                first.path,
                f"labels {other!r} and {name!r} normalise to the same class folder key {class_key(name)!r}",
                line=first.line,
            )
    return class_names, label_of, key_to_class


def _fitting_candidates(row: Row, candidates: list, directory: Path | None) -> list:
    """The on-disk copies of ``row``'s video that may be it: in its label's class folder, or unfoldered."""
    if row.label:
        wanted = class_key(row.label)
        fitting = [c for c in candidates if c[0] is None or class_key(c[0]) == wanted]
        if candidates and not fitting:
            raise SplitFileError(
                row.path,
                f"{row.stem} is only in class folder(s) "
                f"{sorted({c[0] for c in candidates})} under {directory}, which do "
                f"not match label {row.label!r}",
                line=row.line,
            )
        candidates = fitting
    elif len({c[0] for c in candidates}) > 1:
        raise SplitFileError(
            row.path,
            f"unlabelled {row.stem} is in several class folders under "
            f"{directory}: {sorted({str(c[0]) for c in candidates})}",
            line=row.line,
        )
    return candidates


def _add_unlisted(
    videos: dict,
    on_disk_by_subset: dict,
    subset_dirs: dict,
    seen: dict,
    key_to_class: dict[str, str],
    label_of: dict[str, int],
) -> None:
    """Videos on disk that no CSV lists: kept as unused, labelled by folder when it names a class."""
    for subset, on_disk in on_disk_by_subset.items():
        directory = subset_dirs[subset]
        for stem, candidates in on_disk.items():
            for folder, name in candidates:
                video = f"{directory.name}/{folder}/{name}" if folder is not None else f"{directory.name}/{name}"
                if stem in seen or video in videos:
                    continue
                class_name = key_to_class.get(class_key(folder)) if folder is not None else None
                videos[video] = {
                    "video": video,
                    "label": label_of.get(class_name),
                    "class": class_name or "",
                    "split1": "unused",
                    "subset": subset,
                }
