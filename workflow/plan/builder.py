"""The experiment registry and what every experiment builder shares.

Each experiment id's builder is a method registered with ``@experiment(id)`` (as torchvision's
``register_model``); it adds the id's jobs and table entries to ``self.plan``. Registering an id twice
is an error. The 3DRotNet builders live in ``rotnet.py``, the V3S ones in ``v3s.py``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

from .catalogue import CATALOGUE_PATH, EVERY_ROW, EXPERIMENTS, claim_rows
from .jobs import PERCENT, Eval, FigureSpec, Finetune, Plan, PlanError

BUILDERS: dict[str, Callable[[Any, str], None]] = {}


def experiment(experiment_id: str) -> Callable[[Callable[[Any, str], None]], Callable[[Any, str], None]]:
    def register(method: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
        if experiment_id in BUILDERS:
            raise PlanError(f"experiment {experiment_id!r} is registered twice")
        BUILDERS[experiment_id] = method
        return method

    return register


class Builder:
    """The config, the plan being built, and the helpers both papers' builders use."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.plan = Plan()
        self.rot = config["rotnet"]
        self.v3s = config["v3s"]
        self.claim_rows = claim_rows(config)

    # -- seeds ------------------------------------------------------------------------------

    def seeds(self, experiment_id: str, row: str) -> list[int]:
        rows = self.claim_rows.get(experiment_id, ())
        if row in rows or EVERY_ROW in rows:
            return list(self.config["claim_seeds"])
        return list(self.config["seeds"])

    def dataset(self, experiment_id: str, block: str) -> str:
        """The one dataset an experiment reads (its catalogue ``dataset``), a key of ``<block>.datasets``."""
        name = EXPERIMENTS[experiment_id].get("dataset")
        if name is None:
            raise PlanError(f"{experiment_id} names no dataset in {CATALOGUE_PATH.name}")
        if name not in self.config[block]["datasets"]:
            raise PlanError(
                f"{block}.datasets has no {name!r}, which {experiment_id} reads ({CATALOGUE_PATH.name}); "
                f"it maps {', '.join(self.config[block]['datasets'])}"
            )
        return name

    def build(self, experiment_id: str) -> None:
        if experiment_id not in BUILDERS:
            raise PlanError(f"no builder for experiment {experiment_id!r}; registered: {', '.join(BUILDERS)}")
        BUILDERS[experiment_id](self, experiment_id)

    @staticmethod
    def random_init_args(model: dict[str, Any]) -> str:
        """The flags of a frozen-feature evaluation of a randomly initialised backbone (the "random" rows)."""
        flags = f"--random-init --model {model['model']} --width {model.get('width', 1.0)}"
        return flags + (" --small-input" if model.get("small_input") else "")

    @staticmethod
    def backbone_slug(model: dict[str, Any]) -> str:
        """A backbone as a run-name part: ``r21d_10-w0.25``, ``-small`` for the small-input variant."""
        return f"{model['model']}-w{model.get('width', 1.0)}" + ("-small" if model.get("small_input") else "")

    def test_entry(self, table: str, row: str, column: str, job: Finetune) -> None:
        self.plan.entry(table, row, column, "top1_video" + PERCENT, job.test_metrics)

    def _attention(
        self,
        eid: str,
        checkpoints: list[tuple[str, str]],
        maps: str,
        store: str,
        extra: str = "",
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        paths = tuple(p for p, _ in checkpoints)
        args = " ".join(f"--checkpoint {p} --label {shlex.quote(label)}" for p, label in checkpoints)
        job = self.plan.add_eval(
            Eval(
                "attention", eid, paths, dict(settings or {}, store=store), args=f"{args} --maps {maps} {extra}".strip()
            )
        )
        pattern = {"kernels": "kernels.npz", "rotation": "attention_*.npz", "gradcam": "gradcam_*.npz"}[maps]
        # The file names follow the drawn videos, so the figure takes a glob over the job's directory.
        self.plan.figures[eid] = FigureSpec([job.metrics], f"--images {job.dir}/{pattern}")
