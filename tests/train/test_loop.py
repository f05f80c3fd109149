"""End-to-end pretraining/finetuning on a tiny store: every pretext family, init + freezing, few-shot, selection."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
import torch
from train_support import TINY_MODEL, make_store

from vssl.cli import main as vssl_main
from vssl.train.checkpoint import load_checkpoint, load_classifier, load_pretext_model
from vssl.train.selection import class_names, few_shot, holdout_split, random_subset


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store") / "store", classes=3, per_class=4, frames=24, size=20)


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def _common(store, out, *extra):
    return [
        "--store",
        str(store),
        "--out",
        str(out),
        *TINY_MODEL,
        "--clip-length",
        "8",
        "--crop",
        "16",
        "--workers",
        "0",
        "--device",
        "cpu",
        "--no-progress",
        "--log-every",
        "1",
        *extra,
    ]


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    "pretext,params,metric",
    [
        ("rotation", ["angles=[90, 180, 270]", "mode=random"], "acc_rotation"),
        ("rotation8", [], "acc_rotation"),
        ("rotation360", ["encoding=cos_sin"], "mae_rotation"),
        ("v3s", ["frame_size=24", "tp_patterns=[[1, 2], [2, 1]]"], "acc_temporal"),
    ],
)
def test_pretrain_each_pretext_family(store, tmp_path, pretext, params, metric):
    out = tmp_path / pretext
    args = ["pretrain", *_common(store, out, "--pretext", pretext, "--batch-size", "8", "--iterations", "2")]
    for p in params:
        args += ["--pretext-params", p]
    assert vssl_main(args) == 0
    rows = _rows(out / "metrics.csv")
    assert [r["step"] for r in rows] == ["1", "2"] and metric in rows[0]
    assert all(float(r["loss"]) == float(r["loss"]) for r in rows)  # finite numbers written
    model, meta = load_pretext_model(out / "final.pt")
    assert meta["pretext"]["name"] == pretext and meta["step"] == 2
    x = torch.randn(2, 3, 8, 16, 16)
    outputs = model(x)
    heads = {"rotation"} if pretext.startswith("rotation") else {"spatial", "temporal"}
    assert set(outputs) == heads
    if pretext == "rotation":
        assert outputs["rotation"].shape == (2, 3)
        # The paper's rotation head: 512 -> 64 -> K (here width-scaled features -> 64 -> K).
        assert meta["model"]["head"]["kwargs"]["hidden"] == 64
    if pretext == "rotation360":
        assert outputs["rotation"].shape == (2, 2)
    run = json.loads((out / "run.json").read_text())
    assert run["git_commit"] and run["torch_version"] == torch.__version__ and run["seed"] == 0


@pytest.mark.parametrize(
    "pretext,params,batch,head,inputs,outputs",
    [
        ("pace", ["speeds=[1, 2, 3]"], 4, "pace", 2, (2, 3)),
        ("vcop", ["interval=0", "tuple_len=3"], 6, "order", 6, (2, 6)),  # tuples of 3 clips
        ("contrastive", ["window=12", "dim=16"], 8, "contrastive", 6, (6, 16)),  # 4 clips x 2 views
        ("arrow", [], 4, "arrow", 2, (2, 2)),  # forward or backward
    ],
)
def test_pretrain_the_cited_pretexts(store, tmp_path, pretext, params, batch, head, inputs, outputs):
    """pace, VCOP and the contrastive baseline train through the same command, with a hold-out scored."""
    out = tmp_path / pretext
    args = [
        "pretrain",
        *_common(
            store,
            out,
            "--pretext",
            pretext,
            "--batch-size",
            str(batch),
            "--iterations",
            "2",
            "--holdout",
            "3",
            "--val-every",
            "1",
        ),
    ]
    for p in params:
        args += ["--pretext-params", p]
    assert vssl_main(args) == 0
    rows = _rows(out / "metrics.csv")
    train = [r for r in rows if r["phase"] == "train"]
    assert [r["step"] for r in train] == ["1", "2"]
    for r in rows:  # accuracies count targets (VCOP: one per tuple), so they stay within [0, 1]
        assert 0.0 <= float(r[f"acc_{head}"]) <= 1.0 and float(r["loss"]) == float(r["loss"])
    assert any(r["phase"] == "val" for r in rows)
    model, meta = load_pretext_model(out / "final.pt")
    assert meta["pretext"]["name"] == pretext
    result = model(torch.randn(inputs, 3, 8, 16, 16))
    assert (result[head] if isinstance(result, dict) else result).shape == outputs


def test_all_copies_batch_counts_network_inputs(store, tmp_path):
    out = tmp_path / "copies"
    assert vssl_main(["pretrain", *_common(store, out, "--batch-size", "8", "--iterations", "1")]) == 0
    run = json.loads((out / "run.json").read_text())
    # 12 videos, 8 inputs per step = 2 clips x 4 rotations -> 6 steps per epoch.
    assert run["batches_per_epoch"] == 6 and run["inputs_per_step"] == 8
    assert vssl_main(["pretrain", *_common(store, tmp_path / "bad", "--batch-size", "6", "--iterations", "1")]) == 2


def test_dif_epoch_schedule_and_kept_series(store, tmp_path):
    out = tmp_path / "dif"
    args = [
        "pretrain",
        *_common(
            store,
            out,
            "--modality",
            "dif",
            "--batch-size",
            "16",
            "--epochs",
            "3",
            "--schedule",
            "multistep",
            "--schedule-unit",
            "epoch",
            "--milestones",
            "2",
            "--lr",
            "0.1",
            "--keep-every",
            "2",
        ),
    ]
    assert vssl_main(args) == 0
    rows = [r for r in _rows(out / "metrics.csv") if r["phase"] == "train"]
    # 12 videos / (16 / 4 = 4 clips) = 3 steps per epoch; the lr drops x0.1 at epoch 2.
    lrs = {int(r["epoch"]): float(r["lr"]) for r in rows}
    assert lrs == pytest.approx({0: 0.1, 1: 0.1, 2: 0.01})
    kept = sorted(p.name for p in (out / "checkpoints").glob("step_*.pt"))
    assert kept == ["step_00000002.pt", "step_00000004.pt", "step_00000006.pt", "step_00000008.pt"]
    assert load_checkpoint(out / "checkpoints" / "step_00000004.pt")["progress"]["step"] == 4
    assert load_checkpoint(out / "final.pt")["config"]["modality"] == "dif"


def test_finetune_from_pretrained_with_frozen_stages_and_few_shot(store, tmp_path):
    pre = tmp_path / "pre"
    assert vssl_main(["pretrain", *_common(store, pre, "--batch-size", "8", "--iterations", "2")]) == 0
    out = tmp_path / "ft"
    assert (
        vssl_main(
            [
                "finetune",
                *_common(
                    store,
                    out,
                    "--init",
                    str(pre / "final.pt"),
                    "--freeze-before",
                    "3",
                    "--shots",
                    "1",
                    "--shots-seed",
                    "4",
                    "--batch-size",
                    "3",
                    "--epochs",
                    "2",
                    "--val-split",
                    "test",
                    "--lr",
                    "0.5",
                ),
            ]
        )
        == 0
    )
    init = load_checkpoint(pre / "final.pt")["weights"]["backbone"]
    model, meta = load_classifier(out / "final.pt")
    tuned = model.backbone.state_dict()
    frozen_prefixes = tuple(name for name, _ in model.backbone.stages[:2])
    for name, value in init.items():
        same = torch.equal(value, tuned[name])
        if name.startswith(frozen_prefixes):
            assert same, f"frozen {name} changed"  # BN running stats included: frozen BN stays in eval mode
    assert any(not torch.equal(v, tuned[k]) for k, v in init.items() if not k.startswith(frozen_prefixes))
    assert meta["classes"] == ["Class0", "Class1", "Class2"]
    run = json.loads((out / "run.json").read_text())
    assert run["train_videos"] == 3 and run["batches_per_epoch"] == 1  # 1 shot x 3 classes
    assert run["config"]["model"] == "r3d_10"  # architecture recorded from the init checkpoint
    assert load_checkpoint(out / "final.pt")["init"]["sha256"] == load_checkpoint(pre / "final.pt")["sha256"]
    assert (out / "best.pt").exists()
    out = model(torch.randn(2, 3, 8, 16, 16))
    assert out.shape == (2, 3)


def test_selection_draws():
    frame = pd.DataFrame(
        {
            "video": [f"v{i:02d}" for i in range(30)],
            "label": [i % 3 for i in range(30)],
            "class": [f"C{i % 3}" for i in range(30)],
        }
    )
    shots = few_shot(frame, 2, seed=1)
    assert shots["label"].value_counts().to_dict() == {0: 2, 1: 2, 2: 2}
    assert shots["video"].tolist() == few_shot(frame, 2, seed=1)["video"].tolist()
    assert shots["video"].tolist() != few_shot(frame, 2, seed=2)["video"].tolist()
    with pytest.raises(ValueError, match="class 'C0' has only 10 training videos, fewer than --shots 11"):
        few_shot(frame, 11, seed=0)
    subset = random_subset(frame, 7, seed=3)
    assert len(subset) == 7 and subset["video"].is_unique
    for too_many in (30, 400):  # the whole pool is no subset (rot-T4's "400k" row once equalled "all")
        with pytest.raises(ValueError, match=f"subset of {too_many} videos, but the pool holds only 30"):
            random_subset(frame, too_many, seed=3)
    train, held = holdout_split(frame, 8, seed=3)
    assert len(held) == 8 and len(train) == 22 and not set(train["video"]) & set(held["video"])
    assert class_names(frame) == ["C0", "C1", "C2"]


def test_worker_count_does_not_change_the_run(store, tmp_path):
    """Per-sample randomness comes from (seed, epoch, index): 0 or 2 workers train identically."""
    finals = []
    for workers in ("0", "2"):
        out = tmp_path / f"w{workers}"
        args = ["pretrain", *_common(store, out, "--batch-size", "8", "--iterations", "8", "--log-every", "4")]
        args[args.index("--workers") + 1] = workers
        assert vssl_main(args) == 0
        finals.append(load_checkpoint(out / "final.pt")["weights"]["backbone"])
    for name, value in finals[0].items():
        assert torch.equal(value, finals[1][name]), name


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fast_path_bf16_channels_last(store, tmp_path):
    out = tmp_path / "gpu"
    args = [
        "pretrain",
        *_common(store, out, "--batch-size", "8", "--iterations", "3", "--amp", "bf16", "--channels-last"),
    ]
    args[args.index("--device") + 1] = "cuda"
    assert vssl_main(args) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["device"].startswith("cuda") and run["cudnn"]["checked"] is True
    assert run["cudnn"]["contiguous_ms"] > 0 and run["cudnn"]["channels_last_ms"] > 0
    assert all(float(r["loss"]) == float(r["loss"]) for r in _rows(out / "metrics.csv"))


def test_finetune_with_test_out_equals_finetune_then_test(store, tmp_path):
    """`vssl finetune --test-out` (one process per workflow cell) gives `vssl test`'s numbers exactly."""
    together, apart = tmp_path / "together", tmp_path / "apart"
    common = ["--batch-size", "4", "--epochs", "1", "--model", "r3d_10", "--seed", "3"]
    assert (
        vssl_main(
            [
                "finetune",
                *_common(store, together, *common),
                "--test-out",
                str(together / "test"),
                "--test-clips",
                "3",
                "--test-batch-size",
                "2",
            ]
        )
        == 0
    )
    assert vssl_main(["finetune", *_common(store, apart, *common)]) == 0
    assert not (apart / "test").exists()  # without --test-out it is plain finetuning
    assert (
        vssl_main(
            [
                "test",
                "--checkpoint",
                str(apart / "final.pt"),
                "--store",
                str(store),
                "--out",
                str(apart / "test"),
                "--clips",
                "3",
                "--batch-size",
                "2",
                "--workers",
                "0",
                "--device",
                "cpu",
                "--seed",
                "3",
                "--no-progress",
            ]
        )
        == 0
    )
    a = json.loads((together / "test" / "metrics.json").read_text())
    b = json.loads((apart / "test" / "metrics.json").read_text())
    weights_a = load_checkpoint(together / "final.pt")["weights"]
    weights_b = load_checkpoint(apart / "final.pt")["weights"]
    for part in ("backbone", "head"):  # the same training, bitwise
        assert all(torch.equal(weights_a[part][k], weights_b[part][k]) for k in weights_a[part])
    assert {k: a[k] for k in ("top1_video", "top1_clip", "n_videos", "seed")} == {
        k: b[k] for k in ("top1_video", "top1_clip", "n_videos", "seed")
    }
    pd.testing.assert_frame_equal(
        pd.read_csv(together / "test" / "scores.csv"), pd.read_csv(apart / "test" / "scores.csv")
    )


