"""The input contract of the report layer: metrics JSON files and the entries that place them in tables.

A metrics file is a JSON object written by an evaluation command. Its numeric keys are metrics
(accuracies in percent, 0-100), and these keys carry provenance and cost:

- provenance: ``seed`` (int), ``config`` (run-file path or short hash), ``checkpoint`` (path),
  ``checkpoint_sha256``, ``vssl_version``, ``git_commit``;
- compute (optional): ``gpu_hours``, ``wall_s``, ``clips_per_s``, ``device``.

A missing provenance key is reported as ``unknown``; nothing is ever filled in.

An *entry* says "metric METRIC of metrics file PATH is our value for cell (ROW, COLUMN)". Several
entries for one cell are several seeds and are aggregated to mean ± std (ddof=1, n shown).
``METRIC`` may be a dotted path into nested objects (``test.top1``) and may end in ``*FACTOR`` to
rescale a metric that the file stores as a fraction (``auc*100``); the scale is never guessed.

Entries come from the command line (``--entry ROW COLUMN METRIC PATH``) or from a tab-separated
entries file with the header ``row<TAB>column<TAB>metric<TAB>path`` (blank lines and lines starting
with ``#`` are skipped). Relative paths are resolved against the current directory, which is the
workflow's working directory, in both forms.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vssl.report.stats import mean_std

UNKNOWN = "unknown"
PROVENANCE_KEYS = ("seed", "config", "checkpoint", "checkpoint_sha256", "vssl_version", "git_commit")
COMPUTE_KEYS = ("gpu_hours", "wall_s", "clips_per_s", "device")
ENTRY_HEADER = ("row", "column", "metric", "path")
CHECKPOINT_PREFIX = 12  # sha256 hex digits shown in tables: enough to tell checkpoints apart

# Columns of the aggregated frame (one line per cell), shared by tables and figures.
AGGREGATE_COLUMNS = (
    "row",
    "column",
    "metric",
    "ours_mean",
    "ours_std",
    "n_seeds",
    "seeds",
    "config",
    "checkpoint",
    "compute",
)


class ReportError(ValueError):
    """Bad report input; the message names the offending file (and line where there is one)."""


@dataclass(frozen=True)
class Entry:
    """One (row, column) <- metric-of-file assignment, with where it was declared."""

    row: str
    column: str
    metric: str  # key (dotted path) into the metrics JSON
    path: Path
    scale: float = 1.0
    origin: str = ""  # "entries.tsv:12" or "--entry #3", for error messages


@dataclass(frozen=True)
class Observation:
    """One metric value read from one metrics file: one seed of one cell."""

    row: str
    column: str
    metric: str
    value: float
    path: Path
    seed: str
    config: str
    checkpoint: str  # sha256 prefix, or "unknown"
    checkpoint_path: str
    git_commit: str
    vssl_version: str
    compute: dict[str, Any] = field(default_factory=dict)
    init: str = ""  # the pretrained checkpoint a finetuned row started from, and which one its run selected
    backbone_params: int | None = None  # our parameter count of the model behind the number
    tap: str | None = None  # the feature tap of a `vssl retrieve` run


def parse_metric(spec: str, origin: str = "") -> tuple[str, float]:
    """Split ``"auc*100"`` into ``("auc", 100.0)``; a plain key has scale 1."""
    key, sep, factor = spec.partition("*")
    key = key.strip()
    where = f"{origin}: " if origin else ""
    if not key:
        raise ReportError(f"{where}empty metric name in {spec!r}")
    if not sep:
        return key, 1.0
    try:
        scale = float(factor)
    except ValueError:
        raise ReportError(f"{where}metric {spec!r}: scale {factor!r} is not a number (use e.g. auc*100)") from None
    if not math.isfinite(scale) or scale == 0:
        raise ReportError(f"{where}metric {spec!r}: scale must be a finite non-zero number")
    return key, scale


def entries_from_args(items: Iterable[Sequence[str]] | None) -> list[Entry]:
    """Entries from repeated ``--entry ROW COLUMN METRIC PATH`` arguments."""
    entries = []
    for i, item in enumerate(items or (), start=1):
        row, column, metric_spec, path = item
        origin = f"--entry #{i}"
        metric, scale = parse_metric(metric_spec, origin)
        entries.append(Entry(row, column, metric, Path(path), scale, origin))
    return entries


def read_entries_file(path: str | Path) -> list[Entry]:
    """Entries from a TSV with header ``row, column, metric, path`` (tab-separated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: entries file does not exist") from None
    entries: list[Entry] = []
    header_seen = False
    for lineno, fields in enumerate(csv.reader(text.splitlines(), delimiter="\t"), start=1):
        if not fields or all(not f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in fields]
        origin = f"{path}:{lineno}"
        if not header_seen:
            if tuple(f.lower() for f in fields) != ENTRY_HEADER:
                raise ReportError(f"{origin}: expected the header line {'<TAB>'.join(ENTRY_HEADER)!r}, got {fields!r}")
            header_seen = True
            continue
        if len(fields) != len(ENTRY_HEADER):
            raise ReportError(
                f"{origin}: expected 4 tab-separated fields (row, column, metric, path), got {len(fields)}: {fields!r}"
            )
        row, column, metric_spec, file_path = fields
        if not (row and column and file_path):
            raise ReportError(f"{origin}: row, column and path must not be empty")
        metric, scale = parse_metric(metric_spec, origin)
        entries.append(Entry(row, column, metric, Path(file_path), scale, origin))
    if not header_seen:
        raise ReportError(f"{path}: entries file is empty (no header line)")
    return entries


def load_metrics(path: str | Path, origin: str = "") -> dict[str, Any]:
    """Read one metrics JSON object; errors name the file (and line/column of a syntax error)."""
    path = Path(path)
    referenced = f" (referenced at {origin})" if origin else ""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: metrics file does not exist{referenced}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ReportError(f"{path}:{err.lineno}: invalid JSON ({err.msg}, column {err.colno}){referenced}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path}: metrics file must hold a JSON object, got {type(data).__name__}{referenced}")
    return data


def metric_value(data: dict[str, Any], key: str, path: Path) -> float:
    """The finite number at ``key`` (a dotted path) in a metrics object."""
    node: Any = data
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]  # "results.0.accuracy": one item of a list of results
            continue
        if not isinstance(node, dict) or part not in node:
            numeric = sorted(k for k, v in data.items() if _is_number(v))
            raise ReportError(f"{path}: no metric {key!r}; numeric keys: {', '.join(numeric) or 'none'}")
        node = node[part]
    if not _is_number(node):
        raise ReportError(f"{path}: metric {key!r} is {node!r}, not a number")
    value = float(node)
    if not math.isfinite(value):
        raise ReportError(f"{path}: metric {key!r} is {value} (not finite)")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return UNKNOWN
    return str(value)


