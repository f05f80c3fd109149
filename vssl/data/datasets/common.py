"""Shared parsing helpers for the dataset adapters.

Everything here works on exact names from ``os.scandir`` listings and exact
path joins: video names in HMDB51 and Kinetics contain ``( ) ! # & ' [ ]``,
which a shell or an unescaped glob would mangle, so neither is ever used.
"""

from __future__ import annotations

import codecs
import errno
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

log = logging.getLogger("vssl.data.datasets")

VIDEO_EXTENSIONS: tuple[str, ...] = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg")
SPLIT_VALUES: tuple[str, ...] = ("train", "test", "unused")
BASE_COLUMNS: tuple[str, ...] = ("video", "label", "class")
MISSING_POLICIES: tuple[str, ...] = ("error", "skip")
MissingPolicy = Literal["error", "skip"]


class SplitFileError(ValueError):
    """A split/annotation file is malformed or names a video that is not on disk.

    The message starts with ``<file>:<line>`` (1-based) when the problem sits on
    one line of a text file, or ``<file>: <where>`` (e.g. ``split 3, pair 17``)
    for binary files such as ASLAN's ``View2.mat``.
    """

    def __init__(
        self, path: str | os.PathLike, message: str, line: int | None = None, where: str | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.where = where
        self.message = message
        location = f"{self.path}:{line}" if line is not None else str(self.path)
        if where:
            location = f"{location}: {where}"
        super().__init__(f"{location}: {message}")

    def __reduce__(self):  # keep it picklable across worker processes
        return (type(self), (self.path, self.message, self.line, self.where))


def check_policy(missing: str) -> MissingPolicy:
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    return missing  # type: ignore[return-value]


def not_found(what: str, path: str | os.PathLike) -> FileNotFoundError:
    """A FileNotFoundError whose message names the path (``str(e)`` shows it)."""
    return FileNotFoundError(errno.ENOENT, f"{what} not found", str(path))


def require_dir(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise not_found(what, path)
    return path


def require_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise not_found(what, path)
    return path


def first_existing_dir(candidates: Sequence[Path], what: str) -> Path:
    """The first candidate that is a directory, else an error listing all of them."""
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        errno.ENOENT, f"{what} not found (looked for {tried}); pass it explicitly", str(candidates[0])
    )


def read_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, text)`` for each non-blank line of a list file.

    Line numbers are 1-based and count blank lines, so they match an editor.
    CRLF/CR endings, a UTF-8 BOM and surrounding whitespace are tolerated.
    Bytes are decoded with ``os.fsdecode`` (UTF-8 + surrogateescape), the same
    decoding ``os.scandir`` applies to names on disk, so a name from a list
    compares equal to the directory entry even if it is not valid UTF-8.
    """
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    lines = []
    for number, raw in enumerate(data.splitlines(), start=1):
        text = os.fsdecode(raw).strip()
        if text:
            lines.append((number, text))
    return lines


def is_video_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def video_names(directory: Path, names: Iterable[str]) -> list[str]:
    """The video names among ``names`` (files of ``directory``), sorted.

    A name that is a video but for whitespace after its extension (``a.avi ``, a
    copy/paste slip) is skipped with a warning naming it, since the user meant it
    to be a video.
    """
    videos = []
    for name in names:
        if is_video_name(name):
            videos.append(name)
        elif name != name.rstrip() and is_video_name(name.rstrip()):
            log.warning(
                "skipped %r: whitespace after its video extension (rename the file to use it)", str(directory / name)
            )
    return sorted(videos)


def warn_unreadable(error: OSError) -> None:
    """Warn that a directory could not be listed: its videos are missing from the manifest."""
    log.warning(
        "skipped directory %s: cannot list it (%s); its videos are not in the manifest",
        error.filename,
        error.strerror or error,
    )


class DirIndex:
    """Cached directory listings with exact-then-case-insensitive name lookup.

    UCF101's ``HandstandPushups`` folder holds ``v_HandStandPushups_*`` files
    while list files may spell either; resolving against the real listing (not
    a glob, which is case-sensitive and treats ``[`` as syntax) finds the file
    on every filesystem and returns the name exactly as stored.
    """

    def __init__(self) -> None:
        self._cache: dict[Path, dict[str, bool]] = {}
        self._folded: dict[Path, dict[str, list[str]]] = {}

    def entries(self, directory: Path) -> dict[str, bool]:
        """Name -> is-directory for the entries of ``directory`` (empty if absent)."""
        listing = self._cache.get(directory)
        if listing is None:
            listing = {}
            try:
                with os.scandir(directory) as it:
                    for entry in it:
                        try:
                            listing[entry.name] = entry.is_dir()
                        except OSError:  # dangling symlink
                            listing[entry.name] = False
            except (FileNotFoundError, NotADirectoryError):
                pass
            except PermissionError as error:  # chmod 000: its videos count as absent, but say why
                warn_unreadable(error)
            self._cache[directory] = listing
        return listing

    def find(self, directory: Path, name: str, *, is_dir: bool) -> list[str]:
        """``[name]`` if it exists exactly, else every case-insensitive match (maybe none)."""
        listing = self.entries(directory)
        if listing.get(name) is is_dir:
            return [name]
        folded = self._folded.get(directory)
        if folded is None:  # built on the first miss only; most lookups are exact
            folded = self._folded[directory] = {}
            for entry in listing:
                folded.setdefault(entry.casefold(), []).append(entry)
        return sorted(n for n in folded.get(name.casefold(), ()) if listing[n] is is_dir)

    def subdirs(self, directory: Path) -> list[str]:
        return sorted(n for n, d in self.entries(directory).items() if d and not n.startswith("."))

    def videos(self, directory: Path) -> list[str]:
        return video_names(directory, (n for n, d in self.entries(directory).items() if not d))


def resolve_one(
    index: DirIndex,
    directory: Path,
    name: str,
    *,
    is_dir: bool,
    path: Path,
    line: int | None = None,
    where: str | None = None,
) -> str | None:
    """The on-disk spelling of ``name`` in ``directory``; None if absent; error if ambiguous."""
    matches = index.find(directory, name, is_dir=is_dir)
    if len(matches) > 1:
        raise SplitFileError(
            path,
            f"{name!r} matches several entries of {directory} that differ only in case: {matches}",
            line=line,
            where=where,
        )
    return matches[0] if matches else None


@dataclass
class MissingLog:
    """Collects listed-but-absent videos; raises or records them at the end.

    Collecting first (instead of raising on the first one) lets the error say
    how many are missing, which tells a wrong root (all) from a few dead links.
    """

    policy: MissingPolicy
    hint: str = ""
    errors: list[SplitFileError] = field(default_factory=list)

    def add(self, error: SplitFileError) -> None:
        self.errors.append(error)

    def finish(self) -> tuple[str, ...]:
        """Raise for the first missing video (policy "error") or return all messages."""
        if not self.errors:
            return ()
        first = self.errors[0]
        if self.policy == "error":
            total = f" ({len(self.errors)} listed videos are missing in total)" if len(self.errors) > 1 else ""
            raise SplitFileError(first.path, f"{first.message}{total}{self.hint}", line=first.line, where=first.where)
        log.warning("skipped %d listed videos that are not on disk (first: %s)", len(self.errors), first)
        return tuple(str(e) for e in self.errors)


def build_manifest(
    rows: Iterable[dict],
    split_columns: Sequence[str],
    *,
    dataset: str,
    root: Path,
    missing: tuple[str, ...] = (),
    extra_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """The manifest DataFrame: fixed column order and dtypes, rows sorted by video.

    ``label`` is pandas nullable ``Int64`` (NA when unlabelled), ``class`` is a
    string ("" when unlabelled). ``attrs`` carries the dataset name, root and
    the skipped-missing messages.
    """
    rows = sorted(rows, key=lambda r: r["video"])
    columns = [*BASE_COLUMNS, *split_columns, *extra_columns]
    data: dict[str, object] = {
        "video": pd.Series([r["video"] for r in rows], dtype=str),
        "label": pd.Series(pd.array([r.get("label") for r in rows], dtype="Int64")),
        "class": pd.Series([r.get("class") or "" for r in rows], dtype=str),
    }
    for name in split_columns:
        data[name] = pd.Series([r.get(name, "unused") for r in rows], dtype=str)
    for name in extra_columns:
        data[name] = [r.get(name) for r in rows]
    frame = pd.DataFrame(data, columns=columns)
    frame.attrs["dataset"] = dataset
    frame.attrs["root"] = str(root)
    frame.attrs["missing"] = missing
    return frame
