"""Moments in Time adapter: ``<root>/{training,validation}/<category>/<file>.mp4``.

Release files (default directory: ``root``):

- ``moments_categories.txt``: ``<name>,<id>`` lines, ids 0-based and used as
  labels unchanged (they must be exactly 0..N-1).
- ``trainingSet.csv`` / ``validationSet.csv``: no header; ``<category>/<file>,
  <label>,...`` (further fields, annotator agreement counts, are ignored). A
  first row starting with ``filename`` is taken for a header and skipped. The
  category folder of the path must name the same class as the label field.

``split1`` is ``train`` for training rows, ``test`` for validation rows (the
public MiT test set has no labels) and ``unused`` for videos on disk that
neither CSV lists; ``subset`` keeps ``training``/``validation``.
"""

from __future__ import annotations

import csv
from pathlib import Path, PurePosixPath

import pandas as pd

from vssl.data.datasets.common import (
    DirIndex,
    MissingLog,
    MissingPolicy,
    SplitFileError,
    build_manifest,
    log,
    not_found,
    read_lines,
    require_dir,
    require_file,
    resolve_one,
)

# subset directory -> (annotation file, manifest split)
SUBSETS: dict[str, tuple[str, str]] = {
    "training": ("trainingSet.csv", "train"),
    "validation": ("validationSet.csv", "test"),
}
CATEGORIES_FILE = "moments_categories.txt"


def read_categories(path: Path) -> list[str]:
    """Category names indexed by their 0-based id."""
    by_id: dict[int, tuple[str, int]] = {}
    names: set[str] = set()
    for line, text in read_lines(path):
        name, sep, raw_id = text.rpartition(",")
        name = name.strip()
        if not sep or not name:
            raise SplitFileError(path, f"expected '<name>,<id>', got {text!r}", line=line)
        try:
            category_id = int(raw_id)
        except ValueError:
            raise SplitFileError(path, f"category id {raw_id.strip()!r} is not an integer", line=line) from None
        if category_id in by_id:
            raise SplitFileError(
                path, f"category id {category_id} already used at line {by_id[category_id][1]}", line=line
            )
        if name in names:
            raise SplitFileError(path, f"category {name!r} listed twice", line=line)
        by_id[category_id] = (name, line)
        names.add(name)
    if sorted(by_id) != list(range(len(by_id))) or not by_id:
        raise SplitFileError(path, f"category ids must be exactly 0..{len(by_id) - 1}")
    return [by_id[i][0] for i in range(len(by_id))]


def load(root: str | Path, splits: str | Path | None = None, *, missing: MissingPolicy = "error") -> pd.DataFrame:
    root = require_dir(root, "Moments in Time root")
    splits_dir = require_dir(splits if splits is not None else root, "Moments in Time annotation directory")
    class_names = read_categories(require_file(splits_dir / CATEGORIES_FILE, "Moments in Time category list"))
    label_of = {name: i for i, name in enumerate(class_names)}
    annotation = {s: splits_dir / f for s, (f, _) in SUBSETS.items() if (splits_dir / f).is_file()}
    if not annotation:
        raise not_found("Moments in Time trainingSet.csv / validationSet.csv", splits_dir)

    index = DirIndex()
    missing_log = MissingLog(missing)
    videos: dict[str, dict] = {}
    seen: dict[str, tuple[Path, int]] = {}
    for subset, path in annotation.items():
        subset_dir = root / subset
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            for fields in reader:
                line = reader.line_num
                if not any(f.strip() for f in fields):
                    continue
                if line == 1 and fields[0].strip().lower() == "filename":
                    continue
                if len(fields) < 2:
                    raise SplitFileError(
                        path, f"expected '<category>/<file>,<label>,...', got {','.join(fields)!r}", line=line
                    )
                filename, label = fields[0].strip(), fields[1].strip()
                parts = PurePosixPath(filename.replace("\\", "/")).parts
                if len(parts) != 2:
                    raise SplitFileError(path, f"expected a '<category>/<file>' path, got {filename!r}", line=line)
                if label not in label_of:
                    raise SplitFileError(path, f"unknown category {label!r} (not in {CATEGORIES_FILE})", line=line)
                if parts[0] != label:
                    raise SplitFileError(path, f"path folder {parts[0]!r} disagrees with label {label!r}", line=line)
                folder = resolve_one(index, subset_dir, parts[0], is_dir=True, path=path, line=line)
                name = (
                    resolve_one(index, subset_dir / folder, parts[1], is_dir=False, path=path, line=line)
                    if folder is not None
                    else None
                )
                if name is None:
                    missing_log.add(SplitFileError(path, f"video {filename!r} not found in {subset_dir}", line=line))
                    continue
                video = f"{subset}/{folder}/{name}"
                if video in seen:
                    raise SplitFileError(
                        path, f"{video!r} is already listed at {seen[video][0]}:{seen[video][1]}", line=line
                    )
                seen[video] = (path, line)
                videos[video] = {
                    "video": video,
                    "label": label_of[label],
                    "class": label,
                    "split1": SUBSETS[subset][1],
                    "subset": subset,
                }
    skipped = missing_log.finish()

    for subset in SUBSETS:
        for folder in index.subdirs(root / subset):
            class_name = folder if folder in label_of else None
            orphans = [n for n in index.videos(root / subset / folder) if f"{subset}/{folder}/{n}" not in videos]
            if orphans and class_name is None:
                log.warning("%s: folder %r is not a category; its videos are unlabelled", root / subset, folder)
            for name in orphans:
                video = f"{subset}/{folder}/{name}"
                videos[video] = {
                    "video": video,
                    "label": label_of.get(class_name),
                    "class": class_name or "",
                    "split1": "unused",
                    "subset": subset,
                }
    return build_manifest(
        videos.values(), ["split1"], dataset="mit", root=root, missing=skipped, extra_columns=["subset"]
    )
