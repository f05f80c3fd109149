"""The pretext suite (suite-T1, suite-F1): the pretexts the papers compare against, on equal footing.

Every row pretrains the same backbone (rotnet.pretrain's model) on the same store (``suite.store``)
with the same recipe (rotnet.pretrain with ``suite.pretrain``'s keys replaced; a row may replace its
own batch size, as VCOP's whole tuples of 3 need), and is finetuned with 3DRotNet's recipe, so the
scratch row and its few-shot runs are rot-T2's and rot-T5's jobs. Each row gets the same evaluations:
finetuning on each dataset, few-shot on UCF101, retrieval, a linear probe and k-NN on frozen features
(one ``vssl frozen-eval`` job per backbone and dataset: one feature extraction for the three), and
(pretext rows) the pretext's own accuracy on the UCF101 test videos (``vssl eval-pretext``).
"""

from __future__ import annotations

from typing import Any

from .builder import Builder, experiment
from .catalogue import CATALOGUE_PATH, EXPERIMENTS
from .jobs import PERCENT, Eval, FigureSpec, PlanError, Pretrain, entry_args, slug

SCRATCH = "scratch"
RETRIEVAL_KS = (1, 5, 10, 20, 50)


class SuiteExperiments(Builder):
    """suite-T1 and suite-F1: one pretraining, finetuning and evaluation protocol for every pretext."""

    @property
    def suite(self) -> dict[str, Any]:
        if not self.config.get("suite"):
            raise PlanError("suite-T1/suite-F1 need a `suite` block (see config.yaml)")
        return self.config["suite"]

    def suite_seeds(self) -> list[int]:
        return list(self.suite.get("seeds") or self.config["seeds"])

    def suite_pretext_seeds(self, eid: str, row: str) -> list[int]:
        """A pretext row's pretraining seeds in ``eid``: ``claim_seeds`` when a replicated claim compares it."""
        if row in self.claim_rows.get(eid, ()):
            return list(self.config["claim_seeds"])
        return self.suite_seeds()

    def suite_rows(self) -> list[str]:
        return [SCRATCH, *self.suite["rows"]]

    def suite_pretrain(self, seed: int, row: str) -> Pretrain:
        spec = self.suite["rows"][row]
        length, modality = self.clip_variant("16-RGB")
        settings = dict(self.rot["pretrain"])
        # A null keeps rotnet.pretrain's value (config/paper.yaml undoes the toy lr so).
        settings.update({k: v for k, v in (self.suite.get("pretrain") or {}).items() if v is not None})
        settings.update({k: v for k, v in spec.items() if k not in ("pretext", "pretext_params")})
        params = dict(spec.get("pretext_params") or {})
        if spec["pretext"] == "v3s":  # the V3S block's frame settings and chosen sets, as v3s-T2's runs
            params = {**self.v3s.get("pretext", {}), **self.v3s_combos["V3S"], **params}
        settings.update(pretext=spec["pretext"], pretext_params=params, clip_length=length, modality=modality)
        store = self.suite["store"]
        return self.plan.add_pretrain(Pretrain(f"suite-{store}-{slug(row)}", seed, store, settings))

    def frozen_source(self, seed: int, pre: Pretrain | None) -> tuple[str, tuple[str, ...], str]:
        """Flags, inputs and key stem of a frozen-feature evaluation: a checkpoint, or scratch's random init."""
        if pre is not None:
            return f"--checkpoint {pre.checkpoint}", (pre.checkpoint,), f"{pre.name}/seed{seed}"
        return self.random_init_args(self.rot_scratch_model()), (), f"suite-random-init/seed{seed}"

    def suite_frozen(self, seed: int, pre: Pretrain | None, column: str) -> Eval:
        """Retrieval, linear probe and k-NN of one backbone on one dataset: one `vssl frozen-eval` job."""
        store = self.rot["datasets"][column]
        source, inputs, stem = self.frozen_source(seed, pre)
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

    def suite_init(self, seed: int, row: str) -> Pretrain | None:
        return None if row == SCRATCH else self.suite_pretrain(seed, row)

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
        for row in self.suite_rows():
            for seed in self.suite_seeds():
                pre = self.suite_init(seed, row)
                for column in self.rot["datasets"]:
                    self.test_entry(eid, row, column, self.rot_finetune(seed, column, pre))
                    frozen = self.suite_frozen(seed, pre, column).metrics
                    for k in RETRIEVAL_KS:
                        self.plan.entry(eid, row, f"{column} R@{k}", f"topk.{k}", frozen)
                    self.plan.entry(eid, row, f"{column} probe", "probe.top1", frozen)
                    self.plan.entry(eid, row, f"{column} kNN", f"knn.top1.{self.suite_knn_k()}", frozen)
                column = self.dataset(eid, "rotnet")
                for shots in self.suite.get("shots") or ():
                    job = self.rot_finetune(seed, column, pre, shots=int(shots))
                    self.test_entry(eid, row, f"{column} {shots}-shot", job)

    @experiment("suite-F1")
    def _suite_F1(self, eid: str) -> None:
        column = self.dataset(eid, "rotnet")
        entries: list[tuple[str, str, str, str]] = []
        for row in self.suite_rows():
            # The pretext's own accuracy costs a pretraining per seed, no finetune, so its claim
            # (pretext > chance) replicates without the finetune and probe points below.
            for seed in self.suite_pretext_seeds(eid, row) if row != SCRATCH else ():
                scores = self.suite_pretext_eval(seed, self.suite_pretrain(seed, row), column).metrics
                entries += [(row, "pretext", "accuracy" + PERCENT, scores), (row, "chance", "chance" + PERCENT, scores)]
            for seed in self.suite_seeds():
                pre = self.suite_init(seed, row)
                finetuned = self.rot_finetune(seed, column, pre).test_metrics
                frozen = self.suite_frozen(seed, pre, column).metrics
                entries += [(row, "finetune", "top1_video" + PERCENT, finetuned), (row, "probe", "probe.top1", frozen)]
        self.plan.figures[eid] = FigureSpec(sorted({path for *_, path in entries}), entry_args(entries))
