"""`vssl eval-rotation` and `vssl attention`: bookkeeping with known answers, maps by hand, files written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from store_support import write_store
from torch import nn

from vssl.cli import main as vssl_main
from vssl.data.clips import ClipDataset, EvenlySpaced
from vssl.eval.attention import kernel_grid, kernel_slices, mean_activation_map, rotation_attention, upsample_maps
from vssl.eval.features import ClipTransform
from vssl.eval.rotation import (
    RotationTask,
    angular_distance,
    nearest_angle_label,
    rotation_scores,
    rotation_task,
    summarize_rotation,
)
from vssl.kernels.augment import KINETICS_MEAN, KINETICS_STD
from vssl.kernels.pretext import build_pretext
from vssl.models import LinearClassifier, MultiHead, get_model
from vssl.train.checkpoint import save_checkpoint

H = W = 32
T = 12
COMMON = ["--workers", "0", "--no-progress", "--batch-size", "8"]


def marker_frames(seed: int) -> np.ndarray:
    """Dark noisy frames with a bright top-left square: its corner tells the rotation."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 40, size=(T, H, W, 3)).astype(np.uint8)
    frames[:, :10, :10] = 250
    return frames


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    videos = [
        {
            "key": f"c{i % 2}/v{i}.avi",
            "frames": marker_frames(i),
            "label": i % 2,
            "class": f"c{i % 2}",
            "split1": "train" if i < 3 else "test",
        }
        for i in range(4)
    ]
    return write_store(tmp_path_factory.mktemp("rot_store"), videos)


def _config() -> dict:
    return {"mean": list(KINETICS_MEAN), "std": list(KINETICS_STD), "clip_length": 8, "crop": 32, "modality": "rgb"}


def make_pretrain_checkpoint(path: Path, *, step: int, seed: int = 0, pretext: str = "rotation", **params) -> Path:
    torch.manual_seed(seed)
    kwargs = {"width": 0.125, "small_input": False}
    backbone = get_model("r3d_10", **kwargs)
    spec = build_pretext(pretext, crop_size=32, length=8, **params)
    head_kwargs = {
        "in_features": backbone.out_features,
        "heads": {name: n for name, (_, n) in spec.heads.items()},
        "hidden": 8,
    }
    head = MultiHead(**head_kwargs)
    save_checkpoint(
        path,
        {
            "kind": "pretrain",
            "model": {
                "backbone": {"name": "r3d_10", "kwargs": kwargs},
                "head": {"type": "MultiHead", "kwargs": head_kwargs},
            },
            "weights": {"backbone": backbone.state_dict(), "head": head.state_dict()},
            "progress": {"step": step, "epoch": 0},
            "pretext": spec.spec(),
            "classes": None,
            "seed": seed,
            "config": _config(),
            "metrics": {},
        },
    )
    return path


def make_finetune_checkpoint(path: Path, *, seed: int = 1) -> Path:
    torch.manual_seed(seed)
    kwargs = {"width": 0.125, "small_input": False}
    backbone = get_model("r3d_10", **kwargs)
    head_kwargs = {"in_features": backbone.out_features, "num_classes": 2}
    head = LinearClassifier(**head_kwargs)
    save_checkpoint(
        path,
        {
            "kind": "finetune",
            "model": {
                "backbone": {"name": "r3d_10", "kwargs": kwargs},
                "head": {"type": "LinearClassifier", "kwargs": head_kwargs},
            },
            "weights": {"backbone": backbone.state_dict(), "head": head.state_dict()},
            "progress": {"step": 5, "epoch": 1},
            "pretext": None,
            "classes": ["c0", "c1"],
            "seed": seed,
            "config": _config(),
            "metrics": {},
        },
    )
    return path


# --------------------------------------------------------------------------- rotation bookkeeping


