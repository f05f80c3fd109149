"""Checkpoints: atomic, integrity-checked, loadable with ``torch.load(weights_only=True)``.

A checkpoint is one ``torch.save`` file plus a sidecar ``<file>.integrity.json``
holding its size and SHA-256. Loading reads the file once, checks the size
(a truncated file is named as truncated), then the hash (a tampered or
corrupt file is named as such), and only then unpickles it with
``weights_only=True``. Nothing is ever loaded silently from a file that does
not match its sidecar.

Write order and the crash window: the payload is written to a temporary file
and hashed from disk (so the hash covers what actually landed), then the
sidecar is replaced atomically, then the payload is renamed over the target.
A crash between the two renames leaves a new sidecar beside the old payload;
the sidecar therefore also records the previous payload's size and hash, and a
file matching that previous record loads (with a warning). No window exists in
which a valid checkpoint becomes unloadable.

Everything stored is a plain container (dict/list/tuple), str/int/float/bool/
None or a tensor, so the weights-only unpickler accepts it. ``save_checkpoint``
checks this before writing and names the offending key.

Layout written by the training loops (``vssl.train.loop``)::

    {
      "format": "vssl-checkpoint", "format_version": 1,
      "kind": "pretrain" | "finetune",
      "model": {"backbone": {"name": str, "kwargs": dict},
                "head": {"type": str, "kwargs": dict} | None},
      "weights": {"backbone": state_dict, "head": state_dict | None},
      "optimizer": state_dict, "scaler": state_dict | None,
      "progress": {"step": int, "epoch": int, "batch_in_epoch": int, ...},
      "rng": {"python": ..., "numpy": ..., "torch": Tensor, "cuda": [Tensor], "kernel": Tensor},
      "pretext": {"name": str, "params": dict} | None,
      "classes": [str] | None,
      "seed": int, "config": dict, "metrics": dict,
    }
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vssl.utils.errors import UserError
from vssl.utils.io import atomic_path, atomic_write_json

FORMAT = "vssl-checkpoint"
FORMAT_VERSION = 1
SIDECAR_SUFFIX = ".integrity.json"

log = logging.getLogger(__name__)

_PLAIN_SCALARS = (str, int, float, bool, type(None), torch.dtype, torch.device, torch.Size)


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, truncated, tampered with, or not a vssl checkpoint."""


def sidecar_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _check_plain(obj: Any, where: str) -> None:
    """Raise TypeError naming the first value the weights-only unpickler would reject."""
    if isinstance(obj, torch.Tensor) or isinstance(obj, _PLAIN_SCALARS):
        return
    # Exact types only: subclasses such as collections.Counter or OrderedDict
    # subclasses pickle under their own class name, which weights_only refuses.
    if type(obj) in (dict,) or (type(obj).__name__ == "OrderedDict" and type(obj).__module__ == "collections"):
        for key, value in obj.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint key {where}[{key!r}] is a {type(key).__name__}, not str/int")
            _check_plain(value, f"{where}[{key!r}]")
        return
    if type(obj) in (list, tuple):
        for i, value in enumerate(obj):
            _check_plain(value, f"{where}[{i}]")
        return
    raise TypeError(
        f"checkpoint value {where} is a {type(obj).__module__}.{type(obj).__qualname__}; "
        "store only dict/list/tuple/str/int/float/bool/None/tensors so weights_only loading works"
    )


