"""The SLURM profile against a real one-node SLURM cluster on localhost.

Installs ``slurm-wlm`` and ``munge`` with apt when missing (root only), starts
munged/slurmctld/slurmd from ``tests/slurm/minicluster.py`` and runs the data
stage (``synth`` + one ``extract`` at synthetic scale ``tiny``) through a copy
of ``profiles/slurm`` adapted the way a site would adapt it: the test
partition, resources that fit the node, and ``squeue`` for job status because
this cluster has no accounting database (``sacct`` answers "Slurm accounting
storage is disabled"). Every job must go through ``sbatch``: Snakemake logs
the SLURM job id and slurmctld knows the job as COMPLETED. A second workflow
runs two 1-GPU jobs on the cluster's fake GPUs (SLURM sets their
``CUDA_VISIBLE_DEVICES``) and a 2-rank DDP job launched with ``srun``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "profiles" / "slurm" / "config.v8+.yaml"
TARGET = "data/stores/ucf101/manifest.csv"
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")

pytestmark = pytest.mark.slurm


def _load_minicluster():
    spec = importlib.util.spec_from_file_location("minicluster", REPO / "tests" / "slurm" / "minicluster.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


minicluster = _load_minicluster()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    if minicluster.missing_tools():
        if os.geteuid() != 0:
            pytest.skip("SLURM/munge not installed and not root: cannot apt-get install slurm-wlm munge")
        if shutil.which("apt-get") is None:
            pytest.skip("SLURM/munge not installed and no apt-get to install slurm-wlm munge")
        minicluster.ensure_installed()
    if os.geteuid() != 0:
        pytest.skip("the test cluster runs slurmctld/slurmd with SlurmUser=root: needs root")
    directory = Path(tmp_path_factory.mktemp("slurm"))
    with minicluster.MiniCluster(directory) as running:
        yield running


def _test_profile(cluster, cpus: int, dest: Path) -> Path:
    """profiles/slurm with the edits its comments ask a site to make, for this one-node cluster."""
    profile = yaml.safe_load(PROFILE.read_text())
    profile["default-resources"].update(slurm_partition=cluster.partition, mem_mb=1000, runtime=15)
    for rule in profile["set-resources"]:
        profile["set-resources"][rule].update(runtime=15, mem_mb=1000)
    profile.update(
        {
            "cores": cpus,  # threads (hence --cpus-per-task) of synth/extract: what the node has
            "jobs": 4,
            "retries": 0,
            "latency-wait": 5,
            # No slurmdbd here. The plugin keeps squeue only while MinJobAge (600 s in
            # slurm.conf.in) >= 3 x the first status delay.
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": 5,
            "slurm-keep-successful-logs": True,
        }
    )
    dest.mkdir(parents=True)
    (dest / "config.v8+.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return dest


def _tiny_config(path: Path) -> Path:
    """The repository's config (whatever the DAG needs today) at synthetic scale tiny."""
    settings = yaml.safe_load((REPO / "config.yaml").read_text())
    settings["synthetic"]["scale"] = "tiny"
    path.write_text(yaml.safe_dump(settings))
    return path


def _run_snakemake(cluster, workdir: Path, *args: str) -> tuple[str, float]:
    """Snakemake on the submit side of the test cluster; its log and wall time."""
    env = cluster.env
    # Jobs run `python -m snakemake` on the node with --export=ALL: the venv must be first on PATH
    # there too, for any command a rule calls by name.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env.pop("SLURM_JOB_ID", None)
    env.pop("CUDA_VISIBLE_DEVICES", None)
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-d", str(workdir), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.monotonic() - started
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"snakemake failed after {elapsed:.0f}s:\n{log[-6000:]}"
    return log, elapsed


def test_data_stage_runs_through_sbatch(cluster, tmp_path: Path) -> None:
    cpus = min(2, os.cpu_count() or 1)
    profile = _test_profile(cluster, cpus, tmp_path / "profile")
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = _tiny_config(tmp_path / "tiny.yaml")
    log, elapsed = _run_snakemake(
        cluster, workdir, "-s", str(REPO / "Snakefile"), "--configfile", str(config), "--profile", str(profile), TARGET
    )

    submitted = {int(sm): int(slurm) for sm, slurm in SUBMITTED.findall(log)}
    assert len(submitted) == 2, f"expected synth + extract submitted via sbatch:\n{log[-4000:]}"

    # slurmctld's own record of each job: completed, with the rule in the comment the plugin sets.
    comments = []
    for job_id in submitted.values():
        info = cluster.run("scontrol", "show", "job", str(job_id))
        assert "JobState=COMPLETED" in info, info
        assert f"Partition={cluster.partition}" in info, info
        comments.append(re.search(r"Comment=(\S+)", info).group(1))
    assert sorted(c.split("_wildcards")[0] for c in comments) == ["rule_extract", "rule_synth"], comments

    states = cluster.run("squeue", "--states=all", "--noheader", "--format=%i|%T")
    seen = dict(line.split("|") for line in states.split())
    assert all(seen.get(str(job_id)) == "COMPLETED" for job_id in submitted.values()), states

    manifest = (workdir / TARGET).read_text().splitlines()
    assert len(manifest) > 1, "extract wrote an empty manifest"
    # The per-job SLURM logs (kept by the test profile) hold the node-side Snakemake run.
    slurm_logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in slurm_logs} >= {str(j) for j in submitted.values()}, slurm_logs
    print(f"\nslurm data stage: {elapsed:.1f}s, SLURM job ids {sorted(submitted.values())}")


