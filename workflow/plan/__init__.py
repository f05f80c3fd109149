"""The experiment plan: every job the paper targets need, derived from the config alone.

Snakemake imports this package at parse time (``workflow/rules/common.smk``) and the tests import it
directly, so it is plain Python: no torch, no ``vssl`` import, no file system access. It turns the
catalogue of ``shared/EXPERIMENTS.md`` into

- ``pretrains``: one :class:`Pretrain` per (run name, seed), each a ``vssl pretrain`` job;
- ``finetunes``: one :class:`Finetune` per (run name, seed), each one ``vssl finetune --test-out`` job
  (training, then the 10-clip test of ``vssl test`` in the same process);
- evaluation jobs (rotation accuracy, rotation curves, fusion, split means, retrieval, ASLAN,
  attention maps, the transform illustration; `vssl knn` and `vssl probe` have no jobs yet);
- ``tables``: per table id, the ``(row, column, metric, path)`` entries of ``vssl table``;
- ``figures``: per figure id, the ``vssl figure`` inputs.

Run names are derived from the settings that make a run different, so two table rows that need the
same run (the 4-rotation checkpoint of rot-T2, T3, T4, T5, T6, T7, F4a, F4b and the attention
figures) name the same job and it is built once.

The ids, their kinds and the claims come from the experiment catalogue ``workflow/experiments.yaml``.
Seeds: every run gets ``seeds``; the rows the ``replicated_claims`` compare (see :func:`claim_rows`)
get ``claim_seeds``. A finetune of seed s starts from the pretraining of seed s, and a few-shot draw of
seed s uses ``--shots-seed s``, so the seeds of a cell are independent replicates.

Modules: ``jobs`` (the job records and their flags), ``catalogue`` (ids and claim seeds from
``workflow/experiments.yaml``), ``builder`` (the ``@experiment`` registry and shared helpers),
``rotnet`` and ``v3s`` (each paper's builders), ``suite`` (the pretext suite), ``checks``
(cross-field config checks), ``workload`` (what a plan costs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .builder import BUILDERS, Builder, experiment
from .catalogue import (
    CATALOGUE,
    CATALOGUE_PATH,
    CLAIMS,
    EVERY_ROW,
    EXPERIMENT_IDS,
    EXPERIMENTS,
    FIGURE_IDS,
    TABLE_IDS,
    check_catalogue,
    claim_rows,
    compared_rows,
    file_stem,
    replicated_claims_args,
    rule_name,
    selected_ids,
)
from .checks import check_cross_fields, check_shots, made_by_synth, train_videos_per_class
from .jobs import (
    PERCENT,
    Eval,
    FigureSpec,
    Finetune,
    Plan,
    PlanError,
    Pretrain,
    cli_flags,
    entry_args,
    slug,
    table_args,
)
from .rotnet import ALL_RIGHT, FREEZE_LEVELS, ROTATION_SUBSETS, RotNetExperiments
from .suite import SuiteExperiments
from .v3s import GRID_PARAMS, RANDOM_BASELINES, V3S_BACKBONES, V3SExperiments, v3s_combos, v3s_grid
from .workload import workload

__all__ = [
    "ALL_RIGHT",
    "BUILDERS",
    "Builder",
    "CATALOGUE",
    "CATALOGUE_PATH",
    "CLAIMS",
    "EVERY_ROW",
    "EXPERIMENTS",
    "EXPERIMENT_IDS",
    "Eval",
    "FIGURE_IDS",
    "FREEZE_LEVELS",
    "FigureSpec",
    "Finetune",
    "GRID_PARAMS",
    "PERCENT",
    "Plan",
    "PlanBuilder",
    "PlanError",
    "Pretrain",
    "RANDOM_BASELINES",
    "ROTATION_SUBSETS",
    "RotNetExperiments",
    "SuiteExperiments",
    "TABLE_IDS",
    "V3SExperiments",
    "V3S_BACKBONES",
    "build_plan",
    "check_catalogue",
    "check_cross_fields",
    "check_shots",
    "claim_rows",
    "cli_flags",
    "compared_rows",
    "entry_args",
    "experiment",
    "file_stem",
    "made_by_synth",
    "replicated_claims_args",
    "rule_name",
    "selected_ids",
    "slug",
    "table_args",
    "train_videos_per_class",
    "v3s_combos",
    "v3s_grid",
    "workload",
]


class PlanBuilder(RotNetExperiments, V3SExperiments, SuiteExperiments):
    """Both papers' builders and the suite's on one plan, so runs two ids share are built once."""


def build_plan(config: Mapping[str, Any], experiment_ids: list[str] | None = None) -> Plan:
    """Every job of the given experiment ids (default: all of them).

    The workflow plans every id, so each named target rule (``snakemake rot_T3``) works whatever
    ``targets`` says; ``targets`` only chooses what ``rule all`` builds.
    """
    check_catalogue()
    builder = PlanBuilder(config)
    for experiment_id in experiment_ids or EXPERIMENT_IDS:
        builder.build(experiment_id)
    check_cross_fields(builder.plan, config)
    return builder.plan
