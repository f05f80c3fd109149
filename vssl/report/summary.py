"""``vssl summary``: ``claims.md`` (+ ``claims.csv``) and ``SUMMARY.md`` over the tables and figures present.

SUMMARY.md links every expected table and figure that exists and lists those that do not, with one
line per table giving its headline cell (``paper.Experiment.headline``) ours vs the paper, how many of
the paper's cells we computed, and the GPU-hours recorded. Links are relative to SUMMARY.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from vssl.report.claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    ClaimResult,
    evaluate_claims,
    load_claims,
    render_claims_markdown,
    results_frame,
)
from vssl.report.paper import EXPERIMENTS, Experiment, file_stem
from vssl.report.records import ReportError
from vssl.report.tables import paper_decimals, read_table_csv, total_gpu_hours
from vssl.utils.io import atomic_write_csv, atomic_write_text


def _link(target: Path, base: Path, text: str) -> str:
    return f"[{text}]({Path(os.path.relpath(target, base)).as_posix()})"


def headline(exp: Experiment, table) -> str:
    """``row/column: ours ± std [n] vs paper P (Δ D)`` for the experiment's headline cell."""
    if exp.headline is None:
        return ""
    row, column = exp.headline
    hit = table[(table["row"] == row) & (table["column"] == column)]
    if hit.empty:
        return f"{row}/{column}: not in table"
    line = hit.iloc[0]
    d = exp.decimals
    paper = "—" if math.isnan(line["paper"]) else f"{line['paper']:.{paper_decimals(line['paper'], d)}f}"
    n = int(line["n_seeds"])
    if n == 0:
        return f"{row}/{column}: not computed (paper {paper})"
    ours = f"{line['ours_mean']:.{d}f}" + (f" ± {line['ours_std']:.{d}f}" if n > 1 else "") + f" [{n}]"
    delta = "" if math.isnan(line["diff"]) else f" (Δ {line['diff']:+.{d}f})"
    return f"{row}/{column}: {ours} vs paper {paper}{delta}"


def render_summary(
    tables_dir: Path, figures_dir: Path, out: Path, claims_md: Path, results: Sequence[ClaimResult]
) -> str:
    base = out.parent
    tables = [e for e in EXPERIMENTS.values() if e.kind == "table"]
    figures = [e for e in EXPERIMENTS.values() if e.kind == "figure"]
    table_lines, missing_tables = [], []
    for exp in tables:
        stem = file_stem(exp.id)
        csv_path = tables_dir / f"{stem}.csv"
        if not csv_path.exists():
            missing_tables.append(exp)
            continue
        table = read_table_csv(csv_path)
        ours = table[table["source"] == "ours"]
        paper_cells = ours[ours["paper"].notna()]
        computed = int((paper_cells["n_seeds"] > 0).sum())
        hours = total_gpu_hours(table)
        files = [
            _link(tables_dir / f"{stem}.{ext}", base, ext)
            for ext in ("md", "csv", "tex")
            if (tables_dir / f"{stem}.{ext}").exists()
        ]
        table_lines.append(
            f"| {exp.id} | {exp.paper} {exp.ref} | {exp.title} | {headline(exp, table)} | "
            f"{computed}/{len(paper_cells)} | {'unknown' if hours is None else f'{hours:.3g}'} | "
            f"{' · '.join(files)} |"
        )
    figure_lines, missing_figures = [], []
    for exp in figures:
        stem = file_stem(exp.id)
        present = [ext for ext in ("png", "pdf", "csv") if (figures_dir / f"{stem}.{ext}").exists()]
        if "png" not in present and "pdf" not in present:
            missing_figures.append(exp)
            continue
        files = [_link(figures_dir / f"{stem}.{ext}", base, ext) for ext in present]
        figure_lines.append(f"| {exp.id} | {exp.paper} {exp.ref} | {exp.title} | {' · '.join(files)} |")
    counts = {v: sum(r.verdict == v for r in results) for v in (HOLDS, FAILS, INCONCLUSIVE, NOT_RUN)}
    lines = [
        "# vssl-bench results",
        "",
        f"Tables: {len(table_lines)} of {len(tables)} written. Figures: {len(figure_lines)} of {len(figures)} "
        f"written. Claims ({_link(claims_md, base, claims_md.name)}): "
        + ", ".join(f"{n} {v}" for v, n in counts.items())
        + ".",
        "",
        "## Tables",
        "",
        "Headline: ours mean ± std [seeds] vs the paper's number. Cells: paper cells computed / paper cells. "
        "GPU-h: total recorded in the table's metrics files.",
        "",
        "| id | paper | what | headline | cells | GPU-h | files |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += table_lines
    if missing_tables:
        lines += ["", "Missing tables: " + ", ".join(f"{e.id} ({e.paper} {e.ref})" for e in missing_tables) + "."]
    lines += ["", "## Figures", "", "| id | paper | what | files |", "|---|---|---|---|"] + figure_lines
    if missing_figures:
        lines += ["", "Missing figures: " + ", ".join(f"{e.id} ({e.paper} {e.ref})" for e in missing_figures) + "."]
    lines += ["", "## Claims", "", "| claim | experiment | paper | ours |", "|---|---|---|---|"]
    lines += [
        f"| {r.claim.statement} (`{r.claim.id}`) | {r.claim.experiment} | {r.paper_verdict} | {r.verdict} |"
        for r in results
    ]
    return "\n".join(lines) + "\n"


def write_summary(
    tables_dir: str | Path,
    figures_dir: str | Path,
    out: str | Path,
    claims_out: str | Path,
    claims_spec: str | Path | None = None,
    replicated: Sequence[str] | None = None,
) -> list[ClaimResult]:
    tables_dir, figures_dir, out, claims_out = map(Path, (tables_dir, figures_dir, out, claims_out))
    results = evaluate_claims(load_claims(claims_spec), tables_dir, figures_dir, replicated)
    atomic_write_text(claims_out, render_claims_markdown(results))
    atomic_write_csv(claims_out.with_suffix(".csv"), results_frame(results))
    atomic_write_text(out, render_summary(tables_dir, figures_dir, out, claims_out, results))
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tables-dir", type=Path, default=Path("results/tables"))
    parser.add_argument("--figures-dir", type=Path, default=Path("results/figures"))
    parser.add_argument("--out", type=Path, default=Path("results/SUMMARY.md"))
    parser.add_argument(
        "--claims-out",
        type=Path,
        default=Path("results/tables/claims.md"),
        help="claims Markdown; a CSV with the same stem is written beside it",
    )
    parser.add_argument("--claims-spec", type=Path, help="JSON/YAML list of claims (default: the built-in list)")
    parser.add_argument(
        "--replicated-claims",
        nargs="*",
        metavar="ID",
        help="the config's replicated_claims: a claim left out is marked as compared on one seed by config",
    )


def run(args: argparse.Namespace) -> int:
    try:
        results = write_summary(
            args.tables_dir, args.figures_dir, args.out, args.claims_out, args.claims_spec, args.replicated_claims
        )
    except ReportError as err:
        print(f"vssl summary: error: {err}", file=sys.stderr)
        return 2
    counts = {v: sum(r.verdict == v for r in results) for v in (HOLDS, FAILS, INCONCLUSIVE, NOT_RUN)}
    print(f"{args.out}, {args.claims_out}: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    return 0