# Two single-GPU jobs (gpu_probe.py claims its GPU like training does and waits for its
# sibling) and one 2-rank DDP job launched the way docs/execution.md describes: `mpi` makes
# the jobstep plugin run the shell command as is (no srun -n1 around it), the shell's own
# srun starts one rank per task, and vssl.train.distributed reads SLURM_PROCID/SLURM_NTASKS.
GPU_SNAKEFILE = """
rule all:
    input: expand("gpu/{{i}}.json", i=range(2)), "ddp/rank0.json", "ddp/rank1.json"

rule gpu_job:
    output: "gpu/{{i}}.json"
    resources: gpu=1
    shell: "{python} {gpu_probe} {{output}} 2 90"

# After the GPU jobs: queued beside them, the 2-CPU ddp job could stand in front of the
# second gpu_job while the first one waits for it at the barrier (FIFO + backfill).
rule ddp:
    input: expand("gpu/{{i}}.json", i=range(2))
    output: "ddp/rank0.json", "ddp/rank1.json"
    resources: gpu=2, tasks=2, tasks_per_gpu=1, mpi="srun"
    shell: "{{resources.mpi}} -n {{resources.tasks}} {python} {ddp_probe} ddp"
"""


def test_gpu_jobs_get_slurm_gpus_and_ddp_ranks(cluster, tmp_path: Path) -> None:
    if cluster.fake_gpus < 2:
        pytest.skip("no fake GPUs on the test cluster (mknod not permitted here)")
    cpus = os.cpu_count() or 1
    if cpus < 2:
        pytest.skip("two concurrent single-CPU GPU jobs need a node with 2 CPUs")
    profile = _test_profile(cluster, 2, tmp_path / "profile")
    settings = yaml.safe_load((profile / "config.v8+.yaml").read_text())
    settings["default-resources"].update(cpus_per_gpu=1, mem_mb=300)
    (profile / "config.v8+.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    workdir = tmp_path / "work"
    workdir.mkdir()
    snakefile = workdir / "Snakefile"
    snakefile.write_text(
        GPU_SNAKEFILE.format(
            python=sys.executable,
            gpu_probe=REPO / "tests/slurm/gpu_probe.py",
            ddp_probe=REPO / "tests/slurm/ddp_probe.py",
        )
    )
    log, elapsed = _run_snakemake(cluster, workdir, "-s", str(snakefile), "--profile", str(profile))
    submitted = sorted(int(slurm) for _, slurm in SUBMITTED.findall(log))
    assert len(submitted) == 3, log[-4000:]

    gpu = [json.loads(p.read_text()) for p in sorted((workdir / "gpu").glob("*.json"))]
    # SLURM chose the devices (gpu_slots saw CUDA_VISIBLE_DEVICES preset and stood aside); the
    # barrier in gpu_probe.py passed, so the two jobs held different GPUs at the same time.
    assert {r["source"] for r in gpu} == {"preset"}, gpu
    assert len({r["cuda_visible_devices"] for r in gpu}) == 2, gpu
    assert len({r["slurm_job_id"] for r in gpu}) == 2, gpu
    for record in gpu:
        info = cluster.run("scontrol", "show", "job", record["slurm_job_id"])
        assert "gres/gpu=1" in info or "gres:gpu:1" in info, info

    ranks = [json.loads((workdir / "ddp" / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert {(r["world_size"], r["launcher"], r["all_reduce_sum"]) for r in ranks} == {(2, "slurm", 3.0)}, ranks
    assert len({r["slurm_job_id"] for r in ranks}) == 1
    print(
        f"\nslurm gpu+ddp: {elapsed:.1f}s, SLURM job ids {submitted}, "
        f"gpu jobs CUDA_VISIBLE_DEVICES {[r['cuda_visible_devices'] for r in gpu]}, "
        f"ddp ranks CUDA_VISIBLE_DEVICES {[r['cuda_visible_devices'] for r in ranks]}"
    )
