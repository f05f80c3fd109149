"""``vssl table ID``: one experiment's table, ours beside the paper's with the difference.

Writes ``<out-dir>/<stem>.csv`` (one line per cell), ``<stem>.md`` (the paper's shape, "ours (paper, Δ)"
cells, cited rows below a "cited" separator, provenance footnotes) and ``<stem>.tex`` (booktabs) where
the paper prints a table. ``<stem>`` is the id with ``/`` replaced by ``_``.

Row order: the paper's computed rows in the paper's order, then rows we computed that the paper lacks
(in entry order), then the cited rows. Paper rows without entries stay, with ours blank; cells without
a paper number get a blank paper value. An entry that targets a cited row is an error: cited numbers
are constants from other work, and our own run of such a method needs its own row name.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vssl.report.paper import TABLE_IDS, Experiment, experiment, file_stem, paper_values
from vssl.report.records import (
    Observation,
    ReportError,
    aggregate,
    collect_entries,
    parse_compute,
    resolve_entries,
)
from vssl.utils.io import atomic_write_csv, atomic_write_text

TABLE_COLUMNS = (
    "row",
    "column",
    "ours_mean",
    "ours_std",
    "n_seeds",
    "seeds",
    "paper",
    "diff",
    "source",
    "config",
    "checkpoint",
    "compute",
)
DASH = "—"


def build_table(
    experiment_id: str, observations: Sequence[Observation], show_cited: Sequence[str] | None = None
) -> pd.DataFrame:
    """Merge our aggregated observations with the paper's numbers into the table CSV frame.

    ``show_cited``: the catalogue's cited rows to show (None: all of them). The pretext suite names
    them per config, since a cited number only sits beside ours under a protocol that matches it.
    """
    exp = experiment(experiment_id)
    if exp.kind != "table":
        raise ReportError(f"{experiment_id} is a figure; render it with `vssl figure {experiment_id}`")
    cited_rows = {row.key: row for row in exp.rows if row.cited}
    unknown = [key for key in show_cited or () if key not in cited_rows]
    if unknown:
        raise ReportError(
            f"--cited-rows: {', '.join(map(repr, unknown))} not a cited row of {exp.id}; "
            f"its cited rows: {', '.join(cited_rows) or 'none'}"
        )
    for obs in observations:
        if obs.row in cited_rows:
            raise ReportError(
                f"{obs.path}: row {obs.row!r} of {exp.id} is a cited row ({cited_rows[obs.row].source}); "
                f"cited numbers are constants -- give our own run of it another row name, e.g. {obs.row + '-ours'!r}"
            )
    ours = aggregate(observations)
    ours_by_cell = {(r.row, r.column): r for r in ours.itertuples(index=False)}
    paper = paper_values(exp.id)
    paper_by_cell = {(r.row, r.column): r.value for r in paper.itertuples(index=False)}

    computed_rows = [row.key for row in exp.rows if not row.cited]
    extra_rows = [r for r in dict.fromkeys(ours["row"]) if exp.row(r) is None]
    columns = list(exp.columns) + [c for c in dict.fromkeys(ours["column"]) if c not in exp.columns]

    records = []
    for row_key in computed_rows + extra_rows:
        for column in columns:
            cell = (row_key, column)
            if cell not in ours_by_cell and cell not in paper_by_cell:
                continue
            records.append(_record(row_key, column, ours_by_cell.get(cell), paper_by_cell.get(cell), "ours"))
    for row_key in cited_rows if show_cited is None else show_cited:
        for column in columns:
            if (row_key, column) in paper_by_cell:
                records.append(_record(row_key, column, None, paper_by_cell[(row_key, column)], "cited"))
    frame = pd.DataFrame(records, columns=list(TABLE_COLUMNS))
    return frame.astype({"ours_mean": float, "ours_std": float, "n_seeds": int, "paper": float, "diff": float})


def _record(row: str, column: str, ours, paper: float | None, source: str) -> dict:
    mean = ours.ours_mean if ours is not None else math.nan
    paper_value = paper if paper is not None else math.nan
    return {
        "row": row,
        "column": column,
        "ours_mean": mean,
        "ours_std": ours.ours_std if ours is not None else math.nan,
        "n_seeds": ours.n_seeds if ours is not None else 0,
        "seeds": ours.seeds if ours is not None else "",
        "paper": paper_value,
        "diff": mean - paper_value,
        "source": source,
        "config": ours.config if ours is not None else "",
        "checkpoint": ours.checkpoint if ours is not None else "",
        "compute": ours.compute if ours is not None else "",
    }


# --------------------------------------------------------------------------- formatting


def paper_decimals(value: float, minimum: int) -> int:
    """Decimals to print a paper number as printed (8.33 keeps 2, 15.0 keeps 1)."""
    for digits in range(minimum, 3):
        if abs(round(value, digits) - value) < 1e-9:
            return digits
    return 2


def fmt(value: float, decimals: int, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def cell_text(line, decimals: int, cited: bool, paper: bool = True) -> str:
    """``ours ± std [n] (paper, Δ)``; cited cells show the cited number alone; ``paper=False``: ours alone."""
    paper_text = fmt(line.paper, paper_decimals(line.paper, decimals)) if not math.isnan(line.paper) else DASH
    if cited:
        return paper_text
    if line.n_seeds == 0:
        ours = DASH
    elif line.n_seeds == 1:
        ours = f"{fmt(line.ours_mean, decimals)} [1]"
    else:
        ours = f"{fmt(line.ours_mean, decimals)} ± {fmt(line.ours_std, decimals)} [{line.n_seeds}]"
    if not paper:
        return ours
    if math.isnan(line.paper):
        return f"{ours} ({DASH})"
    if line.n_seeds == 0:
        return f"{ours} ({paper_text})"
    return f"{ours} ({paper_text}, {fmt(line.diff, decimals, signed=True)})"


@dataclass
class Grid:
    """A rendered table before Markdown/LaTeX syntax: header, computed body, cited body."""

    header: list[str]
    body: list[list[str]]
    cited: list[list[str]]


def build_grid(
    exp: Experiment, table: pd.DataFrame, label_fn, cell_fn, ours_attrs: Mapping[str, Mapping[str, str]] | None = None
) -> Grid:
    """Lay the long table out as rows × columns (transposed when the paper prints methods as columns).

    ``ours_attrs`` (row -> {column name: text}) adds descriptive columns we measured, after the paper's.
    """
    columns = list(dict.fromkeys(list(exp.columns) + list(table["column"])))
    columns = [c for c in columns if (table["column"] == c).any()] or list(exp.columns)
    ours_attrs = ours_attrs or {}
    ours_names = list(dict.fromkeys(name for attrs in ours_attrs.values() for name in attrs))
    attr_names = list(exp.attr_names) + ours_names
    body, cited = [], []
    for row_key, group in table.groupby("row", sort=False):
        row_spec = exp.row(row_key) or exp.protocol_row(row_key)
        by_col = {line.column: line for line in group.itertuples(index=False)}
        is_cited = group["source"].iloc[0] == "cited"
        attrs = [row_spec.attrs.get(a, "") if row_spec else "" for a in exp.attr_names]
        attrs += [ours_attrs.get(row_key, {}).get(a, "") for a in ours_names]
        cells = [cell_fn(by_col[c], is_cited) if c in by_col else DASH for c in columns]
        line = [label_fn(row_key, row_spec, is_cited)] + attrs + cells
        (cited if is_cited else body).append(line)
    header = ["Method"] + attr_names + columns
    if exp.transpose and not cited:
        n_attr = len(attr_names)
        header, body = (
            [""] + [line[0] for line in body],
            [[columns[j]] + [line[1 + n_attr + j] for line in body] for j in range(len(columns))],
        )
    return Grid(header, body, cited)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(
    exp: Experiment, table: pd.DataFrame, observations: Sequence[Observation], title: str | None = None
) -> str:
    """Readable Markdown: cells "ours ± std [n] (paper, Δ)", cited rows below a separator, footnotes."""
    # Footnotes are numbered in the order the rows appear in the table.
    observed_rows = {o.row for o in observations}
    footnote_ids = {
        key: i for i, key in enumerate((k for k in dict.fromkeys(table["row"]) if k in observed_rows), start=1)
    }

    def label(row_key: str, spec, cited: bool) -> str:
        if spec is None:
            text = f"`{row_key}` (not in paper)"
        else:
            text = _md_escape(spec.label) + (f" `{row_key}`" if spec.label != row_key else "")
        if row_key in footnote_ids:
            text += f" [^{footnote_ids[row_key]}]"
        return text

    grid = build_grid(
        exp,
        table,
        label,
        lambda line, cited: cell_text(line, exp.decimals, cited, paper=not exp.ours_only),
        ours_attrs=_params_ours(exp, observations),
    )
    cells = (
        f"Cells: ours mean ± std [number of seeds]; std with ddof=1; {DASH} = not available. "
        "No paper prints this table."
        + (
            " Cited rows: a pretext paper's own numbers under a protocol that matches ours."
            if (table["source"] == "cited").any()
            else ""
        )
        if exp.ours_only
        else "Cells: ours mean ± std [number of seeds] (paper, Δ = ours − paper); std with ddof=1; "
        f"{DASH} = not available. Cited rows are numbers quoted by the paper from other work."
    )
    lines = [f"# {exp.id}: {title or exp.title}", "", f"{exp.paper}, {exp.ref}. Metric: {exp.metric}.", "", cells, ""]
    width = len(grid.header)
    lines.append("| " + " | ".join(grid.header) + " |")
    lines.append("|" + "|".join(["---"] * width) + "|")
    lines += ["| " + " | ".join(line) + " |" for line in grid.body]
    if grid.cited:
        lines.append("| **cited** |" + " |" * (width - 1))
        lines += ["| " + " | ".join(line) + " |" for line in grid.cited]
    lines.append("")
    lines += _notes(exp, table, observations)
    if footnote_ids:
        lines.append("")
        for key, number in footnote_ids.items():
            lines.append(f"[^{number}]: `{key}`: " + _provenance_text(key, observations))
    return "\n".join(lines) + "\n"


def _notes(exp: Experiment, table: pd.DataFrame, observations: Sequence[Observation]) -> list[str]:
    notes = []
    metrics: dict[str, dict[str, None]] = {}
    for obs in observations:
        metrics.setdefault(obs.column, {})[obs.metric] = None
    if metrics:
        notes.append(
            "Metrics: " + "; ".join(f"{col} ← " + ", ".join(f"`{m}`" for m in ms) for col, ms in metrics.items()) + "."
        )
    taps = _feature_taps(observations)
    if taps:
        notes.append("Features: " + ", ".join(f"`{t}`" for t in taps) + " (the retrieval tap, config `retrieval.tap`).")
    cited = table[table["source"] == "cited"]
    if not cited.empty:
        sources = dict.fromkeys(exp.row(r).source for r in cited["row"] if exp.row(r))
        notes.append("Cited: " + ", ".join(sources) + ".")
    missing = table[(table["source"] == "ours") & (table["n_seeds"] == 0)]
    if not missing.empty:
        cells = ", ".join(f"({r}, {c})" for r, c in zip(missing["row"], missing["column"]))
        what = "Cells" if exp.ours_only else "Paper cells"
        notes.append(f"{what} not computed ({len(missing)}): {cells}.")
    extra = table[(table["source"] == "ours") & table["paper"].isna() & (table["n_seeds"] > 0)]
    if not extra.empty and not exp.ours_only:
        cells = ", ".join(f"({r}, {c})" for r, c in zip(extra["row"], extra["column"]))
        notes.append(f"Computed cells without a paper number ({len(extra)}): {cells}.")
    notes.append(compute_note(observations))
    return [f"- {n}" for n in notes]


def _params_ours(exp: Experiment, observations: Sequence[Observation]) -> dict[str, dict[str, str]]:
    """Where the paper prints a params column: our backbones' counts beside it (from the test metrics)."""
    if "params" not in exp.attr_names:
        return {}
    counts: dict[str, dict[int, None]] = {}
    for obs in observations:
        if obs.backbone_params is not None:
            counts.setdefault(obs.row, {})[obs.backbone_params] = None
    return {row: {"params (ours)": " / ".join(f"{n / 1e6:.3g}M" for n in found)} for row, found in counts.items()}


