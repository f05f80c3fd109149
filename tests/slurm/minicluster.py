"""A throwaway one-node SLURM cluster on localhost (munged + slurmctld + slurmd), for tests.

Everything lives in one directory: a fresh munge key and a private munged
socket, ``slurm.conf`` (from ``slurm.conf.in`` next to this file) and
``gres.conf`` with ``fake_gpus`` fake GPUs, state, spool, logs. Client
commands find the cluster through ``SLURM_CONF`` (and an ``srun`` shim), which
``MiniCluster.env`` carries, so a system-wide SLURM or munged is never touched.
The daemons run in the foreground (``-D``) as child processes, so stopping
them means stopping exactly the processes started here.

Needs root (SlurmUser=root) and the Debian packages ``slurm-wlm munge``
(``ensure_installed`` gets them with apt).

Manual use::

    python tests/slurm/minicluster.py /tmp/cluster    # starts, prints the env, Ctrl-C stops
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = Path(__file__).with_name("slurm.conf.in")
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")
APT_PACKAGES = ("slurm-wlm", "munge")


class ClusterError(RuntimeError):
    """The test cluster could not be installed or started; the message names the log to read."""


def missing_tools() -> list[str]:
    return [tool for tool in DAEMONS if shutil.which(tool) is None]


def ensure_installed(timeout: float = 600.0) -> None:
    """Install slurm-wlm and munge with apt when any SLURM or munge tool is missing.

    The caller decides whether apt may be used at all (root, apt-get present).
    ``apt-get update`` runs only when the first install attempt fails, which
    keeps the common case (lists already fresh) fast.
    """
    if not missing_tools():
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES]
    first = subprocess.run(install, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if first.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=timeout, check=False)
        second = subprocess.run(install, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if second.returncode != 0:
            raise ClusterError(f"`{' '.join(install)}` failed (rc={second.returncode}):\n{second.stderr[-3000:]}")
    still_missing = missing_tools()
    if still_missing:
        raise ClusterError(f"after installing {' '.join(APT_PACKAGES)}, still not on PATH: {', '.join(still_missing)}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_mb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise ClusterError("no MemTotal in /proc/meminfo")


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return f"({path} not readable)"


@dataclass
class MiniCluster:
    directory: Path
    node: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    partition: str = "debug"
    fake_gpus: int = 4
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.directory / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.directory / "munge" / "munge.socket"

    @property
    def shim_dir(self) -> Path:
        return self.directory / "bin"

    @property
    def env(self) -> dict[str, str]:
        """os.environ plus SLURM_CONF and the srun shim: what client commands (sbatch, squeue, Snakemake) need."""
        path = f"{self.shim_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        return dict(os.environ, SLURM_CONF=str(self.conf), PATH=path)

    def write_srun_shim(self) -> None:
        """An ``srun`` first on PATH that restores SLURM_CONF.

        Snakemake's slurm-jobstep plugin runs each job step as ``srun -n1 ...``
        after deleting every ``SLURM_*`` variable but the job's identity, which
        drops ``SLURM_CONF`` too. A real cluster keeps its config in
        /etc/slurm/slurm.conf (or runs configless), where srun finds it without
        the variable; this cluster lives in a temporary directory so as not to
        touch the system's configuration, hence the shim.
        """
        real = shutil.which("srun")
        if real is None:
            raise ClusterError("srun not on PATH")
        self.shim_dir.mkdir(exist_ok=True)
        shim = self.shim_dir / "srun"
        shim.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {real} "$@"\n')
        shim.chmod(0o755)

    def make_fake_gpus(self) -> None:
        """``fake_gpus`` character devices (/dev/null's numbers) for SLURM's gres/gpu plugin.

        slurmd refuses a gres.conf ``File=`` that is not a device; it never opens
        them (no cgroup device constraint here). SLURM derives each job's
        ``CUDA_VISIBLE_DEVICES`` from the trailing number of the allocated files.
        Without mknod (a container lacking CAP_MKNOD) the cluster has no GPUs.
        """
        if self.fake_gpus <= 0:
            return
        devices = self.directory / "fakedev"
        devices.mkdir(exist_ok=True)
        null = os.stat("/dev/null").st_rdev
        try:
            for index in range(self.fake_gpus):
                path = devices / f"nvidia{index}"
                if not path.exists():
                    os.mknod(path, 0o666 | stat.S_IFCHR, null)
        except OSError:
            self.fake_gpus = 0
            return
        last = self.fake_gpus - 1
        (self.directory / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File={devices}/nvidia[0-{last}]\n")

    def write_config(self) -> None:
        # Slightly under the real figures: slurmd drains a node that reports less than configured.
        values = {
            "gres_types": "GresTypes=gpu" if self.fake_gpus else "",
            "node_gres": f"Gres=gpu:{self.fake_gpus}" if self.fake_gpus else "",
            "node": self.node,
            "dir": str(self.directory),
            "ctld_port": _free_port(),
            "slurmd_port": _free_port(),
            "munge_socket": str(self.munge_socket),
            "cpus": os.cpu_count() or 1,
            "memory_mb": int(_memory_mb() * 0.9),
        }
        text = string.Template(TEMPLATE.read_text()).substitute(values)
        self.conf.write_text(text)

    def _spawn(self, name: str, argv: list[str]) -> None:
        out = open(self.directory / f"{name}.out", "wb")
        # A new session: signals to the test's process group do not reach the daemons twice,
        # and stop() can end each daemon's whole group (slurmd's slurmstepd children included).
        self.processes[name] = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        out.close()

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise ClusterError(
                    f"{name} exited with rc={proc.returncode}; output:\n{_tail(self.directory / f'{name}.out')}\n"
                    f"log:\n{_tail(self.directory / f'{name}.log')}"
                )

    def start(self, timeout: float = 60.0) -> None:
        """Start munged, slurmctld and slurmd and wait for the node to be idle."""
        if len(str(self.munge_socket)) > 107:
            raise ClusterError(
                f"{self.munge_socket}: too long for a Unix socket path (108 bytes); use a shorter directory"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        for sub in ("munge", "state", "spool"):
            (self.directory / sub).mkdir(exist_ok=True)
        os.chmod(self.directory / "munge", 0o755)
        key = self.directory / "munge.key"
        if not key.exists():
            subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True)
        self.make_fake_gpus()
        self.write_config()
        self.write_srun_shim()
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--pid-file={self.directory / 'munge' / 'munged.pid'}",
                f"--log-file={self.directory / 'munged.log'}",
                f"--seed-file={self.directory / 'munge' / 'munged.seed'}",
            ],
        )
        self._wait(lambda: self.munge_socket.exists(), timeout, "munged socket")
        # -c: start from empty state (no jobs left over from an earlier run in this directory).
        self._spawn("slurmctld", ["slurmctld", "-D", "-c", "-f", str(self.conf)])
        self._spawn("slurmd", ["slurmd", "-D", "-N", self.node, "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, f"node {self.node} idle in sinfo")

    def _node_idle(self) -> bool:
        out = subprocess.run(
            ["sinfo", "-h", "-N", "-n", self.node, "-o", "%T"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return out.returncode == 0 and out.stdout.strip() == "idle"

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if ready():
                return
            time.sleep(0.5)
        logs = "\n".join(f"--- {n}.log\n{_tail(self.directory / f'{n}.log', 1500)}" for n in ("slurmctld", "slurmd"))
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what} (cluster dir {self.directory})\n{logs}")

    def run(self, *argv: str) -> str:
        """A client command against this cluster; its stdout."""
        out = subprocess.run(list(argv), env=self.env, capture_output=True, text=True, timeout=30, check=False)
        if out.returncode != 0:
            raise ClusterError(f"`{' '.join(argv)}` failed (rc={out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def stop(self) -> None:
        """Cancel leftover jobs, then stop slurmd, slurmctld and munged (in that order), each by its own pid."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            subprocess.run(
                ["scancel", "--full", "-p", self.partition], env=self.env, capture_output=True, timeout=30, check=False
            )
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.processes.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)

    def __enter__(self) -> MiniCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    ensure_installed()
    # SIGTERM (e.g. from `timeout`) must still run stop(): the daemons live in their own sessions.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with MiniCluster(Path(argv[0]).resolve()) as cluster:
        print(f"export SLURM_CONF={cluster.conf}", flush=True)
        print(cluster.run("sinfo"), flush=True)
        try:
            signal.pause()
        except (KeyboardInterrupt, SystemExit):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