def provenance(data: dict[str, Any]) -> dict[str, str]:
    """Provenance strings of a metrics object; missing keys read ``unknown``.

    Files written by the evaluation commands name their models in a ``models`` list (path, SHA-256,
    or a seeded random initialisation) instead of top-level ``checkpoint`` keys; those are used when
    the top-level keys are absent. ``config`` is the training run's ``run.json`` beside the
    checkpoint (every setting of that run) unless the file names a config of its own as a string.
    """
    seed = data.get("seed")
    sha = data.get("checkpoint_sha256")
    checkpoint_path = data.get("checkpoint")
    models = [m for m in data.get("models") or [] if isinstance(m, dict)]
    if not (isinstance(sha, str) and sha.strip()) and models:
        sha = ";".join(_model_label(m) for m in models)
    if not (isinstance(checkpoint_path, str) and checkpoint_path.strip()) and models:
        checkpoint_path = ";".join(str(m.get("path") or m.get("label") or UNKNOWN) for m in models)
    config = data.get("config")
    if not (isinstance(config, str) and config.strip()):
        config = _run_files(checkpoint_path)
    return {
        "seed": str(seed) if _is_number(seed) or (isinstance(seed, str) and seed.strip()) else UNKNOWN,
        "config": config or UNKNOWN,
        "checkpoint": _short_sha(sha),
        "checkpoint_path": str(checkpoint_path)
        if isinstance(checkpoint_path, str) and checkpoint_path.strip()
        else UNKNOWN,
        "git_commit": _text(data, "git_commit"),
        "vssl_version": _text(data, "vssl_version"),
        "init": _init_text(data.get("init")),
    }


