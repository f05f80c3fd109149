"""The motion vocabulary of the synthetic dataset: ten action classes defined by motion alone.

Every class is a *process* that runs at its own natural speed (in pixels per
frame) for as long as the video lasts: periodic motions repeat and one-shot
motions (a fall, a rise, an approach) restart with a fresh object after a short
gap. Nothing is stretched to fit the video length, so the pixels per frame seen
in any clip depend on the class and on the playback speed only -- which is what
makes a playback-speed pretext (V3S TS/TP) identifiable from a clip.

Orientation (the 3DRotNet premise) lives in the dynamics: one gravity constant
drives falls, bounces and hops (accelerating downwards), pendulums hang from
above, balloons float up at constant speed, slides and shakes are horizontal and
rolling objects spin as if on a floor below them. Orbit and approach carry no
orientation cue in their motion; only an upright object reveals "up" there.

Horizontal flips (used by every finetuning recipe) map each class onto itself:
every class draws its left/right direction, sense of rotation or sway phase at
random, so there is no "roll left" vs "roll right" pair that a flip would swap.
Classes that are vertical mirrors or rotations of each other (free fall vs float
up: accelerating vs constant speed, so not exact mirrors either) are kept, as
rotations of real actions are.

Lengths are given in *reference pixels*: pixels of a 64 px frame. A canvas whose
shorter side is ``S`` px scales every length and speed by ``S / 64`` so motion
looks the same relative to the frame at every scale; time is in frames (25 fps).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

REFERENCE_SIZE = 64
"""Shorter frame side (px) at which the motion constants below are stated."""

GRAVITY = 0.22
"""Reference px / frame^2 shared by every gravity-driven class (a universal speed cue)."""

FPS = 25


@dataclass(frozen=True)
class Canvas:
    """Frame geometry a trajectory is drawn on, in pixels."""

    height: int
    width: int

    @property
    def unit(self) -> float:
        """Pixels per reference pixel."""
        return min(self.height, self.width) / REFERENCE_SIZE


@dataclass(frozen=True)
class Extent:
    """Object extent around its centre in pixels at scale 1 (upright pose)."""

    top: float
    bottom: float
    half_width: float
    radius: float  # rolling radius: the spin of a rolling object is speed / radius

    @property
    def bound(self) -> float:
        """Radius of a circle holding the object in any pose."""
        return float(np.hypot(max(self.top, self.bottom), self.half_width))


@dataclass
class Track:
    """Per-frame state of one moving object slot.

    ``x``/``y`` are the object centre in pixels (y down), ``angle`` its rotation
    in radians (clockwise on screen), ``scale`` a size multiplier (the approach
    class) and ``visible`` whether the object is in the scene at all (respawn
    gaps). ``pivot`` is the fixed anchor of a pendulum string, if any.
    """

    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray
    scale: np.ndarray
    visible: np.ndarray
    pivot: tuple[float, float] | None = None

    @property
    def frames(self) -> int:
        return int(self.x.shape[0])


def _track(x: np.ndarray, y: np.ndarray, *, angle: np.ndarray | None = None,
           scale: np.ndarray | None = None, visible: np.ndarray | None = None,
           pivot: tuple[float, float] | None = None) -> Track:
    n = x.shape[0]
    return Track(
        x=x.astype(np.float64),
        y=np.broadcast_to(y, (n,)).astype(np.float64),
        angle=np.zeros(n) if angle is None else np.broadcast_to(angle, (n,)).astype(np.float64),
        scale=np.ones(n) if scale is None else scale.astype(np.float64),
        visible=np.ones(n, bool) if visible is None else visible.astype(bool),
        pivot=pivot,
    )


def _reflect(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold an unbounded 1-D path into [lo, hi] as if it bounced off both walls."""
    span = max(hi - lo, 1e-6)
    w = np.mod(u - lo, 2 * span)
    return lo + np.where(w > span, 2 * span - w, w)


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi)) if hi > lo else float((lo + hi) / 2)


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


# --------------------------------------------------------------------------- classes
# Each simulator gets the frame times ``t`` (frames, already multiplied by a tempo),
# the canvas and the object extent, and returns one Track. Parameter ranges are in
# reference pixels and frames; they are deliberately narrow so that each class has
# a characteristic speed.


