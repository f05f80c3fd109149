"""The whole workflow end to end at smoke scale: every rule type runs, on CPU, from nothing.

``config/smoke.yaml`` over the embedded default: synthetic scale ``tiny``, a few optimizer steps,
targets that together need every rule (rotation accuracy, the rot-F4b curve, fusion and split means,
retrieval, ASLAN, attention maps and kernels, the transform figure, tables, the claims table,
SUMMARY.md), then ``snakemake --report``. The full default DAG is ``make run``, not this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
EVERY_RULE = {
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
}

pytestmark = pytest.mark.slow


# Every path a rule hands to a shell is quoted: the data lives under a name with a space, a quote
# and a non-ASCII letter, inside a working directory named the same way.
ODD_NAME = "my data 'é"


def _odd_paths_overlay(workdir: Path) -> Path:
    import yaml

    default = yaml.safe_load((REPO / "config.yaml").read_text())
    moved = lambda path: ODD_NAME + path[len("data") :] if path.startswith("data/") else path  # noqa: E731
    overlay = {
        "data_dir": ODD_NAME,
        "synthetic": {"out": moved(default["synthetic"]["out"])},
        "datasets": {
            name: {key: moved(value) for key, value in spec.items() if key in ("root", "splits")}
            for name, spec in default["datasets"].items()
        },
        "v3s": {"aslan": {"pairs": moved(default["v3s"]["aslan"]["pairs"])}},
    }
    path = workdir / "odd-paths.yaml"
    path.write_text(yaml.safe_dump(overlay, allow_unicode=True))
    return path


def _snakemake(workdir: Path, *args: str, timeout: float = 900, fork_server: Path | None = None) -> str:
    # Rules call `vssl`: the interpreter's bin directory (the venv) goes first on PATH.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if fork_server is not None:  # as `make run` runs it: every job a fork of one server (it leaves with pytest)
        from vssl.runtime.forkserver import ENV_VAR, start

        env[ENV_VAR] = start(fork_server, parent_pid=os.getpid())
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "-d",
            str(workdir),
            "--configfile",
            str(REPO / "config.yaml"),
            str(REPO / "config" / "smoke.yaml"),
            str(_odd_paths_overlay(workdir)),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"snakemake {' '.join(args)} failed:\n{log[-6000:]}"
    return log


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("work") / ODD_NAME
    workdir.mkdir()
    log = _snakemake(workdir, "--cores", "2", fork_server=workdir / "fork-server.log")
    assert (workdir / ODD_NAME / "stores" / "ucf101" / "manifest.csv").is_file()
    return workdir, log


def test_jobs_ran_as_forks_of_the_server(smoke_run) -> None:
    workdir, _ = smoke_run
    forked = (workdir / "fork-server.log").read_text()
    # synth, the first job, may start while the server still imports torch: it then runs in its own process.
    for command in ("extract", "pretrain", "finetune", "retrieve", "table", "summary"):
        assert f": vssl {command} in " in forked, command


def test_every_rule_type_runs(smoke_run) -> None:
    workdir, log = smoke_run
    ran = set(re.findall(r"^(?:local)?rule (\w+):", log, re.M))
    assert EVERY_RULE <= ran, EVERY_RULE - ran
    # One log file per job under logs/ (training rules also keep OUT/train.log).
    assert list((workdir / "logs" / "pretrain").rglob("*.log"))
    assert list((workdir / "logs" / "report").glob("table_*.log"))


def test_tables_carry_paper_numbers_and_provenance(smoke_run) -> None:
    workdir, _ = smoke_run
    for stem in ("rot-T1", "rot-T7", "v3s-T4", "v3s-T6"):
        table = pd.read_csv(workdir / "results" / "tables" / f"{stem}.csv", keep_default_na=False)
        ours = table[(table["source"] == "ours") & (table["n_seeds"] > 0)]
        assert len(ours), stem
        for column in ("seeds", "config", "checkpoint"):
            assert not ours[column].str.contains("unknown").any(), (stem, column, ours[column].tolist())
        assert (table[table["source"] == "cited"]["ours_mean"] == "").all() if "cited" in set(table["source"]) else True
        assert (workdir / "results" / "tables" / f"{stem}.md").read_text().startswith(f"# {stem}")
    # Every footnote names the commit that made its number (test metrics once lacked it: "unknown").
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True).returncode == 0:
        for md in (workdir / "results" / "tables").glob("*.md"):
            commits = re.findall(r"commit `([^`]*)`", md.read_text())
            assert all(re.fullmatch(r"[0-9a-f]{40}(;[0-9a-f]{40})*", c) for c in commits), (
                md.name,
                sorted(set(commits))[:3],
            )
    t7 = pd.read_csv(workdir / "results" / "tables" / "rot-T7.csv")
    assert {"RGB", "DIF", "Fusion"} <= set(t7["row"]) and "cited" in set(t7["source"])


def test_figures_summary_claims_and_report(smoke_run) -> None:
    workdir, _ = smoke_run
    results = workdir / "results"
    for stem in ("rot-F1", "rot-F4b", "rot-F5", "v3s-F2"):
        for ext in ("png", "pdf"):
            path = results / "figures" / f"{stem}.{ext}"
            assert path.stat().st_size > 1000, path
    points = pd.read_csv(results / "figures" / "rot-F4b.csv")
    assert len(points) >= 2 and points["step"].is_monotonic_increasing
    claims = (results / "tables" / "claims.md").read_text()
    assert "rot-T7/fusion>rgb,dif" in claims
    summary = (results / "SUMMARY.md").read_text()
    assert "[md](tables/rot-T7.md)" in summary and "figures/rot-F4b.png" in summary
    report = results / "report.html"
    _snakemake(workdir, "--cores", "1", "--report", str(report))
    assert report.stat().st_size > 10_000


def test_a_second_run_has_nothing_to_do(smoke_run) -> None:
    workdir, _ = smoke_run
    log = _snakemake(workdir, "--cores", "2", "-n")
    assert "Nothing to be done" in log, log[-3000:]