def _init_text(init: Any) -> str:
    """``path (best.pt, step 60)`` for a finetuned row's pretrained start; empty for scratch rows."""
    if not isinstance(init, dict) or not init.get("path"):
        return ""
    detail = ", ".join(
        str(x) for x in (init.get("selected"), f"step {init['step']}" if init.get("step") is not None else None) if x
    )
    return f"{init['path']}" + (f" ({detail})" if detail else "")


def _model_label(model: dict[str, Any]) -> str:
    if model.get("kind") == "random":
        return f"random-init({model.get('model')}, seed {model.get('seed')})"
    return str(model.get("sha256") or UNKNOWN)


def _short_sha(sha: Any) -> str:
    """SHA-256 prefixes of one or several (``;``-joined) checkpoints; labels that are no hash stay whole."""
    if not (isinstance(sha, str) and sha.strip()):
        return UNKNOWN
    parts = []
    for part in sha.split(";"):
        part = part.strip()
        is_hash = len(part) == 64 and all(c in "0123456789abcdef" for c in part.lower())
        parts.append(part[:CHECKPOINT_PREFIX] if is_hash else part)
    return ";".join(parts)


def _run_files(checkpoint_path: Any) -> str | None:
    """``<run dir>/run.json`` of each checkpoint path (the kept step series lives in ``checkpoints/``)."""
    if not (isinstance(checkpoint_path, str) and checkpoint_path.strip()):
        return None
    runs = []
    for item in checkpoint_path.split(";"):
        parent = Path(item.strip()).parent
        if parent.name == "checkpoints":
            parent = parent.parent
        runs.append((parent / "run.json").as_posix() if item.strip().endswith(".pt") else item.strip())
    return ";".join(dict.fromkeys(runs))


def compute_info(data: dict[str, Any]) -> dict[str, Any]:
    """The compute keys present in a metrics object (numbers for costs, text for the device)."""
    info: dict[str, Any] = {}
    for key in ("gpu_hours", "wall_s", "clips_per_s"):
        if _is_number(data.get(key)) and math.isfinite(float(data[key])):
            info[key] = float(data[key])
    if isinstance(data.get("device"), str) and data["device"].strip():
        info["device"] = data["device"].strip()
    return info


def resolve_entries(entries: Sequence[Entry]) -> list[Observation]:
    """Read every entry's metric; one metrics file is parsed once however many entries name it.

    Raises :class:`ReportError` when one cell names the same file twice or the same known seed twice,
    since either would count one run as two seeds.
    """
    cache: dict[Path, dict[str, Any]] = {}
    observations: list[Observation] = []
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for entry in entries:
        key = entry.path.resolve()
        if key not in cache:
            cache[key] = load_metrics(entry.path, entry.origin)
        data = cache[key]
        value = metric_value(data, entry.metric, entry.path) * entry.scale
        prov = provenance(data)
        cell = (entry.row, entry.column)
        used = seen.setdefault(cell, {})
        if str(key) in used:
            raise ReportError(
                f"{entry.origin}: {entry.path} is listed twice for cell {cell} (first at {used[str(key)]})"
            )
        if prov["seed"] != UNKNOWN and f"seed:{prov['seed']}" in used:
            raise ReportError(
                f"{entry.origin}: cell {cell} has seed {prov['seed']} twice "
                f"({entry.path} and the entry at {used['seed:' + prov['seed']]})"
            )
        used[str(key)] = entry.origin
        if prov["seed"] != UNKNOWN:
            used[f"seed:{prov['seed']}"] = entry.origin
        observations.append(
            Observation(
                row=entry.row,
                column=entry.column,
                metric=entry.metric + (f"*{entry.scale:g}" if entry.scale != 1 else ""),
                value=value,
                path=entry.path,
                seed=prov["seed"],
                config=prov["config"],
                checkpoint=prov["checkpoint"],
                checkpoint_path=prov["checkpoint_path"],
                git_commit=prov["git_commit"],
                vssl_version=prov["vssl_version"],
                compute=compute_info(data),
                init=prov["init"],
                backbone_params=_int_or_none(data.get("backbone_params")),
                tap=_retrieval_tap(data),
            )
        )
    return observations


