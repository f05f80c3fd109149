"""``vssl average``: the mean of one metric over several result files (3DRotNet Table 7: mean over 3 splits).

Writes a metrics JSON whose ``METRIC`` is the mean of the inputs' values, with ``values`` and
``inputs`` listing each one, and the provenance of the inputs joined (``checkpoint`` and
``checkpoint_sha256`` as ``;``-separated lists in input order). The seed must be the same in every
input (one seed's mean over splits); a mismatch is an error naming the files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vssl.report.records import ReportError, load_metrics, metric_value, parse_metric, provenance
from vssl.utils.io import atomic_write_json


def average(paths: list[Path], metric: str, seed: int | None = None) -> dict:
    key, scale = parse_metric(metric)
    if not paths:
        raise ReportError("vssl average needs at least one --inputs file")
    values, checkpoints, shas, seeds, commits = [], [], [], {}, []
    for path in paths:
        data = load_metrics(path)
        values.append(metric_value(data, key, path) * scale)
        prov = provenance(data)
        checkpoints.append(prov["checkpoint_path"])
        shas.append(str(data.get("checkpoint_sha256") or prov["checkpoint"]))
        seeds[str(path)] = prov["seed"]
        commits.append(prov["git_commit"])
    known = {s for s in seeds.values() if s != "unknown"}
    if len(known) > 1:
        raise ReportError("inputs come from different seeds: " + ", ".join(f"{p} (seed {s})" for p, s in seeds.items()))
    if seed is not None and known and known != {str(seed)}:
        raise ReportError(f"--seed {seed} but the inputs are seed {known.pop()}")
    result_seed = seed if seed is not None else (int(known.pop()) if known else None)
    return {
        key: sum(values) / len(values),
        "values": values,
        "inputs": [str(p) for p in paths],
        "n_inputs": len(values),
        "seed": result_seed,
        "checkpoint": ";".join(checkpoints),
        "checkpoint_sha256": ";".join(shas),
        "git_commit": ";".join(dict.fromkeys(commits)),  # the inputs' commits, once each
        "method": f"mean of {metric} over {len(values)} files",
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inputs",
        action="append",
        required=True,
        type=Path,
        metavar="JSON",
        help="metrics JSON (repeat per input, e.g. per split)",
    )
    parser.add_argument("--metric", required=True, help="dotted key; append *FACTOR to rescale")
    parser.add_argument("--seed", type=int, default=None, help="the inputs' seed (checked)")
    parser.add_argument("--out", required=True, type=Path, help="output metrics JSON")


def run(args: argparse.Namespace) -> int:
    try:
        result = average(args.inputs, args.metric, args.seed)
    except ReportError as err:
        print(f"vssl average: error: {err}", file=sys.stderr)
        return 2
    atomic_write_json(args.out, result)
    key = parse_metric(args.metric)[0]
    print(f"{key}: mean {result[key]:.4f} of {', '.join(f'{v:.4f}' for v in result['values'])} -> {args.out}")
    return 0
