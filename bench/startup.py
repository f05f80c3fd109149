"""Process start-up of the commands the workflow runs hundreds of times -> ``startup.csv``.

Rows (medians over ``RUNS`` runs, each in a fresh process; min and max beside them):

- ``python``: the bare interpreter (``python -c pass``);
- ``import torch``: the floor every torch command pays;
- ``vssl finetune: first step``: process start to the end of the first training step
  (``first_step_after_s`` in the run's ``run.json``), on a tiny store;
- ``vssl test: first batch``: process start to the first loaded batch (``first_batch_after_s`` in
  ``metrics.json``);
- ``... (fork server)``: the same two commands as `make run` runs them, forked from
  `vssl.runtime.forkserver` (which imported torch once): wall time of the client process, and
  ``first_step_after_s`` counted from the client's start;
- ``exit``: what the interpreter's normal teardown would add after a command (``vssl`` skips it);
- ``one SGD step``: a process that imports torch and takes one optimizer step, with
  ``torch.optim.SGD`` and with `vssl.train.sgd.SGD` (torch's imports ``torch._dynamo`` on that step);
- ``importtime``: the largest top-level imports of the finetune command (``python -X importtime``);
- ``jpeg``: import time of each candidate JPEG decoder and the time to decode one 16-frame clip
  (20x20 and 128x171), the numbers behind `vssl.data.jpeg`'s choice of simplejpeg.

Times are wall seconds on whatever else the machine is doing; the notes column says what ran.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RUNS = 5
COLUMNS = ["measure", "median_s", "min_s", "max_s", "runs", "notes", "date"]
VSSL = str(Path(sys.executable).with_name("vssl"))


def _wall(argv: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _row(measure: str, values: list[float], notes: str = "") -> dict:
    return {
        "measure": measure,
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "runs": len(values),
        "notes": notes,
        "date": _dt.date.today().isoformat(),
    }


def _tiny_store(root: Path) -> Path:
    """A 2-class store of 20-frame 20x20 videos (the toy store's frame size)."""
    from vssl.data.store import store_file, write_frames

    rng = np.random.default_rng(0)
    rows = []
    for label in range(2):
        for i in range(4):
            key = f"C{label}/v_C{label}_g{i:02d}.avi"
            write_frames(store_file(root, key), rng.integers(0, 255, (20, 20, 20, 3), dtype=np.uint8), fps=25.0)
            rows.append(
                {
                    "video": key,
                    "label": label,
                    "class": f"C{label}",
                    "split1": "train" if i < 2 else "test",
                    "frames": 20,
                    "height": 20,
                    "width": 20,
                    "fps": 25.0,
                    "status": "ok",
                    "reason": "",
                }
            )
    with open(root / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def _finetune_then_test(store: Path, out: Path, env: dict) -> tuple[float, float, float, float]:
    """One 1-step finetune and one test: (finetune wall, first step, test wall, first batch)."""
    argv = [
        VSSL,
        "finetune",
        "--store",
        str(store),
        "--out",
        str(out),
        "--model",
        "r3d_10",
        "--width",
        "0.125",
        "--crop",
        "16",
        "--clip-length",
        "16",
        "--batch-size",
        "4",
        "--iterations",
        "1",
        "--workers",
        "0",
        "--device",
        "cpu",
        "--no-progress",
    ]
    finetune_wall = _wall(argv, env)
    test_wall = _wall(
        [
            VSSL,
            "test",
            "--checkpoint",
            str(out / "final.pt"),
            "--store",
            str(store),
            "--out",
            str(out / "test"),
            "--clips",
            "2",
            "--workers",
            "0",
            "--device",
            "cpu",
            "--no-progress",
        ],
        env,
    )
    return (
        finetune_wall,
        json.loads((out / "run.json").read_text())["first_step_after_s"],
        test_wall,
        json.loads((out / "test" / "metrics.json").read_text())["first_batch_after_s"],
    )


def _fork_server_rows(tmp: Path, store: Path, env: dict) -> list[dict]:
    sock = tmp / "fork.sock"
    server = subprocess.Popen(
        [sys.executable, "-m", "vssl.runtime.forkserver", "--socket", str(sock)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        runs = [
            _finetune_then_test(store, tmp / f"fork{i}", dict(env, VSSL_FORK_SERVER=str(sock))) for i in range(RUNS)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    walls, steps, tests, _ = zip(*runs)
    note = "forked from vssl.runtime.forkserver (make run); counted from the client process's start"
    return [
        _row("vssl finetune (fork server): first step", list(steps), note),
        _row("vssl finetune (fork server): whole 1-step run", list(walls), note),
        _row("vssl test (fork server): whole run", list(tests), note),
    ]


def _command_rows(tmp: Path) -> list[dict]:
    store = _tiny_store(tmp / "store")
    env = dict(os.environ, OMP_NUM_THREADS="1", VSSL_NUM_GPUS="0")
    env.pop("VSSL_FORK_SERVER", None)
    walls, steps, tests, batches = zip(*(_finetune_then_test(store, tmp / f"ft{i}", env) for i in range(RUNS)))
    py = [_wall([sys.executable, "-c", "pass"]) for _ in range(RUNS)]
    torch_import = [_wall([sys.executable, "-c", "import torch, os; os._exit(0)"]) for _ in range(RUNS)]
    normal_exit = [_wall([sys.executable, "-c", "import torch"]) for _ in range(RUNS)]
    teardown = [a - b for a, b in zip(sorted(normal_exit), sorted(torch_import))]
    # One SGD step, torch's class against vssl's: the difference is torch.optim's import of torch._dynamo.
    step = (
        "import os, torch; from torch import nn; m = nn.Linear(3, 2); o = {}(m.parameters(), lr=0.1, momentum=0.9); "
        "m(torch.ones(1, 3)).sum().backward(); o.step(); os._exit(0)"
    )
    torch_sgd = [_wall([sys.executable, "-c", step.format("torch.optim.SGD")]) for _ in range(RUNS)]
    vssl_sgd = [
        _wall([sys.executable, "-c", "from vssl.train.sgd import SGD; " + step.format("SGD")]) for _ in range(RUNS)
    ]
    return [
        _row("python", py, "python -c pass"),
        _row("import torch", torch_import, "python -c 'import torch' (exit without teardown)"),
        _row("exit", teardown, "python -c 'import torch' with vs without the interpreter's teardown"),
        _row(
            "one SGD step: torch.optim.SGD",
            torch_sgd,
            "import torch, one step of nn.Linear (torch.optim imports torch._dynamo on its first step)",
        ),
        _row("one SGD step: vssl.train.sgd.SGD", vssl_sgd, "the same with vssl's SGD (the training loop's)"),
        _row(
            "vssl finetune: first step",
            list(steps),
            "process start to the end of step 1 (run.json first_step_after_s); "
            "r3d_10 width 0.125, 16x16x16 clips, batch 4, CPU, 1 thread",
        ),
        _row("vssl finetune: whole 1-step run", list(walls), "the same command to its exit (checkpoints included)"),
        _row("vssl test: first batch", list(batches), "process start to the first loaded batch (metrics.json)"),
        _row("vssl test: whole run", list(tests), "the test command (2 clips per video) to its exit"),
        *_fork_server_rows(tmp, store, env),
    ]


def _importtime_rows() -> list[dict]:
    code = (
        "import vssl.finetune_and_test, vssl.train.finetune, vssl.train.loop, vssl.models, vssl.data.clips,"
        " vssl.eval.test"
    )
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    entries = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:  # top-level imports and their direct children
            entries.append((int(parts[1]) / 1e6, name.strip()))
    rows = []
    for seconds, name in sorted(entries, reverse=True)[:10]:
        rows.append(
            {
                "measure": f"importtime: {name}",
                "median_s": round(seconds, 3),
                "min_s": "",
                "max_s": "",
                "runs": 1,
                "notes": "cumulative; python -X importtime of the finetune command's modules",
                "date": _dt.date.today().isoformat(),
            }
        )
    return rows


_DECODERS = {
    "torchvision.io": (
        "import torch, torchvision.io",
        "import torch, torchvision.io\nop = torch.ops.image.decode_jpeg\n"
        "def decode(b): return op(torch.frombuffer(bytearray(b), dtype=torch.uint8), 0, False)",
    ),
    "PIL": (
        "from PIL import Image",
        "import io\nfrom PIL import Image\nimport numpy as np\n"
        "def decode(b): return np.asarray(Image.open(io.BytesIO(b)).convert('RGB'))",
    ),
    "simplejpeg": (
        "import simplejpeg",
        "import simplejpeg\ndef decode(b): return simplejpeg.decode_jpeg(b, colorspace='RGB')",
    ),
}


def _jpeg_rows() -> list[dict]:
    from vssl.data import jpeg

    rows = []
    base = statistics.median(_wall([sys.executable, "-c", "import os; os._exit(0)"]) for _ in range(RUNS))
    for name, (imports, _) in _DECODERS.items():
        times = [_wall([sys.executable, "-c", imports + "; import os; os._exit(0)"]) - base for _ in range(RUNS)]
        rows.append(_row(f"jpeg import: {name}", times, "import time over the bare interpreter"))
    rng = np.random.default_rng(0)
    for h, w in ((20, 20), (128, 171)):
        frames = (rng.random((16, h, w, 3)) * 60 + np.linspace(0, 150, w)[None, None, :, None]).astype(np.uint8)
        data = [jpeg.encode(f, 90) for f in frames]
        for name, (_, source) in _DECODERS.items():
            scope: dict = {}
            exec(source, scope)  # noqa: S102 -- the decoders above, nothing external
            decode = scope["decode"]
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                for _ in range(20):
                    for b in data:
                        decode(b)
                times.append((time.perf_counter() - start) / 20)
            rows.append(_row(f"jpeg decode {h}x{w} x16: {name}", times, "one 16-frame clip, quality 90"))
    return rows


def main(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = _command_rows(Path(tmp)) + _importtime_rows() + _jpeg_rows()
    load = os.getloadavg()[0]
    for row in rows:
        row["notes"] = f"{row['notes']}; load average {load:.2f}".lstrip("; ")
    path = out_dir / "startup.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(f"{row['measure']:55s} {row['median_s']}", flush=True)
    print(f"wrote {path}")
