"""`make run`'s launcher: recover from a killed run, refuse a second run, then exec Snakemake.

A ``kill -9`` of Snakemake leaves ``.snakemake/locks/`` behind, and the next run stops with
"Directory cannot be locked" until ``snakemake --unlock``. This launcher holds an exclusive
``flock`` on ``.snakemake/make-run.lock`` for the whole run (the descriptor is inherited by
Snakemake through ``exec``, and the kernel drops the lock when that process dies, however it dies).
So when the launcher gets the lock, no other ``make run`` is alive here; if Snakemake's locks exist
and no Snakemake process works in this directory either, they are stale: they are removed (what
``snakemake --unlock`` does) with one line saying so, and the run goes on; ``--rerun-incomplete``
in the command redoes the job that was killed.

With ``--fork-server`` it first starts `vssl.runtime.forkserver` (log: ``logs/fork-server.log``), so
every ``vssl`` job is a fork of one process that imported torch once instead of a process that
imports it again (about 3 s each, ~300 jobs); the server exits with Snakemake.
``VSSL_FORK_SERVER=0 make run`` runs every job in a process of its own.

Usage: ``python workflow/scripts/make_run.py [--fork-server] SNAKEMAKE [ARGS...]`` from the workflow directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vssl.utils.locks import holder, try_lock

LOCK_NAME = "make-run.lock"


def take_run_lock(state_dir: Path) -> int:
    """The exclusive run lock's descriptor, or exit 1 naming the holder."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = try_lock(state_dir / LOCK_NAME)
    if fd is None:
        sys.exit(
            f"make run: another run is using {state_dir.parent.resolve()} (pid {holder(state_dir / LOCK_NAME)}); "
            "wait for it or stop it first"
        )
    return fd


def live_snakemake_here(workdir: Path) -> list[int]:
    """Snakemake processes (other than this one) whose working directory is ``workdir`` (Linux /proc)."""
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    here = workdir.resolve()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if any(b"snakemake" in arg for arg in argv[:3]) and cwd == here:
            found.append(int(entry.name))
    return found


def clear_stale_locks(workdir: Path) -> list[Path]:
    """Remove Snakemake's lock files if no Snakemake works here; return what was removed."""
    locks = sorted((workdir / ".snakemake" / "locks").glob("*.lock"))
    if not locks:
        return []
    alive = live_snakemake_here(workdir)
    if alive:
        sys.exit(
            f"make run: Snakemake (pid {', '.join(map(str, alive))}) is running in {workdir.resolve()}; "
            "wait for it or stop it first"
        )
    for lock in locks:
        lock.unlink(missing_ok=True)
    return locks


def check_config_files(argv: list[str]) -> None:
    """Stop with FILE:LINE:COL for a config file that is not valid YAML (Snakemake names neither)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from configcheck import configfiles_in, yaml_problem

    for path in ["config.yaml", *configfiles_in(argv)]:
        problem = yaml_problem(path)
        if problem:
            sys.exit(f"make run: {problem}")


def start_fork_server(workdir: Path) -> None:
    """Start the fork server for Snakemake's jobs (they inherit ``VSSL_FORK_SERVER``), unless it is "0"."""
    from vssl.runtime.forkserver import ENV_VAR, start

    if os.environ.get(ENV_VAR) == "0":
        return
    path = start(workdir / "logs" / "fork-server.log", parent_pid=os.getpid())  # our pid becomes Snakemake's
    if path:
        os.environ[ENV_VAR] = path


def main(argv: list[str]) -> None:
    fork_server = argv[:1] == ["--fork-server"]
    argv = argv[1:] if fork_server else argv
    if not argv:
        sys.exit("usage: make_run.py [--fork-server] SNAKEMAKE [ARGS...]")
    check_config_files(argv[1:])
    workdir = Path.cwd()
    fd = take_run_lock(workdir / ".snakemake")
    removed = clear_stale_locks(workdir)
    if removed:
        print(
            f"make run: removed {len(removed)} stale Snakemake lock(s) left by a killed run; "
            "incomplete jobs will be rerun",
            file=sys.stderr,
            flush=True,
        )
    if fork_server:
        start_fork_server(workdir)
    os.set_inheritable(fd, True)  # Snakemake holds the run lock until it exits
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
