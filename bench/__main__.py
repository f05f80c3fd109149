"""Run every benchmark module (or those named) and write results/bench/*.csv.

Each module in this package exposes ``main(out_dir: pathlib.Path) -> None``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

import bench


def main(argv: list[str] | None = None) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("only", nargs="*", choices=names + [[]], help="benchmarks to run (default: all)")
    parser.add_argument("--out", type=Path, default=Path("results/bench"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or names:
        print(f"== bench {name}", flush=True)
        importlib.import_module(f"bench.{name}").main(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
