"""`vssl frozen-eval`: one feature extraction, and the numbers of `retrieve`, `linear-probe` and `knn` run apart."""

from __future__ import annotations

import json

import pytest
from train_support import make_store

from vssl.cli import main as vssl_main


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_frozen_eval_equals_the_three_commands_run_apart(tmp_path):
    store = make_store(tmp_path / "store", classes=3, per_class=4, frames=12, size=20)
    model = ["--random-init", "--model", "r3d_10", "--width", "0.125", "--small-input", "--seed", "3"]
    clips = ["--num-clips", "2", "--clip-length", "8", "--no-resize", "--crop", "16", "--batch-size", "4"]
    common = ["--store", str(store), *model, *clips, "--workers", "0", "--device", "cpu", "--no-progress"]

    def run(command, out, *extra):
        assert vssl_main([command, *common, "--out", str(tmp_path / out), *extra]) == 0
        return json.loads((tmp_path / out / "metrics.json").read_text())

    both = run("frozen-eval", "frozen", "--k", "1", "3", "--vote", "weighted", "--retrieval-tap", "conv5_maxpool")
    retrieval = run("retrieve", "retrieve", "--tap", "conv5_maxpool")
    probe = run("linear-probe", "probe")
    knn = run("knn", "knn", "--k", "1", "3", "--vote", "weighted")
    assert both["topk"] == retrieval["topk"]
    assert both["probe"]["top1"] == probe["top1"] and both["probe"]["top5"] == probe["top5"]
    assert both["knn"]["top1"] == {str(k): v for k, v in knn["top1"].items()}
    assert both["n_train"] == 6 and both["n_test"] == 6 and both["git_commit"]
