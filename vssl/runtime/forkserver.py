"""A fork server for `make run`: one process imports torch once, every `vssl` job is a fork of it.

The toy DAG runs about 300 ``vssl`` processes, and each pays ``import torch`` (2-3 s on the 2-core
machine) before its first step: start-up alone was about a tenth of the run. ``make run``'s launcher
(``workflow/scripts/make_run.py``) starts this server before Snakemake and puts its socket in
``VSSL_FORK_SERVER``; the ``vssl`` executable (`vssl.cli.console`) then asks the server to run
its command line instead of importing anything heavy itself:

1. the client sends its stdin/stdout/stderr descriptors (``SCM_RIGHTS``) and one JSON line with its
   argv, working directory and environment;
2. the server decodes the job's frame store once if the job caches decoded frames
   (``--frame-cache-mb``; `vssl.data.shared`: every later fork reads those frames), then forks;
   the child takes those descriptors as 0/1/2, that directory and environment
   (``OMP_NUM_THREADS`` included: it sets torch's thread count, which the server fixed at import),
   answers ``pid N``, runs `vssl.cli.main` and answers ``exit CODE``;
3. the client exits with that code. SIGINT/SIGTERM/SIGHUP it receives are forwarded to the child,
   and a child whose client disappears terminates itself, so Snakemake's kills still kill the work.

Anything short of a started child (no server, a refused connection, a server that died) makes the
client run the command itself, so the server is only ever a shortcut. The server imports modules
and decodes JPEG frames with numpy, never runs torch operators, and so holds no threads or CUDA state
across ``fork``. It exits when the
process that started it (Snakemake, via ``exec``) is gone. Snakemake's ``benchmark:`` files still
time each job's wall clock, but their memory and CPU columns then see only the small client.

Standard library only at import: the client side runs in every ``vssl`` process.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

ENV_VAR = "VSSL_FORK_SERVER"
# The commands of the DAG's many jobs: imported once by the server so no child pays for them.
PRELOAD = (
    "torch",
    "vssl.finetune_and_test",
    "vssl.train.pretrain",
    "vssl.eval.test",
    "vssl.eval.rotation",
    "vssl.eval.retrieval",
    "vssl.eval.aslan",
    "vssl.eval.attention",
    "vssl.eval.fuse",
    "vssl.eval.illustrate",
    "vssl.report.curve",
    "vssl.report.average",
    "vssl.report.tables",
    "vssl.report.figures",
    "vssl.report.summary",
)
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A server that accepts but never forks (stopped, swapping) must not hang its jobs: past this wait
# for the child's pid, the client runs the command itself.
START_TIMEOUT_S = 60.0
# Decodes a job's frame store before the fork (share_for_job), so that forks share the frames.
SHARE_STORES_MODULE = "vssl.data.shared"
# A client sends its descriptors and request right after connecting; one that does not is dropped.
RECEIVE_TIMEOUT_S = 10.0


# ------------------------------------------------------------------------------------------ client
def run_via_server(path: str, argv: list[str]) -> int | None:
    """Run ``vssl ARGV`` in a fork of the server at ``path``; its exit code, or None if nothing started."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(START_TIMEOUT_S)
    try:
        sock.connect(path)
        socket.send_fds(sock, [b"\0"], [0, 1, 2])
        from vssl.utils.proc import seconds_since_process_start

        since = seconds_since_process_start()
        request = {
            "argv": argv,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "started": None if since is None else time.time() - since,
        }
        sock.sendall(json.dumps(request).encode() + b"\n")
        replies = sock.makefile("rb")
        started = replies.readline()
    except OSError:
        sock.close()
        return None
    if not started.startswith(b"pid "):
        sock.close()
        return None  # the server could not start it: the caller runs the command itself
    child = int(started.split()[1])
    sock.settimeout(None)  # the command itself may run for hours

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in _FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    try:
        finished = replies.readline()
    finally:
        sock.close()
    if finished.startswith(b"exit "):
        return int(finished.split()[1])
    print(f"vssl: the command (pid {child}) ended without an exit status; it was killed", file=sys.stderr)
    return 1


# ------------------------------------------------------------------------------------------ server
def serve(path: Path, *, parent_pid: int | None = None, preload: tuple[str, ...] = PRELOAD) -> None:
    """Listen on ``path`` and fork one child per request; return when ``parent_pid`` is gone."""
    import importlib

    for module in preload:
        try:
            importlib.import_module(module)
        except ImportError:  # a command this build lacks: its children import what they need
            pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    listener.listen(64)
    listener.settimeout(1.0)  # wake up to check the parent; no watcher thread, so fork stays safe
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    print(f"fork server {os.getpid()} listening on {path}", flush=True)
    try:
        while parent_pid is None or os.getppid() == parent_pid:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            received = _receive(conn)
            if received is None:
                conn.close()
                continue
            fds, request = received
            _share_stores(request)
            sys.stdout.flush()
            sys.stderr.flush()
            if os.fork() == 0:
                listener.close()
                _child(conn, fds, request)  # never returns
            for fd in fds:  # the client's streams belong to the child now
                os.close(fd)
            conn.close()
    finally:
        listener.close()
        path.unlink(missing_ok=True)
        if path.parent.name.startswith("vssl-fork-"):  # the private directory `start` made
            path.parent.rmdir()