class CornerOracle(nn.Module):
    """Reads the rotation from where the bright corner went (rot90 is counter-clockwise)."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        q = x.shape[-1] // 4
        corners = [x[..., :q, :q], x[..., -q:, :q], x[..., -q:, -q:], x[..., :q, -q:]]  # TL, BL, BR, TR
        return {"rotation": torch.stack([c.mean(dim=(1, 2, 3, 4)) for c in corners], dim=1) * 10}


class AlwaysZero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([5.0, 0.0, 0.0, 0.0]).expand(x.shape[0], 4)


def _right_angle_task() -> RotationTask:
    return RotationTask("rotation", (0.0, 90.0, 180.0, 270.0), "classification", (32, 32), "rgb", 8)


@pytest.mark.parametrize("num_clips", [1, 3])
def test_rotation_scores_known_answers(store, num_clips):
    dataset = ClipDataset(store, sampler=EvenlySpaced(num_clips=num_clips, length=8))
    transform = ClipTransform(crop=32)
    task = _right_angle_task()
    oracle = summarize_rotation(
        rotation_scores(
            CornerOracle(), task, dataset, clip_transform=transform, device=torch.device("cpu"), batch_size=5
        ),
        task.angles,
    )
    assert oracle["accuracy"] == 100.0 and oracle["clip_accuracy"] == 100.0
    assert oracle["n_videos"] == 4 and oracle["n_tests"] == 16
    assert all(oracle[f"acc_{a}"] == 100.0 for a in (0, 90, 180, 270))
    assert oracle["confusion"] == (np.eye(4, dtype=int) * 4).tolist()

    constant = summarize_rotation(
        rotation_scores(
            AlwaysZero(), task, dataset, clip_transform=transform, device=torch.device("cpu"), batch_size=3
        ),
        task.angles,
    )
    assert constant["accuracy"] == 25.0 and constant["clip_accuracy"] == 25.0
    assert [constant[f"acc_{a}"] for a in (0, 90, 180, 270)] == [100.0, 0.0, 0.0, 0.0]
    assert [row[0] for row in constant["confusion"]] == [4, 4, 4, 4]


def test_angle_helpers():
    np.testing.assert_allclose(angular_distance([350.0, 10.0, 180.0], [10.0, 350.0, 0.0]), [20.0, 20.0, 180.0])
    angles = (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0)
    np.testing.assert_array_equal(nearest_angle_label(np.array([359.0, 44.0, 100.0, 200.0]), angles), [0, 1, 2, 4])


def test_rotation_task_from_pretext_specs():
    task = rotation_task(build_pretext("rotation", angles=(90, 180, 270), crop_size=32, length=8).spec())
    assert task.angles == (90.0, 180.0, 270.0) and task.kind == "classification" and task.crop_size == (32, 32)
    eight = rotation_task(build_pretext("rotation8", crop_size=32, length=8).spec())
    assert len(eight.angles) == 8 and eight.crop_rule == "inscribed"
    x = torch.randn(2, 3, 4, 32, 32)
    assert eight.rotate(x, 3).shape == x.shape
    regression = rotation_task(build_pretext("rotation360").spec(), angles=[0, 90])
    assert regression.kind == "regression" and regression.angles == (0.0, 90.0)
    with pytest.raises(SystemExit, match="is not a rotation pretext"):
        rotation_task(build_pretext("v3s").spec(), source="x.pt")


def test_eval_rotation_command_series(store, tmp_path):
    series = tmp_path / "run" / "checkpoints"
    make_pretrain_checkpoint(series / "step_20.pt", step=20, seed=2)
    make_pretrain_checkpoint(series / "step_10.pt", step=10, seed=1)
    out = tmp_path / "out"
    assert (
        vssl_main(
            [
                "eval-rotation",
                "--checkpoints",
                str(series / "step_*.pt"),
                "--store",
                str(store),
                "--per-video",
                *COMMON,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "rotation.csv")
    assert table["step"].tolist() == [10, 20] and (table["n_videos"] == 4).all() and (table["n_tests"] == 16).all()
    per_angle = table[["acc_0", "acc_90", "acc_180", "acc_270"]].mean(axis=1)
    np.testing.assert_allclose(table["accuracy"], per_angle)
    sha = hashlib.sha256((series / "step_10.pt").read_bytes()).hexdigest()
    assert table.loc[0, "sha256"] == sha
    per_video = pd.read_csv(out / "per_video_step_10.csv")
    assert len(per_video) == 4 and list(per_video.columns) == ["video", "pred_0", "pred_90", "pred_180", "pred_270"]
    metrics = json.loads((out / "metrics.json").read_text())
    confusion = metrics["details"][str(series / "step_20.pt")]["confusion"]
    assert np.asarray(confusion).sum() == 16


def test_eval_rotation_rejects_a_classifier(store, tmp_path, capfd):
    """A checkpoint error is a user's mistake: one line naming it, exit 2 (vssl.utils.errors)."""
    ckpt = make_finetune_checkpoint(tmp_path / "ft.pt")
    assert (
        vssl_main(
            ["eval-rotation", "--checkpoints", str(ckpt), "--store", str(store), *COMMON, "--out", str(tmp_path / "o")]
        )
        == 2
    )
    err = capfd.readouterr().err
    assert "not a pretext model" in err and "Traceback" not in err


# --------------------------------------------------------------------------- attention


def test_mean_activation_map_matches_hand_computation():
    torch.manual_seed(0)
    backbone = get_model("r3d_18", width=0.125, small_input=True).eval()
    x = torch.randn(2, 3, 8, 32, 32)
    conv, bn, relu = backbone.conv1[0], backbone.conv1[1], backbone.conv1[2]
    with torch.no_grad():
        by_hand = relu(bn(conv(x))).mean(dim=1)
    got = mean_activation_map(backbone, x)
    torch.testing.assert_close(got, by_hand)
    assert (got >= 0).all()


