"""What the config's schema cannot check alone: crops that fit their frames, few-shot counts the split holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .jobs import Plan, PlanError


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
