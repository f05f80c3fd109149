"""`make run`'s fork server: a forked command does what the same command does in its own process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from train_support import TINY_MODEL, cli_env, make_store

from vssl.train.checkpoint import load_checkpoint

# The `vssl` executable's entry point, as the console script calls it.
CONSOLE = "import sys; from vssl.cli import console; sys.argv[0] = 'vssl'; console()"


def _vssl(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CONSOLE, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    sock = tmp_path_factory.mktemp("fork") / "s"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vssl.runtime.forkserver", "--socket", str(sock)],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert _wait_for(sock.exists), "the fork server did not start"
    yield proc, sock
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), classes=2, per_class=4)


def _finetune_args(store: Path, out: Path, *extra: str) -> list[str]:
    return [
        "finetune",
        "--store",
        str(store),
        "--out",
        str(out),
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
        "--log-every",
        "1",
        "--batch-size",
        "4",
        "--seed",
        "3",
        *extra,
    ]


def test_forked_finetune_equals_its_own_process(server, store, tmp_path):
    _, sock = server
    forked, alone = tmp_path / "forked", tmp_path / "alone"
    extra = ["--epochs", "2", "--test-out", "TEST", "--test-clips", "2", "--frame-cache-mb", "64"]  # shared frames
    via = _vssl(
        *[a.replace("TEST", str(forked / "test")) for a in _finetune_args(store, forked, *extra)],
        env={**cli_env(), "VSSL_FORK_SERVER": str(sock)},
    )
    direct = _vssl(
        *[a.replace("TEST", str(alone / "test")) for a in _finetune_args(store, alone, *extra)], env=cli_env()
    )
    assert via.returncode == direct.returncode == 0, via.stderr[-2000:] + direct.stderr[-2000:]
    a, b = load_checkpoint(forked / "final.pt")["weights"], load_checkpoint(alone / "final.pt")["weights"]
    for part in ("backbone", "head"):  # the same training, bitwise
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part])
    metrics = [json.loads((d / "test" / "metrics.json").read_text()) for d in (forked, alone)]
    assert metrics[0]["top1_video"] == metrics[1]["top1_video"]
    # The child's log lines reach the client's stderr, as a process of its own writes them.
    assert "done: " in via.stderr and "done: " in direct.stderr


def test_forked_user_error_gives_the_same_line_and_code(server, tmp_path):
    _, sock = server
    args = ["finetune", "--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]
    via = _vssl(*args, env={**cli_env(), "VSSL_FORK_SERVER": str(sock)})
    direct = _vssl(*args, env=cli_env())
    assert via.returncode == direct.returncode == 2
    assert via.stderr == direct.stderr and "manifest not found" in via.stderr
    assert "Traceback" not in via.stderr


def test_forked_child_takes_the_threads_and_directory_of_its_client(server, tmp_path):
    _, sock = server
    # `vssl models` prints a table; run it from another directory with two threads asked for.
    env = {**cli_env(), "VSSL_FORK_SERVER": str(sock), "OMP_NUM_THREADS": "2"}
    code = (
        "import os, sys, torch; from vssl.runtime.forkserver import run_via_server; "
        "sys.exit(run_via_server(sys.argv[1], ['models']) is None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(sock)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "r3d_10" in done.stdout


def test_without_a_server_the_command_runs_in_its_own_process(tmp_path):
    args = ["finetune", "--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]
    done = _vssl(*args, env={**cli_env(), "VSSL_FORK_SERVER": str(tmp_path / "no-such-socket")})
    assert done.returncode == 2 and "manifest not found" in done.stderr


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_killing_the_client_kills_the_forked_command(server, store, tmp_path, how):
    proc, sock = server
    out = tmp_path / "long"
    client = subprocess.Popen(
        [sys.executable, "-c", CONSOLE, *_finetune_args(store, out, "--epochs", "500")],
        env={**cli_env(), "VSSL_FORK_SERVER": str(sock)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(lambda: (out / "metrics.csv").exists(), 120), "the forked finetune never started"
        assert _children(proc.pid), "the finetune is not a child of the server"
        client.send_signal(getattr(signal, how))
        client.wait(timeout=30)
        assert _wait_for(lambda: not _children(proc.pid), 30), "the forked finetune outlived its client"
        assert not (out / "final.pt").exists()
    finally:
        client.kill()


def test_server_started_by_the_launcher_leaves_with_it(tmp_path):
    """`start` is what make_run.py calls before exec'ing Snakemake; the server must not outlive it."""
    code = (
        "import os, sys, time; from pathlib import Path; from vssl.runtime.forkserver import start; "
        "path = start(Path(sys.argv[1]), parent_pid=os.getpid()); print(path, flush=True);"
        " time.sleep(float(sys.argv[2]))"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "server.log"), "15"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    sock = Path(launcher.stdout.readline().strip())
    assert _wait_for(sock.exists, 60), (tmp_path / "server.log").read_text()
    done = _vssl(
        "finetune",
        "--store",
        str(tmp_path / "nowhere"),
        "--out",
        str(tmp_path / "o"),
        env={**cli_env(), "VSSL_FORK_SERVER": str(sock)},
    )
    assert done.returncode == 2
    launcher.wait(timeout=60)
    assert _wait_for(lambda: not sock.parent.exists(), 30), "the server outlived the process that started it"
    assert "listening on" in (tmp_path / "server.log").read_text()


def test_forked_start_up_counts_from_the_client_start(server, store, tmp_path):
    """run.json's first_step_after_s must include what the client waited before the fork, not start at it."""
    _, sock = server
    out = tmp_path / "late"
    code = (
        "import sys, time; time.sleep(2.0); from vssl.runtime.forkserver import run_via_server; "
        "sys.exit(run_via_server(sys.argv[1], sys.argv[2:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(sock), *_finetune_args(store, out, "--iterations", "1")],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((out / "run.json").read_text())["first_step_after_s"] >= 2.0


def test_process_start_override(monkeypatch):
    from vssl.utils import proc

    monkeypatch.setattr(proc, "started_at", time.time() - 5.0)
    assert 5.0 <= proc.seconds_since_process_start() < 6.0
    monkeypatch.setattr(proc, "started_at", None)
    assert 0.0 <= proc.seconds_since_process_start() < 3600 * 24 * 365


def test_a_server_that_never_answers_does_not_hang_the_job(tmp_path, monkeypatch):
    """Connected but never forked (a stopped server): the client gives up and the command runs itself."""
    import socket

    from vssl.runtime import forkserver

    path = tmp_path / "stuck.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)  # accepts into the backlog, never answers
    monkeypatch.setattr(forkserver, "START_TIMEOUT_S", 0.5)
    started = time.monotonic()
    try:
        assert forkserver.run_via_server(str(path), ["models"]) is None
    finally:
        listener.close()
    assert time.monotonic() - started < 10