def _sha256_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _read_sidecar(path: Path) -> dict:
    side = sidecar_path(path)
    if not side.exists():
        raise CheckpointError(
            f"{path}: integrity sidecar {side.name} is missing; refusing to load an unverified checkpoint"
        )
    try:
        record = json.loads(side.read_text())
        int(record["size"])
        str(record["sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{side}: unreadable integrity sidecar ({exc})") from exc
    return record


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically with its size + SHA-256 sidecar.

    ``state`` must hold only plain containers, scalars and tensors (checked
    first; a TypeError names the offending key). Returns ``path``.
    """
    path = Path(path)
    state = dict(state)
    state.setdefault("format", FORMAT)
    state.setdefault("format_version", FORMAT_VERSION)
    _check_plain(state, "state")
    previous: dict | None = None
    side = sidecar_path(path)
    if path.exists() and side.exists():
        try:
            old = json.loads(side.read_text())
            previous = {"size": int(old["size"]), "sha256": str(old["sha256"])}
        except (ValueError, KeyError, TypeError):
            previous = None
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        size, sha = _sha256_file(tmp)
        record = {"file": path.name, "size": size, "sha256": sha, "format_version": FORMAT_VERSION}
        if previous is not None:
            record["previous"] = previous
        atomic_write_json(side, record)
    return path


def link_checkpoint(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Make ``target`` the same verified checkpoint as ``source`` (a hard link, a copy across devices).

    Used for ``selected.pt``: no second copy of the weights on disk, and ``target`` keeps its
    content when ``source`` is later rewritten (saves replace the file, they never write into it).
    """
    source, target = Path(source), Path(target)
    data_sha = verify_checkpoint(source)
    with atomic_path(target) as tmp:
        tmp.unlink()  # atomic_path created it; a link needs the name free
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        size = os.path.getsize(tmp)
        atomic_write_json(
            sidecar_path(target),
            {"file": target.name, "size": size, "sha256": data_sha, "format_version": FORMAT_VERSION},
        )
    return target


def verify_checkpoint(path: str | os.PathLike) -> str:
    """Check ``path`` against its sidecar without unpickling; return its SHA-256."""
    path = Path(path)
    data = _read_verified(path)
    return hashlib.sha256(data).hexdigest()


def _read_verified(path: Path) -> bytes:
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    record = _read_sidecar(path)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if len(data) == int(record["size"]) and sha == record["sha256"]:
        return data
    prev = record.get("previous")
    if prev and len(data) == int(prev["size"]) and sha == prev["sha256"]:
        # Crash between sidecar and payload rename: the old payload is intact.
        log.warning("%s: payload is the previous version (a save was interrupted); loading it", path)
        return data
    if len(data) < int(record["size"]):
        raise CheckpointError(
            f"{path}: checkpoint is truncated ({len(data)} bytes, expected {record['size']}); refusing to load it"
        )
    if len(data) != int(record["size"]):
        raise CheckpointError(
            f"{path}: checkpoint size {len(data)} bytes does not match its sidecar ({record['size']} bytes);"
            " refusing to load it"
        )
    raise CheckpointError(
        f"{path}: SHA-256 mismatch (file {sha[:16]}..., sidecar {str(record['sha256'])[:16]}...): "
        "the checkpoint is corrupt or was modified; refusing to load it"
    )


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """Verify size and SHA-256, then ``torch.load(..., weights_only=True)``.

    Raises CheckpointError (naming the file) for a missing, truncated,
    tampered or foreign file.
    """
    path = Path(path)
    data = _read_verified(path)
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as exc:  # the hash matched, so this is a foreign or incompatible file
        raise CheckpointError(f"{path}: cannot unpickle checkpoint with weights_only=True ({exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a vssl checkpoint"
            f" (format={state.get('format') if isinstance(state, dict) else type(state).__name__})"
        )
    if int(state.get("format_version", -1)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {state['format_version']} is newer than this vssl ({FORMAT_VERSION})"
        )
    state["sha256"] = hashlib.sha256(data).hexdigest()
    state["path"] = str(path)
    return state


# ---------------------------------------------------------------- model rebuild


def build_backbone(spec: Mapping[str, Any]) -> nn.Module:
    """Rebuild a backbone from ``{"name": ..., "kwargs": {...}}`` via the model registry."""
    from vssl.models import get_model

    return get_model(spec["name"], **dict(spec.get("kwargs", {})))


def build_head(spec: Mapping[str, Any]) -> nn.Module:
    """Rebuild a head from ``{"type": <class name in vssl.models.heads>, "kwargs": {...}}``."""
    from vssl.models import heads as head_module

    head_cls = getattr(head_module, spec["type"], None)
    if not (isinstance(head_cls, type) and issubclass(head_cls, nn.Module)):
        raise CheckpointError(f"unknown head type {spec['type']!r} (not an nn.Module in vssl.models.heads)")
    return head_cls(**dict(spec.get("kwargs", {})))


def _meta(state: dict) -> dict:
    keys = ("kind", "pretext", "classes", "seed", "config", "metrics", "model", "sha256", "path", "init")
    meta = {k: state.get(k) for k in keys}
    progress = state.get("progress") or {}
    meta["step"] = progress.get("step")
    meta["epoch"] = progress.get("epoch")
    meta["wall_time_s"] = progress.get("wall_time_s")  # training time up to this checkpoint
    return meta


def _load_into(module: nn.Module, weights: Mapping[str, torch.Tensor], path: str, what: str) -> None:
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: {what} weights do not fit the stored model spec: {exc}") from exc


def load_backbone(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the backbone from the stored spec, load its weights; return ``(backbone, meta)``.

    ``meta`` holds kind, pretext, step, epoch, seed, config, classes, model
    spec, sha256 and path. The backbone is returned in eval mode.
    """
    state = load_checkpoint(path, map_location=map_location)
    backbone = build_backbone(state["model"]["backbone"])
    _load_into(backbone, state["weights"]["backbone"], state["path"], "backbone")
    backbone.to(map_location).eval()
    return backbone, _meta(state)


def load_model(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild backbone + head and load both; return ``(model, meta)`` in eval mode.

    The model is a ``vssl.models.heads.PretextModel`` (``model(x) -> {head: logits}``)
    for pretraining checkpoints and a ``ClassifierModel`` (``model(x) -> logits``)
    for finetuned ones; ``model.backbone`` is the backbone either way.
    """
    from vssl.models.heads import ClassifierModel, PretextModel

    state = load_checkpoint(path, map_location=map_location)
    spec = state["model"]
    if spec.get("head") is None or state["weights"].get("head") is None:
        raise CheckpointError(f"{state['path']}: checkpoint holds no head")
    backbone = build_backbone(spec["backbone"])
    head = build_head(spec["head"])
    _load_into(backbone, state["weights"]["backbone"], state["path"], "backbone")
    _load_into(head, state["weights"]["head"], state["path"], "head")
    wrapper = ClassifierModel if state.get("kind") == "finetune" else PretextModel
    model = wrapper(backbone, head).to(map_location).eval()
    return model, _meta(state)


def load_classifier(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load a finetuned action classifier: ``model(x) -> (B, num_classes)`` logits, plus meta."""
    model, meta = load_model(path, map_location=map_location)
    if meta["kind"] != "finetune":
        raise CheckpointError(f"{meta['path']}: a {meta['kind']!r} checkpoint is not a finetuned classifier")
    return model, meta


def load_pretext_model(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load a pretrained backbone with its pretext head (``model(x) -> {head: logits}``), plus meta."""
    model, meta = load_model(path, map_location=map_location)
    if meta["kind"] != "pretrain":
        raise CheckpointError(f"{meta['path']}: a {meta['kind']!r} checkpoint is not a pretext model")
    return model, meta
