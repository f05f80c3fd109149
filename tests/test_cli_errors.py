"""One exit policy for the whole CLI: a user's mistake is one line naming the path and the cause, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from train_support import make_store


def _vssl(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = "from vssl.cli import console; console()"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VSSL_NUM_GPUS": "0", **(env or {})},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store") / "store", classes=2, per_class=2, frames=20, size=20)


def test_out_that_is_an_existing_file(store, tmp_path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    done = _vssl("retrieve", "--store", str(store), "--random-init", "--model", "r3d_10", "--out", str(taken))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-1500:]
    assert "vssl retrieve: error:" in done.stderr and str(taken) in done.stderr


def test_a_pairs_file_that_is_not_a_matlab_file(store, tmp_path) -> None:
    pairs = tmp_path / "View2.mat"
    pairs.write_text("this is text, not MATLAB\n")
    done = _vssl(
        "aslan",
        "--store",
        str(store),
        "--pairs",
        str(pairs),
        "--random-init",
        "--model",
        "r3d_10",
        "--out",
        str(tmp_path / "out"),
        "--device",
        "cpu",
        "--workers",
        "0",
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-1500:]
    assert str(pairs) in done.stderr and "not a readable MATLAB file" in done.stderr


def test_debug_shows_the_traceback(store, tmp_path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    argv = ("retrieve", "--store", str(store), "--random-init", "--model", "r3d_10", "--out", str(taken))
    assert "Traceback" in _vssl("--debug", *argv).stderr
    assert "Traceback" in _vssl(*argv, env={"VSSL_DEBUG": "1"}).stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_manifest(store, tmp_path) -> None:
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    (copy / "manifest.csv").chmod(0)
    done = _vssl("retrieve", "--store", str(copy), "--random-init", "--model", "r3d_10", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "manifest.csv" in done.stderr