def _feature_taps(observations: Sequence[Observation]) -> list[str]:
    """The feature taps of the retrieval runs behind the table, in order."""
    return list(dict.fromkeys(o.tap for o in observations if o.tap is not None))


def compute_note(observations: Sequence[Observation]) -> str:
    """Total compute of the table's metrics files (each file counted once)."""
    by_file = {o.path.resolve(): o.compute for o in observations}
    if not by_file:
        return "Compute: nothing computed."
    hours = [c["gpu_hours"] for c in by_file.values() if "gpu_hours" in c]
    wall = [c["wall_s"] for c in by_file.values() if "wall_s" in c]
    throughput = [c["clips_per_s"] for c in by_file.values() if "clips_per_s" in c]
    devices = sorted({c["device"] for c in by_file.values() if "device" in c})
    parts = []
    if hours:
        parts.append(f"{sum(hours):.3g} GPU-hours over {len(hours)} of {len(by_file)} metrics files")
    if wall:
        parts.append(f"{sum(wall) / 3600:.3g} wall-clock hours over {len(wall)} files")
    if throughput:
        parts.append(f"{sum(throughput) / len(throughput):.4g} clips/s on average over {len(throughput)} files")
    if devices:
        parts.append("device: " + ", ".join(devices))
    if not parts:
        return f"Compute: unknown (none of the {len(by_file)} metrics files records gpu_hours/wall_s)."
    return "Compute: " + "; ".join(parts) + "."


