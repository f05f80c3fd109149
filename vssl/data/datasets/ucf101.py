"""UCF101 adapter: ``UCF-101/<Class>/v_<Class>_gGG_cCC.avi`` + ``ucfTrainTestlist``.

Official list formats (``ucfTrainTestlist``):

- ``classInd.txt``: ``<id> <Class>`` with 1-based ids; the manifest's label is
  ``id - 1``.
- ``trainlistNN.txt``: ``<Class>/<file>.avi <id>``.
- ``testlistNN.txt``: ``<Class>/<file>.avi``. Some redistributed copies append
  the id; when present it is checked like a train line's.

Quirks handled:

- The ``HandstandPushups`` folder holds ``v_HandStandPushups_*`` files. List
  paths are resolved against the real directory listing, exact name first,
  then a case-insensitive match inside the class folder; the manifest stores
  the name as it is on disk. The label always comes from classInd through the
  *folder* name, never from the file name.
- CRLF endings, trailing spaces, blank lines, backslash separators.
- Videos on disk but in no split's lists are kept with split ``unused``.

Split columns are ``split<k>`` for every ``k`` with both a train and a test
list (1..3 in the release).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

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
    require_file,
    resolve_one,
)

LIST_NAME = re.compile(r"^(train|test)list0*([1-9][0-9]*)\.txt$", re.IGNORECASE)


class ClassIndex:
    """classInd.txt: exact and case-insensitive lookup of class names to 0-based ids."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.names: list[str] = []
        by_id: dict[int, tuple[str, int]] = {}
        self._exact: dict[str, int] = {}
        self._folded: dict[str, str] = {}
        for line, text in read_lines(path):
            tokens = text.split()
            if len(tokens) != 2:
                raise SplitFileError(path, f"expected '<id> <ClassName>', got {text!r}", line=line)
            raw_id, name = tokens
            try:
                class_id = int(raw_id)
            except ValueError:
                raise SplitFileError(path, f"class id {raw_id!r} is not an integer", line=line) from None
            if class_id in by_id:
                raise SplitFileError(path, f"class id {class_id} already used at line {by_id[class_id][1]}", line=line)
            if name.casefold() in self._folded:
                raise SplitFileError(path, f"class {name!r} listed twice", line=line)
            by_id[class_id] = (name, line)
            self._folded[name.casefold()] = name
        if not by_id:
            raise SplitFileError(path, "no classes listed")
        expected = list(range(1, len(by_id) + 1))
        if sorted(by_id) != expected:
            gap = next(i for i in expected if i not in by_id)
            raise SplitFileError(path, f"class ids must be 1..{len(by_id)}; id {gap} is missing")
        self.names = [by_id[i][0] for i in expected]
        self._exact = {name: i for i, name in enumerate(self.names)}

    def lookup(self, name: str) -> tuple[str, int] | None:
        """(classInd spelling, 0-based id), exact first, then case-insensitive."""
        if name in self._exact:
            return name, self._exact[name]
        canonical = self._folded.get(name.casefold())
        return (canonical, self._exact[canonical]) if canonical is not None else None


def find_split_lists(splits_dir: Path) -> dict[int, dict[str, Path]]:
    """``{k: {"train": path, "test": path}}`` for every split number with list files."""
    found: dict[int, dict[str, Path]] = {}
    for entry in sorted(splits_dir.iterdir()):
        match = LIST_NAME.match(entry.name)
        if match and entry.is_file():
            kind, number = match.group(1).lower(), int(match.group(2))
            if kind in found.setdefault(number, {}):
                raise SplitFileError(entry, f"duplicate {kind} list for split {number}: {found[number][kind]}")
            found[number][kind] = entry
    for number, kinds in sorted(found.items()):
        for kind in ("train", "test"):
            if kind not in kinds:
                raise FileNotFoundError(
                    2, f"split {number} has no {kind} list", str(splits_dir / f"{kind}list{number:02d}.txt")
                )
    if not found:
        raise FileNotFoundError(2, "no trainlistNN.txt/testlistNN.txt files", str(splits_dir))
    return found


