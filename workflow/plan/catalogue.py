"""The experiment catalogue (``workflow/experiments.yaml``): ids, kinds, datasets, and the claims' seeds.

The same file that ``vssl table`` / ``vssl summary`` read (``vssl.report.paper``), so the ids, columns
and claims the DAG builds and the ones the report renders cannot drift apart.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .jobs import PlanError

CATALOGUE_PATH = Path(__file__).resolve().parents[1] / "experiments.yaml"
CATALOGUE: dict[str, Any] = yaml.safe_load(CATALOGUE_PATH.read_text())
EXPERIMENTS: dict[str, dict[str, Any]] = CATALOGUE["experiments"]
CLAIMS: list[dict[str, Any]] = CATALOGUE["claims"]


# Every id of shared/EXPERIMENTS.md, in its order (the catalogue's order).
EXPERIMENT_IDS: tuple[str, ...] = tuple(EXPERIMENTS)
TABLE_IDS = tuple(i for i in EXPERIMENT_IDS if EXPERIMENTS[i]["kind"] == "table")
FIGURE_IDS = tuple(i for i in EXPERIMENT_IDS if EXPERIMENTS[i]["kind"] == "figure")


def file_stem(experiment_id: str) -> str:
    return experiment_id.replace("/", "_")


def rule_name(experiment_id: str) -> str:
    """``rot-8/360`` -> ``rot_8_360``: the named target rule of an experiment id."""
    return experiment_id.replace("-", "_").replace("/", "_")


def selected_ids(config: Mapping[str, Any]) -> list[str]:
    targets = list(config.get("targets") or ["all"])
    if "all" in targets:
        return list(EXPERIMENT_IDS)
    unknown = [t for t in targets if t not in EXPERIMENT_IDS]
    if unknown:
        raise PlanError(
            f"targets: unknown experiment id(s) {', '.join(map(repr, unknown))}; "
            f"valid ids: all, {', '.join(EXPERIMENT_IDS)}"
        )
    return targets


EVERY_ROW = "*"  # a best/worst or Spearman claim ranks every row of its experiment


def check_catalogue(catalogue: Mapping[str, Any] = CATALOGUE) -> None:
    """What the catalogue's schema cannot say: claims and reused rows name known ids, and claims once."""
    ids = set(catalogue["experiments"])
    claim_ids = [c["id"] for c in catalogue["claims"]]
    where = CATALOGUE_PATH.name
    for claim in catalogue["claims"]:
        if claim["experiment"] not in ids:
            raise PlanError(f"{where}: claim {claim['id']!r} names unknown experiment {claim['experiment']!r}")
    repeated = sorted({c for c in claim_ids if claim_ids.count(c) > 1})
    if repeated:
        raise PlanError(f"{where}: claim id(s) {', '.join(repeated)} appear twice")
    for reuse in catalogue.get("reuse_claim_runs") or ():
        if reuse["experiment"] not in ids or reuse["claim"] not in claim_ids:
            raise PlanError(f"{where}: reuse_claim_runs entry {reuse} names an unknown experiment or claim")


def compared_rows(claim: Mapping[str, Any]) -> set[str]:
    """The rows a catalogue claim compares (``{EVERY_ROW}`` for the ranking kinds)."""
    if claim["kind"] != "greater":
        return {EVERY_ROW}
    if "comparisons" in claim:
        return {cell[0] for pair in claim["comparisons"] for cell in pair}
    rows = claim["rows"]
    return {r for pair in rows for r in pair} if isinstance(rows[0], list) else set(rows)


def claim_rows(config: Mapping[str, Any]) -> dict[str, set[str]]:
    """Per experiment id, the rows that get ``claim_seeds``; every other row gets ``seeds``.

    Those are the rows the claims named in ``replicated_claims`` compare, and the catalogue's
    ``reuse_claim_runs`` of those claims: rows no claim compares that read a replicated claim's runs
    (the 4-rotation checkpoint, the scratch finetune, V3S Table 3's single transforms).
    A claim left out of ``replicated_claims`` compares single runs and reads "inconclusive".
    """
    replicated = list(config.get("replicated_claims") or [])
    known = [c["id"] for c in CLAIMS]
    unknown = [c for c in replicated if c not in known]
    if unknown:
        raise PlanError(
            f"replicated_claims: unknown claim id(s) {', '.join(map(repr, unknown))}; "
            f"the catalogue's claims ({CATALOGUE_PATH.name}): {', '.join(known)}"
        )
    rows: dict[str, set[str]] = {}
    for claim in CLAIMS:
        if claim["id"] in replicated:
            rows.setdefault(claim["experiment"], set()).update(compared_rows(claim))
    for reuse in CATALOGUE.get("reuse_claim_runs") or ():
        if reuse["claim"] in replicated:
            rows.setdefault(reuse["experiment"], set()).update(reuse["rows"])
    return rows


def replicated_claims_args(config: Mapping[str, Any]) -> str:
    """``vssl summary``'s ``--replicated-claims`` flag for the config's ``replicated_claims``."""
    return " ".join(["--replicated-claims", *map(shlex.quote, config.get("replicated_claims") or [])])
