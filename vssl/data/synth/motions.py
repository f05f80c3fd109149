"""The motion vocabulary of the synthetic dataset: ten action classes defined by the *shape* of a path.

Design (issue 9): every class moves its object along a path of its own shape at
one **shared speed** (`SPEED` reference px per frame, each video within
±`SPEED_SPREAD`), measured along the path. So

* an action is recognised by the shape of its motion (arcs, lines, circles,
  swings, oscillations, spin), never by its speed;
* playback speed is identifiable from a clip without knowing its class: TS at
  speed ``s`` moves every object ``s`` times the shared speed, and a TP pattern
  changes that speed half-way through the clip -- the V3S temporal premise;
* "up" shows in the paths, not in the background: things fall down (nothing
  rises), bounces and hops touch down on a floor below, a pendulum hangs from a
  pivot above, rolling objects spin as on a floor below, and most paths run
  horizontally. Together with upright, top-lit objects (`vssl.data.synth.render`)
  that is the 3DRotNet premise.

Horizontal flips (used by every finetuning recipe) map each class onto itself:
every class draws its left/right direction, sense of rotation or phase at
random.

Paths of any shape are traversed at constant speed by sampling them finely and
inverting their cumulative arc length (`_along`). Lengths are in *reference
pixels* (pixels of a 64 px frame): a canvas whose shorter side is ``S`` px
scales every length and speed by ``S / 64``, so motion looks the same relative
to the frame at every scale; time is in frames (25 fps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

REFERENCE_SIZE = 64
"""Shorter frame side (px) at which the motion constants below are stated."""

SPEED = 4.8
"""Reference px / frame along the path, shared by every class (the universal speed)."""

GRAVITY = 0.22
"""Reference px / (time unit)^2 of the gravity-driven classes before retiming to `SPEED` (`_at_speed`)."""

SPEED_SPREAD = 0.08
"""Each video draws its speed uniformly from ``SPEED * (1 ± SPEED_SPREAD)``."""

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
    in radians (clockwise on screen), ``scale`` a size multiplier and ``visible``
    whether the object is in the scene at all (respawn gaps). ``pivot`` is the
    fixed anchor of a pendulum string, if any.
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


def _track(
    x: np.ndarray,
    y: np.ndarray,
    *,
    angle: np.ndarray | None = None,
    visible: np.ndarray | None = None,
    pivot: tuple[float, float] | None = None,
) -> Track:
    n = x.shape[0]
    return Track(
        x=np.broadcast_to(x, (n,)).astype(np.float64),
        y=np.broadcast_to(y, (n,)).astype(np.float64),
        angle=np.zeros(n) if angle is None else np.broadcast_to(angle, (n,)).astype(np.float64),
        scale=np.ones(n),
        visible=np.ones(n, bool) if visible is None else visible.astype(bool),
        pivot=pivot,
    )


def _reflect(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold an unbounded 1-D position into [lo, hi] as if it bounced off both walls (speed kept)."""
    span = max(hi - lo, 1e-6)
    w = np.mod(u - lo, 2 * span)
    return lo + np.where(w > span, 2 * span - w, w)


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi)) if hi > lo else float((lo + hi) / 2)


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _speed(rng: np.random.Generator, canvas: Canvas) -> float:
    """This video's path speed in px/frame."""
    return SPEED * canvas.unit * _uniform(rng, 1 - SPEED_SPREAD, 1 + SPEED_SPREAD)


def _along(
    curve: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    period: float,
    distance: np.ndarray,
    samples: int = 512,
) -> tuple[np.ndarray, np.ndarray]:
    """Points of a periodic curve at arc length ``distance`` from its start: constant-speed traversal.

    ``curve(u)`` gives (dx, dy) offsets for ``u`` in ``[0, period]`` that repeat
    with displacement ``curve(period) - curve(0)`` per period (a hop moves on by
    one hop width; a closed curve returns to its start).
    """
    u = np.linspace(0.0, period, samples + 1)
    cx, cy = curve(u)
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(cx), np.diff(cy)))])
    length = arc[-1]
    laps, rest = np.floor_divide(distance, length), np.mod(distance, length)
    ux = np.interp(rest, arc, u)
    px, py = curve(ux)
    return px + laps * (cx[-1] - cx[0]), py + laps * (cy[-1] - cy[0])


