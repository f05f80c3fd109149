"""Scales, the ``generate`` entry point and the ``vssl synth`` command."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from vssl.data.synth import layouts
from vssl.data.synth.codec import FPS, kinetics_codec, write_video
from vssl.data.synth.layouts import ASLAN, DATASETS, HMDB, KINETICS, UCF, Shape
from vssl.data.synth.motions import MOTIONS, REFERENCE_SIZE, SPEED, SPEED_SPREAD, Canvas, speed_profile
from vssl.data.synth.render import DUSK, KINDS, UPRIGHT_KINDS, VideoSpec, iter_frames, plan_video
from vssl.utils.io import atomic_write_json

# 4: dusk, an arrow of time (issue 13); 3: the issue 9 world (shared speed, shared scenes, gravity,
# lit upright objects); 2: x264 settings
SYNTH_VERSION = 4
"""Bump when the rendering changes: outputs of another version are not reused."""

MANIFEST = "synth.json"
_IN_PROGRESS = ".synth-in-progress.json"


@dataclass(frozen=True)
class SynthConfig:
    """Every knob of a generated dataset; a scale is a named default of this."""

    seed: int = 0
    scale: str = "small"
    size: tuple[int, int] = (64, 64)  # (height, width)
    frames: int = 100
    datasets: tuple[str, ...] = DATASETS
    videos_per_class: int = 30  # UCF101
    groups: int = 10  # UCF101 groups per class (a group = one scene)
    hmdb_videos_per_class: int = 20
    pool_size: int = 1000  # Kinetics pretraining pool
    aslan_videos_per_class: int = 4
    aslan_tempos: tuple[float, ...] = (0.7, 1.0, 1.4)
    aslan_pairs_per_split: int = 30

    def validate(self) -> None:
        h, w = self.size
        if h < 16 or w < 16 or h % 2 or w % 2:
            raise ValueError(f"size must be even and >= 16 on both sides (yuv420p), got {h}x{w}")
        if self.frames < 16:
            raise ValueError(f"frames must be >= 16 (one clip), got {self.frames}")
        unknown = set(self.datasets) - set(DATASETS)
        if unknown or not self.datasets:
            raise ValueError(f"datasets must be a non-empty subset of {DATASETS}, got {self.datasets}")
        if self.pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {self.pool_size}")
        if UCF in self.datasets:
            layouts.ucf_test_groups(self.groups)
            if self.videos_per_class < self.groups:
                raise ValueError(f"videos_per_class ({self.videos_per_class}) < groups ({self.groups})")
        if HMDB in self.datasets and self.hmdb_videos_per_class < 2:
            raise ValueError(f"hmdb_videos_per_class must be >= 2, got {self.hmdb_videos_per_class}")
        if ASLAN in self.datasets:  # raises on an infeasible pair design
            layouts.aslan_pairs(self.seed, self.aslan_tempos, self.aslan_videos_per_class, self.aslan_pairs_per_split)


SCALES: dict[str, SynthConfig] = {
    # unit tests of other modules: seconds to generate
    "tiny": SynthConfig(
        scale="tiny",
        size=(32, 32),
        frames=48,
        videos_per_class=4,
        groups=4,
        hmdb_videos_per_class=4,
        pool_size=20,
        aslan_videos_per_class=3,
        aslan_tempos=(0.75, 1.35),
        aslan_pairs_per_split=6,
    ),
    # the embedded default: every experiment at toy scale on a 2-core CPU
    "small": SynthConfig(scale="small"),
    "medium": SynthConfig(
        scale="medium",
        size=(112, 112),
        frames=128,
        videos_per_class=60,
        groups=25,
        hmdb_videos_per_class=40,
        pool_size=4000,
        aslan_videos_per_class=6,
        aslan_pairs_per_split=60,
    ),
    # loader benchmark: UCF101-shaped files only
    "ucf": SynthConfig(
        scale="ucf", size=(240, 320), frames=180, datasets=(UCF,), videos_per_class=3, groups=3, pool_size=0
    ),
}


def resolve_config(scale: str = "small", *, seed: int = 0, **overrides: Any) -> SynthConfig:
    """The named scale with ``overrides`` (None values ignored) applied, validated."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    names = {f.name for f in fields(SynthConfig)}
    bad = set(overrides) - names
    if bad:
        raise TypeError(f"unknown synth option(s) {sorted(bad)}; known: {sorted(names)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    for key in ("size", "datasets", "aslan_tempos"):
        if key in given:
            given[key] = tuple(given[key])
    config = replace(SCALES[scale], seed=int(seed), **given)
    config.validate()
    return config


def plan_specs(config: SynthConfig) -> list[VideoSpec]:
    """Every video of the dataset, in a fixed order."""
    shape = Shape(config.size[0], config.size[1], config.frames)
    specs: list[VideoSpec] = []
    if UCF in config.datasets:
        specs += layouts.plan_ucf(config.seed, shape, config.videos_per_class, config.groups)
    if HMDB in config.datasets:
        specs += layouts.plan_hmdb(config.seed, shape, config.hmdb_videos_per_class)
    if KINETICS in config.datasets:
        specs += layouts.plan_kinetics(config.seed, shape, config.pool_size, kinetics_codec())
    if ASLAN in config.datasets:
        specs += layouts.plan_aslan(config.seed, shape, config.aslan_tempos, config.aslan_videos_per_class)
    return specs


def render_one(out_dir: Path, spec: VideoSpec) -> float:
    """Render and write one video atomically; returns the seconds it took."""
    start = time.perf_counter()
    plan = plan_video(spec)
    written = write_video(
        out_dir / spec.relpath,
        iter_frames(plan),
        height=spec.height,
        width=spec.width,
        codec=spec.codec,
        container=spec.container,
    )
    if written != spec.frames:
        raise RuntimeError(f"{out_dir / spec.relpath}: wrote {written} frames, expected {spec.frames}")
    return time.perf_counter() - start


def _render_job(job: tuple[str, VideoSpec]) -> float:
    return render_one(Path(job[0]), job[1])


def _config_record(config: SynthConfig) -> dict[str, Any]:
    record = asdict(config)
    record["version"] = SYNTH_VERSION
    record["kinetics_codec"] = kinetics_codec() if KINETICS in config.datasets else None
    return json.loads(json.dumps(record))  # tuples -> lists, as they read back from JSON


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); remove it to regenerate") from exc