def load(root: str | Path, splits: str | Path | None = None, *, missing: MissingPolicy = "error") -> pd.DataFrame:
    root = require_dir(root, "UCF101 video root (the UCF-101 directory)")
    if splits is None:
        splits_dir = first_existing_dir(
            [root.parent / "ucfTrainTestlist", root / "ucfTrainTestlist"], "UCF101 split directory (ucfTrainTestlist)"
        )
    else:
        splits_dir = require_dir(splits, "UCF101 split directory (ucfTrainTestlist)")
    classes = ClassIndex(require_file(splits_dir / "classInd.txt", "UCF101 classInd.txt"))
    lists = find_split_lists(splits_dir)
    index = DirIndex()
    missing_log = MissingLog(missing)
    videos: dict[str, dict] = {}  # on-disk relative path -> manifest row
    seen: dict[tuple[str, int], tuple[Path, int]] = {}  # (video, split) -> where it was listed

    for number, kinds in sorted(lists.items()):
        column = f"split{number}"
        for kind in ("train", "test"):
            path = kinds[kind]
            for line, text in read_lines(path):
                tokens = text.split()
                if len(tokens) != 2 and not (kind == "test" and len(tokens) == 1):
                    form = "'<Class>/<file> <id>'" if kind == "train" else "'<Class>/<file>' (optionally '<id>')"
                    raise SplitFileError(path, f"expected {form}, got {text!r}", line=line)
                parts = [p for p in PurePosixPath(tokens[0].replace("\\", "/")).parts if p != "."]
                if len(parts) != 2:
                    raise SplitFileError(path, f"expected a '<Class>/<file>' path, got {tokens[0]!r}", line=line)
                folder, filename = parts
                known = classes.lookup(folder)
                if known is None:
                    raise SplitFileError(path, f"unknown class {folder!r} (not in {classes.path})", line=line)
                class_name, label = known
                if len(tokens) == 2:
                    try:
                        listed = int(tokens[1])
                    except ValueError:
                        raise SplitFileError(path, f"class id {tokens[1]!r} is not an integer", line=line) from None
                    if listed != label + 1:
                        raise SplitFileError(
                            path,
                            f"class id {listed} disagrees with {classes.path.name}, "
                            f"which gives {class_name!r} id {label + 1}",
                            line=line,
                        )
                disk_folder = resolve_one(index, root, folder, is_dir=True, path=path, line=line)
                disk_file = (
                    resolve_one(index, root / disk_folder, filename, is_dir=False, path=path, line=line)
                    if disk_folder is not None
                    else None
                )
                if disk_file is None:
                    missing_log.add(SplitFileError(path, f"video {tokens[0]!r} not found under {root}", line=line))
                    continue
                video = f"{disk_folder}/{disk_file}"
                if (video, number) in seen:
                    first_path, first_line = seen[video, number]
                    raise SplitFileError(
                        path, f"{video!r} is already listed for split {number} at {first_path}:{first_line}", line=line
                    )
                seen[video, number] = (path, line)
                row = videos.setdefault(video, {"video": video, "label": label, "class": class_name})
                row[column] = kind

    skipped = missing_log.finish()
    for folder in index.subdirs(root):
        orphans = [n for n in index.videos(root / folder) if f"{folder}/{n}" not in videos]
        known = classes.lookup(folder)
        if orphans and known is None:
            log.warning("%s: folder %r is not a class of %s; its videos are unlabelled", root, folder, classes.path)
        for name in orphans:
            video = f"{folder}/{name}"
            videos[video] = {"video": video, "label": known[1] if known else None, "class": known[0] if known else ""}
    return build_manifest(
        videos.values(), [f"split{k}" for k in sorted(lists)], dataset="ucf101", root=root, missing=skipped
    )
