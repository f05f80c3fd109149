"""Plain-folder adapter: every video under ``root`` (recursive), unlabelled.

Extensions (case-insensitive): .avi .mp4 .mkv .webm .mov .mpg. Hidden files
and directories (leading ``.``, e.g. macOS ``._x.mp4`` resource forks) are
skipped. Directory symlinks are followed once each (a loop is not re-entered).
A directory that cannot be listed, or a name with whitespace after its video
extension, is skipped with a warning naming it.
There are no split columns.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from vssl.data.datasets.common import MissingPolicy, build_manifest, require_dir, video_names, warn_unreadable


def load(root: str | Path, splits: str | Path | None = None, *, missing: MissingPolicy = "error") -> pd.DataFrame:
    root = require_dir(root, "video folder")
    if splits is not None:
        raise ValueError(f"the 'folder' dataset has no split files; got splits={splits!r}")
    rows = []
    visited: set[tuple[int, int]] = set()
    for directory, subdirs, files in os.walk(root, followlinks=True, onerror=warn_unreadable):
        stat = os.stat(directory)
        if (stat.st_dev, stat.st_ino) in visited:
            subdirs.clear()
            continue
        visited.add((stat.st_dev, stat.st_ino))
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        relative = Path(directory).relative_to(root)
        for name in video_names(Path(directory), files):
            rows.append({"video": (relative / name).as_posix(), "label": None, "class": ""})
    return build_manifest(rows, [], dataset="folder", root=root)
