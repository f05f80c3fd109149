"""The Snakemake execution profiles (profiles/local, profiles/slurm) and local GPU-slot sharing.

No GPU needed: ``VSSL_NUM_GPUS`` fakes the device count for ``vssl.runtime.slots``.
The SLURM profile's sbatch options are checked with the installed plugin's own
functions; tests/workflow/test_slurm.py runs it against a real cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "profiles" / "local"
SLURM = REPO / "profiles" / "slurm"
PROBE = REPO / "tests" / "slurm" / "gpu_probe.py"

# A throwaway workflow: N independent jobs that each need one GPU.
GPU_SNAKEFILE = """
N = int(config["count"])

rule all:
    input: expand("gpu/{{i}}.json", i=range(N))

rule gpu_job:
    output: "gpu/{{i}}.json"
    resources: gpu=1
    shell: "{python} {probe} {{output}} {{config[siblings]}} 60"
"""


def _snakemake(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"snakemake {' '.join(args)} failed:\n{log[-5000:]}"
    return log


def _fake_gpu_env(lock_dir: Path, gpus: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env.update(
        VSSL_NUM_GPUS=str(gpus),
        VSSL_GPU_LOCK_DIR=str(lock_dir),
        PYTHONPATH=f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}",
    )
    return env


def _gpu_workflow(tmp_path: Path) -> Path:
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(GPU_SNAKEFILE.format(python=sys.executable, probe=PROBE))
    return snakefile


def _records(workdir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((workdir / "gpu").glob("*.json"))]


@pytest.mark.parametrize("profile", [LOCAL, SLURM], ids=["local", "slurm"])
def test_profile_is_a_snakemake_9_profile(profile: Path) -> None:
    path = profile / "config.v8+.yaml"
    settings = yaml.safe_load(path.read_text())
    assert isinstance(settings, dict), f"{path}: not a YAML mapping"
    # Every key must be a Snakemake command-line option (a typo would be silently ignored by argparse).
    help_text = subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"], capture_output=True, text=True, check=True
    ).stdout
    unknown = [key for key in settings if f"--{key}" not in help_text]
    assert not unknown, f"{path}: not Snakemake options: {unknown}"
    assert (profile / "README.md").is_file()


def test_repo_workflow_dry_runs_with_both_profiles(tmp_path: Path) -> None:
    # The repository's config (whatever the DAG needs today) at synthetic scale tiny.
    settings = yaml.safe_load((REPO / "config.yaml").read_text())
    settings["synthetic"]["scale"] = "tiny"
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(settings))
    common = [
        "-s",
        str(REPO / "Snakefile"),
        "-d",
        str(tmp_path),
        "--configfile",
        str(config),
        "-n",
        "data/stores/ucf101/manifest.csv",
    ]
    local = _snakemake("--profile", str(LOCAL), *common, cwd=tmp_path)
    assert "rule synth:" in local and "rule extract:" in local
    # The slurm profile's resources reach the jobs (dry runs never contact SLURM).
    slurm = _snakemake("--profile", str(SLURM), *common, cwd=tmp_path)
    extract = slurm[slurm.index("rule extract:") :]
    assert "runtime=720" in extract and "mem_mb=16000" in extract, extract


def test_slurm_profile_sbatch_options_for_gpu_and_cpu_rules() -> None:
    """What the installed plugin makes of the profile's defaults: --gpus, --cpus-per-gpu, --cpus-per-task."""
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm_jobstep import get_cpu_setting

    defaults = yaml.safe_load((SLURM / "config.v8+.yaml").read_text())["default-resources"]

    class Resources(dict):
        __getattr__ = dict.__getitem__

    gpu_job = SimpleNamespace(threads=4, resources=Resources(defaults, gpu=1))
    cpu_job = SimpleNamespace(threads=16, resources=Resources(defaults))
    assert set_gres_string(gpu_job).split() == ["--gpus=1"]
    assert get_cpu_setting(gpu_job, True) == f"--cpus-per-gpu={defaults['cpus_per_gpu']}"
    assert get_cpu_setting(cpu_job, False) == "--cpus-per-task=16"
    assert set_gres_string(cpu_job) == ""


def test_four_concurrent_snakemake_jobs_get_four_distinct_gpus(tmp_path: Path) -> None:
    """--resources gpu=4 lets 4 jobs run at once; the slot locks give each its own device."""
    snakefile = _gpu_workflow(tmp_path)
    env = _fake_gpu_env(tmp_path / "locks", gpus=4)
    _snakemake(
        "-s",
        str(snakefile),
        "-d",
        str(tmp_path),
        "--profile",
        str(LOCAL),
        "--cores",
        "4",
        "--resources",
        "gpu=4",
        "--config",
        "count=4",
        "siblings=4",
        cwd=tmp_path,
        env=env,
    )
    records = _records(tmp_path)
    assert len(records) == 4
    # The barrier in gpu_probe.py passed, so all 4 held a slot at once; each saw only its own device.
    assert sorted(r["cuda_visible_devices"] for r in records) == ["0", "1", "2", "3"]
    assert {r["source"] for r in records} == {"locked"}


def test_local_profile_default_runs_gpu_jobs_one_at_a_time(tmp_path: Path) -> None:
    """The profile's `gpu: 1` alone (no --resources): GPU jobs never overlap, even with spare cores."""
    snakefile = _gpu_workflow(tmp_path)
    env = _fake_gpu_env(tmp_path / "locks", gpus=4)
    _snakemake(
        "-s",
        str(snakefile),
        "-d",
        str(tmp_path),
        "--profile",
        str(LOCAL),
        "--cores",
        "3",
        "--config",
        "count=3",
        "siblings=1",
        cwd=tmp_path,
        env=env,
    )
    records = sorted(_records(tmp_path), key=lambda r: r["started"])
    assert len(records) == 3
    for before, after in zip(records, records[1:]):
        assert after["started"] >= before["ended"], records
    # Each job found every slot free again, so each took the first one.
    assert [r["cuda_visible_devices"] for r in records] == ["0", "0", "0"]