def test_rotation_attention_shapes_and_alignment():
    torch.manual_seed(0)
    backbone = get_model("r3d_10", width=0.125).eval()
    x = torch.randn(1, 3, 8, 32, 32)
    maps = rotation_attention(backbone, x, (0, 90, 180, 270))
    assert maps.shape == (4, 1, 8, 32, 32) and (maps >= 0).all()
    torch.testing.assert_close(maps[0], upsample_maps(mean_activation_map(backbone, x), (8, 32, 32)))
    with pytest.raises(ValueError, match="multiples of 90"):
        rotation_attention(backbone, x, (45,))


def test_kernel_grid_per_kernel_normalisation():
    weight = torch.randn(10, 3, 3, 5, 5)
    tiles = kernel_slices(weight)
    assert tiles.shape == (10, 5, 5, 3)
    np.testing.assert_allclose(tiles.reshape(10, -1).min(axis=1), 0.0, atol=1e-7)
    np.testing.assert_allclose(tiles.reshape(10, -1).max(axis=1), 1.0, atol=1e-7)
    # Middle temporal slice, min-max within the kernel.
    w = weight[4, :, 1]
    np.testing.assert_allclose(tiles[4], ((w - w.min()) / (w.max() - w.min())).permute(1, 2, 0).numpy(), atol=1e-6)
    grid = kernel_grid(weight)  # 10 kernels -> 4 columns x 3 rows of 5x5 tiles with 1px padding
    assert grid.shape == (3 * 6 + 1, 4 * 6 + 1, 3) and grid.min() >= 0 and grid.max() <= 1
    gray = kernel_slices(torch.randn(2, 1, 1, 7, 7))
    assert gray.shape == (2, 7, 7, 3) and np.allclose(gray[..., 0], gray[..., 2])


def test_attention_command_writes_figures_and_arrays(store, tmp_path):
    import matplotlib.image

    ssl = make_pretrain_checkpoint(tmp_path / "ssl.pt", step=3)
    sup = make_finetune_checkpoint(tmp_path / "sup.pt")
    out = tmp_path / "att"
    assert (
        vssl_main(
            [
                "attention",
                "--checkpoint",
                str(ssl),
                "--label",
                "3DRotNet",
                "--checkpoint",
                str(sup),
                "--label",
                "supervised",
                "--store",
                str(store),
                "--videos",
                "c1/v1.avi",
                "--crop",
                "32",
                "--frames-shown",
                "3",
                "--dpi",
                "40",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    index = pd.read_csv(out / "index.csv", keep_default_na=False)
    assert sorted(set(index["kind"])) == ["gradcam", "kernels", "rotation"] and len(index) == 6
    for name in index["file"]:
        assert (out / name).is_file()
    image = matplotlib.image.imread(out / "attention_c1_v1.avi.png")
    assert image.ndim == 3 and image.shape[0] > 0
    rot = np.load(out / "attention_c1_v1.avi.npz")
    assert rot["maps"].shape == (2, 4, 8, 32, 32) and (rot["maps"] >= 0).all()
    assert rot["frames"].shape == (4, 8, 32, 32, 3) and rot["frames"].dtype == np.uint8
    # The displayed frame of the unrotated clip still has its bright top-left marker; rotated by 90 it is bottom-left.
    assert rot["frames"][0, 0, :5, :5].mean() > 200 and rot["frames"][1, 0, -5:, :5].mean() > 200
    cam = np.load(out / "gradcam_c1_v1.avi.npz")
    assert cam["maps"].shape == (2, 8, 32, 32) and (cam["maps"] >= 0).all() and np.isfinite(cam["maps"]).all()
    assert cam["targets"][0].startswith("rotation=") and cam["targets"][1].startswith("class=")
    kernels = np.load(out / "kernels.npz")
    assert kernels["weight_0"].shape[:2] == (8, 3) and kernels["grid_0"].ndim == 3
    assert matplotlib.image.imread(out / "kernels.png").ndim == 3


def test_attention_kernels_only_needs_no_store(tmp_path):
    ckpt = make_finetune_checkpoint(tmp_path / "sup.pt")
    out = tmp_path / "k"
    assert (
        vssl_main(["attention", "--checkpoint", str(ckpt), "--maps", "kernels", "--dpi", "40", "--out", str(out)]) == 0
    )
    assert pd.read_csv(out / "index.csv", keep_default_na=False)["file"].tolist() == ["kernels.png", "kernels.npz"]
    with pytest.raises(SystemExit, match="needs --store"):
        vssl_main(["attention", "--checkpoint", str(ckpt), "--maps", "rotation", "--out", str(out)])