def _receive(conn: socket.socket) -> tuple[list[int], dict] | None:
    """The client's three stream descriptors and its request; None from a client that sent neither in time."""
    fds: list[int] = []
    conn.settimeout(RECEIVE_TIMEOUT_S)
    try:
        _, fds, _, _ = socket.recv_fds(conn, 1, 3)
        request = json.loads(conn.makefile("rb").readline())
        conn.settimeout(None)
        if len(fds) == 3 and isinstance(request, dict):
            return fds, request
    except (OSError, ValueError):
        pass
    for fd in fds:
        os.close(fd)
    return None


def _share_stores(request: dict) -> None:
    """Let `vssl.data.shared` decode the job's frame store here, once, for every fork to share.

    Named by string, as PRELOAD's modules are: the runtime layer imports no data code. Only a
    shortcut: a failure leaves the job to decode its frames itself.
    """
    import importlib

    try:
        importlib.import_module(SHARE_STORES_MODULE).share_for_job(request.get("argv", []), request.get("cwd", "."))
    except Exception as err:  # noqa: BLE001 - never let a store take the server down
        print(f"fork server: not sharing the store of {' '.join(request.get('argv', [])[:1])}: {err}", flush=True)


def _child(conn: socket.socket, fds: list[int], request: dict) -> None:
    """In the forked child: adopt the client's streams, directory and environment; run; report."""
    code = 1
    try:
        for signum in (signal.SIGCHLD, *_FORWARDED_SIGNALS):
            signal.signal(signum, signal.SIG_DFL)
        os.setsid()  # the client forwards signals; a terminal's Ctrl-C must not reach us twice
        print(
            f"{os.getpid()}: vssl {' '.join(request['argv'][:1])} in {request['cwd']}", flush=True
        )  # the server's log
        _adopt(fds, request)
        conn.sendall(f"pid {os.getpid()}\n".encode())
        _exit_when_client_leaves(conn)
        from vssl.cli import finish, main

        code = finish(main, request["argv"])
        conn.sendall(f"exit {code}\n".encode())
    except BaseException:  # noqa: BLE001 - a child must never return into the server's loop
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def _adopt(fds: list[int], request: dict) -> None:
    for target, fd in zip((0, 1, 2), fds):
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    # New stream objects: the server's were made for its own descriptors (a log file's block buffering).
    sys.stdin = open(0, encoding="utf-8", errors="surrogateescape", closefd=False)  # noqa: SIM115
    sys.stdout = io.TextIOWrapper(
        open(1, "wb", closefd=False),
        line_buffering=unbuffered or os.isatty(1),  # noqa: SIM115
        write_through=unbuffered,
        encoding="utf-8",
        errors="backslashreplace",
    )
    sys.stderr = io.TextIOWrapper(
        open(2, "wb", closefd=False),
        line_buffering=True,  # noqa: SIM115
        encoding="utf-8",
        errors="backslashreplace",
    )
    sys.argv = ["vssl", *request["argv"]]
    if request.get("started") is not None:
        from vssl.utils import proc

        proc.started_at = request["started"]  # start-up figures (run.json) include the client's start
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        import torch

        torch.set_num_threads(int(threads))  # OpenMP read the variable once, in the server


def _exit_when_client_leaves(conn: socket.socket) -> None:
    """A client killed outright (SIGKILL) cannot forward anything: its closed socket ends us too."""
    import threading

    def watch() -> None:
        try:
            left = conn.recv(1) == b""
        except OSError:
            left = True
        if left:
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="fork-client-watch").start()


def start(log: Path, *, parent_pid: int) -> str | None:
    """Start a server beside the caller (make_run.py); the socket path for ``VSSL_FORK_SERVER``."""
    import subprocess

    path = Path(tempfile.mkdtemp(prefix="vssl-fork-")) / "sock"  # private (0700) and short (AF_UNIX: 108 bytes)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env.pop(ENV_VAR, None)
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "ab") as out:
            subprocess.Popen(
                [sys.executable, "-m", "vssl.runtime.forkserver", "--socket", str(path), "--parent", str(parent_pid)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
                start_new_session=True,
            )
    except OSError:
        return None
    return str(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vssl.runtime.forkserver", description=__doc__.splitlines()[0])
    parser.add_argument("--socket", type=Path, required=True, help="where to listen")
    parser.add_argument("--parent", type=int, default=None, help="exit once this process is gone")
    args = parser.parse_args(argv)
    serve(args.socket, parent_pid=args.parent)


if __name__ == "__main__":
    main()
