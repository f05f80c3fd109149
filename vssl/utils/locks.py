"""Exclusive, non-blocking ``flock`` locks that name their holder (GPU slots, store writers, `make run`).

A lock belongs to the open file description: the kernel drops it when the holder exits, even after
``kill -9``, so a dead holder never leaves a lock behind. The file's content (pid and host) is only
for the message that names the holder.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path


def try_lock(path: str | os.PathLike, mode: int = 0o644) -> int | None:
    """The descriptor holding the lock on ``path``, or None while another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {os.uname().nodename}\n".encode(), 0)
    return fd


def holder(path: str | os.PathLike) -> str:
    """The pid recorded by the process that holds (or last held) the lock on ``path``."""
    try:
        return Path(path).read_text().split()[0]
    except (OSError, IndexError):
        return "unknown"
