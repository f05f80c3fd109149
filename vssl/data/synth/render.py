"""Vectorised numpy rendering of one synthetic video: background, objects, camera nuisances.

Design rules (issue 9, replacing issue 2 §2), and how they are met here:

* **The scene names no class.** The background (and its static distractors) comes
  from the video's *scene seed*, which the layouts draw from a pool that every
  class shares (`vssl.data.synth.layouts`); the moving object's look -- kind,
  colour, size, pose -- comes from the *clip seed*, independent of the class. So
  neither can be memorised as a stand-in for the action.
* **No static orientation cue in the background.** Backgrounds are smooth noise
  with an *isotropic* correlation of narrow length and no band, gradient or
  up/down: rotations and flips leave their distribution unchanged, so "up" must
  come from the objects and their paths. Because the texture is isotropic and
  its grain nearly fixed, a spatial stretch (V3S SS) or zoom (SP's crop) shows
  in the background as well as on the objects.
* **Light from above.** Every object is shaded brighter on top and darker below
  (`LIGHT_FROM_ABOVE`), in screen coordinates, as under sky light: with the upright
  kinds and the floor-bound paths this is where "up" shows.
* **Objects of known shape and size.** Discs and squares have aspect 1; figures,
  trees and houses are *upright* (head/crown/roof on top) with fixed
  proportions: nine in ten objects. Sizes are drawn from a narrow band (a
  radius of 17-19 % of the frame), large enough that an aspect stretch of 1.15
  or a trapezoid is visible at a 20 px store.
* **An arrow of time: dusk.** The light over every scene falls steadily, by `DUSK` per
  100 frames (4 s), objects and background alike, so a later clip of a video is a little darker
  than an earlier one and a clip's own frames darken the faster it is played. Most paths are
  periodic and time-reversible, so without it clip order (VCOP) cannot be told from a clip's content;
  the dimming names no class and is isotropic (rotations and flips keep it).
* **Camera nuisances** vary freely: exposure gain, colour tint, background palette,
  sensor noise and, per profile, hand-held camera drift, static distractor
  objects and a soft low-quality blur (HMDB's harder videos).

All drawing is anti-aliased from signed distance functions so that sub-pixel
motion renders smoothly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from vssl.data.synth.motions import Canvas, Extent, Track, simulate

KINDS: tuple[str, ...] = ("disc", "square", "figure", "tree", "house")
UPRIGHT_KINDS = frozenset({"figure", "tree", "house"})
# Nine in ten objects are upright (as people and buildings are in real video); the
# rest are symmetric, so in a tenth of the videos only the motion tells "up".
_KIND_WEIGHTS = np.array([0.05, 0.05, 0.35, 0.25, 0.3])
RADIUS_RANGE = (0.17, 0.19)
"""Object radius as a fraction of the shorter frame side: narrow, so a zoom or stretch is visible."""
LIGHT_FROM_ABOVE = 0.3
"""Object shading: brightness changes by this fraction per radius of height above the centre."""
DUSK = 0.25
"""Fraction by which the scene light falls per 100 frames (compounded per frame): the arrow of time."""
BACKGROUND_GRAIN = (5.5, 7.0)
"""Correlation length of the background texture in reference px: isotropic and narrow."""

# Extent of each kind around its centre in units of its radius r: (top, bottom, half width).
_KIND_EXTENT: dict[str, tuple[float, float, float]] = {
    "disc": (1.0, 1.0, 1.0),
    "square": (1.22, 1.22, 1.22),  # any base angle: the half-diagonal
    "figure": (1.41, 1.28, 0.72),
    "tree": (1.15, 1.2, 0.75),
    "house": (1.15, 0.95, 0.95),
}


@dataclass(frozen=True)
class Profile:
    """Nuisance distribution of one dataset (what the camera does, not what the object does)."""

    name: str
    contrast: tuple[float, float]  # object-vs-background luminance difference
    noise: tuple[float, float]  # sensor noise std on [0, 1] intensities
    camera_motion_p: float  # probability of hand-held drift (ignored when the spec fixes it)
    distractor_p: float  # probability of one static distractor (ignored when fixed)


PROFILES: dict[str, Profile] = {
    "ucf101": Profile("ucf101", (0.45, 0.65), (0.0, 0.012), 0.0, 0.0),
    "kinetics": Profile("kinetics", (0.45, 0.65), (0.0, 0.015), 0.15, 0.1),
    "hmdb51": Profile("hmdb51", (0.22, 0.45), (0.0, 0.0), 0.0, 0.0),  # from the HMDB tags
    "aslan": Profile("aslan", (0.3, 0.55), (0.0, 0.015), 0.1, 0.1),
}
QUALITY_NOISE: dict[str, tuple[float, float]] = {"goo": (0.0, 0.008), "med": (0.01, 0.02), "bad": (0.025, 0.04)}


@dataclass(frozen=True)
class VideoSpec:
    """Everything needed to render and write one video; picklable for worker processes.

    ``scene_seed`` fixes the scene (background, static distractors), which the layouts
    draw from a pool shared by every class; ``clip_seed`` fixes the rest (the moving
    object's look, its motion, exposure, noise).
    ``camera_motion``/``distractors``/``quality`` are None when the profile draws them.
    """

    relpath: str
    dataset: str
    motion: str
    label: str
    scene_seed: tuple[int, ...]
    clip_seed: tuple[int, ...]
    height: int
    width: int
    frames: int
    codec: str
    container: str
    tempo: float = 1.0
    profile: str = "ucf101"
    camera_motion: bool | None = None
    distractors: int | None = None
    quality: str | None = None


@dataclass(frozen=True)
class Appearance:
    kind: str
    radius: float  # px
    color: np.ndarray  # (3,) in [0, 1]
    pattern: np.ndarray  # (3,) marking colour
    base_angle: float

    @property
    def extent(self) -> Extent:
        top, bottom, half = _KIND_EXTENT[self.kind]
        r = self.radius
        return Extent(top * r, bottom * r, half * r, radius=r)


@dataclass
class VideoPlan:
    """A fully drawn video before rasterisation: inspectable by tests and diagnostics."""

    spec: VideoSpec
    track: Track
    appearance: Appearance
    background: np.ndarray  # (H + 2m, W + 2m, 3) float32, m = camera margin
    margin: int
    camera: np.ndarray  # (T, 2) camera offset (dx, dy) in px, within [-m, m]
    distractors: list[tuple[Appearance, float, float]] = field(default_factory=list)
    gain: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))  # exposure * tint
    noise_sigma: float = 0.0
    blur: bool = False
    noise_seed: tuple[int, ...] = ()


# --------------------------------------------------------------------------- colours


def _luma(c: np.ndarray) -> float:
    return float(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2])


def _color_with_luma(rng: np.random.Generator, luma: float, saturation: float) -> np.ndarray:
    """A random hue at (approximately) the requested luminance."""
    hue = rng.normal(size=3)
    hue -= hue.mean()
    hue /= np.linalg.norm(hue) + 1e-9
    c = luma + saturation * hue
    c = c - (_luma(c) - luma)
    return np.clip(c, 0.0, 1.0).astype(np.float32)


def _appearance(
    rng: np.random.Generator, canvas: Canvas, bg_luma: float, contrast: tuple[float, float], kind: str | None = None
) -> Appearance:
    kind = kind or KINDS[int(rng.choice(len(KINDS), p=_KIND_WEIGHTS))]
    radius = float(rng.uniform(*RADIUS_RANGE)) * min(canvas.height, canvas.width)
    delta = float(rng.uniform(*contrast))
    # go brighter or darker than the background, whichever fits in [0.05, 0.95]
    up_ok, down_ok = bg_luma + delta <= 0.95, bg_luma - delta >= 0.05
    brighter = up_ok if up_ok != down_ok else bool(rng.random() < 0.5)
    luma = bg_luma + delta if brighter else bg_luma - delta
    luma = float(np.clip(luma, 0.05, 0.95))
    color = _color_with_luma(rng, luma, float(rng.uniform(0.05, 0.3)))
    # the marking moves further away from the background, so it never camouflages the object
    pattern = (color + 0.55 * (1.0 - color)) if brighter else color * 0.4
    base_angle = float(rng.normal(0, 0.12)) if kind in UPRIGHT_KINDS else float(rng.uniform(0, 2 * np.pi))
    return Appearance(kind, radius, color, pattern.astype(np.float32), base_angle)


# --------------------------------------------------------------------------- background


def smooth_noise(
    rng: np.random.Generator, height: int, width: int, corr: float, aspect: float, theta: float
) -> np.ndarray:
    """Zero-mean, unit-std Gaussian random field with an anisotropic Gaussian correlation.

    ``corr`` is the correlation length in px along the major axis oriented at ``theta``,
    ``corr / aspect`` along the minor one. Filtering is done in the Fourier domain.
    """
    white = rng.standard_normal((height, width))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    c, s = np.cos(theta), np.sin(theta)
    fa, fb = fx * c + fy * s, -fx * s + fy * c
    la, lb = corr, corr / aspect
    transfer = np.exp(-2 * np.pi**2 * ((la * fa) ** 2 + (lb * fb) ** 2))
    field_ = np.fft.irfft2(np.fft.rfft2(white) * transfer, s=(height, width))
    field_ -= field_.mean()
    return field_ / (field_.std() + 1e-12)


def _background(rng: np.random.Generator, height: int, width: int, unit: float) -> tuple[np.ndarray, float]:
    """Two-octave isotropic smooth-noise texture in a random two-colour palette; returns (image, mean luma)."""
    luma = float(rng.uniform(0.25, 0.75))
    spread = float(rng.uniform(0.03, 0.06))
    c1 = _color_with_luma(rng, luma - spread / 2, float(rng.uniform(0.0, 0.25)))
    c2 = _color_with_luma(rng, luma + spread / 2, float(rng.uniform(0.0, 0.25)))
    corr = float(rng.uniform(*BACKGROUND_GRAIN)) * unit
    coarse = smooth_noise(rng, height, width, corr, 1.0, 0.0)
    fine = smooth_noise(rng, height, width, max(corr / 3.5, 0.7), 1.0, 0.0)
    mix = 0.5 + 0.5 * np.tanh(0.8 * coarse + float(rng.uniform(0.05, 0.25)) * fine)
    image = c1 + (c2 - c1) * mix[..., None]
    return image.astype(np.float32), _luma(image.reshape(-1, 3).mean(0))


# --------------------------------------------------------------------------- shapes


def _circle(u: np.ndarray, v: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return np.hypot(u - cx, v - cy) - r


def _box(u: np.ndarray, v: np.ndarray, cx: float, cy: float, hx: float, hy: float) -> np.ndarray:
    qx, qy = np.abs(u - cx) - hx, np.abs(v - cy) - hy
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0)


def _capsule(u: np.ndarray, v: np.ndarray, a: tuple[float, float], b: tuple[float, float], r: float) -> np.ndarray:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    h = np.clip(((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(u - ax - h * dx, v - ay - h * dy) - r


def _half_planes(u: np.ndarray, v: np.ndarray, corners: Sequence[tuple[float, float]]) -> np.ndarray:
    """Convex polygon (clockwise on screen) as the max of its edges' signed distances."""
    d = None
    for (ax, ay), (bx, by) in zip(corners, list(corners[1:]) + [corners[0]]):
        nx, ny = by - ay, ax - bx  # outward normal of a clockwise edge in y-down coordinates
        norm = float(np.hypot(nx, ny))
        e = ((u - ax) * nx + (v - ay) * ny) / norm
        d = e if d is None else np.maximum(d, e)
    return d


def shape_sdf(kind: str, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed distances (units of r, negative inside) of a kind's body and its marking.

    ``(u, v)`` are object-local coordinates with v pointing *down* the object (the
    head of a figure is at negative v). The marking is a second-colour part that
    makes spin visible (dot on a disc) or the top distinct (a figure's head).
    """
    if kind == "disc":
        return _circle(u, v, 0, 0, 1.0), _circle(u, v, 0.45, 0, 0.28)
    if kind == "square":
        return _box(u, v, 0, 0, 0.86, 0.86), _circle(u, v, 0.45, 0.45, 0.24)
    if kind == "figure":
        head = _circle(u, v, 0, -1.05, 0.36)
        body = np.minimum(head, _capsule(u, v, (0, -0.7), (0, 0.3), 0.17))
        for side in (-1.0, 1.0):
            body = np.minimum(body, _capsule(u, v, (0, -0.5), (side * 0.6, -0.05), 0.12))
            body = np.minimum(body, _capsule(u, v, (0, 0.3), (side * 0.42, 1.15), 0.13))
        return body, head
    if kind == "tree":
        crown = _circle(u, v, 0, -0.4, 0.75)
        trunk = _box(u, v, 0, 0.7, 0.16, 0.5)
        return np.minimum(crown, trunk), trunk
    if kind == "house":
        walls = _box(u, v, 0, 0.35, 0.75, 0.6)
        roof = _half_planes(u, v, [(-0.95, -0.25), (0.0, -1.15), (0.95, -0.25)])
        return np.minimum(walls, roof), roof
    raise ValueError(f"unknown object kind {kind!r}; known: {', '.join(KINDS)}")


def _coverage(sdf_px: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage from a signed distance in pixels (1 px ramp)."""
    return np.clip(0.5 - sdf_px, 0.0, 1.0)


def _draw_objects(
    frames: np.ndarray,
    look: Appearance,
    x: np.ndarray,
    y: np.ndarray,
    angle: np.ndarray,
    scale: np.ndarray,
    visible: np.ndarray,
    level: np.ndarray,
) -> None:
    """Composite one object into ``frames`` (T, H, W, 3) in place, per-frame pose.

    ``level`` scales the object's [0, 1] colours to the frames' intensity range.

    The object is rasterised only inside a square window around it, for all frames at
    once: (T, S, S) instead of (T, H, W).
    """
    idx = np.flatnonzero(visible)
    if idx.size == 0:
        return
    _, height, width, _ = frames.shape
    ext = look.extent
    half = int(np.ceil(ext.bound * float(scale[idx].max()))) + 2
    size = 2 * half + 1
    ox = np.floor(x[idx]).astype(int) - half
    oy = np.floor(y[idx]).astype(int) - half
    grid = np.arange(size, dtype=np.float32) + 0.5
    dx = (ox[:, None] + grid[None, :] - x[idx, None]).astype(np.float32)[:, None, :]  # (n, 1, S)
    dy = (oy[:, None] + grid[None, :] - y[idx, None]).astype(np.float32)[:, :, None]  # (n, S, 1)
    a = (look.base_angle + angle[idx]).astype(np.float32)[:, None, None]
    ca, sa = np.cos(a), np.sin(a)
    px_per_unit = (look.radius * scale[idx]).astype(np.float32)[:, None, None]
    # rotate pixel offsets into the object's frame (inverse of a clockwise rotation by a)
    u = (dx * ca + dy * sa) / px_per_unit
    v = (-dx * sa + dy * ca) / px_per_unit
    body, mark = shape_sdf(look.kind, u, v)
    alpha = _coverage(body * px_per_unit)
    mark_alpha = _coverage(mark * px_per_unit) * alpha
    body_rgb, mark_rgb = look.color * level, look.pattern * level
    color = body_rgb * (1 - mark_alpha[..., None]) + mark_rgb * mark_alpha[..., None]
    # Light from above: objects are brighter on top and darker below, in screen coordinates
    # (whatever their pose), as under sky light -- a cue for "up" on every object.
    color *= (1 + LIGHT_FROM_ABOVE * np.clip(-dy / px_per_unit, -1.5, 1.5))[..., None]
    for j, t in enumerate(idx):
        x0, y0 = ox[j], oy[j]
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x0 + size, width), min(y0 + size, height)
        if fx1 <= fx0 or fy1 <= fy0:
            continue
        win = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        al = alpha[j][win][..., None]
        region = frames[t, fy0:fy1, fx0:fx1]
        region *= 1 - al
        region += al * color[j][win]


def _draw_string(
    frames: np.ndarray,
    pivot: tuple[np.ndarray, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    color: np.ndarray,
    width_px: float,
) -> None:
    """A thin pendulum string from the (per-frame) pivot to each frame's object centre."""
    _, height, width, _ = frames.shape
    px = np.arange(width, dtype=np.float32)[None, None, :] + 0.5
    py = np.arange(height, dtype=np.float32)[None, :, None] + 0.5
    ax = np.asarray(pivot[0], np.float32)[:, None, None]
    ay = np.asarray(pivot[1], np.float32)[:, None, None]
    dx = x.astype(np.float32)[:, None, None] - ax
    dy = y.astype(np.float32)[:, None, None] - ay
    h = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy + 1e-6), 0, 1)
    dist = np.hypot(px - ax - h * dx, py - ay - h * dy)
    alpha = (0.85 * _coverage(dist - width_px / 2))[..., None]
    frames *= 1 - alpha
    frames += alpha * color


# --------------------------------------------------------------------------- planning


def _camera_path(rng: np.random.Generator, frames: int, margin: int) -> np.ndarray:
    """Hand-held drift: a sum of two slow sinusoids per axis, within +-margin px."""
    t = np.arange(frames, dtype=np.float64)[:, None]
    periods = rng.uniform(40, 120, size=(2, 2))
    phases = rng.uniform(0, 2 * np.pi, size=(2, 2))
    weights = rng.uniform(0.3, 1.0, size=(2, 2))
    path = sum(weights[k] * np.sin(2 * np.pi * t / periods[k] + phases[k]) for k in range(2))
    path = path / (weights.sum(0) + 1e-9)
    return (path * margin * 0.95).astype(np.float64)


def plan_video(spec: VideoSpec) -> VideoPlan:
    """Draw every random quantity of a video (deterministic in the spec's seeds)."""
    canvas = Canvas(spec.height, spec.width)
    profile = PROFILES[spec.profile]
    scene = np.random.default_rng(list(spec.scene_seed))
    clip = np.random.default_rng(list(spec.clip_seed))

    margin = int(np.ceil(3 * canvas.unit))  # camera drift range; background is padded by it
    background, bg_luma = _background(scene, spec.height + 2 * margin, spec.width + 2 * margin, canvas.unit)
    look = _appearance(clip, canvas, bg_luma, profile.contrast)  # the object is the clip's, not the scene's
    n_distract = spec.distractors if spec.distractors is not None else int(clip.random() < profile.distractor_p)
    distractors = []
    for _ in range(n_distract):
        d = _appearance(scene, canvas, bg_luma, profile.contrast)
        e = d.extent
        distractors.append(
            (
                d,
                float(scene.uniform(e.half_width, spec.width - e.half_width)),
                float(scene.uniform(e.top, spec.height - e.bottom)),
            )
        )

    track = simulate(spec.motion, clip, spec.frames, canvas, look.extent, spec.tempo)
    moving = spec.camera_motion if spec.camera_motion is not None else bool(clip.random() < profile.camera_motion_p)
    camera = _camera_path(clip, spec.frames, margin) if moving else np.zeros((spec.frames, 2))

    exposure = float(clip.uniform(0.8, 1.15))
    tint = clip.uniform(0.93, 1.07, 3)
    if spec.quality is not None:
        noise_range = QUALITY_NOISE[spec.quality]
    else:
        noise_range = profile.noise
    return VideoPlan(
        spec=spec,
        track=track,
        appearance=look,
        background=background,
        margin=margin,
        camera=camera,
        distractors=distractors,
        gain=(exposure * tint).astype(np.float32),
        noise_sigma=float(clip.uniform(*noise_range)),
        blur=spec.quality == "bad",
        noise_seed=tuple(spec.clip_seed) + (7,),
    )


def _shifted_background(plan: VideoPlan, frame_ids: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Background crops of ``image`` under the camera offset (bilinear for sub-pixel drift)."""
    h, w, m = plan.spec.height, plan.spec.width, plan.margin
    offsets = plan.camera[frame_ids]
    if not offsets.any():  # static camera: one crop for every frame
        return np.repeat(image[None, m : m + h, m : m + w], frame_ids.size, axis=0)
    out = np.empty((frame_ids.size, h, w, 3), np.float32)
    for j, (ox, oy) in enumerate(offsets):
        # the crop window follows the camera, so scene content moves the other way
        sx, sy = m + ox, m + oy
        ix, iy = int(np.floor(sx)), int(np.floor(sy))
        fx, fy = np.float32(sx - ix), np.float32(sy - iy)
        ix1, iy1 = min(ix + 1, 2 * m), min(iy + 1, 2 * m)
        b = image
        out[j] = (1 - fy) * ((1 - fx) * b[iy : iy + h, ix : ix + w] + fx * b[iy : iy + h, ix1 : ix1 + w]) + fy * (
            (1 - fx) * b[iy1 : iy1 + h, ix : ix + w] + fx * b[iy1 : iy1 + h, ix1 : ix1 + w]
        )
    return out


def light_level(frame_ids: np.ndarray) -> np.ndarray:
    """The scene light at each frame, relative to frame 0: dusk falls by `DUSK` per 100 frames."""
    return np.power(1.0 - DUSK, np.asarray(frame_ids, np.float64) / 100.0).astype(np.float32)


def render_frames(plan: VideoPlan, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rasterise frames ``[start, stop)`` as uint8 RGB (T, H, W, 3).

    Compositing is linear, so the exposure gain and the 0-255 range are folded into
    the background and the object colours up front instead of touching every pixel.
    """
    stop = plan.spec.frames if stop is None else stop
    ids = np.arange(start, stop)
    level = (255.0 * plan.gain).astype(np.float32)
    frames = _shifted_background(plan, ids, plan.background * level)
    # the camera moves the whole scene: objects shift with the background
    cam_x, cam_y = -plan.camera[ids, 0], -plan.camera[ids, 1]
    n = ids.size
    for look, dx, dy in plan.distractors:
        _draw_objects(frames, look, dx + cam_x, dy + cam_y, np.zeros(n), np.ones(n), np.ones(n, bool), level)
    tr = plan.track
    x, y = tr.x[ids] + cam_x, tr.y[ids] + cam_y
    if tr.pivot is not None:
        unit = Canvas(plan.spec.height, plan.spec.width).unit
        px, py = tr.pivot
        _draw_string(frames, (px + cam_x, py + cam_y), x, y, plan.appearance.color * level, max(0.8, 0.9 * unit))
    _draw_objects(frames, plan.appearance, x, y, tr.angle[ids], tr.scale[ids], tr.visible[ids], level)
    frames *= light_level(ids)[:, None, None, None]  # the light of the whole scene, before the camera's noise

    if plan.blur:  # cheap 3x3 box blur: a soft, low-quality camera
        padded = np.pad(frames, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        h, w = frames.shape[1:3]
        frames = sum(padded[:, i : i + h, j : j + w] for i in range(3) for j in range(3)) / np.float32(9.0)
    if plan.noise_sigma > 0:
        sigma = np.float32(255.0 * plan.noise_sigma)
        for j, t in enumerate(ids):  # seeded per frame: identical whatever the chunking
            noise = np.random.default_rng(list(plan.noise_seed) + [int(t)]).standard_normal(
                frames.shape[1:], dtype=np.float32
            )
            noise *= sigma
            frames[j] += noise
    frames += np.float32(0.5)
    np.clip(frames, 0.0, 255.0, out=frames)
    return frames.astype(np.uint8)


def iter_frames(plan: VideoPlan, chunk_pixels: int = 4_000_000) -> Iterator[np.ndarray]:
    """Yield uint8 frames in chunks that keep float buffers under ~``chunk_pixels`` px."""
    per_chunk = max(1, chunk_pixels // (plan.spec.height * plan.spec.width))
    for start in range(0, plan.spec.frames, per_chunk):
        yield from render_frames(plan, start, min(start + per_chunk, plan.spec.frames))


def without_nuisance(plan: VideoPlan) -> VideoPlan:
    """The same video with unit gain, no noise and no blur (for measurements)."""
    return replace(plan, gain=np.ones(3, np.float32), noise_sigma=0.0, blur=False)