def _check_existing(out_dir: Path, record: dict[str, Any]) -> None:
    """Refuse to mix outputs of different settings in one directory."""
    for name in (MANIFEST, _IN_PROGRESS):
        path = out_dir / name
        if path.exists():
            previous = _read_json(path).get("config")
            if previous != record:
                diff = sorted(k for k in set(record) | set(previous or {}) if (previous or {}).get(k) != record.get(k))
                raise ValueError(
                    f"{path}: {out_dir} holds a synthetic dataset generated with other settings "
                    f"(differs in {', '.join(diff)}); use another directory or delete it"
                )


def _remove_stale_temps(out_dir: Path, datasets: Sequence[str]) -> None:
    """Delete temp files left by a killed run (atomic_path's ``.<name>.*.tmp``)."""
    for name in datasets:
        root = out_dir / name
        if root.is_dir():
            for tmp in root.rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _class_table(config: SynthConfig) -> list[dict[str, Any]]:
    canvas = Canvas(*config.size)
    return [
        {
            "key": m.key,
            "ucf101": m.ucf_name,
            "hmdb51": m.hmdb_name,
            "kinetics": m.label,
            "description": m.description,
            "orientation_cue": m.orientation_cue or None,
            "speed": speed_profile(m.key, canvas, frames=config.frames, seed=config.seed),
        }
        for m in MOTIONS
    ]


@dataclass(frozen=True)
class RunStats:
    """What one generation run did (not part of synth.json, which must be reproducible)."""

    rendered: int
    reused: int
    jobs: int
    seconds: float


def generate(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    scale: str = "small",
    jobs: int | None = None,
    progress: bool = False,
    size: tuple[int, int] | None = None,
    frames: int | None = None,
    datasets: Sequence[str] | None = None,
    videos_per_class: int | None = None,
    groups: int | None = None,
    hmdb_videos_per_class: int | None = None,
    pool_size: int | None = None,
    aslan_videos_per_class: int | None = None,
    aslan_tempos: Sequence[float] | None = None,
    aslan_pairs_per_split: int | None = None,
) -> dict[str, Any]:
    """Generate the synthetic datasets under ``out_dir``; returns the ``synth.json`` content.

    Deterministic in ``seed`` (independent of ``jobs``). Videos that already exist
    are kept (each was written atomically, so existing means complete); the index
    files and ``synth.json`` are rewritten. Keyword overrides replace the scale's
    defaults (see :data:`SCALES`); None keeps the default.
    """
    config = resolve_config(
        scale,
        seed=seed,
        size=size,
        frames=frames,
        datasets=datasets,
        videos_per_class=videos_per_class,
        groups=groups,
        hmdb_videos_per_class=hmdb_videos_per_class,
        pool_size=pool_size,
        aslan_videos_per_class=aslan_videos_per_class,
        aslan_tempos=aslan_tempos,
        aslan_pairs_per_split=aslan_pairs_per_split,
    )
    manifest, _ = generate_config(out_dir, config, jobs=jobs, progress=progress)
    return manifest


