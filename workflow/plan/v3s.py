"""V3S's experiments (v3s-T1 ... v3s-F5): the Table 1 grid, the combinations, backbones, retrieval, ASLAN."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from .builder import Builder, experiment
from .jobs import Eval, FigureSpec, Finetune, PlanError, Pretrain, slug

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


class V3SExperiments(Builder):
    """v3s-T1 ... v3s-F5: the builders and the V3S run helpers they share."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.v3s_grid = v3s_grid(self.v3s)
        self.v3s_combos, self.reused_grid_rows = v3s_combos(self.v3s, self.v3s_grid)

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
        name = f"v3s-{backbone}-{slug(variant)}" + ("-k400" if kinetics else "")
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
                        source = self.random_init_args(self.v3s["backbones"][backbone])
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