def test_finetune_and_test_never_load_the_compiler_stack(store, tmp_path):
    """torchvision and torch._dynamo cost seconds per process; no workflow training process needs them."""
    import subprocess
    import sys

    args = [
        "finetune",
        *_common(store, tmp_path / "ft", "--batch-size", "4", "--epochs", "1", "--model", "r3d_10"),
        "--test-out",
        str(tmp_path / "ft" / "test"),
        "--test-clips",
        "2",
    ]
    code = (
        "import sys; from vssl.cli import main; rc = main(sys.argv[1:]); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'torchvision' or m.startswith('torch._dynamo'));"
        " print('LOADED', bad); raise SystemExit(rc or bool(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "VSSL_NUM_GPUS": "0"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (tmp_path / "ft" / "test" / "metrics.json").exists()


def test_downstream_jobs_get_the_selected_checkpoint(store, tmp_path):
    """V3S: "the best validation accuracy model is used for downstream tasks"; without a hold-out, the final one."""
    from vssl.train.checkpoint import verify_checkpoint

    v3s = tmp_path / "v3s"
    assert (
        vssl_main(
            [
                "pretrain",
                *_common(
                    store,
                    v3s,
                    "--pretext",
                    "v3s",
                    "--pretext-params",
                    "frame_size=20",
                    "--batch-size",
                    "4",
                    "--epochs",
                    "3",
                    "--holdout",
                    "3",
                    "--val-every",
                    "1",
                    "--lr",
                    "0.5",
                ),
            ]
        )
        == 0
    )
    run = json.loads((v3s / "run.json").read_text())
    assert run["selected"]["file"] == "best.pt" and run["selected"]["step"] == run["best"]["step"]
    assert verify_checkpoint(v3s / "selected.pt") == verify_checkpoint(v3s / "best.pt")

    rot = tmp_path / "rot"
    assert vssl_main(["pretrain", *_common(store, rot, "--batch-size", "8", "--iterations", "2")]) == 0
    assert json.loads((rot / "run.json").read_text())["selected"] == {
        "file": "final.pt",
        "step": 2,
        "why": "no hold-out: the final weights",
    }
    assert verify_checkpoint(rot / "selected.pt") == verify_checkpoint(rot / "final.pt")

    # The finetuned row says where it started: the selected file, which one it was, at which step.
    ft = tmp_path / "ft"
    assert (
        vssl_main(
            [
                "finetune",
                *_common(store, ft, "--init", str(v3s / "selected.pt"), "--batch-size", "4", "--epochs", "1"),
                "--test-out",
                str(ft / "test"),
                "--test-clips",
                "2",
            ]
        )
        == 0
    )
    init = json.loads((ft / "test" / "metrics.json").read_text())["init"]
    assert init == {
        "path": str(v3s / "selected.pt"),
        "sha256": verify_checkpoint(v3s / "best.pt"),
        "step": run["best"]["step"],
        "selected": "best.pt",
    }


def test_a_data_amount_as_large_as_the_pool_stops_the_run(store, tmp_path, capsys):
    out = tmp_path / "rotnet-kinetics-rotation-0-90-180-270-16rgb-n400"
    code = vssl_main(
        ["pretrain", *_common(store, out, "--batch-size", "8", "--iterations", "1", "--max-videos", "400")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "rotnet-kinetics-rotation-0-90-180-270-16rgb-n400: --max-videos 400" in err, err[-800:]
    assert "the pool holds only 12" in err and not (out / "final.pt").exists()