def generate_config(
    out_dir: str | os.PathLike, config: SynthConfig, *, jobs: int | None = None, progress: bool = False
) -> tuple[dict[str, Any], RunStats]:
    """:func:`generate` for a resolved config; also returns what the run did."""
    wall = time.perf_counter()
    config.validate()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir}: output path exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    record = _config_record(config)
    _check_existing(out_dir, record)
    atomic_write_json(out_dir / _IN_PROGRESS, {"config": record})
    _remove_stale_temps(out_dir, config.datasets)

    specs = plan_specs(config)
    todo = [s for s in specs if not (out_dir / s.relpath).exists()]
    jobs = max(1, min(jobs or len(os.sched_getaffinity(0)), max(len(todo), 1)))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="synth", unit="video", mininterval=1.0)
    if jobs == 1:
        for spec in todo:
            render_one(out_dir, spec)
            if bar is not None:
                bar.update()
    elif todo:
        # spawn: safe even when the caller has torch/OpenMP threads running
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            work = [(str(out_dir), s) for s in todo]
            for _ in pool.imap_unordered(_render_job, work, chunksize=max(1, min(8, len(work) // (4 * jobs)))):
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()

    if UCF in config.datasets:
        layouts.write_ucf_index(out_dir, [s for s in specs if s.dataset == UCF], config.groups)
    if HMDB in config.datasets:
        layouts.write_hmdb_index(out_dir, config.seed, config.hmdb_videos_per_class)
    if KINETICS in config.datasets:
        layouts.write_kinetics_index(out_dir, config.seed, config.pool_size, config.frames)
    if ASLAN in config.datasets:
        layouts.write_aslan_index(
            out_dir, config.seed, config.aslan_tempos, config.aslan_videos_per_class, config.aslan_pairs_per_split
        )

    counts = Counter(s.dataset for s in specs)
    manifest: dict[str, Any] = {
        "version": SYNTH_VERSION,
        "seed": config.seed,
        "scale": config.scale,
        "config": record,
        "fps": FPS,
        "height": config.size[0],
        "width": config.size[1],
        "frames": config.frames,
        "counts": {name: counts.get(name, 0) for name in config.datasets},
        "classes": _class_table(config),
        "physics": {
            "speed_px_per_frame": round(SPEED * Canvas(*config.size).unit, 4),
            "speed_spread": SPEED_SPREAD,
            "reference_size_px": REFERENCE_SIZE,
            "dusk_per_100_frames": DUSK,
        },
        "objects": {"kinds": list(KINDS), "upright": sorted(UPRIGHT_KINDS)},
    }
    if ASLAN in config.datasets:
        manifest["aslan_actions"] = [
            {"id": a.id, "name": a.name, "motion": a.motion, "tempo": a.tempo, "split": a.split}
            for a in layouts.aslan_actions(config.aslan_tempos)
        ]
    atomic_write_json(out_dir / MANIFEST, manifest)
    (out_dir / _IN_PROGRESS).unlink(missing_ok=True)
    stats = RunStats(rendered=len(todo), reused=len(specs) - len(todo), jobs=jobs, seconds=time.perf_counter() - wall)
    return json.loads(json.dumps(manifest)), stats


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, help="output root (ucf101/, hmdb51/, kinetics/, aslan/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=None)
    parser.add_argument("--videos-per-class", type=int, default=None, help="UCF101 videos per class")
    parser.add_argument("--groups", type=int, default=None, help="UCF101 groups per class")
    parser.add_argument("--hmdb-videos-per-class", type=int, default=None)
    parser.add_argument("--pool-size", type=int, default=None, help="Kinetics pretraining clips")
    parser.add_argument("--aslan-videos-per-class", type=int, default=None)
    parser.add_argument("--aslan-pairs-per-split", type=int, default=None)
    parser.add_argument(
        "--aslan-tempos",
        type=float,
        nargs="+",
        default=None,
        help="tempos that multiply the ten motions into ASLAN actions",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    config = resolve_config(
        args.scale,
        seed=args.seed,
        size=args.size,
        frames=args.frames,
        datasets=args.datasets,
        videos_per_class=args.videos_per_class,
        groups=args.groups,
        hmdb_videos_per_class=args.hmdb_videos_per_class,
        pool_size=args.pool_size,
        aslan_videos_per_class=args.aslan_videos_per_class,
        aslan_tempos=args.aslan_tempos,
        aslan_pairs_per_split=args.aslan_pairs_per_split,
    )
    manifest, stats = generate_config(args.out_dir, config, jobs=args.jobs, progress=not args.quiet)
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    print(
        f"synth: {sum(manifest['counts'].values())} videos ({counts}); rendered {stats.rendered}, "
        f"reused {stats.reused}; {stats.seconds:.1f} s with {stats.jobs} jobs -> {args.out_dir}",
        flush=True,
    )
    return 0
