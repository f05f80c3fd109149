"""Print what each table of a config costs, in clip passes, and GPU-hours at a given throughput.

    python workflow/scripts/workload.py config/paper.yaml --clips-per-s 1200

Configs are merged over config.yaml as Snakemake does. Video counts are the official split-1 sizes
of the real releases (``PAPER_VIDEOS``); training inputs / throughput gives GPU-hours, where the
throughput is what ``make bench`` measures on the target GPU (``bench/train.py``'s r3d18_fast row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

import plan  # noqa: E402

_UCF = {"train": 9537, "test": 3783, "all": 13320, "classes": 101}
_HMDB = {"train": 3570, "test": 1530, "all": 6766, "classes": 51}
PAPER_VIDEOS = {
    "ucf101": _UCF,
    "ucf101_rot": _UCF,
    "ucf101_256": _UCF,
    "hmdb51": _HMDB,
    "hmdb51_rot": _HMDB,
    "hmdb51_256": _HMDB,
    "kinetics": {"train": 240_000, "test": 0, "all": 240_000},
    "kinetics_256": {"train": 240_000, "test": 0, "all": 240_000},
    "kinetics_rot": {"train": 240_000, "test": 0, "all": 240_000},
    "mit_rot": {"train": 802_264, "test": 0, "all": 802_264},
}


def merge(base: dict, over: dict) -> dict:
    """Snakemake's ``--configfile`` merge: nested mappings are updated key by key."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def markdown(costs: dict[str, dict[str, float]], clips_per_s: float) -> str:
    lines = [
        "| table | pretrain jobs | pretrain inputs | finetune jobs | finetune inputs | test clips | GPU-hours |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in costs.items():
        total = c["pretrain_inputs"] + c["finetune_inputs"] + c["test_clips"] / 3  # a test pass ~ 1/3 of a step
        lines.append(
            f"| {name.replace('_total', '**all (each job once)**')} | {c['pretrain_jobs']} | "
            f"{c['pretrain_inputs'] / 1e6:.1f}M | {c['finetune_jobs']} | {c['finetune_inputs'] / 1e6:.1f}M | "
            f"{c['test_clips'] / 1e6:.2f}M | {total / clips_per_s / 3600:,.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path, help="config overlays (merged over config.yaml)")
    parser.add_argument("--clips-per-s", type=float, required=True, help="training inputs/s of one GPU (make bench)")
    args = parser.parse_args(argv)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in args.configs:
        config = merge(config, yaml.safe_load(path.read_text()))
    costs = plan.workload(plan.build_plan(config), PAPER_VIDEOS)
    print(markdown(costs, args.clips_per_s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
