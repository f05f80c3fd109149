"""`make run`'s launcher (workflow/scripts/make_run.py): a killed run's locks are cleared, a second run refused."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "workflow" / "scripts" / "make_run.py"


def _launch(workdir: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(LAUNCHER), *command], cwd=workdir, capture_output=True, text=True, timeout=60
    )


def test_stale_snakemake_locks_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("data/stores/ucf101/manifest.csv\n")
    (locks / "0.output.lock").write_text("results/SUMMARY.md\n")
    done = _launch(tmp_path, sys.executable, "-c", "import os; print(sorted(os.listdir('.snakemake/locks')))")
    assert done.returncode == 0, done.stderr
    assert "removed 2 stale Snakemake lock(s)" in done.stderr and done.stdout.strip() == "[]"


def test_nothing_to_clear_runs_the_command_as_given(tmp_path: Path) -> None:
    done = _launch(tmp_path, sys.executable, "-c", "import sys; print('ran', sys.argv[1:])", "--cores", "2")
    assert done.returncode == 0 and done.stdout.strip() == "ran ['--cores', '2']" and not done.stderr


def test_a_second_run_in_the_same_directory_is_refused(tmp_path: Path) -> None:
    # The first "run" holds the lock (inherited through exec) until its stdin closes.
    first = subprocess.Popen(
        [sys.executable, str(LAUNCHER), sys.executable, "-c", "import sys; sys.stdin.read()"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):  # until the first launcher has written its pid into the lock file
            lock = tmp_path / ".snakemake" / "make-run.lock"
            if lock.exists() and lock.read_text().strip():
                break
            time.sleep(0.05)
        second = _launch(tmp_path, sys.executable, "-c", "print('should not run')")
        assert second.returncode == 1 and "should not run" not in second.stdout
        assert f"another run is using {tmp_path.resolve()} (pid {first.pid})" in second.stderr, second.stderr
    finally:
        first.stdin.close()
        first.wait(timeout=30)
    # Once the first run is gone (its lock with it), the next one starts.
    assert _launch(tmp_path, sys.executable, "-c", "print('ok')").stdout.strip() == "ok"