def _retrieval_tap(data: dict[str, Any]) -> str | None:
    settings = data.get("settings")
    if isinstance(settings, dict) and "tap" in settings and "query_split" in settings:  # a `vssl retrieve` run
        return str(settings["tap"])
    return None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def format_compute(infos: Sequence[dict[str, Any]]) -> str:
    """One cell's compute, summed over its seeds: ``gpu_hours=1.5; wall_s=5400; clips_per_s=310.2; device=...``.

    Costs (GPU-hours, wall seconds) add up over seeds; throughput is averaged. ``(k/n files)`` says
    when only some of the cell's files recorded a key. ``unknown`` when none did.
    """
    n = len(infos)
    parts = []
    for key, reduce in (("gpu_hours", sum), ("wall_s", sum), ("clips_per_s", lambda v: sum(v) / len(v))):
        values = [info[key] for info in infos if key in info]
        if values:
            partial = f" ({len(values)}/{n} files)" if len(values) < n else ""
            parts.append(f"{key}={reduce(values):.6g}{partial}")
    devices = sorted({info["device"] for info in infos if "device" in info})
    if devices:
        parts.append("device=" + ", ".join(devices))
    return "; ".join(parts) if parts else UNKNOWN


def parse_compute(text: Any) -> dict[str, float]:
    """Numeric costs back out of a :func:`format_compute` string (for totals in reports)."""
    if not isinstance(text, str):
        return {}
    return {key: float(num) for key, num in re.findall(r"(gpu_hours|wall_s|clips_per_s)=([-+0-9.eE]+)", text)}


def aggregate(observations: Sequence[Observation]) -> pd.DataFrame:
    """One line per (row, column): mean ± std over seeds with provenance aligned to ``seeds``.

    ``seeds``, ``config`` and ``checkpoint`` are ``;``-joined in the same order, one item per file.
    Cells keep the order in which they first appear in the entries.
    """
    cells: dict[tuple[str, str], list[Observation]] = {}
    for obs in observations:
        cells.setdefault((obs.row, obs.column), []).append(obs)
    records = []
    for (row, column), group in cells.items():
        mean, std = mean_std([o.value for o in group])
        records.append(
            {
                "row": row,
                "column": column,
                "metric": ";".join(dict.fromkeys(o.metric for o in group)),
                "ours_mean": mean,
                "ours_std": std,
                "n_seeds": len(group),
                "seeds": ";".join(o.seed for o in group),
                "config": ";".join(o.config for o in group),
                "checkpoint": ";".join(o.checkpoint for o in group),
                "compute": format_compute([o.compute for o in group]),
            }
        )
    return pd.DataFrame(records, columns=list(AGGREGATE_COLUMNS)).astype(
        {"ours_mean": float, "ours_std": float, "n_seeds": int}
    )


def collect_entries(
    entry_args: Iterable[Sequence[str]] | None, entry_files: Iterable[str | Path] | None
) -> list[Entry]:
    """All entries of one command: ``--entry`` items first, then each ``--entries-file`` in order."""
    entries = entries_from_args(entry_args)
    for path in entry_files or ():
        entries.extend(read_entries_file(path))
    return entries
