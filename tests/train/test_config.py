"""Run files, flag precedence, lr schedules, resumable sampling, launcher detection."""

from __future__ import annotations

import argparse
import re

import pytest

from vssl.train.config import FinetuneConfig, PretrainConfig
from vssl.train.distributed import detect_launch
from vssl.train.loop import ShardedEpochSampler
from vssl.train.runfile import RunFileError, add_config_arguments, build_config
from vssl.train.schedule import Schedule


def _parse(argv: list[str], cls=PretrainConfig):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, cls)
    return build_config(cls, parser.parse_args(argv))


def test_flags_override_run_file_which_overrides_defaults(tmp_path):
    run = tmp_path / "run.yaml"
    run.write_text(
        "store: /s\nout: /o\nlr: 0.05\nclip-length: 32\nmilestones: [10, 20]\n"
        "pretext_params: {angles: [0, 90]}\nsmall_input: true\n"
    )
    cfg = _parse(["--run-file", str(run), "--lr", "0.2", "--pretext-params", "mode=all_copies"])
    assert cfg.lr == 0.2  # flag beats file
    assert cfg.clip_length == 32 and cfg.milestones == [10, 20] and cfg.small_input is True  # file beats default
    assert cfg.momentum == 0.9  # default
    assert cfg.pretext_params == {"angles": [0, 90], "mode": "all_copies"}  # KEY=VALUE merges into the file's map
    assert _parse(["--store", "s", "--out", "o", "--no-hflip"]).hflip is False


def test_run_file_errors_name_file_and_line(tmp_path):
    run = tmp_path / "run.yaml"
    run.write_text("store: /s\nout: /o\nlearning_rate: 0.1\n")
    with pytest.raises(RunFileError, match=r"run\.yaml:3: unknown setting 'learning_rate'"):
        _parse(["--run-file", str(run)])
    run.write_text("store: /s\nout: /o\n\nbatch_size: lots\n")
    with pytest.raises(RunFileError, match=r"run\.yaml:4: batch_size: expected an integer"):
        _parse(["--run-file", str(run)])
    run.write_text("store: /s\nout: [unclosed\n")
    with pytest.raises(RunFileError, match=r"run\.yaml:\d+: invalid YAML"):
        _parse(["--run-file", str(run)])
    run.write_text("store: /s\nout: /o\nmodality: depth\n")
    with pytest.raises(RunFileError, match=r"run\.yaml:3: modality='depth' is not one of"):
        _parse(["--run-file", str(run)])
    with pytest.raises(RunFileError, match="missing required setting.*--store"):
        _parse(["--out", "o"])


def test_finetune_defaults_differ():
    cfg = _parse(["--store", "s", "--out", "o"], FinetuneConfig)
    assert cfg.split == "train" and cfg.lr == 0.008 and cfg.freeze_before == 1


def test_schedules():
    step = Schedule(0.1, kind="step", unit="iter", step_size=24000)
    assert step.lr(0, 0) == pytest.approx(0.1)
    assert step.lr(23999, 5) == pytest.approx(0.1)
    assert step.lr(24000, 5) == pytest.approx(0.01)
    multi = Schedule(0.01, kind="multistep", unit="epoch", milestones=(3, 6), gamma=0.5)
    assert [multi.lr(999, e) for e in (0, 2, 3, 5, 6)] == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.0025])
    cos = Schedule(1.0, kind="cosine", total=10)
    assert (
        cos.lr(0, 0) == pytest.approx(1.0)
        and cos.lr(5, 0) == pytest.approx(0.5)
        and cos.lr(10, 0) == pytest.approx(0.0)
    )
    warm = Schedule(1.0, warmup_iters=4)
    assert [warm.lr(s, 0) for s in range(5)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
    with pytest.raises(ValueError, match="milestones"):
        Schedule(0.1, kind="multistep")
    with pytest.raises(ValueError, match="increasing"):
        Schedule(0.1, kind="multistep", milestones=(5, 2))


def test_sharded_sampler_is_deterministic_resumable_and_disjoint():
    full = ShardedEpochSampler(23, batch_size=4, seed=3)
    full.set_epoch(2)
    order = list(full)
    assert len(order) == 20 and full.batches_per_epoch == 5 and len(set(order)) == 20
    resumed = ShardedEpochSampler(23, batch_size=4, seed=3)
    resumed.set_epoch(2, start_batch=3)
    assert list(resumed) == order[12:]
    other = ShardedEpochSampler(23, batch_size=4, seed=3)
    other.set_epoch(3)
    assert list(other) != order
    ranks = [ShardedEpochSampler(23, batch_size=3, seed=3, rank=r, world=2) for r in range(2)]
    for s in ranks:
        s.set_epoch(0)
    a, b = (list(s) for s in ranks)
    assert len(a) == len(b) == 9 and not set(a) & set(b)


def test_launch_detection():
    info, extra = detect_launch({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (info.rank, info.world_size, info.local_rank, info.launcher) == (1, 4, 1, "torchrun") and extra == {}
    info, extra = detect_launch(
        {
            "SLURM_PROCID": "5",
            "SLURM_NTASKS": "8",
            "SLURM_LOCALID": "1",
            "SLURM_JOB_NODELIST": "gpu[07-08]",
            "SLURM_JOB_ID": "1234",
        }
    )
    assert (info.rank, info.world_size, info.local_rank, info.launcher) == (5, 8, 1, "slurm")
    assert extra["MASTER_ADDR"] == "gpu07" and extra["MASTER_PORT"] == str(15000 + 1234)
    assert extra["RANK"] == "5" and extra["WORLD_SIZE"] == "8"
    info, _ = detect_launch({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"})
    assert not info.enabled
    info, _ = detect_launch({})
    assert info.world_size == 1 and info.launcher == "none"


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"batch_size": 0}, "--batch-size 0: must be >= 1"),
        ({"lr": 0.0}, "--lr 0.0: must be > 0"),
        ({"milestones": [10, 0]}, "--milestones 0: must be >= 1"),
        ({"freeze_before": 7}, "--freeze-before 7: must be >= 1 and <= 6"),
        ({"dropout": 1.5}, "--dropout 1.5: must be >= 0 and <= 1"),
    ],
)
def test_out_of_range_settings_are_refused_by_the_command(overrides, message) -> None:
    """The same ranges the workflow schema checks before any job starts (workflow/schemas/flags.schema.yaml)."""
    with pytest.raises(RunFileError, match=re.escape(message)):
        build_config(FinetuneConfig, store="s", out="o", epochs=1, **overrides)
