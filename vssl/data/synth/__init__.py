"""Synthetic video datasets whose *motion* carries the pretext signals (issue 2 §2).

``vssl synth OUT_DIR`` renders ten motion-defined action classes (see
:mod:`.motions`) as real encoded videos in the official layouts of UCF101,
HMDB51, Kinetics and ASLAN (see :mod:`.layouts`), so the same adapters and frame
extraction run on synthetic and real data. Rendering and its anti-shortcut rules
are described in :mod:`.render`.

Public API: :func:`generate` (returns the ``synth.json`` content),
:func:`resolve_config` / :data:`SCALES` / :class:`SynthConfig`, :func:`plan_specs`
and :func:`plan_video` / :func:`render_frames` to inspect a single video, and the
CLI hooks :func:`add_arguments` / :func:`run`.
"""

from vssl.data.synth.generate import (
    MANIFEST,
    SCALES,
    SYNTH_VERSION,
    RunStats,
    SynthConfig,
    add_arguments,
    generate,
    generate_config,
    plan_specs,
    render_one,
    resolve_config,
    run,
)
from vssl.data.synth.layouts import DATASETS
from vssl.data.synth.motions import MOTION_BY_KEY, MOTIONS, SPEED, Canvas, Motion, simulate, track_speed
from vssl.data.synth.render import VideoPlan, VideoSpec, plan_video, render_frames, without_nuisance

__all__ = [
    "DATASETS",
    "MANIFEST",
    "MOTIONS",
    "MOTION_BY_KEY",
    "SCALES",
    "SPEED",
    "SYNTH_VERSION",
    "Canvas",
    "Motion",
    "RunStats",
    "SynthConfig",
    "VideoPlan",
    "VideoSpec",
    "add_arguments",
    "generate",
    "generate_config",
    "plan_specs",
    "plan_video",
    "render_frames",
    "render_one",
    "resolve_config",
    "run",
    "simulate",
    "track_speed",
    "without_nuisance",
]
