"""Decoded frame stores shared by every fork of one process (the fork server of `make run`).

Each training job with ``--frame-cache-mb`` decodes every video it reads once and keeps the frames
for its epochs (`FrameStore`'s ``decoded_cache_mb``). In the embedded default that is 1-1.5 s of
JPEG decoding per finetune and about 4 s per pretraining on the Kinetics pool, paid again by each of
some 240 jobs that read the same few stores. `vssl.runtime.forkserver` instead calls
`share_store` before it forks such a job: the server decodes the store once into this module's
table and every later fork inherits the frames through copy-on-write memory, never copied, never
decoded again.

A child trusts a shared video only while its store file is the one that was decoded (inode, size
and modification time), so a rewritten store is read afresh. Videos that do not decode are left out;
their reads take the normal path, which names the bad frame. Decoding here uses numpy and the JPEG
library only, no torch operators: the server must not start torch's thread pool before it forks.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vssl.data import jpeg
from vssl.data.store import FrameStore, StoreError, store_file

# The server keeps at most this many decoded bytes for all stores together; past it, jobs decode
# their own frames as they would without the server.
LIMIT_BYTES = 2 * 2**30

Signature = tuple[int, int, int]
_TABLE: dict[str, dict[str, tuple[Signature, np.ndarray]]] = {}  # store root (real path) -> key -> frames


def _root(root: str | os.PathLike) -> str:
    return os.path.realpath(root)


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def shared_bytes() -> int:
    return sum(frames.nbytes for videos in _TABLE.values() for _, frames in videos.values())


def _decode_all(store: FrameStore, key: str) -> np.ndarray | None:
    """Every frame of ``key`` ``(N, H, W, 3)``, decoded as `FrameStore.read` decodes it; None if any fails."""
    try:
        n = store.num_frames(key)
        if n == 0:
            return None
        return np.stack([jpeg.decode(encoded) for encoded in store.read_encoded(key, np.arange(n))])
    except (StoreError, jpeg.JpegError, IndexError):
        return None


def _decoded_size(store: FrameStore, key: str) -> int:
    try:
        return store.num_frames(key) * int(np.prod(store.frame_size(key))) * 3
    except StoreError:
        return 0  # unreadable: _decode_all leaves it out


def share_store(root: str | os.PathLike, budget_bytes: int) -> int:
    """Decode the store at ``root`` into the shared table, if all of it fits ``budget_bytes``; bytes it holds.

    Called again (the server calls it for every job), it re-reads and re-decodes only the videos whose
    store file changed, and drops removed ones.
    """
    real = _root(root)
    held = _TABLE.get(real, {})
    store = FrameStore(real)
    try:
        current = {key: _signature(store_file(real, key)) for key in store.keys()}
        kept = {key: held[key] for key, signature in current.items() if key in held and held[key][0] == signature}
        changed = [key for key in current if key not in kept]
        total = sum(frames.nbytes for _, frames in kept.values()) + sum(_decoded_size(store, k) for k in changed)
        others = shared_bytes() - sum(frames.nbytes for _, frames in held.values())
        if total > budget_bytes or others + total > LIMIT_BYTES:
            _TABLE.pop(real, None)
            return 0
        videos = dict(kept)
        for key in changed:
            frames = _decode_all(store, key)
            if frames is not None and current[key] is not None:
                videos[key] = (current[key], frames)  # reads index (copy) out of it, never write into it
        _TABLE[real] = videos
        return sum(frames.nbytes for _, frames in videos.values())
    finally:
        store.close()


def share_for_job(argv: list[str], cwd: str) -> int:
    """The fork server's hook: share the ``--store`` of a job run with ``--frame-cache-mb`` (its budget)."""
    values = dict(zip(argv, argv[1:]))
    budget = float(values.get("--frame-cache-mb", 0))
    if budget <= 0 or "--store" not in values:
        return 0
    return share_store(os.path.join(cwd, values["--store"]), int(budget * 2**20))


def shared_video(root: str | os.PathLike, key: str) -> np.ndarray | None:
    """The shared frames of ``key`` if its store file is still the one decoded; else None."""
    videos = _TABLE.get(_root(root))
    if not videos or key not in videos:
        return None
    signature, frames = videos[key]
    return frames if _signature(store_file(root, key)) == signature else None


def clear() -> None:
    _TABLE.clear()
