"""Feature extraction and the evaluation commands end to end on tiny hand-written frame stores.

Stores are written directly with the store writer: each class has one fixed
pattern (plus a moving bar), and test videos repeat their class's content, so
retrieval / k-NN / the probe have known answers even with a random network.
Models are R3D-10 at width 0.125 on 8x32x32 clips.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from store_support import write_store

from vssl.cli import main as vssl_main
from vssl.data.clips import ClipDataset, Strided
from vssl.eval.features import (
    ClipBatcher,
    ClipTransform,
    expand_checkpoint_args,
    extract_video_features,
    random_backbone,
)
from vssl.models import extract_features

H, W = 32, 40
MODEL = ["--random-init", "--model", "r3d_10", "--width", "0.125"]
CLIPS = ["--clip-length", "8", "--no-resize", "--crop", "32", "--workers", "0", "--batch-size", "8", "--no-progress"]


def class_frames(cls: int, t: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + cls)
    frames = np.repeat(rng.integers(0, 256, size=(1, H, W, 3)), t, axis=0).astype(np.uint8)
    for i in range(t):
        frames[i, :, (3 * i + 5 * cls) % W] = 255  # a moving bar: frames differ in time
    return frames


@pytest.fixture(scope="module")
def ucf_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ucf_store")
    videos = []
    for c in range(3):
        for name, split in (("a", "train"), ("b", "train"), ("t", "test")):
            videos.append(
                {
                    "key": f"C{c}/v_{name}.avi",
                    "frames": class_frames(c, 12),
                    "label": c,
                    "class": f"C{c}",
                    "split1": split,
                }
            )
    return write_store(root, videos)


def _model(seed: int = 0):
    backbone, _ = random_backbone("r3d_10", width=0.125, small_input=False, seed=seed)
    return backbone


# --------------------------------------------------------------------------- features


def test_clip_transform_shapes_crop_first_and_dif():
    clips = torch.randint(0, 256, (2, 9, H, W, 3), dtype=torch.uint8)
    rgb = ClipTransform(crop=32)(clips[:, :8])
    assert rgb.shape == (2, 3, 8, 32, 32) and rgb.dtype == torch.float32
    # The uint8 crop-first path equals crop-after-conversion.
    from vssl.kernels.augment import center_crop, to_float

    np.testing.assert_allclose(rgb, center_crop(to_float(clips[:, :8]), 32), atol=1e-6)
    resized = ClipTransform(resize=(48, 60), crop=40)(clips[:, :8])
    assert resized.shape == (2, 3, 8, 40, 40)
    dif = ClipTransform(crop=32, modality="dif")
    assert dif.frames_to_load(8) == 9
    assert dif(clips).shape == (2, 3, 8, 32, 32)
    with pytest.raises(ValueError, match="smaller than the 48px crop"):
        ClipTransform(crop=48)(clips)


def test_batcher_keeps_every_clip_with_its_owner():
    seen = []
    batcher = ClipBatcher(4, lambda x: x.clone(), lambda out, owners: seen.append((out, owners)))
    for video, n in enumerate((3, 1, 6, 2)):
        batcher.add(torch.full((n, 1), float(video)), np.full(n, video))
    batcher.finish()
    assert [len(o) for _, o in seen] == [4, 4, 4]
    out = torch.cat([x for x, _ in seen]).squeeze(1).numpy()
    owners = np.concatenate([o for _, o in seen])
    np.testing.assert_array_equal(out, owners)
    assert batcher.total == 12


def test_extract_video_features_averages_variable_clip_counts(tmp_path):
    videos = [
        {"key": "a.avi", "frames": class_frames(0, 12), "label": 0, "class": "a", "split1": "train"},
        {"key": "b.avi", "frames": class_frames(1, 20), "label": 1, "class": "b", "split1": "train"},
        {"key": "c.avi", "frames": class_frames(2, 8), "label": -1, "class": "", "split1": "train"},
    ]
    store = write_store(tmp_path, videos)
    dataset = ClipDataset(store, sampler=Strided(length=8, stride=4))
    backbone = _model()
    transform = ClipTransform(crop=32)
    results = [
        extract_video_features(backbone, dataset, taps=("pool3", "last_pool"), batch_size=bs, clip_transform=transform)
        for bs in (3, 64)
    ]
    feats, names, labels = results[0]
    assert names == ["a.avi", "b.avi", "c.avi"] and labels.tolist() == [0, 1, -1]
    # Reference: each video's clips through the backbone on their own, then averaged.
    for i in range(3):
        clips = dataset[i]["clip"]
        assert clips.shape[0] == {0: 2, 1: 4, 2: 1}[i]
        with torch.no_grad():
            ref = extract_features(backbone, transform(clips), ("pool3", "last_pool"))
        for tap in ("pool3", "last_pool"):
            np.testing.assert_allclose(feats[tap][i], ref[tap].double().mean(0).numpy(), rtol=1e-4, atol=1e-6)
    for other, _, _ in results[1:]:
        for tap in feats:
            np.testing.assert_allclose(other[tap], feats[tap], rtol=1e-4, atol=1e-6)
    normed, _, _ = extract_video_features(backbone, dataset, taps=("pool4",), clip_transform=transform, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(normed["pool4"], axis=1), 1.0)
    with pytest.raises(ValueError, match="pooled taps"):
        extract_video_features(backbone, dataset, taps=("conv1",), clip_transform=transform)


def test_expand_checkpoint_args_natural_order(tmp_path):
    for step in (10, 2, 100):
        (tmp_path / f"step_{step}.pt").write_bytes(b"x")
        (tmp_path / f"step_{step}.pt.integrity.json").write_text("{}")
    paths = expand_checkpoint_args([str(tmp_path / "step_*.pt*")])
    assert [p.name for p in paths] == ["step_2.pt", "step_10.pt", "step_100.pt"]
    with pytest.raises(SystemExit, match="no checkpoint matches"):
        expand_checkpoint_args([str(tmp_path / "none_*.pt")])
    with pytest.raises(SystemExit, match="missing.pt: checkpoint not found"):
        expand_checkpoint_args([str(tmp_path / "missing.pt")])


# --------------------------------------------------------------------------- commands


def test_retrieve_command(ucf_store, tmp_path):
    out = tmp_path / "retrieve"
    code = vssl_main(
        [
            "retrieve",
            "--store",
            str(ucf_store),
            *MODEL,
            "--num-clips",
            "2",
            *CLIPS,
            "--ks",
            "1",
            "5",
            "--save-features",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    table = pd.read_csv(out / "retrieval.csv")
    assert table["k"].tolist() == [1, 5] and table["k_effective"].tolist() == [1, 5]
    assert (table["n_queries"] == 3).all() and (table["n_gallery"] == 6).all()
    assert table["accuracy"].tolist() == [100.0, 100.0]  # queries repeat their class's content
    per_query = pd.read_csv(out / "per_query.csv")
    assert per_query["first_hit_rank"].tolist() == [1, 1, 1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["topk"] == {"1": 100.0, "5": 100.0}
    assert metrics["models"][0]["kind"] == "random" and metrics["seed"] == 0
    assert metrics["vssl_version"] and metrics["transform"]["num_clips"] == 2
    saved = np.load(out / "features_test.npz")
    assert saved["tap_last_pool"].shape[0] == 3 and saved["videos"].tolist() == per_query["video"].tolist()
    assert (out / "retrieve.log").is_file()


def test_retrieve_with_vcops_conv5_maxpool_tap_and_the_table_names_it(ucf_store, tmp_path):
    from vssl.report.records import collect_entries, resolve_entries
    from vssl.report.tables import _feature_taps

    out = tmp_path / "retrieve"
    code = vssl_main(
        [
            "retrieve",
            "--store",
            str(ucf_store),
            *MODEL,
            "--num-clips",
            "2",
            *CLIPS,
            "--ks",
            "1",
            "--tap",
            "conv5_maxpool",
            "--save-features",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    saved = np.load(out / "features_test.npz")
    # r3d_10 at width 0.125 ends in 64 channels; 8 x 32^2 clips leave a 1 x 2 x 2 map -> 1 x 1 x 1 after the pool
    assert saved["tap_conv5_maxpool"].shape == (3, 64)
    observations = resolve_entries(collect_entries([["v3s", "UCF101", "topk.1", str(out / "metrics.json")]], []))
    assert _feature_taps(observations) == ["conv5_maxpool"]


def test_retrieve_refuses_silently_missing_videos(ucf_store, tmp_path):
    manifest = pd.read_csv(ucf_store / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[manifest["video"] == "C1/v_t.avi", ["status", "reason"]] = ["failed", "corrupt"]
    bad = tmp_path / "manifest.csv"
    manifest.to_csv(bad, index=False)
    args = [
        "retrieve",
        "--store",
        str(ucf_store),
        "--manifest",
        str(bad),
        *MODEL,
        "--num-clips",
        "1",
        *CLIPS,
        "--ks",
        "1",
        "--out",
        str(tmp_path / "r"),
    ]
    with pytest.raises(SystemExit, match=r"manifest.csv: 1 video\(s\) of split1='test' failed extraction"):
        vssl_main(args)
    assert vssl_main(args + ["--allow-failed"]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["excluded_videos"]["query"] == ["C1/v_t.avi"] and metrics["n_queries"] == 2


def test_missing_manifest_is_named(tmp_path):
    (tmp_path / "frames").mkdir()
    with pytest.raises(SystemExit, match=r"manifest.csv: manifest not found"):
        vssl_main(["knn", "--store", str(tmp_path), *MODEL, *CLIPS, "--out", str(tmp_path / "o")])


def test_knn_and_linear_probe_commands(ucf_store, tmp_path):
    assert (
        vssl_main(["knn", "--store", str(ucf_store), *MODEL, *CLIPS, "--k", "1", "3", "--out", str(tmp_path / "knn")])
        == 0
    )
    knn = pd.read_csv(tmp_path / "knn" / "knn.csv")
    assert knn["k"].tolist() == [1, 3] and knn.loc[0, "top1"] == 100.0
    assert (knn["n_train"] == 6).all() and (knn["n_test"] == 3).all()

    assert vssl_main(["linear-probe", "--store", str(ucf_store), *MODEL, *CLIPS, "--out", str(tmp_path / "probe")]) == 0
    probe = pd.read_csv(tmp_path / "probe" / "linear_probe.csv")
    assert probe.loc[0, "top1"] == 100.0 and probe.loc[0, "n_train"] == 6
    predictions = pd.read_csv(tmp_path / "probe" / "predictions.csv")
    assert (predictions["label"] == predictions["predicted"]).all()
    metrics = json.loads((tmp_path / "probe" / "metrics.json").read_text())
    assert metrics["top1"] == 100.0 and metrics["command"] == "vssl linear-probe"


def test_aslan_command(tmp_path):
    import scipy.io

    n_splits = 4
    videos, pairs = [], np.zeros((4, 5, n_splits))
    video_id = 0
    for split in range(n_splits):
        ids = {}
        for action in (2 * split, 2 * split + 1):  # classes disjoint across splits
            for copy in range(2):
                video_id += 1
                ids[(action, copy)] = video_id
                videos.append(
                    {
                        "key": f"{video_id:04d}.avi",
                        "frames": class_frames(action, 12),
                        "id": video_id,
                        "label": action,
                        "class": str(action + 1),
                        "split": str(split + 1),
                    }
                )
        a, b = 2 * split, 2 * split + 1
        pairs[:, :, split] = [
            [ids[(a, 0)], ids[(a, 1)], 1, a + 1, a + 1],
            [ids[(b, 0)], ids[(b, 1)], 1, b + 1, b + 1],
            [ids[(a, 0)], ids[(b, 0)], 0, a + 1, b + 1],
            [ids[(a, 1)], ids[(b, 1)], 0, a + 1, b + 1],
        ]
    store = write_store(tmp_path / "aslan", videos)
    mat = tmp_path / "View2.mat"
    scipy.io.savemat(mat, {"action_splits_pairs": pairs})
    out = tmp_path / "out"
    assert (
        vssl_main(
            [
                "aslan",
                "--store",
                str(store),
                "--pairs",
                str(mat),
                *MODEL,
                *CLIPS,
                "--stride",
                "4",
                "--save-features",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    folds = pd.read_csv(out / "folds.csv")
    assert folds["split"].tolist() == [1, 2, 3, 4] and (folds["n_test"] == 4).all()
    summary = pd.read_csv(out / "aslan.csv").iloc[0]
    # Same pairs show identical content (all distances 0), not-same pairs do not: separable.
    assert summary["accuracy_mean"] == 100.0 and summary["auc_mean"] == 1.0
    assert summary["accuracy_se"] == 0.0 and summary["n_pairs"] == 16
    per_pair = pd.read_csv(out / "pairs.csv")
    assert (per_pair["predicted_same"] == per_pair["same"]).all()
    vectors = np.load(out / "pair_vectors.npz")
    assert vectors["vectors"].shape == (16, 36)
    feats = np.load(out / "features.npz")
    for layer in ("pool3", "pool4", "pool5"):
        np.testing.assert_allclose(np.linalg.norm(feats[f"tap_{layer}"], axis=1), 1.0)
    assert (out / "roc_pooled.csv").is_file()

    # A pair naming a video the store lacks is an error that names the pairs file.
    pairs[0, 0, 0] = 999
    scipy.io.savemat(mat, {"action_splits_pairs": pairs})
    with pytest.raises(SystemExit, match=r"View2.mat: 1 paired video id\(s\) are not in the store"):
        vssl_main(["aslan", "--store", str(store), "--pairs", str(mat), *MODEL, *CLIPS, "--out", str(out)])
