"""The jobs a plan holds (one ``vssl`` command each), the plan itself, and the flags a job's settings become."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PERCENT = "*100"  # `vssl test` and `vssl fuse` store accuracies as fractions


class PlanError(ValueError):
    """The config cannot be turned into a plan; the message names the key."""


def cli_flags(settings: Mapping[str, Any]) -> str:
    """``{"clip_length": 16, "small_input": True, "milestones": [10, 20]}`` -> ``--clip-length 16 --small-input ...``.

    ``None`` drops the flag, booleans become ``--flag``/``--no-flag``, lists become several values
    and ``pretext_params`` (a mapping) becomes repeated ``--pretext-params KEY=VALUE`` (YAML values).
    """
    parts: list[str] = []
    for key, value in settings.items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if key == "pretext_params":
            for name, item in value.items():
                parts += [flag, shlex.quote(f"{name}={_yaml_scalar(item)}")]
        elif isinstance(value, bool):
            parts.append(flag if value else "--no-" + key.replace("_", "-"))
        elif isinstance(value, (list, tuple)):
            parts += [flag] + [shlex.quote(str(v)) for v in value]
        else:
            parts += [flag, shlex.quote(str(value))]
    return " ".join(parts)


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Pretrain:
    name: str
    seed: int
    store: str  # store name (config `stores`)
    settings: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def keep_every(self) -> int:
        """>0: the run keeps a step series (`--keep-every`), which feeds the rotation curve."""
        return int(self.settings.get("keep_every", 0))

    @property
    def dir(self) -> str:
        return f"results/pretrain/{self.name}/seed{self.seed}"

    @property
    def checkpoint(self) -> str:
        """What every downstream job starts from: best.pt when the run has a hold-out, else final.pt."""
        return f"{self.dir}/selected.pt"

    def step_checkpoint(self, step: int) -> str:
        return f"{self.dir}/checkpoints/step_{step:08d}.pt"


@dataclass(frozen=True)
class Finetune:
    name: str
    seed: int
    store: str
    init: Pretrain | None = None
    init_step: int | None = None  # finetune from a kept step checkpoint of ``init`` (rot-F4b)
    settings: dict = field(default_factory=dict, compare=False, hash=False)
    test_settings: dict = field(default_factory=dict, compare=False, hash=False)
    model_settings: dict = field(default_factory=dict, compare=False, hash=False)  # scratch backbones only

    @property
    def dir(self) -> str:
        return f"results/finetune/{self.name}/seed{self.seed}"

    @property
    def checkpoint(self) -> str:
        return f"{self.dir}/final.pt"

    @property
    def test_metrics(self) -> str:
        return f"{self.dir}/test/metrics.json"

    @property
    def test_scores(self) -> str:
        return f"{self.dir}/test/scores.csv"

    @property
    def init_file(self) -> str | None:
        if self.init is None:
            return None
        return self.init.step_checkpoint(self.init_step) if self.init_step is not None else self.init.checkpoint


@dataclass(frozen=True)
class Eval:
    """One evaluation job: ``kind`` picks the rule, ``key`` its output directory under results/eval/<kind>."""

    kind: str  # rotation, curve, fuse, mean, retrieval, aslan, attention, illustrate
    key: str
    inputs: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict, compare=False, hash=False)
    args: str = field(default="", compare=False, hash=False)  # extra command-line text (inputs as flags)

    @property
    def dir(self) -> str:
        return f"results/eval/{self.kind}/{self.key}"

    @property
    def metrics(self) -> str:
        return f"{self.dir}/metrics.json"


@dataclass
class FigureSpec:
    inputs: list[str] = field(default_factory=list)
    args: str = ""


@dataclass
class Plan:
    pretrains: dict[tuple[str, int], Pretrain] = field(default_factory=dict)
    finetunes: dict[tuple[str, int], Finetune] = field(default_factory=dict)
    evals: dict[tuple[str, str], Eval] = field(default_factory=dict)
    tables: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    figures: dict[str, FigureSpec] = field(default_factory=dict)
    cited_rows: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per table: cited rows kept (absent: all)
    curve: FigureSpec | None = None  # rot-F4b's points: rotation and action accuracy per kept step

    def add_pretrain(self, job: Pretrain) -> Pretrain:
        return _register(self.pretrains, (job.name, job.seed), job, "pretraining")

    def add_finetune(self, job: Finetune) -> Finetune:
        return _register(self.finetunes, (job.name, job.seed), job, "finetuning")

    def add_eval(self, job: Eval) -> Eval:
        return _register(self.evals, (job.kind, job.key), job, f"{job.kind} evaluation")

    def entry(self, table: str, row: str, column: str, metric: str, path: str) -> None:
        self.tables.setdefault(table, []).append((row, column, metric, path))

    def table_inputs(self, table: str) -> list[str]:
        return sorted({path for *_, path in self.tables.get(table, [])})

    def job_counts(self) -> dict[str, int]:
        counts = {"pretrain": len(self.pretrains), "finetune": len(self.finetunes)}  # each finetune job also tests
        for job in self.evals.values():
            counts[job.kind] = counts.get(job.kind, 0) + 1
        counts["table"] = len(self.tables)
        counts["figure"] = len(self.figures)
        return counts


def _register(registry: dict, key, job, what: str):
    existing = registry.get(key)
    if existing is None:
        registry[key] = job
        return job
    if _same(existing, job):
        return existing
    raise PlanError(f"two different {what} jobs are both named {key}: {existing} vs {job}")


def _same(a, b) -> bool:
    return vars(a) == vars(b)  # settings included, unlike the dataclasses' __eq__


def slug(text: str) -> str:
    """A settings string as a run-name part: ``0,90`` -> ``0-90``, ``SS+SP`` -> ``SSpSP``."""
    return text.replace(",", "-").replace("+", "p").replace("/", "-")


def entry_args(entries: list[tuple[str, str, str, str]]) -> str:
    return " ".join("--entry " + " ".join(shlex.quote(x) for x in entry) for entry in entries)


def table_args(plan: Plan, experiment_id: str) -> str:
    args = entry_args(plan.tables.get(experiment_id, []))
    if experiment_id in plan.cited_rows:
        args += " " + " ".join(["--cited-rows", *map(shlex.quote, plan.cited_rows[experiment_id])])
    return args
