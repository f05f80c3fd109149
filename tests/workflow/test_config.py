"""The workflow's parse-time checks (schema, stores, dataset paths, targets) and the paper DAG dry run.

Each test runs Snakemake in a scratch directory; nothing is executed (``-n``), so no job starts.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _snakemake(tmp_path: Path, *configs: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Snakemake prints its errors on stdout; ``.stderr`` of the result holds both streams."""
    files = [str(REPO / "config.yaml"), *map(str, configs)]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(tmp_path),
            "--configfile",
            *files,
            "-n",
            "--cores",
            "1",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    run.stderr = run.stdout + run.stderr
    return run


def _overlay(tmp_path: Path, data: dict, name: str = "overlay.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_default_config_dry_runs_every_experiment(tmp_path: Path) -> None:
    run = _snakemake(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout + run.stderr
    for rule in (
        "synth",
        "extract",
        "pretrain",
        "finetune",
        "eval_rotation",
        "rotation_series",
        "fuse",
        "mean_over_splits",
        "retrieve",
        "aslan",
        "attention",
        "illustrate",
        "table",
        "figure",
        "rotation_curve_points",
        "summary",
    ):
        assert re.search(rf"^{rule}\s+\d+", out, re.M), f"no {rule} jobs in the default DAG"


def test_schema_error_names_the_key(tmp_path: Path) -> None:
    run = _snakemake(tmp_path, _overlay(tmp_path, {"rotnet": {"pretrain": {"learning_rate": 0.1}}}))
    assert run.returncode != 0
    assert "learning_rate" in run.stderr, run.stderr[-2000:]
    run = _snakemake(tmp_path, _overlay(tmp_path, {"runtime": {"device": "tpu"}}))
    assert run.returncode != 0 and "tpu" in run.stderr and "device" in run.stderr, run.stderr[-2000:]


@pytest.mark.parametrize(
    "overlay,key,reason",
    [
        ({"rotnet": {"pretrain": {"lr": "fast"}}}, "rotnet.pretrain.lr", "'fast' is not of type 'number'"),
        (
            {"rotnet": {"pretrain": {"iterations": "many"}}},
            "rotnet.pretrain.iterations",
            "'many' is not of type 'integer'",
        ),
        ({"rotnet": {"pretrain": {"batch_size": 0}}}, "rotnet.pretrain.batch_size", "0 is less than the minimum of 1"),
        (
            {"rotnet": {"finetune": {"modality": "rbg"}}},
            "rotnet.finetune.modality",
            "'rbg' is not one of ['rgb', 'dif'",
        ),
        ({"v3s": {"retrieval": {"num_clips": "ten"}}}, "v3s.retrieval.num_clips", "'ten' is not of type 'integer'"),
        ({"v3s": {"test": {"clips": 0.5}}}, "v3s.test.clips", "0.5 is not of type 'integer'"),
        ({"rotnet": {"pretrain": {"crop": 1000}}}, "rotnet.pretrain.crop 1000", "larger than the 20-pixel frames"),
        ({"v3s": {"grids": {"SP-3": [0.8, 1.5]}}}, "v3s.grids.SP-3", "1.5 is greater than the maximum of 1"),
        ({"v3s": {"chosen": {"sp": "SS-1"}}}, "v3s.chosen.sp", "'SS-1' does not match"),
    ],
)
def test_a_bad_value_stops_the_dry_run_naming_its_key(tmp_path: Path, overlay, key, reason) -> None:
    """Types, enums and ranges come from the commands' own flag definitions (flags.schema.yaml)."""
    run = _snakemake(tmp_path, _overlay(tmp_path, overlay))
    assert run.returncode != 0
    assert key in run.stderr and reason in run.stderr, run.stderr[-2500:]
    assert "Traceback" not in run.stderr


def test_the_flag_schema_is_generated_from_the_commands() -> None:
    """workflow/schemas/flags.schema.yaml is what workflow/scripts/flag_schema.py writes today (no drift)."""
    done = subprocess.run(
        [sys.executable, str(REPO / "workflow" / "scripts" / "flag_schema.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_unknown_experiment_id_lists_the_valid_ones(tmp_path: Path) -> None:
    run = _snakemake(tmp_path, _overlay(tmp_path, {"targets": ["rot-T99"]}))
    assert run.returncode != 0
    assert "rot-T99" in run.stderr and "valid ids: all, rot-T1" in run.stderr, run.stderr[-2000:]


def test_missing_dataset_root_is_named_before_any_job(tmp_path: Path) -> None:
    overlay = {
        "synthetic": {"enabled": False},
        "datasets": {"ucf101": {"format": "ucf101", "root": str(tmp_path / "no-such-UCF-101")}},
    }
    run = _snakemake(tmp_path, _overlay(tmp_path, overlay))
    assert run.returncode != 0
    assert "datasets.ucf101.root" in run.stderr and "no-such-UCF-101" in run.stderr, run.stderr[-2000:]


def test_store_reference_to_a_missing_store_is_named(tmp_path: Path) -> None:
    run = _snakemake(tmp_path, _overlay(tmp_path, {"rotnet": {"datasets": {"UCF101": "ucf_typo"}}}))
    assert run.returncode != 0
    assert "rotnet.datasets.UCF101" in run.stderr and "ucf_typo" in run.stderr, run.stderr[-2000:]


def test_paper_config_dry_run_lists_the_full_dag_quickly(tmp_path: Path) -> None:
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    roots = {}
    for name in paper["datasets"]:
        root = tmp_path / "data" / name
        root.mkdir(parents=True)
        roots[name] = {"root": str(root), "splits": str(root)}
    roots_file = _overlay(
        tmp_path, {"datasets": roots, "v3s": {"aslan": {"pairs": str(tmp_path / "data" / "aslan")}}}, "roots.yaml"
    )
    started = time.perf_counter()
    run = _snakemake(tmp_path, REPO / "config" / "paper.yaml", roots_file)
    elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stderr[-3000:]
    stats = {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", run.stdout, re.M)}
    # Every planned pretrain and finetune (each finetune also tests) is a Snakemake job, once.
    from plan_support import paper_plan_counts

    planned = paper_plan_counts()
    assert stats["pretrain"] == planned["pretrain"] and stats["finetune"] == planned["finetune"], stats
    assert stats["finetune"] >= 190 and stats["total"] > 350, run.stdout[-2000:]
    # The budget is 15 s on the 2-core CI machine; a dry run takes about 4 s there.
    assert elapsed < 60, elapsed
    assert "kinetics_rot" in run.stdout and "mit_rot" in run.stdout and "ucf101_256" in run.stdout


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    """Snakemake's own message ("not valid JSON or YAML") names neither; the Snakefile and `make run` do."""
    (tmp_path / "config.yaml").write_text("data_dir: data\nseeds: [0, 1\nrotnet: {}\n")
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "-n", "--cores", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "config.yaml:3:7: invalid YAML" in run.stdout + run.stderr
    assert "opened at line 2, column 8" in run.stdout + run.stderr
    # `make run`'s launcher checks the files given with --configfile too, before anything runs
    (tmp_path / "config.yaml").write_text("data_dir: data\n")
    (tmp_path / "mine.yaml").write_text("runtime:\n\tthreads: 2\n")
    launched = subprocess.run(
        [
            sys.executable,
            str(REPO / "workflow" / "scripts" / "make_run.py"),
            sys.executable,
            "-c",
            "print('ran')",
            "--configfile",
            "mine.yaml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert launched.returncode == 1 and "ran" not in launched.stdout
    assert "make run: mine.yaml:2:1: invalid YAML" in launched.stderr