def bounce(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Elastic bouncing on an invisible floor: parabolas that never rest."""
    u, g = canvas.unit, GRAVITY * canvas.unit
    apex = _uniform(rng, 20.0, 25.0) * u
    apex = min(apex, canvas.height - ext.top - ext.bottom - 2)
    v = np.sqrt(2 * g * apex)
    period = 2 * v / g
    floor = _uniform(rng, apex + ext.top + ext.bottom + 1, canvas.height - 1)
    tau = np.mod(t + rng.uniform(0, period), period)
    y = floor - ext.bottom - (v * tau - 0.5 * g * tau**2)
    vx = _sign(rng) * _uniform(rng, 0.1, 0.35) * u
    x = _reflect(rng.uniform(ext.half_width, canvas.width - ext.half_width) + vx * t,
                 ext.half_width, canvas.width - ext.half_width)
    return _track(x, y)


def free_fall(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Objects dropped from above the frame, accelerating down until they leave it; repeats."""
    u, g = canvas.unit, GRAVITY * canvas.unit
    y0 = -ext.bottom - _uniform(rng, 0.0, 4.0) * u
    v0 = _uniform(rng, 0.0, 0.4) * u
    y_exit = canvas.height + ext.top
    # time to travel from y0 to y_exit: y0 + v0 tau + g tau^2 / 2 = y_exit
    fall_time = (-v0 + np.sqrt(v0**2 + 2 * g * (y_exit - y0))) / g
    gap = _uniform(rng, 2.0, 10.0)
    period = fall_time + gap
    phase = t + rng.uniform(0, period)
    drop, tau = np.floor_divide(phase, period).astype(int), np.mod(phase, period)
    drops = int(drop.max()) + 1
    xs = rng.uniform(ext.half_width, canvas.width - ext.half_width, drops)
    drift = rng.uniform(-0.25, 0.25, drops) * u
    x = xs[drop] + drift[drop] * tau
    y = y0 + v0 * tau + 0.5 * g * tau**2
    return _track(x, y, visible=tau < fall_time)


def hop(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Low parabolic hops along a floor with a rest between hops; turns at the walls."""
    u, g = canvas.unit, GRAVITY * canvas.unit
    apex = _uniform(rng, 9.0, 12.0) * u
    v = np.sqrt(2 * g * apex)
    flight = 2 * v / g
    rest = _uniform(rng, 5.0, 9.0)
    period = flight + rest
    floor = _uniform(rng, apex + ext.top + ext.bottom + 1, canvas.height - 1)
    phase = t + rng.uniform(0, period)
    n, tau = np.floor_divide(phase, period), np.mod(phase, period)
    airborne = np.minimum(tau, flight)
    height = np.where(tau < flight, v * tau - 0.5 * g * tau**2, 0.0)
    vx = _sign(rng) * _uniform(rng, 0.9, 1.2) * u
    travelled = vx * (n * flight + airborne)
    x = _reflect(rng.uniform(ext.half_width, canvas.width - ext.half_width) + travelled,
                 ext.half_width, canvas.width - ext.half_width)
    return _track(x, floor - ext.bottom - height)


def pendulum_swing(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """A bob hanging on a string from a pivot above; period 2*pi*sqrt(L/g) with the shared g."""
    u, g = canvas.unit, GRAVITY * canvas.unit
    length = _uniform(rng, 30.0, 36.0) * u
    length = min(length, canvas.height - ext.bottom - 2)
    amplitude = _uniform(rng, 0.45, 0.65)
    omega = np.sqrt(g / length)
    pivot_y = _uniform(rng, -0.1, 0.12) * canvas.height
    pivot_y = min(pivot_y, canvas.height - ext.bottom - length - 1)
    reach = length * np.sin(amplitude) + ext.half_width
    pivot_x = _uniform(rng, reach, canvas.width - reach) if canvas.width > 2 * reach else canvas.width / 2
    theta = amplitude * np.cos(omega * t + rng.uniform(0, 2 * np.pi))
    x = pivot_x + length * np.sin(theta)
    y = pivot_y + length * np.cos(theta)
    # The bob's "up" points at the pivot, so a hanging figure stays head-up.
    return _track(x, y, angle=-theta, pivot=(pivot_x, pivot_y))


def orbit(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Uniform circular motion around a point, clockwise or anticlockwise."""
    u = canvas.unit
    radius = _uniform(rng, 13.0, 16.5) * u
    speed = _uniform(rng, 2.2, 2.6) * u
    omega = _sign(rng) * speed / radius
    lo_x, hi_x = radius + ext.half_width, canvas.width - radius - ext.half_width
    lo_y, hi_y = radius + ext.top, canvas.height - radius - ext.bottom
    cx = _uniform(rng, lo_x, hi_x) if hi_x > lo_x else canvas.width / 2
    cy = _uniform(rng, lo_y, hi_y) if hi_y > lo_y else canvas.height / 2
    a = omega * t + rng.uniform(0, 2 * np.pi)
    return _track(cx + radius * np.cos(a), cy + radius * np.sin(a))


def float_up(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """A balloon rising at constant speed with a gentle sway; a new one follows."""
    u = canvas.unit
    speed = _uniform(rng, 0.75, 0.95) * u
    y0 = canvas.height + ext.top
    y_exit = -ext.bottom
    rise_time = (y0 - y_exit) / speed
    gap = _uniform(rng, 2.0, 8.0)
    period = rise_time + gap
    phase = t + rng.uniform(0, period)
    n, tau = np.floor_divide(phase, period).astype(int), np.mod(phase, period)
    rises = int(n.max()) + 1
    sway = _uniform(rng, 1.5, 3.0) * u
    margin = ext.half_width + sway
    xs = rng.uniform(margin, max(margin, canvas.width - margin), rises)
    sway_phase = rng.uniform(0, 2 * np.pi, rises)
    sway_period = _uniform(rng, 40.0, 60.0)
    x = xs[n] + sway * np.sin(2 * np.pi * tau / sway_period + sway_phase[n])
    return _track(x, y0 - speed * tau, visible=tau < rise_time)


def slide_stop(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Horizontal slides under constant friction; stop, pause, slide back the other way."""
    u = canvas.unit
    v0 = _uniform(rng, 2.0, 2.3) * u
    decel = 0.08 * u
    slide_time = v0 / decel
    room = canvas.width - 2 * ext.half_width
    distance = min(v0**2 / (2 * decel), 0.9 * room)
    pause = _uniform(rng, 8.0, 15.0)
    period = slide_time + pause
    phase = t + rng.uniform(0, period)
    n, tau = np.floor_divide(phase, period).astype(int), np.mod(phase, period)
    s = np.minimum(tau, slide_time)
    progress = (v0 * s - 0.5 * decel * s**2) / (v0**2 / (2 * decel))  # 0 -> 1 over a slide
    direction = _sign(rng)
    left = _uniform(rng, ext.half_width, canvas.width - ext.half_width - distance)
    # even slides go one way, odd slides come back
    start = np.where(n % 2 == 0, 0.0, distance)
    end = np.where(n % 2 == 0, distance, 0.0)
    offset = start + (end - start) * progress
    x = left + offset if direction > 0 else left + distance - offset
    y = _uniform(rng, 0.18 * canvas.height + ext.top, 0.85 * canvas.height - ext.bottom)
    return _track(x, np.full_like(x, y))


def shake(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Fast small horizontal oscillation in place."""
    u = canvas.unit
    amplitude = _uniform(rng, 2.5, 3.5) * u
    period = _uniform(rng, 7.0, 9.0)
    cx = _uniform(rng, ext.half_width + amplitude, canvas.width - ext.half_width - amplitude)
    cy = _uniform(rng, ext.top + 1, canvas.height - ext.bottom - 1)
    x = cx + amplitude * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    return _track(x, np.full_like(x, cy))


def approach(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """An object coming at the camera: perspective growth 1/z and outward drift; repeats."""
    near, far = 1.0 / 1.6, 1.0 / 0.4  # depth at the end and start of an approach
    duration = _uniform(rng, 34.0, 40.0)
    gap = _uniform(rng, 2.0, 6.0)
    period = duration + gap
    phase = t + rng.uniform(0, period)
    n, tau = np.floor_divide(phase, period).astype(int), np.mod(phase, period)
    runs = int(n.max()) + 1
    depth = far - (far - near) * np.minimum(tau, duration) / duration
    scale = 1.0 / depth
    # vanishing point near the centre; the object sits off-axis and drifts outward as it grows
    cx = canvas.width / 2 + rng.uniform(-0.12, 0.12, runs) * canvas.width
    cy = canvas.height / 2 + rng.uniform(-0.12, 0.12, runs) * canvas.height
    off_x = rng.uniform(-0.16, 0.16, runs) * canvas.width
    off_y = rng.uniform(-0.16, 0.16, runs) * canvas.height
    x = cx[n] + off_x[n] * scale
    y = cy[n] + off_y[n] * scale
    return _track(x, y, scale=scale, visible=tau < duration)


def roll(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Rolling at constant speed across the frame, spinning as on a floor below; wraps round."""
    u = canvas.unit
    v = _sign(rng) * _uniform(rng, 1.1, 1.35) * u
    # one step of slack beyond each edge so the wrap happens while fully out of frame
    lo, hi = -ext.bound - abs(v), canvas.width + ext.bound + abs(v)
    x = lo + np.mod(rng.uniform(0, hi - lo) + v * t, hi - lo)
    y = _uniform(rng, 0.2 * canvas.height, 0.85 * canvas.height)
    # clockwise on screen (positive angle) when moving right: the top moves ahead of the bottom
    angle = v * t / ext.radius
    return _track(x, np.full_like(x, y), angle=angle)


@dataclass(frozen=True)
class Motion:
    """One action class: its names in every dataset layout and its simulator."""

    key: str
    ucf_name: str  # CamelCase, like UCF101 folder names
    hmdb_name: str  # lower_case, like HMDB51 folder names
    label: str  # Kinetics-style label with spaces
    simulate: Callable[[np.random.Generator, np.ndarray, Canvas, Extent], Track]
    orientation_cue: str  # what tells "up" from the motion alone ("" when nothing does)

    @property
    def description(self) -> str:
        return (self.simulate.__doc__ or "").strip().splitlines()[0]


MOTIONS: tuple[Motion, ...] = (
    Motion("bounce", "Bounce", "bounce", "bounce", bounce, "parabolas accelerate downwards"),
    Motion("free_fall", "FreeFall", "free_fall", "free fall", free_fall, "accelerates downwards"),
    Motion("hop", "Hop", "hop", "hop", hop, "parabolic hops, rests on a floor below"),
    Motion("pendulum_swing", "PendulumSwing", "pendulum_swing", "pendulum swing", pendulum_swing,
           "hangs from a pivot above"),
    Motion("orbit", "Orbit", "orbit", "orbit", orbit, ""),
    Motion("float_up", "FloatUp", "float_up", "float up", float_up, "rises at constant speed"),
    Motion("slide_stop", "SlideStop", "slide_stop", "slide and stop", slide_stop, "horizontal slides"),
    Motion("shake", "Shake", "shake", "shake", shake, "horizontal oscillation"),
    Motion("approach", "Approach", "approach", "approach", approach, ""),
    Motion("roll", "Roll", "roll", "roll", roll, "spin matches a floor below"),
)
MOTION_BY_KEY: dict[str, Motion] = {m.key: m for m in MOTIONS}


def simulate(motion: str, rng: np.random.Generator, frames: int, canvas: Canvas, ext: Extent,
             tempo: float = 1.0) -> Track:
    """Trajectory of ``motion`` over ``frames`` frames; ``tempo`` > 1 runs the physics faster."""
    try:
        spec = MOTION_BY_KEY[motion]
    except KeyError:
        raise ValueError(f"unknown motion {motion!r}; known: {', '.join(MOTION_BY_KEY)}") from None
    t = np.arange(frames, dtype=np.float64) * float(tempo)
    track = spec.simulate(rng, t, canvas, ext)
    # an object entirely outside the frame is not in the scene (and is not drawn)
    reach = ext.bound * track.scale
    track.visible &= ((track.x + reach > 0) & (track.x - reach < canvas.width)
                      & (track.y + reach > 0) & (track.y - reach < canvas.height))
    return track


def track_speed(track: Track, ext_radius: float = 0.0) -> np.ndarray:
    """Per-step image speed (px/frame) over steps where the object is visible at both ends.

    Speed is the centre displacement plus the change of the object's radius, so an
    approaching object (whose centre barely moves) still registers its looming.
    """
    both = track.visible[1:] & track.visible[:-1]
    step = np.hypot(np.diff(track.x), np.diff(track.y)) + ext_radius * np.abs(np.diff(track.scale))
    return step[both]


def speed_profile(motion: str, canvas: Canvas, *, samples: int = 48, frames: int = 100,
                  seed: int = 0) -> dict[str, float]:
    """Measured speed statistics of a class (px/frame), from simulated trajectories.

    Returns the 5th/50th/95th percentiles of per-video mean speed and the mean over
    all videos -- a measured characterisation written to ``synth.json``.
    """
    r = 0.14 * min(canvas.height, canvas.width)  # a mid-sized disc (render.py draws 0.12-0.16)
    ext = Extent(top=r, bottom=r, half_width=r, radius=r)
    means = []
    for i in range(samples):
        rng = np.random.default_rng([seed, 99, MOTIONS.index(MOTION_BY_KEY[motion]), i])
        speeds = track_speed(simulate(motion, rng, frames, canvas, ext), ext.radius)
        if speeds.size:
            means.append(float(speeds.mean()))
    arr = np.asarray(means)
    return {
        "mean_px_per_frame": round(float(arr.mean()), 3),
        "p05_px_per_frame": round(float(np.percentile(arr, 5)), 3),
        "p50_px_per_frame": round(float(np.percentile(arr, 50)), 3),
        "p95_px_per_frame": round(float(np.percentile(arr, 95)), 3),
    }
