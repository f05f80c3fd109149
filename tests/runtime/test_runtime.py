"""The shared runtime (`vssl.runtime`): every GPU command takes a slot, every result names its provenance."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from train_support import TINY_MODEL, make_store

from vssl.cli import main as vssl_main
from vssl.runtime.provenance import PROVENANCE_KEYS

REPO = Path(__file__).resolve().parents[2]

# Runs one `vssl` command whose slot claim reports the device it got, then holds the slot until the
# test closes stdin: four such processes overlap for certain, so four distinct devices is the claim.
HOLD_SLOT = """
import os, sys
import vssl.runtime.slots as slots
real = slots.acquire_gpus
def held(*args, **kwargs):
    real(*args, **kwargs)
    print("GOT", os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)
    sys.stdin.read()
    os._exit(0)
slots.acquire_gpus = held
from vssl.cli import main
main(sys.argv[1:])
print("NO SLOT TAKEN", flush=True)
"""

# Every command a GPU rule of the workflow runs (plus `vssl test` and `vssl attention`, which can use one).
GPU_COMMANDS = {
    "pretrain": ["--store", "{store}", "--pretext", "rotation", "--epochs", "1"],
    "finetune": ["--store", "{store}", "--epochs", "1"],
    "test": ["--checkpoint", "{d}/ck.pt", "--store", "{store}"],
    "eval-rotation": ["--checkpoints", "{d}/ck.pt", "--store", "{store}"],
    "retrieve": ["--store", "{store}", "--random-init", "--model", "r3d_10"],
    "aslan": ["--store", "{store}", "--pairs", "{d}/pairs.mat", "--random-init", "--model", "r3d_10"],
    "attention": ["--checkpoint", "{d}/ck.pt"],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store") / "store", classes=3, per_class=4, frames=24, size=20)


@pytest.mark.parametrize("command", sorted(GPU_COMMANDS))
def test_four_concurrent_jobs_of_each_gpu_command_get_four_devices(command: str, store: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(VSSL_NUM_GPUS="4", VSSL_GPU_LOCK_DIR=str(tmp_path / "locks"))
    jobs = []
    try:
        for i in range(4):
            argv = [a.format(d=tmp_path, store=store) for a in GPU_COMMANDS[command]] + [
                "--out",
                str(tmp_path / f"out{i}"),
            ]
            jobs.append(
                subprocess.Popen(
                    [sys.executable, "-c", HOLD_SLOT, command, *argv],
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        lines = [job.stdout.readline().strip() for job in jobs]
    finally:
        for job in jobs:
            job.stdin.close()
        for job in jobs:
            job.wait(timeout=60)
    assert all(line.startswith("GOT") for line in lines), (lines, [job.stderr.read()[-1500:] for job in jobs])
    assert sorted(line.split()[1] for line in lines) == ["0", "1", "2", "3"]


def test_every_result_file_carries_one_provenance_block(store, tmp_path, monkeypatch) -> None:
    """run.json, a test's metrics.json and an evaluation's metrics.json: the same keys, the same values."""
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    common = [
        "--store",
        str(store),
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
    ]
    ft = tmp_path / "ft"
    assert (
        vssl_main(
            [
                "finetune",
                *common,
                "--out",
                str(ft),
                "--batch-size",
                "4",
                "--epochs",
                "1",
                "--model",
                "r3d_10",
                "--test-out",
                str(ft / "test"),
                "--test-clips",
                "2",
            ]
        )
        == 0
    )
    assert (
        vssl_main(
            [
                "retrieve",
                "--store",
                str(store),
                "--checkpoint",
                str(ft / "final.pt"),
                "--out",
                str(tmp_path / "ret"),
                "--workers",
                "0",
                "--device",
                "cpu",
                "--no-progress",
                "--num-clips",
                "2",
                "--clip-length",
                "8",
                "--crop",
                "16",
                "--no-resize",
                "--query-split",
                "test",
                "--gallery-split",
                "train",
            ]
        )
        == 0
    )
    blocks = [
        json.loads(path.read_text())
        for path in (ft / "run.json", ft / "test" / "metrics.json", tmp_path / "ret" / "metrics.json")
    ]
    for block in blocks:
        assert set(PROVENANCE_KEYS) <= set(block), sorted(set(PROVENANCE_KEYS) - set(block))
    assert len({tuple(block[k] for k in PROVENANCE_KEYS) for block in blocks}) == 1
    inside_git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True).returncode == 0
    if inside_git:
        assert re.fullmatch(r"[0-9a-f]{40}", blocks[0]["git_commit"]), blocks[0]["git_commit"]


# ../shared/ARCHITECTURE.md: what each layer of vssl/ never imports (inside functions included).
NEVER_IMPORTS = {
    "runtime": {"data", "kernels", "models", "train", "eval", "report"},
    "kernels": {"data", "models", "train", "eval", "report"},
    "models": {"data", "kernels", "train", "eval", "report"},
    "data": {"models", "train", "eval", "report"},
    "train": {"eval", "report"},
    "eval": {"report"},
}


def _vssl_imports(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
        found |= {n.split(".")[1] for n in names if n.startswith("vssl.")}
    return found


@pytest.mark.parametrize("layer", sorted(NEVER_IMPORTS))
def test_layers_import_only_downwards(layer: str) -> None:
    bad = {
        str(path.relative_to(REPO)): sorted(_vssl_imports(path) & NEVER_IMPORTS[layer])
        for path in (REPO / "vssl" / layer).rglob("*.py")
    }
    assert not {k: v for k, v in bad.items() if v}


def test_evaluation_imports_training_for_checkpoint_loading_only() -> None:
    import ast

    used = set()
    for path in (REPO / "vssl" / "eval").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vssl.train"):
                used.add(node.module)
            if isinstance(node, ast.Import):
                used |= {a.name for a in node.names if a.name.startswith("vssl.train")}
    assert used == {"vssl.train.checkpoint"}, used
