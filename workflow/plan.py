"""The experiment plan: every job the paper targets need, derived from the config alone.

Snakemake imports this module at parse time (``workflow/rules/common.smk``) and the tests import it
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
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# --------------------------------------------------------------------------- the catalogue

# Every experiment id with its kind, columns and printed numbers, and the papers' claims: the same
# file `vssl table` / `vssl summary` read (vssl.report.paper), so ids, columns and claims cannot drift.
CATALOGUE_PATH = Path(__file__).resolve().parent / "experiments.yaml"
CATALOGUE: dict[str, Any] = yaml.safe_load(CATALOGUE_PATH.read_text())
EXPERIMENTS: dict[str, dict[str, Any]] = CATALOGUE["experiments"]
CLAIMS: list[dict[str, Any]] = CATALOGUE["claims"]

# --------------------------------------------------------------------------- paper constants

ROTATION_SUBSETS: dict[str, list[int]] = {  # 3DRotNet Table 3 (a)-(d)
    "0,90": [0, 90],
    "0,90,180": [0, 90, 180],
    "90,180,270": [90, 180, 270],
    "0,90,180,270": [0, 90, 180, 270],
}
ALL_RIGHT = "0,90,180,270"
# 3DRotNet Fig. 4a ">Cn" (blocks before Cn frozen); 6 freezes all five blocks, the text's worst case
# ("all the convolution blocks frozen"), which the caption's five labels cannot express.
FREEZE_LEVELS = (1, 2, 3, 4, 5, 6)

# V3S Table 1's parameter sets are config keys (`v3s.grids`, one row id per set: SS-1 ... TP-3), and
# `v3s.chosen` names the set of each transform that Sec. 4.2 keeps for every later table.
GRID_PARAMS = {"SS": "ss_scales", "SP": "sp_factors", "TS": "ts_speeds", "TP": "tp_patterns"}
_OFF = {"ss": False, "sp": False, "ts": False, "tp": False}


def v3s_grid(v3s: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """v3s-T1's rows: each Table 1 set as the pretext parameters of a single-transform run."""
    grid = {}
    for row, values in v3s["grids"].items():
        family = row.split("-")[0]
        grid[row] = {**_OFF, family.lower(): True, GRID_PARAMS[family]: values}
    return grid


