"""What a plan costs: clip passes per table, from the jobs behind its entries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .jobs import Eval, Finetune, Plan, Pretrain


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
