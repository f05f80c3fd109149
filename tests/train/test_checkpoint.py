"""Checkpoint integrity, weights-only loading, RNG round trips and model rebuilding."""

from __future__ import annotations

import collections
import io
import json
import random

import numpy as np
import pytest
import torch

from vssl.train.checkpoint import (
    CheckpointError,
    load_backbone,
    load_checkpoint,
    load_classifier,
    load_pretext_model,
    save_checkpoint,
    sidecar_path,
    verify_checkpoint,
)
from vssl.train.rng import capture_rng_state, restore_rng_state


def _state() -> dict:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    return {
        "weights": {"backbone": model.state_dict(), "head": None},
        "optimizer": opt.state_dict(),
        "progress": {"step": 3, "epoch": 0, "batch_in_epoch": 3},
        "config": {"lr": 0.1, "milestones": [1, 2]},
    }


def test_round_trip_and_plain_weights_only_load(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _state())
    loaded = load_checkpoint(path)
    assert loaded["progress"]["step"] == 3
    assert loaded["format"] == "vssl-checkpoint"
    assert len(loaded["sha256"]) == 64 and loaded["sha256"] == verify_checkpoint(path)
    # The raw file is a plain torch.save archive that the weights-only unpickler accepts.
    raw = torch.load(path, weights_only=True)
    assert torch.equal(raw["weights"]["backbone"]["weight"], loaded["weights"]["backbone"]["weight"])
    record = json.loads(sidecar_path(path).read_text())
    assert record["size"] == path.stat().st_size


def test_truncated_checkpoint_is_named(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _state())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match=r"a\.pt: checkpoint is truncated"):
        load_checkpoint(path)


def test_tampered_checkpoint_is_named(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _state())
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"a\.pt: SHA-256 mismatch"):
        load_checkpoint(path)


def test_missing_sidecar_refuses(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", _state())
    sidecar_path(path).unlink()
    with pytest.raises(CheckpointError, match="sidecar"):
        load_checkpoint(path)


def test_interrupted_save_keeps_previous_payload_loadable(tmp_path):
    path = tmp_path / "a.pt"
    save_checkpoint(path, _state())
    old = path.read_bytes()
    state = _state()
    state["progress"]["step"] = 9
    save_checkpoint(path, state)
    # Simulate a crash between the sidecar replace and the payload rename.
    path.write_bytes(old)
    assert load_checkpoint(path)["progress"]["step"] == 3


def test_non_plain_values_rejected_before_writing(tmp_path):
    with pytest.raises(TypeError, match=r"state\['x'\] is a collections.Counter"):
        save_checkpoint(tmp_path / "b.pt", {"x": collections.Counter(a=1)})
    with pytest.raises(TypeError, match=r"numpy.float32"):
        save_checkpoint(tmp_path / "b.pt", {"x": {"y": np.float32(1.0)}})
    assert not (tmp_path / "b.pt").exists()


def test_foreign_file_rejected(tmp_path):
    path = tmp_path / "f.pt"
    buf = io.BytesIO()
    torch.save({"hello": 1}, buf)
    path.write_bytes(buf.getvalue())
    import hashlib

    sidecar_path(path).write_text(
        json.dumps({"size": len(buf.getvalue()), "sha256": hashlib.sha256(buf.getvalue()).hexdigest()})
    )
    with pytest.raises(CheckpointError, match="not a vssl checkpoint"):
        load_checkpoint(path)


def test_rng_state_round_trip_through_checkpoint(tmp_path):
    gen = torch.Generator().manual_seed(5)
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    save_checkpoint(tmp_path / "r.pt", {"rng": capture_rng_state(gen)})
    first = (random.random(), float(np.random.rand()), torch.rand(2).tolist(), torch.rand(2, generator=gen).tolist())
    restore_rng_state(load_checkpoint(tmp_path / "r.pt")["rng"], gen)
    second = (random.random(), float(np.random.rand()), torch.rand(2).tolist(), torch.rand(2, generator=gen).tolist())
    assert first == second


def _model_state(kind: str) -> tuple[dict, torch.nn.Module, torch.nn.Module]:
    from vssl.models import LinearClassifier, MultiHead, get_model

    kwargs = {"width": 0.125, "small_input": True}
    backbone = get_model("r3d_10", **kwargs)
    if kind == "finetune":
        head = LinearClassifier(backbone.out_features, 5)
        head_spec = {"type": "LinearClassifier", "kwargs": {"in_features": backbone.out_features, "num_classes": 5}}
    else:
        head = MultiHead(backbone.out_features, {"rotation": 4}, hidden=8)
        head_spec = {
            "type": "MultiHead",
            "kwargs": {"in_features": backbone.out_features, "heads": {"rotation": 4}, "hidden": 8},
        }
    state = {
        "kind": kind,
        "model": {"backbone": {"name": "r3d_10", "kwargs": kwargs}, "head": head_spec},
        "weights": {"backbone": backbone.state_dict(), "head": head.state_dict()},
        "progress": {"step": 7, "epoch": 1, "batch_in_epoch": 0},
        "pretext": {"name": "rotation", "params": {}} if kind == "pretrain" else None,
        "seed": 11,
        "config": {"clip_length": 8},
    }
    return state, backbone.eval(), head.eval()


def test_load_backbone_and_models_rebuild_from_spec(tmp_path):
    state, backbone, head = _model_state("pretrain")
    path = save_checkpoint(tmp_path / "p.pt", state)
    x = torch.randn(2, 3, 8, 16, 16)
    rebuilt, meta = load_backbone(path)
    assert torch.equal(rebuilt(x), backbone(x))
    assert meta["step"] == 7 and meta["seed"] == 11 and meta["pretext"]["name"] == "rotation"
    model, _ = load_pretext_model(path)
    assert torch.equal(model(x)["rotation"], head(backbone(x))["rotation"])
    with pytest.raises(CheckpointError, match="not a finetuned classifier"):
        load_classifier(path)

    state, backbone, head = _model_state("finetune")
    path = save_checkpoint(tmp_path / "f.pt", state)
    model, meta = load_classifier(path)
    assert torch.equal(model(x), head(backbone(x)))
    assert meta["kind"] == "finetune"
