"""HMDB51 adapter: ``<root>/<class>/<name>.avi`` + ``testTrainMulti_7030_splits``.

The split directory holds ``<class>_test_split<k>.txt`` (k = 1..3) with lines
``<name>.avi <tag>``: tag 1 = train, 2 = test, 0 = unused. Class names come
from those file names; label ids are their positions in the sorted
(code-point order) list of class names.

Video names contain ``( ) ! # & '`` and ``[ ]``, so a line is split only at its
last whitespace run (the name keeps anything else) and the file is found by an
exact join against the directory listing, never through a shell or a glob.
A video on disk that no split file names is kept with split ``unused``.
An empty split file is allowed (its class has no videos in that split) but warned about.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from vssl.data.datasets.common import (
    DirIndex,
    MissingLog,
    MissingPolicy,
    SplitFileError,
    build_manifest,
    first_existing_dir,
    log,
    read_lines,
    require_dir,
    resolve_one,
)

SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<k>[0-9]+)\.txt$")
TAGS: dict[str, str] = {"0": "unused", "1": "train", "2": "test"}


def find_split_files(splits_dir: Path) -> tuple[list[str], list[int], dict[tuple[str, int], Path]]:
    """Class names (sorted), split numbers (sorted) and ``(class, k) -> file``."""
    files: dict[tuple[str, int], Path] = {}
    for entry in splits_dir.iterdir():
        match = SPLIT_FILE.match(entry.name)
        if match and entry.is_file():
            files[match.group("cls"), int(match.group("k"))] = entry
    if not files:
        raise FileNotFoundError(2, "no <class>_test_split<k>.txt files", str(splits_dir))
    class_names = sorted({c for c, _ in files})
    numbers = sorted({k for _, k in files})
    for name in class_names:
        for k in numbers:
            if (name, k) not in files:
                raise FileNotFoundError(
                    2, f"class {name!r} has no split-{k} file", str(splits_dir / f"{name}_test_split{k}.txt")
                )
    return class_names, numbers, files


def load(root: str | Path, splits: str | Path | None = None, *, missing: MissingPolicy = "error") -> pd.DataFrame:
    root = require_dir(root, "HMDB51 video root")
    if splits is None:
        splits_dir = first_existing_dir(
            [root.parent / "testTrainMulti_7030_splits", root / "testTrainMulti_7030_splits"],
            "HMDB51 split directory (testTrainMulti_7030_splits)",
        )
    else:
        splits_dir = require_dir(splits, "HMDB51 split directory (testTrainMulti_7030_splits)")
    class_names, numbers, files = find_split_files(splits_dir)
    label_of = {name: i for i, name in enumerate(class_names)}
    index = DirIndex()
    missing_log = MissingLog(missing)
    videos: dict[str, dict] = {}
    seen: dict[tuple[str, int], tuple[Path, int]] = {}

    for class_name in class_names:
        for number in numbers:
            path = files[class_name, number]
            lines = read_lines(path)
            if not lines:  # its videos still come in as split "unused", which would hide the gap
                log.warning(
                    "%s: split file is empty; class %r has no train or test video in split %d", path, class_name, number
                )
            for line, text in lines:
                tokens = text.rsplit(None, 1)
                if len(tokens) != 2:
                    raise SplitFileError(path, f"expected '<name>.avi <tag>', got {text!r}", line=line)
                name, tag = tokens
                if tag not in TAGS:
                    raise SplitFileError(path, f"tag {tag!r} must be 0 (unused), 1 (train) or 2 (test)", line=line)
                if "/" in name or "\\" in name:
                    raise SplitFileError(path, f"expected a bare file name, got {name!r}", line=line)
                folder = resolve_one(index, root, class_name, is_dir=True, path=path, line=line)
                disk_name = (
                    resolve_one(index, root / folder, name, is_dir=False, path=path, line=line)
                    if folder is not None
                    else None
                )
                if disk_name is None:
                    missing_log.add(
                        SplitFileError(path, f"video {class_name}/{name!r} not found under {root}", line=line)
                    )
                    continue
                video = f"{folder}/{disk_name}"
                if (video, number) in seen:
                    first_path, first_line = seen[video, number]
                    raise SplitFileError(
                        path, f"{video!r} is already listed for split {number} at {first_path}:{first_line}", line=line
                    )
                seen[video, number] = (path, line)
                row = videos.setdefault(video, {"video": video, "label": label_of[class_name], "class": class_name})
                row[f"split{number}"] = TAGS[tag]

    skipped = missing_log.finish()
    folded = {name.casefold(): name for name in class_names}
    for folder in index.subdirs(root):
        class_name = folded.get(folder.casefold())
        orphans = [n for n in index.videos(root / folder) if f"{folder}/{n}" not in videos]
        if orphans and class_name is None:
            log.warning(
                "%s: folder %r is not an HMDB51 class of %s; its videos are unlabelled", root, folder, splits_dir
            )
        for name in orphans:
            video = f"{folder}/{name}"
            videos[video] = {"video": video, "label": label_of.get(class_name), "class": class_name or ""}
    return build_manifest(videos.values(), [f"split{k}" for k in numbers], dataset="hmdb51", root=root, missing=skipped)