# --------------------------------------------------------------------------- classes
# Each simulator gets the frame times ``t`` (frames, already multiplied by a tempo),
# the canvas and the object extent, and returns one Track. Shape parameters are in
# reference pixels and deliberately narrow, so each class has a characteristic shape.


def _at_speed(path: Callable[[np.ndarray], Track], t: np.ndarray, v: float) -> Track:
    """``path(tau)`` retimed so that its mean speed over visible steps is ``v`` px/frame.

    Retiming scales every velocity by one factor, so the *shape* of the speed profile -- gravity's
    accelerations, a pendulum's fast bottom and slow ends -- is kept while the mean matches the
    shared speed.
    """
    dt = 0.25
    probe = path(np.arange(0.0, 480.0, dt))
    both = probe.visible[1:] & probe.visible[:-1]
    nominal = float(np.hypot(np.diff(probe.x), np.diff(probe.y))[both].mean()) / dt
    return path(t * (v / nominal))


def bounce(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Elastic bouncing under gravity on an invisible floor: parabolas that never rest."""
    u, g, v = canvas.unit, GRAVITY * canvas.unit, _speed(rng, canvas)
    apex = min(_uniform(rng, 16.0, 22.0) * u, canvas.height - ext.top - ext.bottom - 2)
    vy = np.sqrt(2 * g * apex)
    period = 2 * vy / g
    floor = _uniform(rng, apex + ext.top + ext.bottom + 1, canvas.height - 1) - ext.bottom
    vx = _sign(rng) * _uniform(rng, 0.25, 0.4) * vy
    lo, hi = ext.half_width, canvas.width - ext.half_width
    x0, phase = rng.uniform(lo, hi), rng.uniform(0, period)

    def path(tau: np.ndarray) -> Track:
        air = np.mod(tau + phase, period)
        return _track(_reflect(x0 + vx * tau, lo, hi), floor - (vy * air - 0.5 * g * air**2))

    return _at_speed(path, t, v)


def free_fall(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Objects dropped from above the frame, accelerating down under gravity until they leave it; repeats."""
    u, g, v = canvas.unit, GRAVITY * canvas.unit, _speed(rng, canvas)
    y0, y_exit = -ext.bound - _uniform(rng, 0.0, 3.0) * u, canvas.height + ext.bound
    v0 = _uniform(rng, 0.1, 0.3) * np.sqrt(g * canvas.height)
    fall = (-v0 + np.sqrt(v0**2 + 2 * g * (y_exit - y0))) / g
    period = fall * _uniform(rng, 1.08, 1.2)  # a short gap before the next object
    drops = 64
    xs = rng.uniform(ext.half_width, canvas.width - ext.half_width, drops)
    drift = rng.uniform(-0.1, 0.1, drops) * v0
    phase = rng.uniform(0, period)

    def path(tau: np.ndarray) -> Track:
        n, air = np.floor_divide(tau + phase, period).astype(int) % drops, np.mod(tau + phase, period)
        return _track(xs[n] + drift[n] * air, y0 + v0 * air + 0.5 * g * air**2, visible=air < fall)

    return _at_speed(path, t, v)


def hop(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Jumping up and down on the spot under gravity, with a short rest on the floor between jumps."""
    u, g, v = canvas.unit, GRAVITY * canvas.unit, _speed(rng, canvas)
    apex = min(_uniform(rng, 18.0, 24.0) * u, canvas.height - ext.top - ext.bottom - 2)
    vy = np.sqrt(2 * g * apex)
    flight = 2 * vy / g
    period = flight * _uniform(rng, 1.15, 1.3)  # the rest between jumps
    floor = _uniform(rng, apex + ext.top + ext.bottom + 1, canvas.height - 1) - ext.bottom
    x = _uniform(rng, ext.half_width + 2 * u, canvas.width - ext.half_width - 2 * u)
    sway = _uniform(rng, -1.5, 1.5) * u  # a small sideways step per jump, alternating
    phase = rng.uniform(0, period)

    def path(tau: np.ndarray) -> Track:
        n, air = np.floor_divide(tau + phase, period), np.mod(tau + phase, period)
        height = np.where(air < flight, vy * air - 0.5 * g * air**2, 0.0)
        return _track(x + sway * (np.mod(n, 2) * 2 - 1), floor - height)

    return _at_speed(path, t, v)


def float_up(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Balloons rising at constant speed from below the frame until they leave it; repeats."""
    v = _speed(rng, canvas)
    y0, y_exit = canvas.height + ext.bound, -ext.bound
    rise = (y0 - y_exit) / v
    period = rise * _uniform(rng, 1.08, 1.2)
    phase = t + rng.uniform(0, period)
    n, air = np.floor_divide(phase, period).astype(int), np.mod(phase, period)
    passes = int(n.max()) + 1
    xs = rng.uniform(ext.half_width, canvas.width - ext.half_width, passes)
    slant = rng.uniform(-0.15, 0.15, passes)  # the path speed stays v
    step = np.minimum(air, rise) * v / np.sqrt(1 + slant[n] ** 2)
    return _track(xs[n] + slant[n] * step, y0 - step, visible=air < rise)


def pendulum_swing(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """A bob swinging under gravity on a visible string from a pivot above: fast at the bottom, slow at the ends."""
    u, g, v = canvas.unit, GRAVITY * canvas.unit, _speed(rng, canvas)
    length = min(_uniform(rng, 25.0, 30.0) * u, canvas.height - ext.bottom - 2)
    amplitude = _uniform(rng, 0.7, 0.9)  # radians each side
    pivot_y = min(_uniform(rng, -0.05, 0.1) * canvas.height, canvas.height - ext.bottom - length - 1)
    reach = length * np.sin(amplitude) + ext.half_width
    pivot_x = _uniform(rng, reach, canvas.width - reach) if canvas.width > 2 * reach else canvas.width / 2
    omega, phase = np.sqrt(g / length), rng.uniform(0, 2 * np.pi)

    def path(tau: np.ndarray) -> Track:
        theta = amplitude * np.cos(omega * tau + phase)
        # The bob's "up" points at the pivot, so a hanging figure stays head-up.
        return _track(
            pivot_x + length * np.sin(theta), pivot_y + length * np.cos(theta), angle=-theta, pivot=(pivot_x, pivot_y)
        )

    return _at_speed(path, t, v)


def orbit(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Uniform circular motion around a point, clockwise or anticlockwise."""
    u, v = canvas.unit, _speed(rng, canvas)
    radius = _uniform(rng, 15.0, 18.0) * u
    omega = _sign(rng) * v / radius
    lo_x, hi_x = radius + ext.half_width, canvas.width - radius - ext.half_width
    lo_y, hi_y = radius + ext.top, canvas.height - radius - ext.bottom
    cx = _uniform(rng, lo_x, hi_x) if hi_x > lo_x else canvas.width / 2
    cy = _uniform(rng, lo_y, hi_y) if hi_y > lo_y else canvas.height / 2
    a = omega * t + rng.uniform(0, 2 * np.pi)
    return _track(cx + radius * np.cos(a), cy + radius * np.sin(a))


def slide(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Long horizontal slides back and forth between two turning points, without spinning."""
    u, v = canvas.unit, _speed(rng, canvas)
    room = canvas.width - 2 * ext.half_width
    span = min(_uniform(rng, 34.0, 44.0) * u, 0.95 * room)
    left = _uniform(rng, ext.half_width, canvas.width - ext.half_width - span)
    x = _reflect(left + rng.uniform(0, span) + _sign(rng) * v * t, left, left + span)
    y = _uniform(rng, 0.2 * canvas.height + ext.top, 0.85 * canvas.height - ext.bottom)
    return _track(x, y)


def shake(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """A fast horizontal oscillation in place (a turn every few frames)."""
    u, v = canvas.unit, _speed(rng, canvas)
    amplitude = _uniform(rng, 10.0, 12.0) * u  # a turn every ~4.5 frames at the shared speed
    cx = _uniform(rng, ext.half_width + amplitude, canvas.width - ext.half_width - amplitude)
    cy = _uniform(rng, ext.top + 1, canvas.height - ext.bottom - 1)
    x = _reflect(cx + rng.uniform(-amplitude, amplitude) + _sign(rng) * v * t, cx - amplitude, cx + amplitude)
    return _track(x, cy)


def wave(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Horizontal travel along a smooth sine wave; turns back at the sides."""
    u, v = canvas.unit, _speed(rng, canvas)
    amplitude, wavelength = _uniform(rng, 9.0, 11.0) * u, _uniform(rng, 28.0, 34.0) * u
    return _undulating(rng, t, canvas, ext, v, amplitude, wavelength, lambda p: amplitude * np.sin(2 * np.pi * p))


def _undulating(
    rng: np.random.Generator,
    t: np.ndarray,
    canvas: Canvas,
    ext: Extent,
    v: float,
    amplitude: float,
    wavelength: float,
    profile: Callable[[np.ndarray], np.ndarray],
) -> Track:
    """Travel along ``y = profile(x / wavelength)`` at path speed ``v``, folded between the side walls."""
    lo, hi = ext.half_width, canvas.width - ext.half_width
    span = hi - lo

    # one period of the fold (out and back) as a closed curve, traversed at constant speed
    def curve(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = _reflect(lo + w, lo, hi)
        return x, profile((x - lo) / wavelength)

    px, py = _along(curve, 2 * span, v * t + rng.uniform(0, 2 * span))
    cy = _uniform(rng, amplitude + ext.top + 1, canvas.height - amplitude - ext.bottom - 1)
    if _sign(rng) < 0:  # mirror: the same class moving the other way
        px = lo + hi - px
    return _track(px, cy + py)


def roll(rng: np.random.Generator, t: np.ndarray, canvas: Canvas, ext: Extent) -> Track:
    """Rolling across the frame at constant speed, spinning as on a floor below; wraps round."""
    v = _sign(rng) * _speed(rng, canvas)
    # one step of slack beyond each edge so the wrap happens while fully out of frame
    lo, hi = -ext.bound - abs(v), canvas.width + ext.bound + abs(v)
    x = lo + np.mod(rng.uniform(0, hi - lo) + v * t, hi - lo)
    y = _uniform(rng, 0.2 * canvas.height, 0.85 * canvas.height)
    # clockwise on screen (positive angle) when moving right: the top moves ahead of the bottom
    angle = v * t / ext.radius
    return _track(x, y, angle=angle)


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
    Motion("hop", "Hop", "hop", "hop", hop, "jumps decelerate upwards, rest on a floor below"),
    Motion("float_up", "FloatUp", "float_up", "float up", float_up, "rises at constant speed (falls accelerate)"),
    Motion(
        "pendulum_swing",
        "PendulumSwing",
        "pendulum_swing",
        "pendulum swing",
        pendulum_swing,
        "hangs from a pivot above",
    ),
    Motion("orbit", "Orbit", "orbit", "orbit", orbit, ""),
    Motion("slide", "Slide", "slide", "slide", slide, "horizontal"),
    Motion("shake", "Shake", "shake", "shake", shake, "horizontal"),
    Motion("wave", "Wave", "wave", "wave", wave, "horizontal"),
    Motion("roll", "Roll", "roll", "roll", roll, "horizontal; spin matches a floor below"),
)
MOTION_BY_KEY: dict[str, Motion] = {m.key: m for m in MOTIONS}


def simulate(
    motion: str, rng: np.random.Generator, frames: int, canvas: Canvas, ext: Extent, tempo: float = 1.0
) -> Track:
    """Trajectory of ``motion`` over ``frames`` frames; ``tempo`` > 1 plays the motion faster."""
    try:
        spec = MOTION_BY_KEY[motion]
    except KeyError:
        raise ValueError(f"unknown motion {motion!r}; known: {', '.join(MOTION_BY_KEY)}") from None
    t = np.arange(frames, dtype=np.float64) * float(tempo)
    track = spec.simulate(rng, t, canvas, ext)
    # an object entirely outside the frame is not in the scene (and is not drawn)
    reach = ext.bound * track.scale
    track.visible &= (
        (track.x + reach > 0)
        & (track.x - reach < canvas.width)
        & (track.y + reach > 0)
        & (track.y - reach < canvas.height)
    )
    return track


def track_speed(track: Track, ext_radius: float = 0.0) -> np.ndarray:
    """Per-step image speed (px/frame) over steps where the object is visible at both ends.

    Speed is the centre displacement plus the change of the object's radius, so a
    growing object (whose centre barely moves) would still register its looming.
    """
    both = track.visible[1:] & track.visible[:-1]
    step = np.hypot(np.diff(track.x), np.diff(track.y)) + ext_radius * np.abs(np.diff(track.scale))
    return step[both]


def speed_profile(
    motion: str, canvas: Canvas, *, samples: int = 48, frames: int = 100, seed: int = 0
) -> dict[str, float]:
    """Measured speed statistics of a class (px/frame), from simulated trajectories.

    Returns the 5th/50th/95th percentiles of per-video mean speed and the mean over
    all videos -- a measured characterisation written to ``synth.json``.
    """
    r = 0.17 * min(canvas.height, canvas.width)  # a disc at the low end of render.RADIUS_RANGE (0.17-0.19)
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
