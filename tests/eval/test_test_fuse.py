"""`vssl test` (10-clip video-level protocol) on a tiny model, and `vssl fuse` on hand-made scores."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from train_support import make_store

from vssl.cli import main as vssl_main
from vssl.train.checkpoint import save_checkpoint

CLASSES = 3


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store") / "store", classes=CLASSES, per_class=4, frames=20, size=20)


def _classifier_checkpoint(path, modality: str) -> tuple:
    from vssl.models import LinearClassifier, get_model

    torch.manual_seed(0)
    kwargs = {"width": 0.125, "small_input": True}
    backbone = get_model("r3d_10", **kwargs)
    head = LinearClassifier(backbone.out_features, CLASSES)
    # Make the logits spread out so softmax scores are not all ~1/C.
    with torch.no_grad():
        head[-1].weight.mul_(50.0)
    mean, std = [0.45, 0.45, 0.45], [0.25, 0.25, 0.25]
    save_checkpoint(
        path,
        {
            "kind": "finetune",
            "model": {
                "backbone": {"name": "r3d_10", "kwargs": kwargs},
                "head": {
                    "type": "LinearClassifier",
                    "kwargs": {"in_features": backbone.out_features, "num_classes": CLASSES},
                },
            },
            "weights": {"backbone": backbone.state_dict(), "head": head.state_dict()},
            "progress": {"step": 1, "epoch": 0, "batch_in_epoch": 1},
            "classes": [f"Class{i}" for i in range(CLASSES)],
            "seed": 0,
            "config": {"clip_length": 8, "crop": 16, "modality": modality, "mean": mean, "std": std},
        },
    )
    return backbone.eval(), head.eval(), mean, std


def _expected_scores(store, video: str, backbone, head, mean, std, modality: str, clips: int) -> np.ndarray:
    """Independent reference: read the evenly spaced clips straight from the store, centre-crop, average softmax."""
    from vssl.data.store import FrameStore
    from vssl.kernels.augment import frame_difference, to_float

    fs = FrameStore(store)
    length = 8 + (modality == "dif")
    n = fs.num_frames(video)
    starts = np.floor(np.linspace(0, n - length, clips)).astype(int)
    frames = torch.stack([fs.read(video, list(range(s, s + length))) for s in starts])  # (N, T, H, W, C)
    frames = frames[:, :, 2:18, 2:18]  # centre 16 of 20
    x = to_float(frames, mean, std)
    if modality == "dif":
        x = frame_difference(x)
    with torch.no_grad():
        probs = torch.softmax(head(backbone(x)).double(), dim=1).numpy()
    return probs.mean(0)


@pytest.mark.parametrize("modality", ["rgb", "dif"])
def test_vssl_test_scores_and_accuracy(store, tmp_path, monkeypatch, modality):
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    ckpt = tmp_path / "model.pt"
    backbone, head, mean, std = _classifier_checkpoint(ckpt, modality)
    out = tmp_path / "test"
    assert (
        vssl_main(
            [
                "test",
                "--checkpoint",
                str(ckpt),
                "--store",
                str(store),
                "--out",
                str(out),
                "--clips",
                "3",
                "--workers",
                "0",
                "--device",
                "cpu",
                "--batch-size",
                "2",
                "--no-progress",
            ]
        )
        == 0
    )
    scores = pd.read_csv(out / "scores.csv")
    metrics = json.loads((out / "metrics.json").read_text())
    manifest = pd.read_csv(store / "manifest.csv")
    test_videos = sorted(manifest.loc[manifest["split1"] == "test", "video"])
    assert sorted(scores["video"]) == test_videos and metrics["n_videos"] == len(test_videos)
    probs = scores[[f"score_{i}" for i in range(CLASSES)]].to_numpy()
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert (scores["pred"].to_numpy() == probs.argmax(1)).all()
    assert metrics["top1_video"] == pytest.approx(float((scores["pred"] == scores["label"]).mean()))
    assert 0.0 <= metrics["top1_clip"] <= 1.0 and metrics["n_clips"] == 3 * len(test_videos)
    assert metrics["config"]["modality"] == modality and len(metrics["checkpoint_sha256"]) == 64
    assert metrics["backbone_params"] == sum(p.numel() for p in backbone.parameters())  # the params column's count
    for row in scores.itertuples():
        expected = _expected_scores(store, row.video, backbone, head, mean, std, modality, clips=3)
        np.testing.assert_allclose(probs[row.Index], expected, atol=1e-5)


def _write_scores(path, videos, labels, probs):
    frame = pd.DataFrame({"video": videos, "label": labels, "pred": np.asarray(probs).argmax(1)})
    for i in range(np.asarray(probs).shape[1]):
        frame[f"score_{i}"] = np.asarray(probs)[:, i]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def test_fuse_geometric_mean_known_answer(tmp_path):
    videos, labels = ["a", "b", "c"], [0, 1, 1]
    rgb = [[0.9, 0.05, 0.05], [0.4, 0.5, 0.1], [0.8, 0.1, 0.1]]
    dif = [[0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.01, 0.5, 0.49]]
    _write_scores(tmp_path / "rgb" / "scores.csv", videos, labels, rgb)
    # Same videos in another order: fusion aligns by video, not by row.
    order = [2, 0, 1]
    _write_scores(
        tmp_path / "dif" / "scores.csv", [videos[i] for i in order], [labels[i] for i in order], [dif[i] for i in order]
    )
    assert (
        vssl_main(
            [
                "fuse",
                "--scores",
                str(tmp_path / "rgb"),
                "--scores",
                str(tmp_path / "dif" / "scores.csv"),
                "--out",
                str(tmp_path / "fused"),
            ]
        )
        == 0
    )
    fused = pd.read_csv(tmp_path / "fused" / "scores.csv").set_index("video")
    geo = np.sqrt(np.asarray(rgb) * np.asarray(dif))
    geo /= geo.sum(1, keepdims=True)
    np.testing.assert_allclose(fused.loc[videos, ["score_0", "score_1", "score_2"]].to_numpy(), geo, rtol=1e-6)
    # Video c: the arithmetic mean would pick class 0 (0.405), the geometric mean picks class 1 (the label).
    assert fused.loc["c", "pred"] == 1
    metrics = json.loads((tmp_path / "fused" / "metrics.json").read_text())
    assert metrics["top1_fused"] == pytest.approx(1.0)
    assert sorted(metrics["top1_inputs"].values()) == pytest.approx([2 / 3, 2 / 3])
    assert metrics["n_videos"] == 3


def test_fuse_rejects_different_video_sets(tmp_path, capfd):
    def fuse(a, b):
        code = vssl_main(
            ["fuse", "--scores", str(tmp_path / a), "--scores", str(tmp_path / b), "--out", str(tmp_path / "o")]
        )
        return code, capfd.readouterr().err

    _write_scores(tmp_path / "a.csv", ["x", "y"], [0, 1], [[0.6, 0.4], [0.3, 0.7]])
    _write_scores(tmp_path / "b.csv", ["x", "z"], [0, 1], [[0.6, 0.4], [0.3, 0.7]])
    code, err = fuse("a.csv", "b.csv")
    assert code == 2 and re.search(r"video sets differ between .*a\.csv.*b\.csv.*'y'.*'z'", err)
    _write_scores(tmp_path / "c.csv", ["x", "y"], [1, 1], [[0.6, 0.4], [0.3, 0.7]])
    code, err = fuse("a.csv", "c.csv")
    assert code == 2 and "labels differ" in err
    (tmp_path / "bad.csv").write_text("video,label,score_0\nx,0,abc\n")
    code, err = fuse("a.csv", "bad.csv")
    assert code == 2 and re.search(r"bad\.csv:2: non-numeric score", err)
    assert not (tmp_path / "o").exists()


def test_vssl_test_refuses_tampered_checkpoint(store, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    ckpt = tmp_path / "model.pt"
    _classifier_checkpoint(ckpt, "rgb")
    with open(ckpt, "ab") as f:
        f.write(b"extra")
    code = vssl_main(
        [
            "test",
            "--checkpoint",
            str(ckpt),
            "--store",
            str(store),
            "--out",
            str(tmp_path / "t"),
            "--device",
            "cpu",
            "--workers",
            "0",
            "--no-progress",
        ]
    )
    assert code == 2 and "model.pt: checkpoint size" in capfd.readouterr().err
    assert not (tmp_path / "t" / "scores.csv").exists()
