"""`vssl eval-pretext`: a checkpoint scored on its own pretext, the same way for every pretext."""

from __future__ import annotations

import json

import pytest
import torch
from train_support import TINY_MODEL, make_store

from vssl.cli import main as vssl_main
from vssl.eval.pretext import pretext_scores
from vssl.kernels.losses import classification_loss, heads_loss, info_nce


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store") / "store", classes=3, per_class=3, frames=40, size=20)


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def _pretrain(store, out, pretext, *params, batch):
    args = ["pretrain", "--store", str(store), "--out", str(out), *TINY_MODEL, "--clip-length", "8", "--crop", "16"]
    args += ["--pretext", pretext, "--batch-size", str(batch), "--iterations", "2", "--workers", "0"]
    args += ["--device", "cpu", "--no-progress"]
    for p in params:
        args += ["--pretext-params", p]
    assert vssl_main(args) == 0
    return out / "final.pt"


def _eval(checkpoint, store, out, *extra):
    argv = ["eval-pretext", "--checkpoint", str(checkpoint), "--store", str(store), "--out", str(out)]
    assert vssl_main([*argv, "--workers", "0", "--device", "cpu", "--no-progress", *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize(
    "pretext,params,batch,head",
    [
        ("rotation", ["angles=[0, 90, 180, 270]"], 12, "acc_rotation"),
        ("pace", ["speeds=[1, 2]"], 6, "acc_pace"),
        ("vcop", ["interval=0", "tuple_len=3"], 6, "acc_order"),
        ("contrastive", ["window=12", "dim=8"], 6, "acc_contrastive"),
    ],
)
def test_every_pretext_is_scored_on_the_split_with_fixed_draws(store, tmp_path, pretext, params, batch, head):
    checkpoint = _pretrain(store, tmp_path / "pre", pretext, *params, batch=batch)
    first = _eval(checkpoint, store, tmp_path / "a", "--split", "test", "--batch-size", "12")
    again = _eval(checkpoint, store, tmp_path / "b", "--split", "test", "--batch-size", "12")
    assert first["n_videos"] == 6  # make_store: 2 of the 3 videos of each class are split1 test
    assert 0.0 <= first[head] <= 1.0 and first["accuracy"] == first[head]
    assert first[head] == again[head] and first["loss"] == again["loss"]
    assert first["git_commit"] and first["models"][0]["path"].endswith("final.pt")
    # VCOP scores one target per tuple of clips; the rotation layout four per clip.
    per_video = {"rotation": 4, "pace": 1, "vcop": 1, "contrastive": 2}[pretext]
    assert first["n_targets"] == per_video * (first["n_videos"] - first["left_out_videos"])
    chance = {"rotation": 1 / 4, "pace": 1 / 2, "vcop": 1 / 6, "contrastive": 1 / 11}[pretext]  # 12 rows: 11 others
    assert first["chance"] == pytest.approx(chance)


def test_a_contrastive_clip_without_a_negative_is_left_out(store, tmp_path):
    checkpoint = _pretrain(store, tmp_path / "pre", "contrastive", "window=12", "dim=8", batch=4)
    # 9 videos, 2 clips (4 inputs) per batch: the last batch holds one clip and no negative.
    scores = _eval(checkpoint, store, tmp_path / "all", "--batch-size", "4")
    assert scores["n_videos"] == 9 and scores["left_out_videos"] == 1 and scores["n_targets"] == 16


def test_pretext_scores_sum_each_heads_metric_per_target() -> None:
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return {"a": torch.tensor([[2.0, 0.0], [0.0, 1.0]]), "b": torch.eye(3)[:2] * 5}

    class TwoHeads:
        name, heads, outputs_per_clip, inputs_per_target = "two", {"a": ("classification", 2)}, 1, 1
        heads = {"a": ("classification", 2), "b": ("classification", 3)}

        def apply(self, clips, extras, generator):
            return clips, {"a": torch.tensor([0, 0]), "b": torch.tensor([0, 2])}

        def head_loss(self, name, outputs, target):
            raise AssertionError("no custom head")

    data = [{"clip": torch.zeros(4, 2, 2, 3, dtype=torch.uint8)} for _ in range(2)]
    scores = pretext_scores(
        Fixed(), TwoHeads(), data, batch_size=2, seed=0, device=torch.device("cpu"), mean=(0.0,) * 3, std=(1.0,) * 3
    )
    assert scores["acc_a"] == 0.5 and scores["acc_b"] == 0.5 and scores["accuracy"] == 0.5
    assert scores["chance"] == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_heads_loss_is_the_sum_of_each_heads_loss() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 4), torch.randint(0, 4, (6,))
    views = torch.randn(6, 8)
    heads = {"cls": ("classification", 4), "pairs": ("contrastive", 8)}
    total, stats = heads_loss(
        heads, {"cls": logits, "pairs": views}, {"cls": labels, "pairs": None}, other=lambda n, o, t: info_nce(o)
    )
    cls_loss, cls_correct = classification_loss(logits, labels)
    pair_loss, pair_correct = info_nce(views)
    assert torch.allclose(total, cls_loss + pair_loss)
    assert stats == {"acc_cls": cls_correct, "acc_pairs": pair_correct.float()}
    with pytest.raises(ValueError, match="no loss for head 'pairs'"):
        heads_loss(heads, {"cls": logits, "pairs": views}, {"cls": labels, "pairs": None})
