"""vssl average (mean over splits), vssl curve (rot-F4b points) and provenance of eval-style metrics files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vssl.report import average as average_cmd
from vssl.report import curve as curve_cmd
from vssl.report.records import ReportError, metric_value, provenance

SHA = "ab" * 32


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_average_is_the_mean_with_joined_provenance(tmp_path: Path) -> None:
    files = [
        _write(
            tmp_path / f"s{i}.json",
            {"top1_video": v, "seed": 1, "checkpoint": f"run{i}/final.pt", "checkpoint_sha256": SHA},
        )
        for i, v in enumerate((0.5, 0.7, 0.9))
    ]
    result = average_cmd.average(files, "top1_video", seed=1)
    assert result["top1_video"] == pytest.approx(0.7)
    assert result["values"] == [0.5, 0.7, 0.9] and result["seed"] == 1
    assert result["checkpoint"] == "run0/final.pt;run1/final.pt;run2/final.pt"
    prov = provenance(result)
    assert prov["checkpoint"] == ";".join([SHA[:12]] * 3)
    assert prov["config"] == "run0/run.json;run1/run.json;run2/run.json"


def test_average_refuses_mixed_seeds(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", {"acc": 1.0, "seed": 0})
    b = _write(tmp_path / "b.json", {"acc": 2.0, "seed": 1})
    with pytest.raises(ReportError, match="different seeds"):
        average_cmd.average([a, b], "acc")


def test_average_command_writes_the_file(tmp_path: Path, capsys) -> None:
    import argparse

    a = _write(tmp_path / "a.json", {"acc": 0.25, "seed": 3})
    parser = argparse.ArgumentParser()
    average_cmd.add_arguments(parser)
    out = tmp_path / "out" / "metrics.json"
    assert average_cmd.run(parser.parse_args(["--inputs", str(a), "--metric", "acc*100", "--out", str(out)])) == 0
    assert json.loads(out.read_text())["acc"] == pytest.approx(25.0)
    missing = parser.parse_args(["--inputs", str(tmp_path / "nope.json"), "--metric", "acc", "--out", str(out)])
    assert average_cmd.run(missing) == 2
    assert "nope.json" in capsys.readouterr().err


def test_provenance_of_eval_commands_comes_from_their_models_list() -> None:
    data = {"seed": 2, "models": [{"kind": "checkpoint", "path": "results/pretrain/x/seed2/final.pt", "sha256": SHA}]}
    prov = provenance(data)
    assert prov == {
        **prov,
        "seed": "2",
        "checkpoint": SHA[:12],
        "checkpoint_path": "results/pretrain/x/seed2/final.pt",
        "config": "results/pretrain/x/seed2/run.json",
    }
    random = provenance({"seed": 0, "models": [{"kind": "random", "model": "c3d", "seed": 0, "label": "random c3d"}]})
    assert random["checkpoint"] == "random-init(c3d, seed 0)"
    step = provenance({"checkpoint": "results/pretrain/x/seed0/checkpoints/step_00000075.pt", "checkpoint_sha256": SHA})
    assert step["config"] == "results/pretrain/x/seed0/run.json"
    assert provenance({"config": "mine.yaml"})["config"] == "mine.yaml"


def test_metric_paths_may_index_lists() -> None:
    data = {"results": [{"accuracy": 91.5}, {"accuracy": 12.0}]}
    assert metric_value(data, "results.0.accuracy", Path("m.json")) == 91.5
    with pytest.raises(ReportError, match="no metric"):
        metric_value(data, "results.5.accuracy", Path("m.json"))


def test_curve_points_join_rotation_and_action_per_seed_and_step(tmp_path: Path) -> None:
    rotation = tmp_path / "rotation.csv"
    pd.DataFrame({"step": [20, 10], "accuracy": [80.0, 50.0], "checkpoint": ["c20", "c10"]}).to_csv(
        rotation, index=False
    )
    actions = [
        ("0", "10", _write(tmp_path / "a10.json", {"top1_video": 0.3})),
        ("0", "20", _write(tmp_path / "a20.json", {"top1_video": 0.4})),
    ]
    points = curve_cmd.curve_points([("0", rotation)], actions)
    assert points["step"].tolist() == [10, 20]
    assert points["action_acc"].tolist() == pytest.approx([30.0, 40.0])
    assert points["rotation_acc"].tolist() == [50.0, 80.0]
    with pytest.raises(ReportError, match="step 20"):
        curve_cmd.curve_points([("0", rotation)], actions[:1])
    with pytest.raises(ReportError, match="without a rotation accuracy"):
        curve_cmd.curve_points([("0", rotation)], actions + [("1", "10", actions[0][2])])


def test_curve_csv_is_what_the_figure_reads(tmp_path: Path) -> None:
    from vssl.report.figures import read_curve

    rotation = tmp_path / "rotation.csv"
    pd.DataFrame({"step": [10, 20], "accuracy": [50.0, 80.0], "checkpoint": ["c10", "c20"]}).to_csv(
        rotation, index=False
    )
    actions = [
        ("0", "10", _write(tmp_path / "a10.json", {"top1_video": 0.3})),
        ("0", "20", _write(tmp_path / "a20.json", {"top1_video": 0.4})),
    ]
    out = tmp_path / "points.csv"
    curve_cmd.curve_points([("0", rotation)], actions).to_csv(out, index=False)
    frame = read_curve(out)
    assert frame["action_acc"].tolist() == pytest.approx([30.0, 40.0])


def test_fusion_metrics_carry_the_inputs_seed_and_checkpoints(tmp_path: Path) -> None:
    from vssl.eval.fuse import input_provenance

    for name in ("rgb", "dif"):
        _write(
            tmp_path / name / "metrics.json",
            {"seed": 4, "checkpoint": f"{name}/final.pt", "checkpoint_sha256": SHA, "git_commit": "c" * 40},
        )
        (tmp_path / name / "scores.csv").write_text("video,label,pred,score_0\n")
    prov = input_provenance([tmp_path / "rgb" / "scores.csv", tmp_path / "dif"])
    assert prov == {
        "checkpoint": "rgb/final.pt;dif/final.pt",
        "checkpoint_sha256": f"{SHA};{SHA}",
        "seed": 4,
        "git_commit": "c" * 40,
    }
    # Without the test metrics beside the scores nothing is claimed.
    assert input_provenance([tmp_path / "elsewhere" / "scores.csv"]) == {}
