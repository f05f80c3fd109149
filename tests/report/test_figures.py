"""`vssl figure`: every figure kind renders a readable PNG and a PDF (and its data CSV where numeric)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_support import vssl
from PIL import Image

from vssl.report.figures import frame_indices, load_panels, panel_labels, read_curve
from vssl.report.records import ReportError


def assert_rendered(out: Path, stem: str) -> None:
    png, pdf = out / f"{stem}.png", out / f"{stem}.pdf"
    assert png.stat().st_size > 1000 and pdf.stat().st_size > 1000
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.width > 100 and image.height > 100
    assert pdf.read_bytes().startswith(b"%PDF")


def test_freeze_bars(tmp_path):
    args = []
    for level, base in [("C1", 60.0), ("C2", 63.0), ("C3", 61.0)]:
        for dataset, offset in [("UCF101", 0.0), ("HMDB51", -30.0)]:
            for seed in range(2):
                path = tmp_path / f"{level}_{dataset}_{seed}.json"
                path.write_text(json.dumps({"top1_video": base + offset + seed, "seed": seed}))
                args += ["--entry", level, dataset, "top1_video", str(path)]
    out = tmp_path / "figures"
    assert vssl("figure", "rot-F4a", *args, "--out-dir", str(out)) == 0
    assert_rendered(out, "rot-F4a")
    data = pd.read_csv(out / "rot-F4a.csv")
    c2 = data[(data["row"] == "C2") & (data["column"] == "UCF101")].iloc[0]
    assert c2["ours_mean"] == pytest.approx(63.5) and c2["n_seeds"] == 2
    assert list(dict.fromkeys(data["row"])) == ["C1", "C2", "C3"]


def test_suite_scatter_of_finetune_against_pretext_and_probe(tmp_path):
    args = []
    values = {"scratch": (None, 30.0, 20.0), "rotation": (60.0, 70.0, 40.0), "pace": (80.0, 50.0, 35.0)}
    for row, (pretext, finetune, probe) in values.items():
        for seed in range(2):
            scores = tmp_path / f"{row}_{seed}.json"
            scores.write_text(json.dumps({"accuracy": pretext, "chance": 25.0, "top1": probe + seed, "seed": seed}))
            tested = tmp_path / f"{row}_{seed}_test.json"
            tested.write_text(json.dumps({"top1_video": finetune + seed, "seed": seed}))
            if pretext is not None:
                args += [
                    "--entry",
                    row,
                    "pretext",
                    "accuracy",
                    str(scores),
                    "--entry",
                    row,
                    "chance",
                    "chance",
                    str(scores),
                ]
            args += [
                "--entry",
                row,
                "finetune",
                "top1_video",
                str(tested),
                "--entry",
                row,
                "probe",
                "top1",
                str(scores),
            ]
    out = tmp_path / "figures"
    assert vssl("figure", "suite-F1", *args, "--out-dir", str(out)) == 0
    assert_rendered(out, "suite-F1")
    data = pd.read_csv(out / "suite-F1.csv")
    cell = data[(data["row"] == "rotation") & (data["column"] == "finetune")].iloc[0]
    assert cell["ours_mean"] == 70.5 and cell["n_seeds"] == 2
    assert not ((data["row"] == "scratch") & (data["column"] == "pretext")).any()
    assert vssl("figure", "suite-F1", "--out-dir", str(out)) == 2  # no entries: a clear error


def test_rotation_vs_action_curve_from_metrics_files(tmp_path):
    lines = ["step,seed,rotation_acc,action_metrics"]
    for seed in ("0", "1"):
        for step, (rot, act) in enumerate([(60, 40), (70, 47), (78, 52), (85, 55)]):
            metrics = tmp_path / f"act_{seed}_{step}.json"
            metrics.write_text(json.dumps({"top1": (act + int(seed)) / 100}))
            lines.append(f"{step * 1000},{seed},{rot + int(seed)},{metrics}")
    curve = tmp_path / "curve.csv"
    curve.write_text("\n".join(lines) + "\n")
    out = tmp_path / "figures"
    assert vssl("figure", "rot-F4b", "--curve", str(curve), "--action-metric", "top1*100", "--out-dir", str(out)) == 0
    assert_rendered(out, "rot-F4b")
    data = pd.read_csv(out / "rot-F4b.csv")
    assert list(data.columns) == ["step", "seed", "rotation_acc", "action_acc"]
    assert data["action_acc"].iloc[-1] == pytest.approx(56.0)


def test_curve_errors_name_file_and_line(tmp_path):
    curve = tmp_path / "curve.csv"
    curve.write_text("step,rotation_acc,action_acc\n1,60,40\n2,seventy,45\n")
    with pytest.raises(ReportError, match=r"curve\.csv:3: step and rotation_acc must be numbers"):
        read_curve(curve)
    curve.write_text("step,rotation_acc\n1,60\n")
    with pytest.raises(ReportError, match="needs columns"):
        read_curve(curve)


def test_image_grid_from_png_and_attention_npz(tmp_path):
    rng = np.random.default_rng(0)
    png = tmp_path / "supervised.png"
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(png)
    # The arrays `vssl attention` writes: per-rotation attention of two models, and kernel grids.
    attention = tmp_path / "attention_v1.npz"
    np.savez(
        attention,
        frames=rng.integers(0, 255, (2, 6, 24, 24, 3), dtype=np.uint8),
        maps=rng.random((2, 2, 6, 24, 24)).astype(np.float32),
        rotations=np.array([0, 90]),
        labels=np.array(["self-supervised", "supervised"]),
        video=np.array("v1"),
    )
    kernels = tmp_path / "kernels.npz"
    np.savez(
        kernels,
        grid_0=rng.random((25, 25, 3)),
        grid_1=rng.random((25, 25, 3)),
        weight_0=rng.normal(size=(8, 3, 3, 7, 7)),
        labels=np.array(["self-supervised", "supervised"]),
    )
    out = tmp_path / "figures"
    assert (
        vssl(
            "figure",
            "rot-F5",
            "--images",
            str(kernels),
            str(png),
            "--labels",
            "kernels",
            "other",
            "--out-dir",
            str(out),
        )
        == 0
    )
    assert_rendered(out, "rot-F5")
    assert not (out / "rot-F5.csv").exists()  # not plotted from numbers
    assert vssl("figure", "rot-F1", "--images", str(attention), "--frames", "3", "--out-dir", str(out)) == 0
    assert_rendered(out, "rot-F1")
    panels = load_panels(attention, n_frames=3)
    assert [label for _, label in panels] == [
        "0° · self-supervised",
        "0° · supervised",
        "90° · self-supervised",
        "90° · supervised",
    ]
    assert panels[0][0].shape == (24, 72, 3) and 0 <= panels[0][0].min() and panels[0][0].max() <= 1
    assert panel_labels([["a", "b"], [""]], ["K", "P"], [kernels, png]) == ["K · a", "K · b", "P"]
    assert vssl("figure", "rot-F5", "--images", str(png), "--labels", "a", "b", "--out-dir", str(out)) == 2


def test_v3s_transform_grid(tmp_path, capsys):
    rng = np.random.default_rng(1)
    clips = {
        key: rng.integers(0, 255, (16, 28, 28 + 4 * i), dtype=np.uint8)[..., None].repeat(3, axis=-1)
        for i, key in enumerate(("original", "ss", "sp", "ts", "tp"))
    }
    npz = tmp_path / "clip.npz"
    np.savez(npz, **clips, ts_label=np.array("s=2"))
    out = tmp_path / "figures"
    assert vssl("figure", "v3s-F2", "--transforms", str(npz), "--frames", "4", "--out-dir", str(out)) == 0
    assert_rendered(out, "v3s-F2")
    del clips["tp"]
    np.savez(npz, **clips)
    assert vssl("figure", "v3s-F1", "--transforms", str(npz), "--out-dir", str(out)) == 2
    assert f"{npz}: missing arrays ['tp']" in capsys.readouterr().err


def test_frame_indices_and_wrong_kind(tmp_path):
    assert frame_indices(16, 4) == [0, 5, 10, 15]
    assert frame_indices(3, 8) == [0, 1, 2]
    assert vssl("figure", "rot-T2", "--out-dir", str(tmp_path)) == 2
