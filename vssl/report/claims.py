"""The papers' directional claims, declared as data and checked on our table/figure CSVs over seeds.

A claim is a dict (the built-in list is :data:`DEFAULT_CLAIMS`, the ``claims`` of the experiment
catalogue ``workflow/experiments.yaml``; ``vssl summary --claims-spec FILE``
takes a JSON or YAML list of the same dicts, or ``{"claims": [...]}``) with ``id``, ``experiment``,
``statement``, ``kind`` and the kind's fields:

- ``greater``: cells that should beat other cells. Either ``rows: [[better, worse], ...]`` with
  ``columns: [col, ...]`` (rows compared within each column), or ``columns: [[better, worse], ...]``
  with ``rows: [row, ...]`` (columns compared within each row), or explicit
  ``comparisons: [[[row, col], [row, col]], ...]`` (better first).
- ``best``: ``column`` and ``row``: that row should have the highest mean in that column;
  ``worst``: the lowest.
- ``spearman``: ``x`` and ``y`` columns of the figure CSV should rise together (Spearman rho > 0);
  optional ``alpha`` (default 0.05).

Optional ``paper``: the paper's verdict in words, for claims the paper states without numbers.

Data: a table experiment's ``<tables-dir>/<stem>.csv``, a figure's ``<figures-dir>/<stem>.csv``.

Verdicts (ours), per comparison:

- ``not run``: the CSV or a needed cell is missing (or has no seeds).
- ``inconclusive``: fewer than 2 seeds on either side (no spread to judge a difference against), or
  the difference is within one pooled standard deviation (ddof=1).
- ``holds`` / ``does not hold``: the difference exceeds one pooled std in / against the claimed direction.
- Spearman claims use a one-sided permutation test of the mean per-seed rho (10,000 within-seed
  shuffles): ``holds`` if rho > 0 with p < alpha, ``does not hold`` if rho < 0 with p < alpha for the
  opposite direction, else ``inconclusive``.

A claim's overall verdict: ``not run`` if nothing ran; ``does not hold`` if any comparison does not
hold; ``holds`` if every comparison that ran holds (the count of those not run is stated);
``inconclusive`` otherwise. The one-std rule is a heuristic threshold, not a significance test: it
says when seeds disagree about the sign more than they agree, which is all a few seeds can say.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vssl.report.paper import CATALOGUE, experiment, file_stem, paper_values
from vssl.report.records import ReportError
from vssl.report.stats import pooled_std, spearman, spearman_permutation_test
from vssl.report.tables import paper_decimals, read_table_csv

HOLDS, FAILS, INCONCLUSIVE, NOT_RUN = "holds", "does not hold", "inconclusive", "not run"
KINDS = ("greater", "best", "worst", "spearman")

# The papers' claims, from the experiment catalogue (workflow/experiments.yaml, `claims`).
DEFAULT_CLAIMS: list[dict[str, Any]] = list(CATALOGUE.get("claims") or [])


@dataclass(frozen=True)
class Claim:
    id: str
    experiment: str
    statement: str
    kind: str
    comparisons: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = ()  # greater: (better, worse) cells
    column: str = ""  # best
    row: str = ""  # best
    x: str = ""  # spearman
    y: str = ""  # spearman
    alpha: float = 0.05
    paper: str = ""


@dataclass
class Check:
    """One evaluated comparison of a claim."""

    comparison: str
    paper: str
    ours: str
    delta: str
    verdict: str
    reason: str


@dataclass
class ClaimResult:
    claim: Claim
    checks: list[Check] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return overall_verdict([c.verdict for c in self.checks])

    @property
    def paper_verdict(self) -> str:
        if self.claim.paper:
            return self.claim.paper
        if not self.checks or any(c.paper == "n/a" for c in self.checks):
            return "n/a"
        return HOLDS if all(c.paper.startswith(HOLDS) for c in self.checks) else FAILS


def overall_verdict(verdicts: Sequence[str]) -> str:
    ran = [v for v in verdicts if v != NOT_RUN]
    if not ran:
        return NOT_RUN
    if FAILS in ran:
        return FAILS
    if all(v == HOLDS for v in ran):
        return HOLDS
    return INCONCLUSIVE


# --------------------------------------------------------------------------- parsing


def parse_claim(spec: dict[str, Any], origin: str = "claims") -> Claim:
    """Validate one claim dict and expand its shorthand into explicit comparisons."""
    where = f"{origin}: claim {spec.get('id', '?')!r}"
    for key in ("id", "experiment", "statement", "kind"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise ReportError(f"{where}: needs a non-empty string {key!r}")
    try:
        experiment(spec["experiment"])
    except KeyError as err:
        raise ReportError(f"{where}: {err.args[0]}") from None
    kind = spec["kind"]
    common = dict(
        id=spec["id"],
        experiment=spec["experiment"],
        statement=spec["statement"],
        kind=kind,
        paper=str(spec.get("paper", "")),
    )
    if kind == "greater":
        return Claim(**common, comparisons=_comparisons(spec, where))
    if kind in ("best", "worst"):
        if not (isinstance(spec.get("column"), str) and isinstance(spec.get("row"), str)):
            raise ReportError(f"{where}: kind {kind!r} needs string 'column' and 'row'")
        return Claim(**common, column=spec["column"], row=spec["row"])
    if kind == "spearman":
        if not (isinstance(spec.get("x"), str) and isinstance(spec.get("y"), str)):
            raise ReportError(f"{where}: kind 'spearman' needs string 'x' and 'y' columns")
        alpha = spec.get("alpha", 0.05)
        if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
            raise ReportError(f"{where}: alpha must be in (0, 1)")
        return Claim(**common, x=spec["x"], y=spec["y"], alpha=float(alpha))
    raise ReportError(f"{where}: unknown kind {kind!r}; one of {', '.join(KINDS)}")


def _is_pair_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in value)
    )


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(s, str) for s in value)


def _comparisons(spec: dict[str, Any], where: str) -> tuple:
    rows, columns = spec.get("rows"), spec.get("columns")
    if "comparisons" in spec:
        out = []
        for item in spec["comparisons"]:
            if not (isinstance(item, list) and len(item) == 2 and all(_is_pair_list([c]) for c in item)):
                raise ReportError(f"{where}: each comparison must be [[row, column], [row, column]]")
            out.append((tuple(item[0]), tuple(item[1])))
        return tuple(out)
    if _is_pair_list(rows) and _is_str_list(columns):
        return tuple(((b, c), (w, c)) for b, w in rows for c in columns)
    if _is_pair_list(columns) and _is_str_list(rows):
        return tuple(((r, b), (r, w)) for b, w in columns for r in rows)
    raise ReportError(
        f"{where}: kind 'greater' needs rows: [[better, worse], ...] with columns: [...], "
        "or columns: [[better, worse], ...] with rows: [...], or comparisons"
    )


def load_claims(path: str | Path | None = None) -> list[Claim]:
    """The built-in claims, or those of a JSON/YAML spec file (a list, or a mapping with 'claims')."""
    if path is None:
        return [parse_claim(spec, "built-in claims") for spec in DEFAULT_CLAIMS]
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: claims spec does not exist") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ReportError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None
    except Exception as err:  # yaml.YAMLError carries its own line/column in the message
        raise ReportError(f"{path}: invalid YAML ({err})") from None
    if isinstance(data, dict):
        data = data.get("claims")
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ReportError(f"{path}: expected a list of claims (or a mapping with a 'claims' list)")
    claims = [parse_claim(spec, f"{path} (claim #{i})") for i, spec in enumerate(data, start=1)]
    ids = [c.id for c in claims]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ReportError(f"{path}: duplicate claim ids {duplicates}")
    return claims


# --------------------------------------------------------------------------- evaluation


def _fmt_ours(mean: float, std: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return "—"
    return f"{mean:.2f} [1]" if n == 1 or math.isnan(std) else f"{mean:.2f} ± {std:.2f} [{n}]"


def _fmt_paper(value: float, decimals: int) -> str:
    return f"{value:.{paper_decimals(value, decimals)}f}"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _paper_cell(paper: pd.DataFrame, row: str, column: str) -> float:
    hit = paper[(paper["row"] == row) & (paper["column"] == column)]
    return float(hit["value"].iloc[0]) if not hit.empty else math.nan


def compare(
    better: dict | None, worse: dict | None, names: tuple[str, str] = ("first cell", "second cell")
) -> tuple[str, str, str]:
    """Verdict, delta text and reason for "better > worse", each cell a dict(mean, std, n) or None."""
    missing = [name for name, cell in zip(names, (better, worse)) if cell is None or cell["n"] == 0]
    if missing:
        return NOT_RUN, "", "no result for " + " and ".join(missing)
    delta = better["mean"] - worse["mean"]
    if better["n"] < 2 or worse["n"] < 2:
        direction = "right" if delta > 0 else "wrong"
        return (
            INCONCLUSIVE,
            f"{delta:+.2f}",
            (
                f"n_seeds < 2 ({better['n']} vs {worse['n']}): no spread to judge "
                f"against; the single-run difference points the {direction} way"
            ),
        )
    pooled = pooled_std(better["std"], better["n"], worse["std"], worse["n"])
    text = f"{delta:+.2f} (pooled std {pooled:.2f})"
    if abs(delta) <= pooled:
        return INCONCLUSIVE, text, f"|Δ| {abs(delta):.2f} ≤ one pooled std {pooled:.2f}"
    if delta > 0:
        return HOLDS, text, f"Δ > one pooled std ({better['n']} vs {worse['n']} seeds)"
    return FAILS, text, f"Δ < −one pooled std ({better['n']} vs {worse['n']} seeds)"


def _cells(table: pd.DataFrame) -> dict[tuple[str, str], dict]:
    return {
        (r.row, r.column): {"mean": float(r.ours_mean), "std": float(r.ours_std), "n": int(r.n_seeds)}
        for r in table.itertuples(index=False)
        if r.source != "cited"
    }


def evaluate_greater(claim: Claim, table: pd.DataFrame | None) -> list[Check]:
    paper = paper_values(claim.experiment)
    cells = _cells(table) if table is not None else {}
    checks = []
    for (br, bc), (wr, wc) in claim.comparisons:
        label = f"{br} > {wr} ({bc})" if bc == wc else f"{bc} > {wc} ({br})" if br == wr else f"{br}/{bc} > {wr}/{wc}"
        pb, pw = _paper_cell(paper, br, bc), _paper_cell(paper, wr, wc)
        if math.isnan(pb) or math.isnan(pw):
            paper_text = "n/a"
        else:
            d = experiment(claim.experiment).decimals
            paper_text = f"{HOLDS if pb > pw else FAILS} ({_fmt_paper(pb, d)} vs {_fmt_paper(pw, d)})"
        b, w = cells.get((br, bc)), cells.get((wr, wc))
        if table is None:
            verdict, delta, reason = NOT_RUN, "", "table not found"
        else:
            verdict, delta, reason = compare(b, w, (f"{br}/{bc}", f"{wr}/{wc}"))
        ours = f"{_fmt_ours(**_unpack(b))} vs {_fmt_ours(**_unpack(w))}"
        checks.append(Check(label, paper_text, ours, delta, verdict, reason))
    return checks


def _unpack(cell: dict | None) -> dict:
    return (
        {"mean": cell["mean"], "std": cell["std"], "n": cell["n"]}
        if cell
        else {"mean": math.nan, "std": math.nan, "n": 0}
    )


def evaluate_best(claim: Claim, table: pd.DataFrame | None) -> list[Check]:
    """``best``: the row beats the strongest other row; ``worst``: the weakest other row beats it."""
    worst = claim.kind == "worst"
    label = f"{claim.kind} {claim.column} row is {claim.row}"
    if table is None:
        return [Check(label, claim.paper or "n/a", "", "", NOT_RUN, "figure data not found")]
    cells = {r: c for (r, col), c in _cells(table).items() if col == claim.column and c["n"] > 0}
    if claim.row not in cells or len(cells) < 2:
        return [
            Check(
                label,
                claim.paper or "n/a",
                "",
                "",
                NOT_RUN,
                f"needs {claim.row} and at least one other row with results in {claim.column}",
            )
        ]
    pick = min if worst else max
    extreme = pick(cells, key=lambda r: cells[r]["mean"])
    rival = pick((r for r in cells if r != claim.row), key=lambda r: cells[r]["mean"])
    if worst:
        verdict, delta, reason = compare(cells[rival], cells[claim.row], (rival, claim.row))
    else:
        verdict, delta, reason = compare(cells[claim.row], cells[rival], (claim.row, rival))
    ours = (
        f"{claim.kind}: {extreme} ({_fmt_ours(**cells[extreme])}); {claim.row} {_fmt_ours(**cells[claim.row])} "
        f"vs {'weakest' if worst else 'strongest'} other {rival} {_fmt_ours(**cells[rival])}"
    )
    return [Check(label, claim.paper or "n/a", ours, delta, verdict, reason)]


def evaluate_spearman(claim: Claim, frame: pd.DataFrame | None) -> list[Check]:
    label = f"Spearman rho({claim.x}, {claim.y}) > 0"
    paper = claim.paper or "n/a"
    if frame is None:
        return [Check(label, paper, "", "", NOT_RUN, "figure data not found")]
    groups = [
        (g[claim.x].to_list(), g[claim.y].to_list())
        for _, g in frame.groupby("seed" if "seed" in frame.columns else lambda _: 0, sort=False)
    ]
    n_points = sum(len(x) for x, _ in groups)
    rho, p_up = spearman_permutation_test(groups)
    if math.isnan(rho):
        return [
            Check(
                label,
                paper,
                f"{n_points} points",
                "",
                INCONCLUSIVE,
                "fewer than 3 checkpoints per seed, or a constant series",
            )
        ]
    _, p_down = spearman_permutation_test([(x, [-v for v in y]) for x, y in groups])
    per_seed = [r for r in (spearman(x, y) for x, y in groups) if not math.isnan(r)]
    spread = f" ± {pd.Series(per_seed).std(ddof=1):.2f}" if len(per_seed) > 1 else ""
    ours = f"rho {rho:.2f}{spread} over {len(per_seed)} seed(s), {n_points} checkpoints"
    if rho > 0 and p_up < claim.alpha:
        return [Check(label, paper, ours, f"p = {p_up:.4f}", HOLDS, f"one-sided permutation p < {claim.alpha}")]
    if rho < 0 and p_down < claim.alpha:
        return [
            Check(
                label,
                paper,
                ours,
                f"p = {p_down:.4f} (for rho < 0)",
                FAILS,
                f"negative rank correlation, permutation p < {claim.alpha}",
            )
        ]
    p = p_up if rho > 0 else p_down
    return [Check(label, paper, ours, f"p = {p:.4f}", INCONCLUSIVE, f"permutation p ≥ {claim.alpha}")]


def claim_data_path(claim: Claim, tables_dir: Path, figures_dir: Path) -> Path:
    exp = experiment(claim.experiment)
    base = tables_dir if exp.kind == "table" else figures_dir
    return Path(base) / f"{file_stem(exp.id)}.csv"


SINGLE_SEED_BY_CONFIG = "one seed per row by config (not in `replicated_claims`)"


def evaluate_claims(
    claims: Sequence[Claim],
    tables_dir: str | Path,
    figures_dir: str | Path,
    replicated: Sequence[str] | None = None,
) -> list[ClaimResult]:
    """Evaluate every claim on the CSVs present; missing files make claims ``not run``.

    ``replicated``: the config's ``replicated_claims``. A claim left out of it is inconclusive by
    construction where its cells have one seed, and its reason says so.
    """
    results = []
    for claim in claims:
        path = claim_data_path(claim, Path(tables_dir), Path(figures_dir))
        if claim.kind == "spearman":
            frame = _read_curve_csv(path, claim) if path.exists() else None
            checks = evaluate_spearman(claim, frame)
        else:
            table = read_table_csv(path) if path.exists() else None
            checks = (evaluate_greater if claim.kind == "greater" else evaluate_best)(claim, table)
        if replicated is not None and claim.id not in replicated:
            for check in checks:
                if check.reason.startswith("n_seeds < 2"):
                    check.reason = f"{SINGLE_SEED_BY_CONFIG}; {check.reason}"
        results.append(ClaimResult(claim, checks))
    return results


def _read_curve_csv(path: Path, claim: Claim) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype={"seed": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ReportError(f"{path}: not a readable CSV ({err})") from None
    missing = [c for c in (claim.x, claim.y) if c not in frame.columns]
    if missing:
        raise ReportError(f"{path}: claim {claim.id!r} needs columns {missing}; has {list(frame.columns)}")
    return frame


# --------------------------------------------------------------------------- rendering


def results_frame(results: Sequence[ClaimResult]) -> pd.DataFrame:
    """One line per comparison (machine-readable claims.csv)."""
    records = [
        {
            "claim": r.claim.id,
            "experiment": r.claim.experiment,
            "statement": r.claim.statement,
            "claim_verdict": r.verdict,
            "paper_verdict": r.paper_verdict,
            "comparison": c.comparison,
            "paper": c.paper,
            "ours": c.ours,
            "delta": c.delta,
            "verdict": c.verdict,
            "reason": c.reason,
        }
        for r in results
        for c in r.checks
    ]
    return pd.DataFrame(
        records,
        columns=[
            "claim",
            "experiment",
            "statement",
            "claim_verdict",
            "paper_verdict",
            "comparison",
            "paper",
            "ours",
            "delta",
            "verdict",
            "reason",
        ],
    )


def render_claims_markdown(results: Sequence[ClaimResult]) -> str:
    counts = {v: sum(r.verdict == v for r in results) for v in (HOLDS, FAILS, INCONCLUSIVE, NOT_RUN)}
    ours_only = [f"`{r.claim.id}`" for r in results if experiment(r.claim.experiment).paper == "suite"]
    lines = [
        "# Claims of the papers, checked on our results",
        "",
        *(
            [f"The suite's own claims ({', '.join(ours_only)}) are listed with them; no paper states them.", ""]
            if ours_only
            else []
        ),
        "Ours are means ± std (ddof=1) [seeds] from the table and figure CSVs. A comparison **holds** when the "
        "difference exceeds one pooled std in the claimed direction, **does not hold** when it exceeds one "
        "pooled std the other way, and is **inconclusive** within one pooled std or with fewer than 2 seeds "
        "on a side. Spearman claims use a one-sided permutation test. **not run**: the result is missing.",
        "",
        "Overall: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + f" (of {len(results)} claims).",
        "",
        "| claim | experiment | statement | paper | ours |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| `{r.claim.id}` | {r.claim.experiment} | {_md_cell(r.claim.statement)} | "
            f"{_md_cell(r.paper_verdict)} | **{r.verdict}** |"
        )
    for r in results:
        n_not_run = sum(c.verdict == NOT_RUN for c in r.checks)
        ran = f" ({len(r.checks) - n_not_run} of {len(r.checks)} comparisons run)" if n_not_run else ""
        lines += [
            "",
            f"## `{r.claim.id}`: {_md_cell(r.claim.statement)}",
            "",
            f"Experiment {r.claim.experiment}. Paper: {r.paper_verdict}. Ours: **{r.verdict}**{ran}.",
            "",
            "| comparison | paper | ours | Δ ours | verdict | why |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            "| " + " | ".join(_md_cell(t) for t in (c.comparison, c.paper, c.ours, c.delta, c.verdict, c.reason)) + " |"
            for c in r.checks
        ]
    return "\n".join(lines) + "\n"