def _provenance_text(row_key: str, observations: Sequence[Observation]) -> str:
    parts = []
    for column in dict.fromkeys(o.column for o in observations if o.row == row_key):
        seeds = [o for o in observations if o.row == row_key and o.column == column]
        items = "; ".join(
            f"seed {o.seed}: config `{o.config}`, checkpoint `{o.checkpoint}`, "
            + (f"init `{o.init}`, " if o.init else "")
            + f"commit `{o.git_commit}`, file `{o.path}`"
            for o in seeds
        )
        parts.append(f"{column}: {items}")
    return " · ".join(parts)


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "°": r"$^\circ$",
    "×": r"$\times$",
    "±": r"$\pm$",
    "—": "---",
    "−": "$-$",
    "Δ": r"$\Delta$",
}


def tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def _tex_cell(text: str) -> str:
    # A hyphen before a digit is a minus sign (Δ -0.3), which text mode would set as a hyphen.
    return re.sub(r"(?<![\w.])-(?=\d)", "$-$", tex_escape(text))


def render_latex(exp: Experiment, table: pd.DataFrame, title: str | None = None) -> str:
    """A booktabs table (needs ``\\usepackage{booktabs}``); cited rows below an italic "cited" line."""

    def label(row_key: str, spec, cited: bool) -> str:
        return spec.label if spec else row_key

    grid = build_grid(exp, table, label, lambda line, cited: cell_text(line, exp.decimals, cited))
    width = len(grid.header)
    n_text = 1 + (0 if exp.transpose and not grid.cited else len(exp.attr_names))
    spec = "l" * n_text + "c" * (width - n_text)
    caption = (
        tex_escape(f"{title or exp.title} ({exp.paper}, {exp.ref}). {exp.metric}.")
        + r" Cells: ours mean $\pm$ std [seeds] (paper, $\Delta$ = ours $-$ paper)."
    )
    out = [
        "% Generated by `vssl table`; needs \\usepackage{booktabs}.",
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        f"\\caption{{{caption}}}",
        f"\\label{{tab:{file_stem(exp.id)}}}",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(tex_escape(h) for h in grid.header) + " \\\\",
        "\\midrule",
    ]
    out += [" & ".join(_tex_cell(c) for c in line) + " \\\\" for line in grid.body]
    if grid.cited:
        out += ["\\midrule", f"\\multicolumn{{{width}}}{{l}}{{\\textit{{cited}}}} \\\\"]
        out += [" & ".join(_tex_cell(c) for c in line) + " \\\\" for line in grid.cited]
    out += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(out) + "\n"