def v3s_combos(
    v3s: Mapping[str, Any], grid: Mapping[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """V3S Table 3's rows from the chosen sets, and the v3s-T1 row (of ``grid``) each single transform reuses."""
    chosen = {family: v3s["chosen"][family.lower()] for family in GRID_PARAMS}
    for family, row in chosen.items():
        if row not in v3s["grids"] or not row.startswith(f"{family}-"):
            raise PlanError(f"v3s.chosen.{family.lower()}: {row!r} is not a {family} row of v3s.grids")
    sets = {GRID_PARAMS[family]: v3s["grids"][row] for family, row in chosen.items()}
    combos = {
        "SS": grid[chosen["SS"]],
        "SP": grid[chosen["SP"]],
        "SS+SP": {**_OFF, "ss": True, "sp": True, "ss_scales": sets["ss_scales"], "sp_factors": sets["sp_factors"]},
        "TS": grid[chosen["TS"]],
        "TP": grid[chosen["TP"]],
        "TS+TP": {**_OFF, "ts": True, "tp": True, "ts_speeds": sets["ts_speeds"], "tp_patterns": sets["tp_patterns"]},
        "V3S": {"ss": True, "sp": True, "ts": True, "tp": True, **sets},
    }
    return combos, chosen


V3S_BACKBONES = ("c3d", "r3d", "r21d", "s3dg")  # V3S Table 2 row prefixes

# Rows the papers print for these backbones only: V3S has no random-init S3D-G number.
RANDOM_BASELINES = ("c3d", "r3d", "r21d")

PERCENT = "*100"  # `vssl test` and `vssl fuse` store accuracies as fractions


class PlanError(ValueError):
    """The config cannot be turned into a plan; the message names the key."""


# --------------------------------------------------------------------------- flags


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


# --------------------------------------------------------------------------- jobs


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


# --------------------------------------------------------------------------- the builder


def build_plan(config: Mapping[str, Any], experiment_ids: list[str] | None = None) -> Plan:
    """Every job of the given experiment ids (default: all of them).

    The workflow plans every id, so each named target rule (``snakemake rot_T3``) works whatever
    ``targets`` says; ``targets`` only chooses what ``rule all`` builds.
    """
    check_catalogue()
    builder = _Builder(config)
    for experiment_id in experiment_ids or EXPERIMENT_IDS:
        builder.build(experiment_id)
    check_cross_fields(builder.plan, config)
    return builder.plan


def _block(job_name: str) -> str:
    return "rotnet" if job_name.startswith("rotnet-") else "v3s"


def _frame_side(config: Mapping[str, Any], store: str) -> int | None:
    """The short side of a store's frames, from its config entry (None: unknown until extraction)."""
    spec = config.get("stores", {}).get(store) or {}
    if spec.get("size"):
        return min(int(v) for v in spec["size"])
    return int(spec["short_side"]) if spec.get("short_side") else None


def train_videos_per_class(config: Mapping[str, Any], store: str, split: int) -> tuple[Counter, str] | None:
    """Training videos per class in a store's official split file (UCF101 / HMDB51 layouts).

    None when the split files are not there yet (the synthetic dataset is made by the DAG) or the
    format keeps no per-class split files. UCF101: ``trainlist0N.txt`` lines ``Class/v_....avi [label]``;
    HMDB51: ``<class>_test_splitN.txt`` lines ``video.avi 1`` (1 = train, 2 = test, 0 = unused).
    """
    dataset = config.get("datasets", {}).get((config.get("stores", {}).get(store) or {}).get("dataset"), {})
    splits = Path(str(dataset.get("splits") or ""))
    if not dataset.get("splits") or not splits.is_dir():
        return None
    if dataset.get("format") == "ucf101":
        path = splits / f"trainlist0{split}.txt"
        if not path.is_file():
            return None
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
        return Counter(line.split("/", 1)[0] for line in lines if line), str(path)
    if dataset.get("format") == "hmdb51":
        suffix = f"_test_split{split}.txt"
        counts = Counter()
        for path in sorted(splits.glob(f"*{suffix}")):
            rows = [line.split() for line in path.read_text(errors="replace").splitlines()]
            counts[path.name[: -len(suffix)]] = sum(1 for row in rows if row[1:2] == ["1"])
        return (counts, str(splits)) if counts else None
    return None


def made_by_synth(config: Mapping[str, Any], path: str | None) -> bool:
    """Whether ``path`` lies under the synthetic output, which the DAG's synth rule writes."""
    synthetic = config.get("synthetic") or {}
    return bool(path and synthetic.get("enabled") and Path(str(path)).is_relative_to(str(synthetic["out"])))


def check_shots(config: Mapping[str, Any], store: str, split: int, shots: int, key: str) -> None:
    """A few-shot row draws at most as many videos per class as the class has in its training split.

    Split files under the synthetic output are skipped: the DAG writes them, so the check would pass
    before `vssl synth` and fail in every job parsed after it.
    """
    if made_by_synth(config, config["datasets"].get(config["stores"][store]["dataset"], {}).get("splits")):
        return
    found = train_videos_per_class(config, store, split)
    if found is None:
        return
    counts, source = found
    n, name = min((n, name) for name, n in counts.items())
    if shots > n:
        raise PlanError(
            f"{key} {shots}: class {name!r} has only {n} training videos in split {split} "
            f"({source}; datasets.{config['stores'][store]['dataset']}.splits)"
        )


def check_cross_fields(built: Plan, config: Mapping[str, Any]) -> None:
    """What one key cannot say alone: every training crop fits the frames it is cut from."""
    for stage, jobs in (("pretrain", built.pretrains.values()), ("finetune", built.finetunes.values())):
        for job in jobs:
            crop, side = job.settings.get("crop"), _frame_side(config, job.store)
            v3s_frames = (job.settings.get("pretext_params") or {}).get("frame_size")
            limit, limit_key = (
                (v3s_frames, f"{_block(job.name)}.pretext.frame_size") if v3s_frames else (side, f"stores.{job.store}")
            )
            if crop is not None and limit is not None and int(crop) > int(limit):
                raise PlanError(
                    f"{_block(job.name)}.{stage}.crop {crop} (job {job.name}) is larger than the "
                    f"{limit}-pixel frames it is cut from ({limit_key})"
                )


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


def _slug(text: str) -> str:
    return text.replace(",", "-").replace("+", "p").replace("/", "-")


# Each experiment id's builder, registered with ``@experiment(id)`` (as torchvision's ``register_model``):
# the builder method adds the id's jobs and table entries; registering an id twice is an error.
BUILDERS: dict[str, Callable[[Any, str], None]] = {}


def experiment(experiment_id: str) -> Callable[[Callable[[Any, str], None]], Callable[[Any, str], None]]:
    def register(method: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
        if experiment_id in BUILDERS:
            raise PlanError(f"experiment {experiment_id!r} is registered twice")
        BUILDERS[experiment_id] = method
        return method

    return register


class _Builder:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.plan = Plan()
        self.rot = config["rotnet"]
        self.v3s = config["v3s"]
        self.v3s_grid = v3s_grid(self.v3s)
        self.v3s_combos, self.reused_grid_rows = v3s_combos(self.v3s, self.v3s_grid)
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

    # -- 3DRotNet runs ----------------------------------------------------------------------

    def rot_pretrain(
        self,
        seed: int,
        *,
        pool: str | None = None,
        pretext: str = "rotation",
        angles: str = ALL_RIGHT,
        clip: str = "16-RGB",
        max_videos: int | None = None,
    ) -> Pretrain:
        pool = pool or self.rot["main_pool"]
        store = self.rot["pools"][pool]
        length, modality = self.clip_variant(clip)
        settings = dict(self.rot["pretrain"])
        settings.update(self.rot.get("clip_overrides", {}).get(clip, {}))
        settings.update(pretext=pretext, clip_length=length, modality=modality)
        if self.rot.get("pool_splits", {}).get(pool):
            settings.update(split_column="split1", split=self.rot["pool_splits"][pool])
        name = f"rotnet-{pool}-{pretext}"
        if pretext == "rotation":
            settings["pretext_params"] = {"angles": ROTATION_SUBSETS[angles]}
            name += "-" + _slug(angles)
            # All K rotated copies of a clip share a batch, so the batch is a multiple of K:
            # a 3-rotation subset trains with 30 inputs (10 clips x 3) where the paper says 32.
            copies = len(ROTATION_SUBSETS[angles])
            settings["batch_size"] = int(settings["batch_size"]) // copies * copies
        elif pretext == "rotation360":
            settings["regression_loss"] = self.rot["regression_loss"]
            name += "-" + self.rot["regression_loss"]
        name += f"-{length}{modality}"
        if max_videos is not None:
            settings.update(max_videos=max_videos, data_seed=seed)
            name += f"-n{max_videos}"
        # The main checkpoint always keeps its step series (rot-F4b), whichever table asks first, so it stays one job.
        if (pretext, angles, clip, max_videos, pool) == ("rotation", ALL_RIGHT, "16-RGB", None, self.rot["main_pool"]):
            settings["keep_every"] = int(self.rot["curve"]["keep_every"])
        return self.plan.add_pretrain(Pretrain(name, seed, store, settings))

    def clip_variant(self, clip: str) -> tuple[int, str]:
        length, modality = clip.split("-")
        return int(length), modality.lower()

    def rot_scratch_model(self) -> dict[str, Any]:
        """The backbone a 3DRotNet run trained from scratch builds: the pretraining one."""
        return {k: self.rot["pretrain"][k] for k in ("model", "width", "small_input") if k in self.rot["pretrain"]}

    def rot_finetune(
        self,
        seed: int,
        dataset: str,
        init: Pretrain | None,
        *,
        split: int = 1,
        clip: str = "16-RGB",
        freeze: int = 1,
        shots: int | None = None,
        init_step: int | None = None,
    ) -> Finetune:
        store = self.rot["datasets"][dataset]
        length, modality = self.clip_variant(clip)
        settings = dict(self.rot["finetune"])
        settings.update(self.rot.get("clip_overrides_finetune", {}).get(clip, {}))
        settings.update(split_column=f"split{split}", split="train", clip_length=length, modality=modality)
        base = init.name if init is not None else "rotnet-scratch"
        model = {}
        if init is None:
            model = self.rot_scratch_model()
            settings.update(model)
            base += f"-{length}{modality}"
        name = f"{base}--{store}-split{split}"
        if init_step is not None:
            name += f"-step{init_step}"
        if freeze != 1:
            settings["freeze_before"] = freeze
            name += f"-C{freeze}"
        if shots is not None:
            settings.update(self.rot.get("few_shot_overrides", {}))
            settings.update(shots=shots, shots_seed=seed)
            name += f"-k{shots}"
        test = dict(self.rot["test"], split_column=f"split{split}", split="test")
        return self.plan.add_finetune(Finetune(name, seed, store, init, init_step, settings, test, model))

    def test_entry(self, table: str, row: str, column: str, job: Finetune) -> None:
        self.plan.entry(table, row, column, "top1_video" + PERCENT, job.test_metrics)

    # -- 3DRotNet experiments ---------------------------------------------------------------

    @experiment("rot-T1")
    def _rot_T1(self, eid: str) -> None:
        for pool in self.rot["pools"]:
            for seed in self.seeds(eid, pool):
                pre = self.rot_pretrain(seed, pool=pool)
                for column, store in self.rot["datasets"].items():
                    job = self.plan.add_eval(
                        Eval(
                            "rotation",
                            f"{pre.name}/seed{seed}/{store}",
                            (pre.checkpoint,),
                            dict(self.rot["eval_rotation"], store=store, seed=seed),
                            args=f"--checkpoints {pre.checkpoint}",
                        )
                    )
                    self.plan.entry(eid, pool, column, "results.0.accuracy", job.metrics)

    @experiment("rot-T2")
    def _rot_T2(self, eid: str) -> None:
        for column in self.rot["datasets"]:
            for seed in self.seeds(eid, "scratch"):
                self.test_entry(eid, "scratch", column, self.rot_finetune(seed, column, None))
            for pool in self.rot["pools"]:
                for seed in self.seeds(eid, pool):
                    self.test_entry(
                        eid, pool, column, self.rot_finetune(seed, column, self.rot_pretrain(seed, pool=pool))
                    )

    @experiment("rot-T3")
    def _rot_T3(self, eid: str) -> None:
        column = self.dataset(eid, "rotnet")
        for row in ROTATION_SUBSETS:
            for seed in self.seeds(eid, row):
                self.test_entry(eid, row, column, self.rot_finetune(seed, column, self.rot_pretrain(seed, angles=row)))

    @experiment("rot-8/360")
    def _rot_8_360(self, eid: str) -> None:
        column = self.dataset(eid, "rotnet")
        for row, pretext in (("4", "rotation"), ("8", "rotation8"), ("360", "rotation360")):
            for seed in self.seeds(eid, row):
                pre = self.rot_pretrain(seed, pretext=pretext)
                self.test_entry(eid, row, column, self.rot_finetune(seed, column, pre))

    @experiment("rot-T4")
    def _rot_T4(self, eid: str) -> None:
        amounts = {"0": 0, **self.rot["data_amounts"], "all": None}
        for column in self.rot["datasets"]:
            for row, count in amounts.items():
                for seed in self.seeds(eid, row):
                    pre = None if count == 0 else self.rot_pretrain(seed, max_videos=count)
                    self.test_entry(eid, row, column, self.rot_finetune(seed, column, pre))

    @experiment("rot-T5")
    def _rot_T5(self, eid: str) -> None:
        column = self.dataset(eid, "rotnet")
        if eid in selected_ids(self.config):  # a named rule for an unselected id still fails in its job
            check_shots(self.config, self.rot["datasets"][column], 1, max(self.rot["shots"]), "rotnet.shots")
        for row in [str(k) for k in self.rot["shots"]] + ["full"]:
            shots = None if row == "full" else int(row)
            for seed in self.seeds(eid, row):
                self.test_entry(eid, row, "scratch", self.rot_finetune(seed, column, None, shots=shots))
                self.test_entry(
                    eid, row, "pretrained", self.rot_finetune(seed, column, self.rot_pretrain(seed), shots=shots)
                )

    @experiment("rot-T6")
    def _rot_T6(self, eid: str) -> None:
        for column in self.rot["datasets"]:
            for clip in self.rot["clips"]:
                for seed in self.seeds(eid, clip):
                    pre = self.rot_pretrain(seed, clip=clip)
                    self.test_entry(eid, clip, column, self.rot_finetune(seed, column, pre, clip=clip))

    @experiment("rot-T7")
    def _rot_T7(self, eid: str) -> None:
        """Mean over the splits of RGB, DIF and their fusion; one mean per seed."""
        clips = {"RGB": self.rot["t7_clips"]["RGB"], "DIF": self.rot["t7_clips"]["DIF"]}
        for column, store in self.rot["datasets"].items():
            for seed in self.seeds(eid, "Fusion"):
                per_split: dict[str, list[str]] = {"RGB": [], "DIF": [], "Fusion": []}
                for split in self.rot["t7_splits"]:
                    jobs = {}
                    for row, clip in clips.items():
                        jobs[row] = self.rot_finetune(
                            seed, column, self.rot_pretrain(seed, clip=clip), split=split, clip=clip
                        )
                        per_split[row].append(jobs[row].test_metrics)
                    fused = self.plan.add_eval(
                        Eval(
                            "fuse",
                            f"{jobs['RGB'].name}+{jobs['DIF'].name}/seed{seed}",
                            (jobs["RGB"].test_scores, jobs["DIF"].test_scores),
                            args=f"--scores {jobs['RGB'].test_scores} --scores {jobs['DIF'].test_scores}",
                        )
                    )
                    per_split["Fusion"].append(fused.metrics)
                for row, paths in per_split.items():
                    metric = "top1_fused" if row == "Fusion" else "top1_video"
                    mean = self.plan.add_eval(
                        Eval(
                            "mean",
                            f"rot-T7/{row}/{store}/seed{seed}",
                            tuple(paths),
                            args=" ".join(f"--inputs {p}" for p in paths) + f" --metric {metric} --seed {seed}",
                        )
                    )
                    self.plan.entry(eid, row, column, metric + PERCENT, mean.metrics)

    @experiment("rot-F4a")
    def _rot_F4a(self, eid: str) -> None:
        for column in self.rot["datasets"]:
            for level in FREEZE_LEVELS:
                row = f"C{level}"
                for seed in self.seeds(eid, row):
                    self.test_entry(
                        eid, row, column, self.rot_finetune(seed, column, self.rot_pretrain(seed), freeze=level)
                    )
        self.plan.figures[eid] = FigureSpec(self.plan.table_inputs(eid), _entry_args(self.plan.tables.pop(eid)))

    @experiment("rot-F4b")
    def _rot_F4b(self, eid: str) -> None:
        column = self.dataset(eid, "rotnet")
        store = self.rot["datasets"][column]
        steps = self.curve_steps()
        inputs, args = [], []
        points = "results/figures/data/rot-F4b_points.csv"
        for seed in self.seeds(eid, "curve"):
            pre = self.rot_pretrain(seed)
            checkpoints = [pre.step_checkpoint(s) for s in steps]
            rotation = self.plan.add_eval(
                Eval(
                    "curve",
                    f"{pre.name}/seed{seed}/{store}",
                    (pre.checkpoint,),
                    dict(self.rot["eval_rotation"], store=store, seed=seed),
                    args="--checkpoints " + " ".join(checkpoints),
                )
            )
            tests = [
                self.rot_finetune(seed, column, pre, init_step=self.curve_init_step(pre, s)).test_metrics for s in steps
            ]
            inputs += [rotation.metrics, *tests]
            args.append(
                f"--rotation {seed} {rotation.dir}/rotation.csv "
                + " ".join(f"--action {seed} {s} {t}" for s, t in zip(steps, tests))
            )
        self.plan.curve = FigureSpec(inputs, " ".join(args) + f" --out {points}")
        self.plan.figures[eid] = FigureSpec([points], f"--curve {points}")

    @staticmethod
    def curve_init_step(pre: Pretrain, step: int) -> int | None:
        """The kept step to finetune from; None (the main checkpoint) for the last step of a run with no hold-out.

        There ``step_<last>.pt`` and ``selected.pt`` (= ``final.pt``) hold the same weights, so the curve's
        last point is the main row's finetune rather than a second run of the same job.
        """
        last = int(pre.settings.get("iterations") or 0)
        return None if step == last and not pre.settings.get("holdout") else step

    def curve_steps(self) -> list[int]:
        every = int(self.rot["curve"]["keep_every"])
        total = int(self.rot["pretrain"]["iterations"])
        if every <= 0 or every > total:
            raise PlanError(f"rotnet.curve.keep_every must be in 1..rotnet.pretrain.iterations ({total}), got {every}")
        return list(range(every, total + 1, every))

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

    def _rot_attention(self, eid: str, *, supervised: bool = False, video_seed: int = 0) -> None:
        seed = self.config["seeds"][0]
        column = self.dataset(eid, "rotnet")
        store = self.rot["datasets"][column]
        checkpoints = [(self.rot_pretrain(seed).checkpoint, "self-supervised (rotation)")]
        if supervised:
            checkpoints.append(self.rot_supervised(seed, column))
        att = self.rot["attention"]
        self._attention(
            eid,
            checkpoints,
            "kernels" if eid == "rot-F5" else "rotation",
            store,
            settings={
                "num_videos": att["num_videos"],
                "seed": video_seed,
                "split": "test",
                "frames_shown": att["frames_shown"],
                "crop": self.rot["pretrain"]["crop"],
            },
        )

    def rot_supervised(self, seed: int, column: str) -> tuple[str, str]:
        """rot-F3/F5's "supervised 3DConvNet ... trained on the Kinetics dataset": its checkpoint and label.

        ``rotnet.supervised.store`` names a labelled store to train it on (from scratch, the finetuning
        recipe plus ``rotnet.supervised.finetune``, tested on the store's ``split1 == test``: Kinetics'
        validation set). Unset, the figures compare with the UCF101 scratch run and say so.
        """
        spec = self.rot.get("supervised") or {}
        store = spec.get("store")
        if not store:
            return self.rot_finetune(seed, column, None).checkpoint, "supervised (UCF101 from scratch)"
        model = self.rot_scratch_model()
        settings = dict(self.rot["finetune"])
        settings.update(spec.get("finetune") or {})
        settings.update(model, split_column="split1", split="train", clip_length=16, modality="rgb")
        test = dict(self.rot["test"], split_column="split1", split="test")
        job = Finetune(f"rotnet-supervised-16rgb--{store}", seed, store, None, None, settings, test, model)
        return self.plan.add_finetune(job).checkpoint, f"supervised ({spec.get('label') or store})"

    @experiment("rot-F1")
    def _rot_F1(self, eid: str) -> None:
        self._rot_attention(eid)

    @experiment("rot-F3")
    def _rot_F3(self, eid: str) -> None:
        self._rot_attention(eid, supervised=True)

    @experiment("rot-F5")
    def _rot_F5(self, eid: str) -> None:
        self._rot_attention(eid, supervised=True)

    # Figs. 6-9 show four further videos (the paper picks a baby crawling, a moving person, several
    # persons, two persons); here each figure draws its own videos with its own seed.
    @experiment("rot-F6")
    def _rot_F6(self, eid: str) -> None:
        self._rot_attention(eid, video_seed=6)

    @experiment("rot-F7")
    def _rot_F7(self, eid: str) -> None:
        self._rot_attention(eid, video_seed=7)

    @experiment("rot-F8")
    def _rot_F8(self, eid: str) -> None:
        self._rot_attention(eid, video_seed=8)

    @experiment("rot-F9")
    def _rot_F9(self, eid: str) -> None:
        self._rot_attention(eid, video_seed=9)

    # -- V3S runs ---------------------------------------------------------------------------

    def v3s_stores(self, backbone: str) -> Mapping[str, Any]:
        """A backbone's own stores (``v3s.backbone_stores``: S3D-G's 256 x 256 frames); empty for the shared ones."""
        return self.v3s.get("backbone_stores", {}).get(backbone, {})

    def v3s_pretrain(
        self, seed: int, backbone: str, pretext: Mapping[str, Any], variant: str, *, kinetics: bool = False
    ) -> Pretrain:
        settings = dict(self.v3s["pretrain"])
        settings.update(self.v3s["backbones"][backbone])
        settings.update(self.v3s.get("pretrain_overrides", {}).get(backbone, {}))
        if kinetics:
            settings.update(self.v3s["k400_pretrain"])
            store = self.v3s["k400_store"]
        else:
            store = self.v3s_stores(backbone).get("pretrain_store", self.v3s["pretrain_store"])
        params = dict(self.v3s.get("pretext", {}))
        params.update(self.v3s.get("pretext_overrides", {}).get(backbone, {}))
        params.update(pretext)
        settings.update(pretext="v3s", pretext_params=params)
        name = f"v3s-{backbone}-{_slug(variant)}" + ("-k400" if kinetics else "")
        return self.plan.add_pretrain(Pretrain(name, seed, store, settings))

    def v3s_finetune(self, seed: int, backbone: str, dataset: str, init: Pretrain | None) -> Finetune:
        store = self.v3s_stores(backbone).get("datasets", {}).get(dataset, self.v3s["datasets"][dataset])
        settings = dict(self.v3s["finetune"])
        settings.update(self.v3s.get("finetune_overrides", {}).get(backbone, {}))
        model = {}
        if init is None:
            model = {k: v for k, v in self.v3s["backbones"][backbone].items() if k in ("model", "width", "small_input")}
            settings.update(model)
        base = init.name if init is not None else f"v3s-{backbone}-random"
        name = f"{base}--{store}-split1"
        test = dict(self.v3s["test"], split_column="split1", split="test")
        return self.plan.add_finetune(Finetune(name, seed, store, init, None, settings, test, model))

    @experiment("v3s-T1")
    def _v3s_T1(self, eid: str) -> None:
        backbone = self.v3s["grid_backbone"]
        column = self.dataset(eid, "v3s")
        for row, pretext in self.v3s_grid.items():
            for seed in self.seeds(eid, row):
                pre = self.v3s_pretrain(seed, backbone, pretext, row)
                self.test_entry(eid, row, column, self.v3s_finetune(seed, backbone, column, pre))

    @experiment("v3s-T3")
    def _v3s_T3(self, eid: str) -> None:
        backbone = self.v3s["grid_backbone"]
        column = self.dataset(eid, "v3s")
        for row, pretext in self.v3s_combos.items():
            variant = self.reused_grid_rows.get(row, row)  # single transforms reuse their v3s-T1 run
            for seed in self.seeds(eid, row):
                pre = self.v3s_pretrain(seed, backbone, pretext, variant)
                self.test_entry(eid, row, column, self.v3s_finetune(seed, backbone, column, pre))

    @experiment("v3s-T2")
    def _v3s_T2(self, eid: str) -> None:
        for backbone in V3S_BACKBONES:
            for column in self.v3s["datasets"]:
                for seed in self.seeds(eid, f"{backbone}/random") if backbone in RANDOM_BASELINES else ():
                    self.test_entry(eid, f"{backbone}/random", column, self.v3s_finetune(seed, backbone, column, None))
                for seed in self.seeds(eid, f"{backbone}/v3s"):
                    pre = self.v3s_pretrain(seed, backbone, self.v3s_combos["V3S"], "V3S")
                    self.test_entry(eid, f"{backbone}/v3s", column, self.v3s_finetune(seed, backbone, column, pre))
                if backbone == self.v3s["grid_backbone"] and self.v3s.get("k400_store"):
                    for seed in self.seeds(eid, f"{backbone}/v3s-k400"):
                        pre = self.v3s_pretrain(seed, backbone, self.v3s_combos["V3S"], "V3S", kinetics=True)
                        self.test_entry(
                            eid, f"{backbone}/v3s-k400", column, self.v3s_finetune(seed, backbone, column, pre)
                        )

    def _retrieval(self, eid: str, column: str, backbones: tuple[str, ...] = V3S_BACKBONES) -> None:
        store = self.v3s["datasets"][column]
        for backbone in backbones:
            methods = ["random", "v3s"] if backbone in RANDOM_BASELINES else ["v3s"]
            if backbone == self.v3s["grid_backbone"] and self.v3s.get("k400_store"):
                methods.append("v3s-k400")
            for method in methods:
                row = f"{backbone}/{method}"
                for seed in self.seeds(eid, row):
                    if method == "random":
                        model = self.v3s["backbones"][backbone]
                        source = f"--random-init --model {model['model']} --width {model.get('width', 1.0)}" + (
                            " --small-input" if model.get("small_input") else ""
                        )
                        inputs: tuple[str, ...] = ()
                        key = f"v3s-{backbone}-random/seed{seed}/{store}"
                    else:
                        pre = self.v3s_pretrain(
                            seed, backbone, self.v3s_combos["V3S"], "V3S", kinetics=method == "v3s-k400"
                        )
                        source, inputs, key = (
                            f"--checkpoint {pre.checkpoint}",
                            (pre.checkpoint,),
                            f"{pre.name}/seed{seed}/{store}",
                        )
                    job = self.plan.add_eval(
                        Eval("retrieval", key, inputs, dict(self.v3s["retrieval"], store=store, seed=seed), args=source)
                    )
                    for k in (1, 5, 10, 20, 50):
                        self.plan.entry(eid, row, f"top{k}", f"topk.{k}", job.metrics)

    @experiment("v3s-T4")
    def _v3s_T4(self, eid: str) -> None:
        self._retrieval(eid, self.dataset(eid, "v3s"))

    @experiment("v3s-T5")
    def _v3s_T5(self, eid: str) -> None:
        # V3S Table 5 has no S3D-G rows.
        self._retrieval(eid, self.dataset(eid, "v3s"), RANDOM_BASELINES)

    @experiment("v3s-T6")
    def _v3s_T6(self, eid: str) -> None:
        aslan = self.v3s["aslan"]
        for seed in self.seeds(eid, "r3d/v3s"):
            pre = self.v3s_pretrain(seed, "r3d", self.v3s_combos["V3S"], "V3S")
            job = self.plan.add_eval(
                Eval(
                    "aslan",
                    f"{pre.name}/seed{seed}",
                    (pre.checkpoint,),
                    dict(aslan["settings"], store=aslan["store"], seed=seed),
                    args=f"--checkpoint {pre.checkpoint} --pairs {shlex.quote(aslan['pairs'])}",
                )
            )
            self.plan.entry(eid, "r3d/v3s", "acc", "accuracy_mean", job.metrics)

    @experiment("v3s-F1")
    def _v3s_F1(self, eid: str) -> None:
        job = self.illustrate()
        self.plan.figures[eid] = FigureSpec([f"{job.dir}/transforms.npz"], f"--transforms {job.dir}/transforms.npz")

    @experiment("v3s-F2")
    def _v3s_F2(self, eid: str) -> None:
        self._v3s_F1(eid)

    def illustrate(self) -> Eval:
        settings = dict(self.v3s["illustrate"])
        return self.plan.add_eval(Eval("illustrate", "v3s", (), settings))

    @experiment("v3s-F5")
    def _v3s_F5(self, eid: str) -> None:
        seed = self.config["seeds"][0]
        backbone = self.v3s["grid_backbone"]
        pre = self.v3s_pretrain(seed, backbone, self.v3s_combos["V3S"], "V3S")
        column = self.dataset(eid, "v3s")
        att = self.v3s["gradcam"]
        self._attention(
            eid,
            [(pre.checkpoint, "V3S (spatial head)")],
            "gradcam",
            self.v3s["datasets"][column],
            extra=f"--head {att['head']}",
            settings={
                "num_videos": att["num_videos"],
                "seed": 0,
                "split": "test",
                "frames_shown": att["frames_shown"],
                "crop": self.v3s["pretrain"]["crop"],
            },
        )


def _entry_args(entries: list[tuple[str, str, str, str]]) -> str:
    return " ".join("--entry " + " ".join(shlex.quote(x) for x in entry) for entry in entries)


def table_args(plan: Plan, experiment_id: str) -> str:
    return _entry_args(plan.tables.get(experiment_id, []))


# Every id of shared/EXPERIMENTS.md, in its order (the catalogue's order).
EXPERIMENT_IDS: tuple[str, ...] = tuple(EXPERIMENTS)
TABLE_IDS = tuple(i for i in EXPERIMENT_IDS if EXPERIMENTS[i]["kind"] == "table")
FIGURE_IDS = tuple(i for i in EXPERIMENT_IDS if EXPERIMENTS[i]["kind"] == "figure")


def file_stem(experiment_id: str) -> str:
    return experiment_id.replace("/", "_")


def rule_name(experiment_id: str) -> str:
    """``rot-8/360`` -> ``rot_8_360``: the named target rule of an experiment id."""
    return experiment_id.replace("-", "_").replace("/", "_")


# --------------------------------------------------------------------------- cost


def workload(plan: Plan, videos: Mapping[str, Mapping[str, int]], experiment_ids=None) -> dict[str, dict[str, float]]:
    """Clip passes each table costs: network inputs through training steps, and test clips.

    ``videos[store]`` gives ``train`` / ``test`` / ``all`` video counts of a store (split 1). A job
    shared by several experiments is counted in each of them (each table's own cost); the
    ``_total`` line counts every job once. Pretraining with ``iterations`` costs
    ``iterations × batch_size`` inputs; with ``epochs``, ``epochs × videos × copies`` (copies = the
    rotation count for all-copies pretexts). Convert with GPU-hours = inputs / (clips/s) / 3600,
    the clips/s of ``make bench`` on the target GPU.
    """

    def pretrain_cost(job: Pretrain) -> float:
        s = job.settings
        if s.get("iterations"):
            return float(s["iterations"]) * float(s.get("batch_size", 32))
        pool = videos[job.store]["train" if s.get("split") else "all"] - int(s.get("holdout", 0) or 0)
        if s.get("max_videos"):
            pool = min(pool, int(s["max_videos"]))
        angles = len((s.get("pretext_params") or {}).get("angles", [])) or {"rotation8": 8}.get(s.get("pretext"), 1)
        return float(s["epochs"]) * pool * angles

    def finetune_cost(job: Finetune) -> float:
        s = job.settings
        n = videos[job.store]["train"]
        if s.get("shots"):
            n = min(n, int(s["shots"]) * videos[job.store].get("classes", 101))
        return float(s["epochs"]) * n

    def test_cost(job: Finetune) -> float:
        return float(job.test_settings.get("clips", 10)) * videos[job.store]["test"]

    producers: dict[str, Any] = {}
    for f in plan.finetunes.values():
        producers.update({f.test_metrics: f, f.test_scores: f, f.checkpoint: f})
    for job in plan.pretrains.values():
        producers[job.checkpoint] = job
    for job in plan.evals.values():
        producers[job.metrics] = job

    def jobs_behind(paths) -> set:
        found, todo = set(), list(paths)
        while todo:
            job = producers.get(todo.pop())
            if job is None or job in found:
                continue
            found.add(job)
            if isinstance(job, Eval):
                todo += list(job.inputs)
            elif isinstance(job, Finetune) and job.init is not None:
                todo.append(job.init.checkpoint)
        return found

    out: dict[str, dict[str, float]] = {}
    for experiment_id in experiment_ids or plan.tables:
        jobs = jobs_behind(path for *_, path in plan.tables.get(experiment_id, []))
        finetunes = {j for j in jobs if isinstance(j, Finetune)}
        pretrains = {j for j in jobs if isinstance(j, Pretrain)}
        out[experiment_id] = {
            "pretrain_inputs": sum(pretrain_cost(p) for p in pretrains),
            "finetune_inputs": sum(finetune_cost(f) for f in finetunes),
            "test_clips": sum(test_cost(f) for f in finetunes),
            "pretrain_jobs": len(pretrains),
            "finetune_jobs": len(finetunes),
        }
    out["_total"] = {
        "pretrain_inputs": sum(pretrain_cost(p) for p in plan.pretrains.values()),
        "finetune_inputs": sum(finetune_cost(f) for f in plan.finetunes.values()),
        "test_clips": sum(test_cost(f) for f in plan.finetunes.values()),
        "pretrain_jobs": len(plan.pretrains),
        "finetune_jobs": len(plan.finetunes),
    }
    return out
