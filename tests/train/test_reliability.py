"""Reliability of the training loop: SIGKILL + resume is exact, NaN stops cleanly, bad checkpoints refused.

Runs use a tiny R3D-10 (width 0.125, no stem downsampling) on 8x16x16 clips
from a 12-video store, one thread, ``--workers 0``. On CPU with one thread
every kernel used here is deterministic, so the resumed run must match the
uninterrupted one **bitwise** (``torch.equal``), not just within a tolerance.
"""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from train_support import TINY_MODEL, cli_env, make_store, vssl_cmd

from vssl.cli import main as vssl_main
from vssl.train.checkpoint import CheckpointError, load_checkpoint

ITERATIONS = 12


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("store") / "store")


@pytest.fixture
def one_thread(monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("VSSL_NUM_GPUS", "0")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    yield
    torch.set_num_threads(threads)


def pretrain_args(store: Path, out: Path, *extra: str) -> list[str]:
    return [
        "pretrain",
        "--store",
        str(store),
        "--out",
        str(out),
        *TINY_MODEL,
        "--clip-length",
        "8",
        "--crop",
        "16",
        "--batch-size",
        "8",
        "--iterations",
        str(ITERATIONS),
        "--workers",
        "0",
        "--log-every",
        "2",
        "--ckpt-every",
        "3",
        "--lr",
        "0.05",
        "--schedule",
        "multistep",
        "--milestones",
        "6",
        "--seed",
        "7",
        "--device",
        "cpu",
        "--no-progress",
        *extra,
    ]


def _metric_steps(path: Path) -> list[tuple[str, int]]:
    with open(path, newline="") as f:
        return [(row["phase"], int(row["step"])) for row in csv.DictReader(f)]


def test_sigkill_then_resume_matches_uninterrupted_run_bitwise(store, tmp_path, one_thread):
    reference = tmp_path / "reference"
    assert vssl_main(pretrain_args(store, reference)) == 0

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        vssl_cmd(*pretrain_args(store, killed)), env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while not (killed / "last.pt").exists():
        assert proc.poll() is None, f"pretrain exited early: {proc.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    interrupted_at = load_checkpoint(killed / "last.pt")["progress"]["step"]
    assert 0 < interrupted_at < ITERATIONS and not (killed / "final.pt").exists()

    assert vssl_main(pretrain_args(store, killed, "--resume")) == 0

    ref, res = load_checkpoint(reference / "final.pt"), load_checkpoint(killed / "final.pt")
    assert res["progress"]["step"] == ref["progress"]["step"] == ITERATIONS
    for part in ("backbone", "head"):
        for name, tensor in ref["weights"][part].items():
            assert torch.equal(tensor, res["weights"][part][name]), f"{part}.{name} differs after resume"
    for key, state in ref["optimizer"]["state"].items():
        assert torch.equal(state["momentum_buffer"], res["optimizer"]["state"][key]["momentum_buffer"])
    # metrics.csv continues without duplicates: same rows (steps) as the uninterrupted run.
    assert _metric_steps(killed / "metrics.csv") == _metric_steps(reference / "metrics.csv")
    run = (killed / "run.json").read_text()
    assert f'"resumed_from_step": {interrupted_at}' in run and '"status": "completed"' in run


def test_nan_loss_stops_naming_the_step_and_keeps_last_good_checkpoint(store, tmp_path, one_thread, capfd):
    out = tmp_path / "nan"
    # A real divergence: the lr jumps by 1e30 at step 4 (after the step-4 checkpoint is written).
    args = pretrain_args(store, out)
    args[args.index("--milestones") + 1] = "4"
    args[args.index("--ckpt-every") + 1] = "2"
    args += ["--gamma", "1e30", "--log-every", "1"]
    code = vssl_main(args)
    assert code == 3
    err = capfd.readouterr().err
    assert "non-finite loss at step" in err and "last good checkpoint kept" in err
    bad_step = int(err.split("non-finite loss at step ")[1].split()[0])
    assert bad_step > 4
    state = load_checkpoint(out / "last.pt")
    assert state["progress"]["step"] == 4
    assert all(torch.isfinite(t).all() for t in state["weights"]["backbone"].values() if t.is_floating_point())
    assert not (out / "final.pt").exists()
    assert '"status": "failed: non-finite loss at step' in (out / "run.json").read_text()


def test_resume_refuses_tampered_checkpoint_and_changed_settings(store, tmp_path, one_thread, capfd):
    out = tmp_path / "run"
    args = pretrain_args(store, out)
    args[args.index("--iterations") + 1] = "3"
    assert vssl_main(args) == 0
    # An existing run is never overwritten silently.
    assert vssl_main(args) == 2
    assert "pass --resume" in capfd.readouterr().err
    # Different settings cannot resume the run.
    assert vssl_main(args + ["--resume", "--lr", "0.5"]) == 2
    assert "cannot resume with different settings" in capfd.readouterr().err
    # A tampered checkpoint is refused with the file named.
    data = bytearray((out / "last.pt").read_bytes())
    data[len(data) // 2] ^= 0x55
    (out / "last.pt").write_bytes(bytes(data))
    assert vssl_main(args + ["--resume"]) == 2
    err = capfd.readouterr().err
    assert "last.pt: SHA-256 mismatch" in err
    with pytest.raises(CheckpointError):
        load_checkpoint(out / "last.pt")


def test_resume_with_changed_settings_errors_or_restarts_keeping_the_old_run(store, tmp_path, one_thread):
    out = tmp_path / "run"
    assert vssl_main(pretrain_args(store, out)) == 0
    old_sha = load_checkpoint(out / "final.pt")["sha256"]
    changed = [a if a != "0.05" else "0.02" for a in pretrain_args(store, out)]
    # The default refuses: resuming across a settings change would mix two runs.
    assert vssl_main(changed + ["--resume"]) != 0
    assert vssl_main(changed + ["--resume", "--on-change", "restart"]) == 0
    superseded = sorted(out.glob("superseded-*"))
    assert len(superseded) == 1
    assert load_checkpoint(superseded[0] / "final.pt")["sha256"] == old_sha
    new = load_checkpoint(out / "final.pt")
    assert new["config"]["lr"] == 0.02 and new["sha256"] != old_sha
    # Same settings again: a plain resume of the finished run, nothing moved.
    assert vssl_main(changed + ["--resume", "--on-change", "restart"]) == 0
    assert len(list(out.glob("superseded-*"))) == 1


def test_a_rewritten_init_checkpoint_is_a_changed_run_not_a_resume(store, tmp_path, one_thread, capfd):
    """Snakemake reruns a pretraining whose settings changed into the same path: the finetune must start over."""
    import shutil

    pre_a, pre_b, init = tmp_path / "pre_a", tmp_path / "pre_b", tmp_path / "init"
    assert vssl_main(pretrain_args(store, pre_a, "--iterations", "2")) == 0
    assert vssl_main(pretrain_args(store, pre_b, "--iterations", "2", "--seed", "8")) == 0
    init.mkdir()
    for name in ("final.pt", "final.pt.integrity.json"):
        shutil.copy(pre_a / name, init / name)
    out = tmp_path / "ft"
    finetune = [
        "finetune",
        *["--store", str(store), "--out", str(out), "--init", str(init / "final.pt")],
        *["--clip-length", "8", "--crop", "16", "--batch-size", "4", "--epochs", "1", "--workers", "0"],
        *["--device", "cpu", "--no-progress", "--resume"],
    ]
    assert vssl_main(finetune) == 0
    first = load_checkpoint(out / "final.pt")
    assert first["init"]["sha256"] == load_checkpoint(pre_a / "final.pt")["sha256"]
    for name in ("final.pt", "final.pt.integrity.json"):  # the pretraining reran into the same path
        shutil.copy(pre_b / name, init / name)
    new_init = load_checkpoint(init / "final.pt")["sha256"]
    capfd.readouterr()
    # A plain resume refuses, naming the init file; it does not finish the old run as if nothing changed.
    assert vssl_main(finetune) == 2
    err = capfd.readouterr().err
    assert "cannot resume" in err and f"init: {init / 'final.pt'} holds other weights now" in err
    # --on-change restart moves the old run aside and trains from the new weights.
    assert vssl_main(finetune + ["--on-change", "restart"]) == 0
    assert len(list(out.glob("superseded-*"))) == 1
    second = load_checkpoint(out / "final.pt")
    assert second["init"]["sha256"] == new_init and second["sha256"] != first["sha256"]


def test_a_truncated_store_file_stops_training_with_one_line_naming_it(store, tmp_path, one_thread, capfd):
    """Not a traceback: the store file is named on stderr and in the run's log, and the exit code is 2."""
    import shutil

    broken = tmp_path / "store"
    shutil.copytree(store, broken)
    victim = sorted((broken / "frames").rglob("*.vfs"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    out = tmp_path / "run"
    assert vssl_main(pretrain_args(broken, out)) == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err and f"{victim}: truncated or corrupt store file" in err
    assert f"{victim}: truncated or corrupt store file" in (out / "train.log").read_text()


def test_skip_bad_videos_trains_past_a_truncated_store_file_and_counts_it(store, tmp_path, one_thread, capfd):
    """--skip-bad-videos: the unreadable video is named once in the log, replaced, and counted in run.json."""
    import json
    import shutil

    broken = tmp_path / "store"
    shutil.copytree(store, broken)
    victim = sorted((broken / "frames").rglob("*.vfs"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    out = tmp_path / "run"
    assert vssl_main(pretrain_args(broken, out, "--skip-bad-videos")) == 0
    log = (out / "train.log").read_text()
    assert f"{victim}: truncated or corrupt store file" in log and "skipped 1 unreadable video(s)" in log
    skipped = json.loads((out / "run.json").read_text())["skipped_videos"]
    assert len(skipped) == 1 and next(iter(skipped.values())) >= 1
    assert "Traceback" not in capfd.readouterr().err
