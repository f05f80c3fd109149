"""The pretext suite (suite-T1, suite-F1): the pretexts the papers compare against, on equal footing.

A *protocol* is one backbone pretrained on one store's videos (``suite.protocols``: the toy width on the
pool at toy scale; R3D-18 and R(2+1)D-10, each on the Kinetics pool and on UCF101 split-1 train, at
paper scale). Under each, every row pretrains with the same recipe (rotnet.pretrain with
``suite.pretrain``'s keys replaced; a row may replace its own batch size, as VCOP's whole tuples of 3
need) and is finetuned with 3DRotNet's recipe on each of ``suite.splits`` (their mean per seed where
there are several), so the first protocol's scratch row and its few-shot runs are rot-T2's and
rot-T5's jobs. Each row gets the same evaluations: finetuning on each dataset, few-shot on UCF101,
retrieval, a linear probe and k-NN on frozen features (one ``vssl frozen-eval`` job per backbone and
dataset: one feature extraction for the three; split 1, as the papers report them), and (pretext rows)
the pretext's own accuracy on the UCF101 test videos (``vssl eval-pretext``).

The first protocol's rows keep their bare keys (``vcop``) and make suite-F1; a further protocol's are
``<row>@<protocol>`` (``vcop@r21d10-ucf101``), with one scratch row per further backbone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .builder import Builder, experiment
from .catalogue import CATALOGUE_PATH, EXPERIMENTS
from .jobs import PERCENT, Eval, FigureSpec, Finetune, PlanError, Pretrain, entry_args, slug

SCRATCH = "scratch"
RETRIEVAL_KS = (1, 5, 10, 20, 50)
MODEL_KEYS = ("model", "width", "small_input")


@dataclass(frozen=True)
class Protocol:
    """One backbone pretrained on one store's videos: ``split`` picks split 1's train or test list (None: all)."""

    name: str
    store: str
    split: str | None
    backbone: tuple[tuple[str, Any], ...]  # model keys; rotnet.pretrain's model where the config gives none

    @property
    def model(self) -> dict[str, Any]:
        return dict(self.backbone)


class SuiteExperiments(Builder):
    """suite-T1 and suite-F1: one pretraining, finetuning and evaluation protocol for every pretext."""

    @property
    def suite(self) -> dict[str, Any]:
        if not self.config.get("suite"):
            raise PlanError("suite-T1/suite-F1 need a `suite` block (see config.yaml)")
        return self.config["suite"]

    def suite_protocols(self) -> list[Protocol]:
        protocols = []
        for spec in self.suite["protocols"]:
            backbone = {k: v for k, v in (spec.get("backbone") or self.rot_scratch_model()).items() if k in MODEL_KEYS}
            protocols.append(Protocol(spec["name"], spec["store"], spec.get("split"), tuple(sorted(backbone.items()))))
        names = [p.name for p in protocols]
        if len(set(names)) != len(names):
            raise PlanError(f"suite.protocols: names repeat ({', '.join(names)})")
        return protocols

    def suite_seeds(self) -> list[int]:
        return list(self.suite.get("seeds") or self.config["seeds"])

    def suite_pretext_seeds(self, eid: str, row: str) -> list[int]:
        """A pretext row's pretraining seeds in ``eid``: ``claim_seeds`` when a replicated claim compares it."""
        if row in self.claim_rows.get(eid, ()):
            return list(self.config["claim_seeds"])
        return self.suite_seeds()

    def suite_rows(self, protocol: Protocol) -> list[tuple[str, str]]:
        """(row name, table row key) of one protocol: scratch once per backbone, then every pretext."""
        protocols = self.suite_protocols()
        main = protocol == protocols[0]
        first_of_backbone = next(p for p in protocols if p.backbone == protocol.backbone) == protocol
        names = ([SCRATCH] if first_of_backbone else []) + list(self.suite["rows"])
        return [(name, name if main else f"{name}@{protocol.name}") for name in names]

    def suite_pretrain(self, seed: int, row: str, protocol: Protocol) -> Pretrain:
        spec = self.suite["rows"][row]
        length, modality = self.clip_variant("16-RGB")
        settings = dict(self.rot["pretrain"])
        # A null keeps rotnet.pretrain's value (config/paper.yaml undoes the toy lr so).
        settings.update({k: v for k, v in (self.suite.get("pretrain") or {}).items() if v is not None})
        settings.update({k: v for k, v in spec.items() if k not in ("pretext", "pretext_params")})
        settings.update(protocol.model)
        if protocol.split:
            settings.update(split_column="split1", split=protocol.split)
        params = dict(spec.get("pretext_params") or {})
        if spec["pretext"] == "v3s":  # the V3S block's frame settings and chosen sets, as v3s-T2's runs
            params = {**self.v3s.get("pretext", {}), **self.v3s_combos["V3S"], **params}
        settings.update(pretext=spec["pretext"], pretext_params=params, clip_length=length, modality=modality)
        return self.plan.add_pretrain(Pretrain(f"suite-{protocol.name}-{slug(row)}", seed, protocol.store, settings))

    def suite_init(self, seed: int, row: str, protocol: Protocol) -> Pretrain | None:
        return None if row == SCRATCH else self.suite_pretrain(seed, row, protocol)

    def suite_finetune(self, seed: int, column: str, pre: Pretrain | None, protocol: Protocol, **kw: Any) -> Finetune:
        return self.rot_finetune(seed, column, pre, model=protocol.model, **kw)

    def suite_finetune_entry(self, eid: str, key: str, column: str, seed: int, pre, protocol: Protocol) -> None:
        """The finetuned top-1 of one row on one dataset: on the one split, or the mean over ``suite.splits``."""
        jobs = [self.suite_finetune(seed, column, pre, protocol, split=int(s)) for s in self.suite["splits"]]
        if len(jobs) == 1:
            self.test_entry(eid, key, column, jobs[0])
            return
        paths = [job.test_metrics for job in jobs]
        store = self.rot["datasets"][column]
        mean = self.plan.add_eval(
            Eval(
                "mean",
                f"{eid}/{key}/{store}/seed{seed}",
                tuple(paths),
                args=" ".join(f"--inputs {p}" for p in paths) + f" --metric top1_video --seed {seed}",
            )
        )
        self.plan.entry(eid, key, column, "top1_video" + PERCENT, mean.metrics)

    def frozen_source(self, seed: int, pre: Pretrain | None, protocol: Protocol) -> tuple[str, tuple[str, ...], str]:
        """Flags, inputs and key stem of a frozen-feature evaluation: a checkpoint, or scratch's random init."""
        if pre is not None:
            return f"--checkpoint {pre.checkpoint}", (pre.checkpoint,), f"{pre.name}/seed{seed}"
        stem = "suite-random-init"
        if protocol.model != self.rot_scratch_model():
            stem += "-" + self.backbone_slug(protocol.model)
        return self.random_init_args(protocol.model), (), f"{stem}/seed{seed}"

    def suite_frozen(self, seed: int, pre: Pretrain | None, column: str, protocol: Protocol) -> Eval:
        """Retrieval, linear probe and k-NN of one backbone on one dataset: one `vssl frozen-eval` job."""
        store = self.rot["datasets"][column]
        source, inputs, stem = self.frozen_source(seed, pre, protocol)
        settings = dict(self.suite.get("frozen") or {}, store=store, seed=seed)
        return self.plan.add_eval(Eval("frozen", f"{stem}/{store}", inputs, settings, source))

    def suite_pretext_eval(self, seed: int, pre: Pretrain, column: str) -> Eval:
        store = self.rot["datasets"][column]
        settings = dict(self.suite.get("eval_pretext") or {}, store=store, seed=seed)
        return self.plan.add_eval(
            Eval(
                "pretext",
                f"{pre.name}/seed{seed}/{store}",
                (pre.checkpoint,),
                settings,
                f"--checkpoint {pre.checkpoint}",
            )
        )

    def suite_knn_k(self) -> int:
        """The k of suite-T1's k-NN column: the frozen block's one ``k``."""
        ks = (self.suite.get("frozen") or {}).get("k") or [20]
        if len(ks) != 1:
            raise PlanError(f"suite.frozen.k: one k for the table's k-NN column, got {ks}")
        return int(ks[0])

    def suite_cited_rows(self, eid: str) -> tuple[str, ...]:
        """``suite.cited_rows``, each a cited row (one with a ``source``) of the catalogue's ``eid``."""
        cited = [row["key"] for row in EXPERIMENTS[eid]["rows"] if row.get("source")]
        chosen = tuple(self.suite.get("cited_rows") or ())
        unknown = [key for key in chosen if key not in cited]
        if unknown:
            raise PlanError(
                f"suite.cited_rows: {', '.join(map(repr, unknown))} not a cited row of {eid} "
                f"({CATALOGUE_PATH.name}); its cited rows: {', '.join(cited) or 'none'}"
            )
        return chosen

    @experiment("suite-T1")
    def _suite_T1(self, eid: str) -> None:
        self.plan.cited_rows[eid] = self.suite_cited_rows(eid)
        for protocol in self.suite_protocols():
            for row, key in self.suite_rows(protocol):
                for seed in self.suite_seeds():
                    self._suite_T1_row(eid, row, key, seed, protocol)

    def _suite_T1_row(self, eid: str, row: str, key: str, seed: int, protocol: Protocol) -> None:
        pre = self.suite_init(seed, row, protocol)
        for column in self.rot["datasets"]:
            self.suite_finetune_entry(eid, key, column, seed, pre, protocol)
            frozen = self.suite_frozen(seed, pre, column, protocol).metrics
            for k in RETRIEVAL_KS:
                self.plan.entry(eid, key, f"{column} R@{k}", f"topk.{k}", frozen)
            self.plan.entry(eid, key, f"{column} probe", "probe.top1", frozen)
            self.plan.entry(eid, key, f"{column} kNN", f"knn.top1.{self.suite_knn_k()}", frozen)
        column = self.dataset(eid, "rotnet")
        for shots in self.suite.get("shots") or ():
            job = self.suite_finetune(seed, column, pre, protocol, shots=int(shots))
            self.test_entry(eid, key, f"{column} {shots}-shot", job)

    @experiment("suite-F1")
    def _suite_F1(self, eid: str) -> None:
        """The first protocol's rows: each pretext's own accuracy, its linear probe and its finetune."""
        column = self.dataset(eid, "rotnet")
        protocol = self.suite_protocols()[0]
        entries: list[tuple[str, str, str, str]] = []
        for row, _ in self.suite_rows(protocol):
            # The pretext's own accuracy costs a pretraining per seed, no finetune, so its claim
            # (pretext > chance) replicates without the finetune and probe points below.
            for seed in self.suite_pretext_seeds(eid, row) if row != SCRATCH else ():
                pre = self.suite_pretrain(seed, row, protocol)
                scores = self.suite_pretext_eval(seed, pre, column).metrics
                entries += [(row, "pretext", "accuracy" + PERCENT, scores), (row, "chance", "chance" + PERCENT, scores)]
            for seed in self.suite_seeds():
                pre = self.suite_init(seed, row, protocol)
                finetuned = self.suite_finetune(seed, column, pre, protocol, split=int(self.suite["splits"][0]))
                frozen = self.suite_frozen(seed, pre, column, protocol).metrics
                entries += [
                    (row, "finetune", "top1_video" + PERCENT, finetuned.test_metrics),
                    (row, "probe", "probe.top1", frozen),
                ]
        self.plan.figures[eid] = FigureSpec(sorted({path for *_, path in entries}), entry_args(entries))
