"""Synthetic dataset generator: layouts, determinism, decodability and motion statistics."""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import av
import numpy as np
import pytest
import scipy.io

from vssl.data import synth
from vssl.data.synth import layouts
from vssl.data.synth.codec import read_video
from vssl.data.synth.motions import MOTIONS, Canvas, Extent, simulate, track_speed
from vssl.data.synth.render import smooth_noise

TINY = synth.SCALES["tiny"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth") / "data"
    manifest = synth.generate(out, seed=0, scale="tiny", jobs=1)
    return out, manifest


def _videos(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in {".avi", ".mp4"})


def _lines(path: Path, newline: str) -> list[str]:
    raw = path.read_bytes().decode("utf-8")
    assert raw.endswith(newline), f"{path} must end with {newline!r}"
    if newline == "\n":
        assert "\r" not in raw, f"{path} must use LF"
    else:
        assert raw.count("\n") == raw.count("\r\n"), f"{path} must use CRLF throughout"
    return raw[: -len(newline)].split(newline)


# --------------------------------------------------------------------------- layouts


def test_top_level_is_exactly_the_four_layouts(tiny: tuple[Path, dict]) -> None:
    out, manifest = tiny
    assert sorted(p.name for p in out.iterdir()) == ["aslan", "hmdb51", "kinetics", "synth.json", "ucf101"]
    assert sorted(p.name for p in (out / "ucf101").iterdir()) == ["UCF-101", "ucfTrainTestlist"]
    assert sorted(p.name for p in (out / "hmdb51").iterdir()) == ["testTrainMulti_7030_splits", "videos"]
    assert sorted(p.name for p in (out / "kinetics").iterdir()) == ["annotations", "train"]
    assert sorted(p.name for p in (out / "aslan").iterdir()) == ["View2.mat", "videos"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert json.loads((out / "synth.json").read_text()) == manifest
    assert manifest["counts"] == {"ucf101": 40, "hmdb51": 40, "kinetics": 20, "aslan": 60}
    assert len(manifest["classes"]) >= 10


def test_ucf101_layout(tiny: tuple[Path, dict]) -> None:
    out, _ = tiny
    lists = out / "ucf101" / "ucfTrainTestlist"
    assert sorted(p.name for p in lists.iterdir()) == sorted(
        ["classInd.txt"] + [f"{kind}list0{k}.txt" for kind in ("train", "test") for k in (1, 2, 3)]
    )
    class_ind = [line.split(" ") for line in _lines(lists / "classInd.txt", "\r\n")]
    ids = [int(i) for i, _ in class_ind]
    names = [n for _, n in class_ind]
    assert ids == list(range(1, len(names) + 1)) and len(names) >= 10
    assert names == sorted(names) and all(re.fullmatch(r"[A-Z][A-Za-z]+", n) for n in names)
    class_id = dict(zip(names, ids))

    on_disk = {p.relative_to(out / "ucf101" / "UCF-101").as_posix() for p in _videos(out / "ucf101")}
    pattern = re.compile(r"(?P<c>[A-Za-z]+)/v_(?P=c)_g(?P<g>\d\d)_c(?P<i>\d\d)\.avi")
    for rel in on_disk:
        assert pattern.fullmatch(rel), rel
    test_groups_per_split = []
    for k in (1, 2, 3):
        train = [line.split(" ") for line in _lines(lists / f"trainlist0{k}.txt", "\r\n")]
        test = _lines(lists / f"testlist0{k}.txt", "\r\n")
        assert all(len(parts) == 2 for parts in train) and all(" " not in t for t in test)
        for rel, cid in train:
            assert class_id[rel.split("/")[0]] == int(cid)
        train_paths = [rel for rel, _ in train]
        assert set(train_paths) | set(test) == on_disk and not set(train_paths) & set(test)
        group = lambda rel: (rel.split("/")[0], int(pattern.fullmatch(rel)["g"]))  # noqa: E731
        train_groups, test_groups = {group(r) for r in train_paths}, {group(r) for r in test}
        assert not train_groups & test_groups, f"split {k}: a group straddles train and test"
        test_groups_per_split.append({g for _, g in test_groups})
    # tiny has 4 groups: split k holds out group k, like UCF's 1-7 / 8-14 / 15-21
    assert test_groups_per_split == [{1}, {2}, {3}]
    assert [list(r) for r in layouts.ucf_test_groups(25)] == [
        list(range(1, 8)),
        list(range(8, 15)),
        list(range(15, 22)),
    ]


def test_hmdb51_layout(tiny: tuple[Path, dict]) -> None:
    out, _ = tiny
    videos_root, splits_root = out / "hmdb51" / "videos", out / "hmdb51" / "testTrainMulti_7030_splits"
    classes = sorted(p.name for p in videos_root.iterdir())
    assert len(classes) >= 10 and all(re.fullmatch(r"[a-z_]+", c) for c in classes)
    assert sorted(p.name for p in splits_root.iterdir()) == sorted(
        f"{c}_test_split{k}.txt" for c in classes for k in (1, 2, 3)
    )
    awkward = 0
    all_tags: list[int] = []
    for c in classes:
        names = sorted(p.name for p in (videos_root / c).iterdir())
        # HMDB's grammar: <source>_<class>_<body>_<camera>_<people>_<view>_<quality>_<clip>.avi
        grammar = re.compile(rf"(?P<src>.+)_{c}_[fhul]_(cm|nm)_np[123]_(fr|ba|le|ri)_(bad|med|goo)_\d+\.avi")
        for n in names:
            assert grammar.fullmatch(n), n
            awkward += bool(set("()!#&'") & set(n))
        for k in (1, 2, 3):
            lines = _lines(splits_root / f"{c}_test_split{k}.txt", "\n")
            parsed = [re.fullmatch(r"(\S.*\.avi) ([012]) ", line) for line in lines]
            assert all(parsed), f"{c} split {k}: lines must read 'name.avi tag '"
            tags = {p[1]: int(p[2]) for p in parsed}
            assert sorted(tags) == names, f"{c} split {k} must list every clip once"
            assert {1, 2} <= set(tags.values())
            by_source = defaultdict(set)
            for n, t in tags.items():
                by_source[n.split(f"_{c}_")[0]].add(t)
            assert all(len(t) == 1 for t in by_source.values()), "a source video straddles splits"
            all_tags += tags.values()
    assert awkward >= len(classes)  # every class has at least one ( ) ! # & ' title
    share = np.bincount(all_tags, minlength=3) / len(all_tags)
    assert 0.2 <= share[2] <= 0.45 and share[1] >= 0.5


def test_kinetics_layout(tiny: tuple[Path, dict]) -> None:
    out, manifest = tiny
    csv_path = out / "kinetics" / "annotations" / "train.csv"
    text = csv_path.read_text()
    assert text.splitlines()[0] == "label,youtube_id,time_start,time_end,split"
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == manifest["config"]["pool_size"] == 20
    expected = set()
    for r in rows:
        assert re.fullmatch(r"[A-Za-z0-9_-]{11}", r["youtube_id"]) and r["split"] == "train"
        start, end = int(r["time_start"]), int(r["time_end"])
        assert end > start >= 0
        expected.add(f"{r['youtube_id']}_{start:06d}_{end:06d}.mp4")
    assert {p.name for p in (out / "kinetics" / "train").iterdir()} == expected
    assert {r["label"] for r in rows} <= {c["kinetics"] for c in manifest["classes"]}
    with av.open(str(next((out / "kinetics" / "train").iterdir()))) as c:
        codec = c.streams.video[0].codec_context.name
    assert codec == ("h264" if "libx264" in av.codecs_available else "mpeg4")


def test_aslan_layout(tiny: tuple[Path, dict]) -> None:
    out, manifest = tiny
    pairs = scipy.io.loadmat(out / "aslan" / "View2.mat")["action_splits_pairs"]
    per_split = TINY.aslan_pairs_per_split
    assert pairs.shape == (per_split, 5, 10)
    n_videos = manifest["counts"]["aslan"]
    assert sorted(p.name for p in (out / "aslan" / "videos").iterdir()) == [
        f"{i:04d}.avi" for i in range(1, n_videos + 1)
    ]
    actions_of_split = []
    video_action: dict[int, int] = {}
    for s in range(10):
        p = pairs[:, :, s].astype(int)
        assert ((p[:, 0] >= 1) & (p[:, 1] <= n_videos)).all()
        assert (p[:, 2] == (p[:, 3] == p[:, 4])).all(), "same flag must match the actions"
        assert p[:, 2].sum() == per_split // 2, "half same, half not-same"
        assert len({tuple(sorted(r[:2])) for r in p}) == per_split, "no repeated pair"
        for v1, v2, _, a1, a2 in p:
            for v, a in ((v1, a1), (v2, a2)):
                assert video_action.setdefault(v, a) == a, "a video has one action"
        actions_of_split.append(set(p[:, 3]) | set(p[:, 4]))
    assert all(len(a) >= 2 for a in actions_of_split)
    for i in range(10):
        for j in range(i + 1, 10):
            assert not actions_of_split[i] & actions_of_split[j], "actions must be disjoint across splits"
    assert len(manifest["aslan_actions"]) >= 20


def test_every_video_decodes_with_expected_shape(tiny: tuple[Path, dict]) -> None:
    out, manifest = tiny
    videos = _videos(out)
    assert len(videos) == sum(manifest["counts"].values())
    for path in videos:
        frames = read_video(path)
        assert frames.shape == (TINY.frames, *TINY.size, 3), path
        if path.suffix == ".avi":
            with av.open(str(path)) as c:
                assert c.streams.video[0].codec_context.name == "mpeg4"


# --------------------------------------------------------------------------- determinism and re-runs


def test_same_seed_same_bytes_regardless_of_jobs(tiny: tuple[Path, dict], tmp_path: Path) -> None:
    out, manifest = tiny
    again = synth.generate(tmp_path, seed=0, scale="tiny", jobs=2)
    assert again == manifest
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (out / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_different_seed_differs(tiny: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = tiny
    synth.generate(tmp_path, seed=1, scale="tiny", jobs=1, datasets=["ucf101"])
    videos = _videos(tmp_path)
    assert [p.relative_to(tmp_path) for p in videos] == [p.relative_to(out) for p in _videos(out / "ucf101")]
    differing = sum(not np.array_equal(read_video(p), read_video(out / p.relative_to(tmp_path))) for p in videos[:5])
    assert differing == 5


def test_rerun_reuses_complete_outputs_and_refuses_other_settings(tmp_path: Path) -> None:
    config = synth.resolve_config("tiny", datasets=["ucf101"], frames=16)
    _, first = synth.generate_config(tmp_path, config, jobs=1)
    assert first.rendered == 40 and first.reused == 0
    victim = tmp_path / "ucf101" / "UCF-101" / "Roll" / "v_Roll_g01_c01.avi"
    mtime = victim.stat().st_mtime_ns
    victim_missing = tmp_path / "ucf101" / "UCF-101" / "Shake" / "v_Shake_g02_c01.avi"
    victim_missing.unlink()
    (victim_missing.parent / ".v_Shake_g02_c01.avi.abc123.tmp").write_bytes(b"partial")  # a killed run
    _, second = synth.generate_config(tmp_path, config, jobs=1)
    assert second.rendered == 1 and second.reused == 39
    assert victim.stat().st_mtime_ns == mtime and victim_missing.exists()
    assert not list(tmp_path.rglob("*.tmp"))
    with pytest.raises(ValueError, match=r"synth\.json.*differs in seed"):
        synth.generate(tmp_path, seed=3, scale="tiny", datasets=["ucf101"], frames=16)
    (tmp_path / "synth.json").write_text('{\n  "config": oops\n}\n')
    with pytest.raises(ValueError, match=r"synth\.json:2: not valid JSON"):
        synth.generate_config(tmp_path, config, jobs=1)


def test_overrides_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    synth.add_arguments(parser)
    args = parser.parse_args(
        [
            str(tmp_path),
            "--scale",
            "tiny",
            "--size",
            "32",
            "48",
            "--frames",
            "20",
            "--datasets",
            "ucf101",
            "--videos-per-class",
            "3",
            "--groups",
            "3",
            "--jobs",
            "1",
            "--quiet",
        ]
    )
    assert synth.run(args) == 0
    assert re.search(
        r"synth: 30 videos \(ucf101 30\); rendered 30, reused 0; .* s with 1 jobs", capsys.readouterr().out
    )
    video = tmp_path / "ucf101" / "UCF-101" / "Orbit" / "v_Orbit_g03_c01.avi"
    assert read_video(video).shape == (20, 32, 48, 3)
    manifest = json.loads((tmp_path / "synth.json").read_text())
    assert manifest["width"] == 48 and manifest["counts"] == {"ucf101": 30}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scale": "huge"}, "unknown scale"),
        ({"size": (33, 32)}, "even"),
        ({"frames": 8}, "frames"),
        ({"groups": 2}, "at least 3 groups"),
        ({"aslan_pairs_per_split": 40}, "ASLAN split 1"),
        ({"datasets": ["youtube8m"]}, "datasets"),
    ],
)
def test_bad_settings_are_rejected(tmp_path: Path, kwargs: dict, message: str) -> None:
    kwargs = {"scale": "tiny", **kwargs}
    with pytest.raises(ValueError, match=message):
        synth.generate(tmp_path, **kwargs)


def test_output_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "data"
    target.write_text("not a directory")
    with pytest.raises(NotADirectoryError, match=str(target)):
        synth.generate(target, scale="tiny")


# --------------------------------------------------------------------------- motion statistics

CANVAS = Canvas(64, 64)
EXT = Extent(top=8.0, bottom=8.0, half_width=6.0, radius=6.0)


def _mean_speeds(motion: str, frames: int = 100, samples: int = 24, tempo: float = 1.0) -> np.ndarray:
    out = []
    for i in range(samples):
        seed = [synth.MOTIONS.index(synth.MOTION_BY_KEY[motion]), i]
        track = simulate(motion, np.random.default_rng(seed), frames, CANVAS, EXT, tempo)
        out.append(track_speed(track, EXT.radius).mean())
    return np.asarray(out)


def test_every_class_moves_at_the_one_shared_speed() -> None:
    """V3S premise: playback speed is identifiable without the class, so no class has a speed of its own."""
    shared = synth.SPEED * CANVAS.unit
    medians = {}
    for m in MOTIONS:
        speeds = _mean_speeds(m.key)
        medians[m.key] = float(np.median(speeds))
        # narrow: a playback speed of 2 doubles the speed, far outside one class's spread
        assert np.percentile(speeds, 90) / np.percentile(speeds, 10) < 1.3, m.key
    assert all(abs(v / shared - 1) < 0.12 for v in medians.values()), medians
    assert max(medians.values()) / min(medians.values()) < 1.25, medians


def test_motions_repeat_instead_of_stretching_to_the_video() -> None:
    # the same class in a 3x longer video moves at the same pixels per frame
    for m in MOTIONS:
        short, long_ = _mean_speeds(m.key, frames=100), _mean_speeds(m.key, frames=300)
        assert abs(np.median(long_) / np.median(short) - 1) < 0.15, m.key
    # and a faster tempo (ASLAN actions) moves proportionally faster
    fast, normal = _mean_speeds("orbit", tempo=1.4), _mean_speeds("orbit")
    assert np.median(fast) / np.median(normal) == pytest.approx(1.4, rel=0.05)


def _second_differences(track, key: str) -> np.ndarray:
    vis = track.visible[2:] & track.visible[1:-1] & track.visible[:-2]
    return np.diff(getattr(track, key), 2)[vis]


def test_gravity_pulls_down_in_falls_bounces_hops_and_swings() -> None:
    """3DRotNet premise: "down" shows in the dynamics, so a rotated clip moves unnaturally."""
    fall = simulate("free_fall", np.random.default_rng(0), 200, CANVAS, EXT)
    accel = _second_differences(fall, "y")
    assert accel.min() > 0 and accel.max() / accel.min() == pytest.approx(1.0, abs=1e-6)  # constant, downwards
    assert np.count_nonzero(np.diff(fall.visible.astype(int)) == 1) >= 2  # repeated drops
    for key in ("bounce", "hop"):
        airborne = _second_differences(simulate(key, np.random.default_rng(1), 300, CANVAS, EXT), "y")
        assert np.median(airborne[np.abs(airborne) > 1e-9]) > 0, key  # parabolas accelerate downwards
    rise = simulate("float_up", np.random.default_rng(3), 100, CANVAS, EXT)
    assert np.median(np.diff(rise.y)[rise.visible[1:] & rise.visible[:-1]]) < 0  # rises...
    assert np.abs(_second_differences(rise, "y")).max() < 1e-6  # ...at constant speed, unlike a fall
    swing = simulate("pendulum_swing", np.random.default_rng(2), 400, CANVAS, EXT)
    assert swing.pivot is not None and (swing.y > swing.pivot[1]).all()  # hangs below its pivot
    speed = np.hypot(np.diff(swing.x), np.diff(swing.y))
    lowest = swing.y[1:] > np.percentile(swing.y, 80)
    assert speed[lowest].mean() > 1.5 * speed[~lowest].mean()  # fastest at the bottom of the swing


def test_classes_survive_horizontal_flip() -> None:
    # each class draws its direction at random, so a flip maps the class onto itself
    for key in ("bounce", "slide", "roll", "orbit", "wave", "shake"):
        signs = set()
        for i in range(30):
            track = simulate(key, np.random.default_rng([7, i]), 6, CANVAS, EXT)
            if key == "orbit":
                d = np.diff(np.unwrap(np.arctan2(track.y - track.y.mean(), track.x - track.x.mean())))
                signs.add(np.sign(d.mean()))
            else:
                signs.add(np.sign(np.diff(track.x)[track.visible[1:] & track.visible[:-1]].sum()))
        assert {-1.0, 1.0} <= signs, key
    # a rolling object spins clockwise when it moves right, as on a floor below it
    for i in range(10):
        track = simulate("roll", np.random.default_rng([8, i]), 4, CANVAS, EXT)
        assert np.sign(np.diff(track.angle)[0]) == np.sign(np.diff(track.x)[0])


def test_backgrounds_carry_no_orientation_and_are_isotropic() -> None:
    from vssl.data.synth.render import _background

    gx, gy, top_minus_bottom = [], [], []
    for i in range(120):
        image, _ = _background(np.random.default_rng(i), 64, 64, 1.0)
        luma = image @ np.array([0.299, 0.587, 0.114], np.float32)
        gx.append(np.mean(np.diff(luma, axis=1) ** 2))
        gy.append(np.mean(np.diff(luma, axis=0) ** 2))
        top_minus_bottom.append(luma[:32].mean() - luma[32:].mean())
    ratio = np.asarray(gx) / np.asarray(gy)
    # isotropic in distribution *and* per image, so a stretch (V3S SS) shows in the background
    assert np.mean(ratio) == pytest.approx(1.0, abs=0.1)
    assert np.percentile(ratio, 90) < 1.6 and np.percentile(ratio, 10) > 1 / 1.6
    assert abs(np.mean(top_minus_bottom)) < 3 * np.std(top_minus_bottom) / np.sqrt(len(top_minus_bottom))
    # the smooth-noise field itself can be anisotropic when asked
    field = smooth_noise(np.random.default_rng(0), 64, 64, corr=6.0, aspect=2.0, theta=0.0)
    assert np.mean(np.diff(field, axis=0) ** 2) > 1.5 * np.mean(np.diff(field, axis=1) ** 2)


def test_scenes_name_no_class() -> None:
    """Group g of every UCF101 class is filmed in scene g; HMDB51 sources share one scene pool;
    the moving object is the clip's own, so neither scene nor look stands in for the action."""
    specs = synth.plan_specs(TINY)
    ucf = [s for s in specs if s.dataset == "ucf101"]
    by_group: dict[str, set] = defaultdict(set)
    for spec in ucf:
        by_group[spec.relpath.rsplit("_g", 1)[1][:2]].add(spec.scene_seed)
    assert all(len(seeds) == 1 for seeds in by_group.values())  # one scene per group, whatever the class
    hmdb_scenes = defaultdict(set)
    for spec in (s for s in specs if s.dataset == "hmdb51"):
        hmdb_scenes[spec.scene_seed].add(spec.motion)
    assert len(hmdb_scenes) <= layouts.HMDB_SCENE_POOL
    assert any(len(motions) > 1 for motions in hmdb_scenes.values())  # a scene serves several classes
    looks = {synth.plan_video(s).appearance.kind + str(synth.plan_video(s).appearance.radius) for s in ucf[:8]}
    assert len(looks) == 8  # every clip draws its own object


def test_objects_are_lit_from_above() -> None:
    from vssl.data.synth.render import without_nuisance

    spec = next(s for s in synth.plan_specs(TINY) if s.dataset == "ucf101" and s.motion == "shake")
    plan = without_nuisance(synth.plan_video(spec))
    plan.appearance = type(plan.appearance)(
        "disc", plan.appearance.radius, np.full(3, 0.5, np.float32), np.full(3, 0.5, np.float32), 0.0
    )
    plan.background[:] = 0.0
    frame = synth.render_frames(plan, 0, 1)[0].astype(float).sum(-1)
    ys, xs = np.nonzero(frame > 20)
    values = frame[ys, xs]
    top, bottom = values[ys < ys.mean()].mean(), values[ys > ys.mean()].mean()
    assert top > 1.15 * bottom


def test_rendered_pixels_follow_the_trajectory(tiny: tuple[Path, dict]) -> None:
    """Measure the object's speed from the decoded video, not from the config."""
    out, _ = tiny
    spec = next(s for s in synth.plan_specs(TINY) if s.dataset == "ucf101" and s.motion == "roll")
    plan = synth.plan_video(spec)
    frames = read_video(out / spec.relpath).astype(np.float32)
    background = np.median(frames, axis=0)
    diff = np.abs(frames - background).sum(-1)
    mask = diff > 60
    ys, xs = np.mgrid[: frames.shape[1], : frames.shape[2]]
    ext = plan.appearance.extent
    inside = (plan.track.x - ext.bound > 0) & (plan.track.x + ext.bound < spec.width) & (mask.sum((1, 2)) > 3)
    cx = np.array([(xs * m).sum() / m.sum() if m.any() else np.nan for m in mask])
    cy = np.array([(ys * m).sum() / m.sum() if m.any() else np.nan for m in mask])
    assert inside.sum() >= 8
    # centroid of the object pixels tracks the rendered centre to within a pixel or so
    assert np.nanmedian(np.abs(cx[inside] + 0.5 - plan.track.x[inside])) < 1.5
    assert np.nanstd(cy[inside]) < 1.5  # rolls horizontally
    steps = np.flatnonzero(inside[1:] & inside[:-1])
    measured = np.median(np.abs(np.diff(cx)[steps]))
    designed = np.median(np.abs(np.diff(plan.track.x)[steps]))
    assert measured == pytest.approx(designed, rel=0.3)
    shared = synth.SPEED * spec.height / 64  # the shared speed at this frame size
    assert shared * (1 - synth.motions.SPEED_SPREAD) - 0.3 < measured < shared * (1 + synth.motions.SPEED_SPREAD) + 0.3


def test_dusk_darkens_the_whole_scene_at_one_rate() -> None:
    """The arrow of time: every pixel's light falls by `DUSK` per 100 frames, whatever the video."""
    from vssl.data.synth.render import DUSK, light_level, without_nuisance

    spec = next(s for s in synth.plan_specs(TINY) if s.dataset == "ucf101" and s.motion == "shake")
    plan = without_nuisance(synth.plan_video(spec))
    plan.track.visible[:] = False  # the background alone
    frames = synth.render_frames(plan).astype(np.float64)
    means = frames.mean(axis=(1, 2, 3))
    assert np.all(np.diff(means) < 0)  # darker every frame
    assert means[-1] / means[0] == pytest.approx(light_level(np.array([spec.frames - 1]))[0], rel=0.01)
    assert light_level(np.array([100]))[0] == pytest.approx(1 - DUSK)
