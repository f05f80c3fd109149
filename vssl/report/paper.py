"""Every number the two papers print, per (experiment, row, column), read from the catalogue.

The catalogue is ``workflow/experiments.yaml`` (``$VSSL_CATALOGUE`` names another file): per
experiment id its paper, kind, columns, printed rows and display settings, and the papers' claims.
The workflow's plan reads the same file at parse time, so the ids, columns and claims the DAG builds
and the ones the report renders cannot drift apart. Its header documents the row and column naming
scheme and the paper inconsistencies found while transcribing.

Rows we compute ourselves (scratch/random baselines included) have ``cited=False``; rows only quoted
from other work have ``cited=True`` and the work's name in ``source``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

# Columns of the frame returned by :func:`paper_values`.
PAPER_COLUMNS = ("experiment", "row", "column", "value", "cited", "source", "label")


@dataclass(frozen=True)
class PaperRow:
    """One printed row: its stable key, display label and values per column (percent)."""

    key: str
    label: str
    values: Mapping[str, float] = field(default_factory=dict)
    cited: bool = False
    source: str = ""  # the cited work's name; empty for rows we compute
    attrs: Mapping[str, str] = field(default_factory=dict)  # extra descriptive columns (network, params, ...)


@dataclass(frozen=True)
class Experiment:
    """One target of the workflow: a table (with paper numbers) or a figure."""

    id: str
    paper: str  # "3DRotNet", "V3S", or "suite" (ours, no paper)
    ref: str  # where in the paper: "Table 2", "Sec. 4.6 (text)", "Figure 4a"
    title: str
    kind: str  # "table" or "figure"
    columns: tuple[str, ...] = ()
    rows: tuple[PaperRow, ...] = ()
    metric: str = ""  # what the numbers are
    decimals: int = 1  # how the paper prints them
    has_tex: bool = False  # whether the paper prints a table (then a .tex is written)
    transpose: bool = False  # paper prints methods as columns
    headline: tuple[str, str] | None = None  # (row, column) quoted in SUMMARY.md
    attr_names: tuple[str, ...] = ()  # order of PaperRow.attrs columns
    figure_kind: str = ""  # figures: "bars", "curve", "image-grid", "transforms"
    statement: str = ""  # figures: what the paper says the figure shows
    dataset: str = ""  # the one dataset the experiment reads, where it has one

    def row(self, key: str) -> PaperRow | None:
        for row in self.rows:
            if row.key == key:
                return row
        return None

    def protocol_row(self, key: str) -> PaperRow | None:
        """One of our rows under a further protocol, ``<row>@<protocol>`` (suite-T1): the row's label and protocol."""
        base, sep, protocol = key.partition("@")
        spec = self.row(base) if sep and protocol else None
        if spec is None or spec.cited:
            return None
        return PaperRow(key, f"{spec.label} @ {protocol}")

    @property
    def ours_only(self) -> bool:
        """No paper prints this experiment (the pretext suite): its cells show our numbers alone."""
        return self.paper == "suite"

    @property
    def row_keys(self) -> tuple[str, ...]:
        return tuple(row.key for row in self.rows)


# The repository's catalogue: vssl is installed editable from its checkout (`make setup`).
DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "workflow" / "experiments.yaml"


def catalogue_path() -> Path:
    return Path(os.environ.get("VSSL_CATALOGUE") or DEFAULT_CATALOGUE)


def load_catalogue(path: Path | None = None) -> dict[str, Any]:
    """The catalogue as parsed YAML: ``experiments`` (id -> spec) and ``claims`` (a list)."""
    path = path or catalogue_path()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise FileNotFoundError(f"experiment catalogue {path}: {err.strerror or err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("experiments"), dict):
        raise ValueError(f"experiment catalogue {path}: needs a mapping 'experiments'")
    return data


def _experiment(experiment_id: str, spec: Mapping[str, Any]) -> Experiment:
    rows = tuple(
        PaperRow(
            str(row["key"]),
            str(row["label"]),
            {str(col): float(v) for col, v in (row.get("values") or {}).items()},
            cited=bool(row.get("source")),
            source=str(row.get("source") or ""),
            attrs={str(k): str(v) for k, v in (row.get("attrs") or {}).items()},
        )
        for row in spec.get("rows") or ()
    )
    for row in rows:
        unknown = set(row.values) - set(spec.get("columns") or ())
        if unknown:
            raise ValueError(
                f"experiment catalogue: {experiment_id} row {row.key!r}: values for unknown columns {sorted(unknown)}"
            )
    headline = spec.get("headline")
    return Experiment(
        experiment_id,
        str(spec["paper"]),
        str(spec["ref"]),
        str(spec["title"]),
        str(spec["kind"]),
        tuple(str(c) for c in spec.get("columns") or ()),
        rows,
        metric=str(spec.get("metric") or ""),
        decimals=int(spec.get("decimals", 1)),
        has_tex=bool(spec.get("has_tex", False)),
        transpose=bool(spec.get("transpose", False)),
        headline=(str(headline[0]), str(headline[1])) if headline else None,
        attr_names=tuple(str(a) for a in spec.get("attr_names") or ()),
        figure_kind=str(spec.get("figure_kind") or ""),
        statement=str(spec.get("statement") or ""),
        dataset=str(spec.get("dataset") or ""),
    )


CATALOGUE: dict[str, Any] = load_catalogue()

EXPERIMENTS: dict[str, Experiment] = {eid: _experiment(eid, spec) for eid, spec in CATALOGUE["experiments"].items()}
EXPERIMENT_IDS: tuple[str, ...] = tuple(EXPERIMENTS)
TABLE_IDS: tuple[str, ...] = tuple(e.id for e in EXPERIMENTS.values() if e.kind == "table")
FIGURE_IDS: tuple[str, ...] = tuple(e.id for e in EXPERIMENTS.values() if e.kind == "figure")


def experiment(experiment_id: str) -> Experiment:
    """The experiment spec for ``experiment_id``; a clear error lists the valid ids."""
    try:
        return EXPERIMENTS[experiment_id]
    except KeyError:
        raise KeyError(f"unknown experiment id {experiment_id!r}; known ids: {', '.join(EXPERIMENT_IDS)}") from None


def file_stem(experiment_id: str) -> str:
    """File name stem of an experiment's outputs.

    The id with ``/`` replaced by ``_`` (``rot-8/360`` -> ``rot-8_360``).
    """
    return experiment_id.replace("/", "_")


def paper_values(experiment_id: str) -> pd.DataFrame:
    """Every printed number of one experiment, one line per (row, column), in the paper's order.

    Columns: experiment, row, column, value (percent), cited (bool), source (cited work, else ""),
    label (the paper's row label). Cells the paper leaves blank ("—") are absent; figure-only
    experiments give an empty frame.
    """
    exp = experiment(experiment_id)
    records = [
        {
            "experiment": exp.id,
            "row": row.key,
            "column": col,
            "value": row.values[col],
            "cited": row.cited,
            "source": row.source,
            "label": row.label,
        }
        for row in exp.rows
        for col in exp.columns
        if col in row.values
    ]
    frame = pd.DataFrame(records, columns=list(PAPER_COLUMNS))
    return frame.astype({"value": float, "cited": bool})