def unit_warnings(table: pd.DataFrame) -> list[str]:
    """Cells whose value looks like a fraction next to a percent paper number (missing ``*100``)."""
    suspect = table[(table["ours_mean"].abs() <= 1) & (table["paper"] > 1)]
    return [
        f"{r}/{c}: ours {m:.4g} vs paper {p:g} -- is the metric a fraction? append *100 to METRIC"
        for r, c, m, p in zip(suspect["row"], suspect["column"], suspect["ours_mean"], suspect["paper"])
    ]


def write_table(
    experiment_id: str,
    observations: Sequence[Observation],
    out_dir: str | Path,
    title: str | None = None,
    show_cited: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Build and write ``<stem>.csv``, ``<stem>.md`` and (where the paper has a table) ``<stem>.tex``."""
    exp = experiment(experiment_id)
    table = build_table(experiment_id, observations, show_cited)
    out_dir = Path(out_dir)
    stem = file_stem(exp.id)
    paths = {"csv": out_dir / f"{stem}.csv", "md": out_dir / f"{stem}.md"}
    # Rounding only strips float noise (61.5 - 62.9 = -1.3999999999999986) from the CSV.
    atomic_write_csv(paths["csv"], table.round({"ours_mean": 6, "ours_std": 6, "diff": 6}))
    atomic_write_text(paths["md"], render_markdown(exp, table, observations, title))
    if exp.has_tex:
        paths["tex"] = out_dir / f"{stem}.tex"
        atomic_write_text(paths["tex"], render_latex(exp, table, title))
    return paths


def read_table_csv(path: str | Path) -> pd.DataFrame:
    """Read a table CSV written by :func:`write_table`, checking its columns."""
    path = Path(path)
    try:
        frame = pd.read_csv(
            path, dtype={"row": str, "column": str, "seeds": str, "source": str}, keep_default_na=False, na_values=[""]
        )
    except FileNotFoundError:
        raise ReportError(f"{path}: table CSV does not exist") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ReportError(f"{path}: not a readable table CSV ({err})") from None
    missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
    if missing:
        raise ReportError(f"{path}: missing table columns {missing}")
    frame["n_seeds"] = frame["n_seeds"].fillna(0).astype(int)
    return frame


def total_gpu_hours(table: pd.DataFrame) -> float | None:
    """GPU-hours recorded in a table's compute column (None if none recorded).

    The CSV does not name files, so cells of one row with identical seeds, configs, checkpoints and
    compute are taken to come from the same metrics files and counted once (top1..top50 of one
    retrieval file). The Markdown's compute note, made from the files themselves, is exact.
    """
    ours = table[table["source"] != "cited"]
    runs = ours.drop_duplicates(["row", "seeds", "config", "checkpoint", "compute"])
    hours = [parse_compute(text).get("gpu_hours") for text in runs["compute"]]
    hours = [h for h in hours if h is not None]
    return sum(hours) if hours else None


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help=f"experiment id, one of: {', '.join(TABLE_IDS)}")
    parser.add_argument(
        "--entry",
        nargs=4,
        action="append",
        metavar=("ROW", "COLUMN", "METRIC", "PATH"),
        help="metric METRIC (append *100 for a fraction) of metrics JSON PATH is our value for "
        "(ROW, COLUMN); repeat per seed and cell",
    )
    parser.add_argument(
        "--entries-file",
        action="append",
        type=Path,
        metavar="TSV",
        help="tab-separated entries with header row/column/metric/path (repeatable)",
    )
    parser.add_argument("--out-dir", type=Path, default=Path("results/tables"))
    parser.add_argument("--title", help="table title (default: the experiment's)")
    parser.add_argument(
        "--cited-rows",
        nargs="*",
        metavar="ROW",
        help="show only these of the experiment's cited rows (none when given no ROW; default: all)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        exp = experiment(args.id)
        if exp.kind != "table":
            raise ReportError(f"{args.id} is a figure; render it with `vssl figure {args.id}`")
        entries = collect_entries(args.entry, args.entries_file)
        if not entries:
            print(f"vssl table: warning: no entries for {args.id}; writing the paper's numbers only", file=sys.stderr)
        observations = resolve_entries(entries)
        paths = write_table(args.id, observations, args.out_dir, args.title, args.cited_rows)
    except (ReportError, KeyError) as err:
        print(f"vssl table: error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    table = read_table_csv(paths["csv"])
    for message in unit_warnings(table):
        print(f"vssl table: warning: {args.id} {message}", file=sys.stderr)
    unknown_rows = sorted({o.row for o in observations if exp.row(o.row) is None and exp.protocol_row(o.row) is None})
    if unknown_rows:
        print(
            f"vssl table: note: rows not in the paper's {args.id} (paper blank): {', '.join(unknown_rows)}; "
            f"paper rows: {', '.join(exp.row_keys)}",
            file=sys.stderr,
        )
    ours = table[table["source"] == "ours"]
    print(
        f"{args.id}: {int((ours['n_seeds'] > 0).sum())} cells computed from {len(observations)} entries, "
        f"{int((ours['n_seeds'] == 0).sum())} paper cells not computed, "
        f"{int((table['source'] == 'cited').sum())} cited -> " + ", ".join(str(p) for p in paths.values())
    )
    return 0
