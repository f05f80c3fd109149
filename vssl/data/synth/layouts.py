"""The four official dataset layouts, filled with synthetic videos.

Every path and index file mimics the real release so the same adapters run on
synthetic and real data:

* **UCF101**: ``ucf101/UCF-101/<Class>/v_<Class>_gGG_cCC.avi`` and
  ``ucf101/ucfTrainTestlist/{classInd,trainlist0k,testlist0k}.txt`` with CRLF line
  endings, 1-based alphabetical class ids, train lines ``path id``, test lines
  ``path``. A *group* is one scene (background and distractors shared by its clips,
  as UCF's groups share a setting), and group ``g`` of every class is filmed in the
  same scene ``g``, so a scene never names the class; each clip has its own object. With G groups, split k tests groups
  ``(k-1)b+1 .. kb`` with ``b = round(0.28 G)`` -- exactly 1-7 / 8-14 / 15-21 for
  G = 25 -- so groups never straddle train and test and the splits differ.
* **HMDB51**: ``hmdb51/videos/<class>/<name>.avi`` with HMDB's name grammar
  ``<source>_<class>_<body>_<camera>_<people>_<view>_<quality>_<clip>.avi`` and some
  source titles carrying ``( ) ! # & '``. Clips of one source video share a scene and
  a split; scenes come from a pool of `HMDB_SCENE_POOL` that every class draws from.
  ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` lines are
  ``name.avi tag `` (1 train, 2 test, 0 unused; the real files end each line with a
  space before the LF, and so do these). About 30 % of a class is tagged test and
  ~8 % unused. The tags are not decorative: ``cm`` adds hand-held camera drift,
  ``np2``/``np3`` add one/two static distractor objects and ``bad``/``med``/``goo``
  set sensor noise (``bad`` also blurs); body part and viewpoint are names only.
* **Kinetics**: flat ``kinetics/train/<youtube_id>_<start:06d>_<end:06d>.mp4`` and
  ``kinetics/annotations/train.csv`` (``label,youtube_id,time_start,time_end,split``).
  The label column holds the synthetic class; downstream treats the pool as
  unlabelled. ``time_end - time_start`` is the clip duration rounded up to seconds.
* **ASLAN**: ``aslan/videos/NNNN.avi`` and ``aslan/View2.mat`` holding
  ``action_splits_pairs`` of shape (pairs, 5, 10): id1, id2, same, action1, action2.

ASLAN relaxation (documented as the issue asks): real View-2 has 432 classes and
class-disjoint splits. Ten motions cannot be split ten ways, so ASLAN *actions* are
motion x tempo: each motion played at 2-3 tempos (default 0.7x, 1x, 1.4x: slower or
faster motion along the same path, e.g. "bounce at 1.4x") gives 20-30 actions. Split i holds, for each
tempo j, the motion ``(i + 3j) mod 10``: every split has 2-3 actions with distinct
motions, and every action belongs to exactly one split, so classes are disjoint
across splits as in the real protocol. Each split has as many same as not-same
pairs (drawn without replacement); the pair count is scaled down from 600.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from vssl.data.synth.codec import FPS
from vssl.data.synth.motions import MOTIONS
from vssl.data.synth.render import VideoSpec
from vssl.utils.io import atomic_write_bytes, atomic_write_text

UCF, HMDB, KINETICS, ASLAN = "ucf101", "hmdb51", "kinetics", "aslan"
DATASETS: tuple[str, ...] = (UCF, HMDB, KINETICS, ASLAN)
# seed-stream ids: each dataset draws from its own stream, so the synthetic HMDB51
# is a different set of videos from the synthetic UCF101 even at the same seed
_STREAM = {UCF: 1, HMDB: 2, KINETICS: 3, ASLAN: 4}
ASLAN_SPLITS = 10
_YOUTUBE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(frozen=True)
class Shape:
    """Frame geometry and codec shared by every video of a dataset."""

    height: int
    width: int
    frames: int


# --------------------------------------------------------------------------- UCF101


def ucf_test_groups(groups: int) -> list[range]:
    """Groups held out by splits 1-3: consecutive blocks of ``round(0.28 * groups)``."""
    if groups < 3:
        raise ValueError(f"UCF101 layout needs at least 3 groups per class, got {groups}")
    block = max(1, round(0.28 * groups))
    return [range(k * block + 1, (k + 1) * block + 1) for k in range(3)]


def ucf_clips_per_group(seed: int, class_index: int, videos: int, groups: int) -> list[int]:
    """Spread ``videos`` clips over ``groups`` as evenly as possible (extras at random groups)."""
    if videos < groups:
        raise ValueError(f"UCF101 layout: {videos} videos per class cannot fill {groups} groups")
    counts = [videos // groups] * groups
    rng = np.random.default_rng([seed, _STREAM[UCF], class_index, 0])
    for g in rng.choice(groups, size=videos % groups, replace=False):
        counts[int(g)] += 1
    return counts


_SHARED_SCENES = 1000  # scene-seed marker: a scene of the pool every class shares
HMDB_SCENE_POOL = 24


def ucf_scene_seed(seed: int, group: int) -> tuple[int, ...]:
    """Group ``g`` of *every* class is filmed in scene ``g``: the scene (as in UCF101, shared by
    the clips of a group) names the group, never the class."""
    return (seed, _STREAM[UCF], _SHARED_SCENES, group)


def plan_ucf(seed: int, shape: Shape, videos_per_class: int, groups: int) -> list[VideoSpec]:
    specs = []
    for ci, motion in enumerate(MOTIONS):
        name = motion.ucf_name
        for g, clips in enumerate(ucf_clips_per_group(seed, ci, videos_per_class, groups), start=1):
            for c in range(1, clips + 1):
                specs.append(
                    VideoSpec(
                        relpath=f"{UCF}/UCF-101/{name}/v_{name}_g{g:02d}_c{c:02d}.avi",
                        dataset=UCF,
                        motion=motion.key,
                        label=name,
                        scene_seed=ucf_scene_seed(seed, g),
                        clip_seed=(seed, _STREAM[UCF], ci, g, c),
                        height=shape.height,
                        width=shape.width,
                        frames=shape.frames,
                        codec="mpeg4",
                        container="avi",
                        profile=UCF,
                    )
                )
    return specs


def write_ucf_index(out_dir: Path, specs: Sequence[VideoSpec], groups: int) -> None:
    """classInd.txt, trainlist0{1,2,3}.txt, testlist0{1,2,3}.txt with CRLF endings."""
    root = out_dir / UCF / "ucfTrainTestlist"
    names = sorted({s.label for s in specs})
    class_id = {n: i for i, n in enumerate(names, start=1)}
    atomic_write_text(root / "classInd.txt", "".join(f"{class_id[n]} {n}\r\n" for n in names))
    entries = sorted((s.relpath.split("/", 2)[2], s.label) for s in specs)  # "<Class>/v_....avi"
    for k, held_out in enumerate(ucf_test_groups(groups), start=1):
        train, test = [], []
        for rel, label in entries:
            group = int(rel.rsplit("_g", 1)[1][:2])
            if group in held_out:
                test.append(f"{rel}\r\n")
            else:
                train.append(f"{rel} {class_id[label]}\r\n")
        atomic_write_text(root / f"trainlist0{k}.txt", "".join(train))
        atomic_write_text(root / f"testlist0{k}.txt", "".join(test))


# --------------------------------------------------------------------------- HMDB51

_ADJECTIVES = (
    "Amazing",
    "Backyard",
    "Best",
    "Crazy",
    "Funny",
    "Lazy",
    "Old",
    "Sunday",
    "Summer",
    "Super",
    "Weekend",
    "Winter",
    "Little",
    "Happy",
    "Rainy",
    "Quick",
)
_NOUNS = (
    "clip",
    "video",
    "fun",
    "test",
    "scene",
    "moment",
    "trick",
    "day",
    "show",
    "practice",
    "session",
    "try",
    "ball",
    "toy",
)
# Real HMDB titles contain ( ) ! # & ' -- adapters and shell commands must survive them.
_ODD_TEMPLATES = ("{A}_{b}!_(#{n})_&_friend's", "{A}_{b}_(#{n})", "{A}'s_{b}_{n}!!", "#{n}_{A}_&_{b}", "({A})_{b}_{n}!")
_PLAIN_TEMPLATES = ("{A}_{b}_{n}", "{A}_{b}_{c}_{n}", "My_{b}_{n}")


def _source_title(rng: np.random.Generator, n: int, odd: bool) -> str:
    templates = _ODD_TEMPLATES if odd else _PLAIN_TEMPLATES
    t = templates[int(rng.integers(len(templates)))]
    a = _ADJECTIVES[int(rng.integers(len(_ADJECTIVES)))]
    b, c = (_NOUNS[int(i)] for i in rng.choice(len(_NOUNS), 2, replace=False))
    return t.format(A=a, b=b, c=c, n=n)


@dataclass(frozen=True)
class HmdbSource:
    """One source video of an HMDB class: a scene, its tags and its clip names."""

    title: str
    body: str
    camera: str
    people: str
    view: str
    quality: str
    clips: int

    def clip_name(self, class_name: str, clip: int) -> str:
        return (
            f"{self.title}_{class_name}_{self.body}_{self.camera}_{self.people}_{self.view}_{self.quality}_{clip}.avi"
        )


def hmdb_sources(seed: int, class_index: int, videos: int) -> list[HmdbSource]:
    """Split a class's ``videos`` clips into source videos of 1-3 clips with HMDB tags."""
    if videos < 2:
        raise ValueError(f"HMDB51 layout needs at least 2 videos per class, got {videos}")
    rng = np.random.default_rng([seed, _STREAM[HMDB], class_index, 0])
    sizes: list[int] = []
    while sum(sizes) < videos:
        remaining = videos - sum(sizes)
        cap = min(3, remaining if len(sizes) else remaining - 1)  # at least two sources
        sizes.append(int(rng.integers(1, max(cap, 1) + 1)))
    sources = []
    for i, clips in enumerate(sizes):
        odd = i == 0 or rng.random() < 0.25  # every class has at least one awkward title
        sources.append(
            HmdbSource(
                title=_source_title(rng, i + 1, odd),
                body=str(rng.choice(["f", "h", "u", "l"])),
                camera="cm" if rng.random() < 0.4 else "nm",
                people=str(rng.choice(["np1", "np2", "np3"], p=[0.65, 0.25, 0.1])),
                view=str(rng.choice(["fr", "ba", "le", "ri"])),
                quality=str(rng.choice(["bad", "med", "goo"], p=[0.2, 0.5, 0.3])),
                clips=clips,
            )
        )
    return sources


def hmdb_scene_seed(seed: int, class_index: int, source: int) -> tuple[int, ...]:
    """A source video's scene: one of `HMDB_SCENE_POOL` scenes that every class draws from."""
    pick = int(np.random.default_rng([seed, _STREAM[HMDB], class_index, source, 55]).integers(HMDB_SCENE_POOL))
    return (seed, _STREAM[HMDB], _SHARED_SCENES, pick)


def plan_hmdb(seed: int, shape: Shape, videos_per_class: int) -> list[VideoSpec]:
    specs = []
    for ci, motion in enumerate(MOTIONS):
        for si, src in enumerate(hmdb_sources(seed, ci, videos_per_class)):
            for clip in range(src.clips):
                specs.append(
                    VideoSpec(
                        relpath=f"{HMDB}/videos/{motion.hmdb_name}/{src.clip_name(motion.hmdb_name, clip)}",
                        dataset=HMDB,
                        motion=motion.key,
                        label=motion.hmdb_name,
                        scene_seed=hmdb_scene_seed(seed, ci, si),
                        clip_seed=(seed, _STREAM[HMDB], ci, si + 1, clip),
                        height=shape.height,
                        width=shape.width,
                        frames=shape.frames,
                        codec="mpeg4",
                        container="avi",
                        profile=HMDB,
                        camera_motion=src.camera == "cm",
                        distractors=int(src.people[2]) - 1,
                        quality=src.quality,
                    )
                )
    return specs


def hmdb_split_tags(seed: int, class_index: int, sources: Sequence[HmdbSource], split: int) -> list[int]:
    """Tag per source for one split: 2 test (~30 %), 0 unused (~8 %), 1 train (the rest).

    Whole sources are assigned, so clips cut from one video never straddle train and test.
    """
    total = sum(s.clips for s in sources)
    unused_target = round(0.08 * total)
    test_target = max(1, round(0.3 * (total - unused_target)))
    rng = np.random.default_rng([seed, _STREAM[HMDB], class_index, 100 + split])
    tags = [1] * len(sources)
    test = unused = 0
    order = [int(i) for i in rng.permutation(len(sources))]
    for pos, i in enumerate(order):
        left_after = len(order) - pos - 1
        if test < test_target and left_after >= 1:
            tags[i], test = 2, test + sources[i].clips
        elif unused < unused_target and left_after >= 1 and unused + sources[i].clips <= unused_target + 1:
            tags[i], unused = 0, unused + sources[i].clips
    return tags


def write_hmdb_index(out_dir: Path, seed: int, videos_per_class: int) -> None:
    root = out_dir / HMDB / "testTrainMulti_7030_splits"
    for ci, motion in enumerate(MOTIONS):
        sources = hmdb_sources(seed, ci, videos_per_class)
        for split in (1, 2, 3):
            tags = hmdb_split_tags(seed, ci, sources, split)
            lines = sorted(
                f"{src.clip_name(motion.hmdb_name, c)} {tag} \n"
                for src, tag in zip(sources, tags)
                for c in range(src.clips)
            )
            atomic_write_text(root / f"{motion.hmdb_name}_test_split{split}.txt", "".join(lines))


# --------------------------------------------------------------------------- Kinetics


def kinetics_rows(seed: int, pool_size: int, frames: int) -> list[tuple[str, str, int, int, int]]:
    """(label, youtube_id, time_start, time_end, motion index) per pool clip, classes balanced."""
    rng = np.random.default_rng([seed, _STREAM[KINETICS], 0])
    classes = rng.permutation(np.arange(pool_size) % len(MOTIONS))
    duration = math.ceil(frames / FPS)
    rows, seen = [], set()
    for i in range(pool_size):
        while True:
            yid = "".join(_YOUTUBE_ALPHABET[int(j)] for j in rng.integers(len(_YOUTUBE_ALPHABET), size=11))
            if yid not in seen:
                seen.add(yid)
                break
        start = int(rng.integers(0, 290))
        ci = int(classes[i])
        rows.append((MOTIONS[ci].label, yid, start, start + duration, ci))
    return rows


def plan_kinetics(seed: int, shape: Shape, pool_size: int, codec: str) -> list[VideoSpec]:
    container = "mp4"
    specs = []
    for i, (label, yid, start, end, ci) in enumerate(kinetics_rows(seed, pool_size, shape.frames)):
        specs.append(
            VideoSpec(
                relpath=f"{KINETICS}/train/{yid}_{start:06d}_{end:06d}.mp4",
                dataset=KINETICS,
                motion=MOTIONS[ci].key,
                label=label,
                scene_seed=(seed, _STREAM[KINETICS], 1, i),
                clip_seed=(seed, _STREAM[KINETICS], 2, i),
                height=shape.height,
                width=shape.width,
                frames=shape.frames,
                codec=codec,
                container=container,
                profile=KINETICS,
            )
        )
    return specs


def write_kinetics_index(out_dir: Path, seed: int, pool_size: int, frames: int) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
    rows = sorted(kinetics_rows(seed, pool_size, frames), key=lambda r: (r[0], r[1]))
    writer.writerows([label, yid, start, end, "train"] for label, yid, start, end, _ in rows)
    atomic_write_text(out_dir / KINETICS / "annotations" / "train.csv", buf.getvalue())


# --------------------------------------------------------------------------- ASLAN


@dataclass(frozen=True)
class AslanAction:
    """An ASLAN action: a motion at a tempo; ``id`` is 1-based as in View2.mat."""

    id: int
    motion: str
    tempo: float
    split: int  # 1-based View-2 split that owns it

    @property
    def name(self) -> str:
        return f"{self.motion}@{self.tempo:g}x"


def aslan_actions(tempos: Sequence[float]) -> list[AslanAction]:
    """Motion x tempo actions, each owned by exactly one of the 10 splits."""
    if len(tempos) < 2:
        raise ValueError("ASLAN needs at least 2 tempos so every split holds 2+ actions")
    if len(MOTIONS) != ASLAN_SPLITS:
        raise AssertionError("the split assignment below assumes one motion per split and tempo")
    actions = []
    for j, tempo in enumerate(tempos):
        for i in range(ASLAN_SPLITS):
            motion = MOTIONS[(i + 3 * j) % len(MOTIONS)].key
            actions.append(AslanAction(len(actions) + 1, motion, float(tempo), split=i + 1))
    return actions


def aslan_videos(seed: int, actions: Sequence[AslanAction], per_action: int) -> list[tuple[int, AslanAction]]:
    """(video id, action) for every ASLAN video; ids shuffled so they do not reveal the action."""
    if per_action < 2:
        raise ValueError(f"ASLAN needs at least 2 videos per action to form same pairs, got {per_action}")
    owners = [a for a in actions for _ in range(per_action)]
    order = np.random.default_rng([seed, _STREAM[ASLAN], 0]).permutation(len(owners))
    return [(vid, owners[int(k)]) for vid, k in enumerate(order, start=1)]


def plan_aslan(seed: int, shape: Shape, tempos: Sequence[float], per_action: int) -> list[VideoSpec]:
    specs = []
    for vid, action in aslan_videos(seed, aslan_actions(tempos), per_action):
        specs.append(
            VideoSpec(
                relpath=f"{ASLAN}/videos/{vid:04d}.avi",
                dataset=ASLAN,
                motion=action.motion,
                label=action.name,
                scene_seed=(seed, _STREAM[ASLAN], 1, vid),
                clip_seed=(seed, _STREAM[ASLAN], 2, vid),
                height=shape.height,
                width=shape.width,
                frames=shape.frames,
                codec="mpeg4",
                container="avi",
                tempo=action.tempo,
                profile=ASLAN,
            )
        )
    return specs


def aslan_pairs(seed: int, tempos: Sequence[float], per_action: int, pairs_per_split: int) -> np.ndarray:
    """``action_splits_pairs`` (pairs, 5, 10): id1, id2, same, action1, action2 per split."""
    if pairs_per_split < 2 or pairs_per_split % 2:
        raise ValueError(f"ASLAN pairs per split must be even and >= 2, got {pairs_per_split}")
    actions = aslan_actions(tempos)
    videos = aslan_videos(seed, actions, per_action)
    half = pairs_per_split // 2
    out = np.zeros((pairs_per_split, 5, ASLAN_SPLITS), dtype=np.float64)  # MATLAB doubles
    for split in range(1, ASLAN_SPLITS + 1):
        mine = [(vid, a) for vid, a in videos if a.split == split]
        same = [(p, q) for i, p in enumerate(mine) for q in mine[i + 1 :] if p[1].id == q[1].id]
        differ = [(p, q) for i, p in enumerate(mine) for q in mine[i + 1 :] if p[1].id != q[1].id]
        if len(same) < half or len(differ) < half:
            raise ValueError(
                f"ASLAN split {split}: {len(same)} same / {len(differ)} not-same pairs available, "
                f"{half} of each needed; raise aslan_videos_per_class or lower aslan_pairs_per_split"
            )
        rng = np.random.default_rng([seed, _STREAM[ASLAN], 100 + split])
        chosen = [same[int(i)] for i in rng.choice(len(same), half, replace=False)] + [
            differ[int(i)] for i in rng.choice(len(differ), half, replace=False)
        ]
        for row, k in enumerate(rng.permutation(len(chosen))):
            (v1, a1), (v2, a2) = chosen[int(k)]
            if rng.random() < 0.5:
                (v1, a1), (v2, a2) = (v2, a2), (v1, a1)
            out[row, :, split - 1] = (v1, v2, int(a1.id == a2.id), a1.id, a2.id)
    return out


def write_aslan_index(out_dir: Path, seed: int, tempos: Sequence[float], per_action: int, pairs_per_split: int) -> None:
    pairs = aslan_pairs(seed, tempos, per_action, pairs_per_split)
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"action_splits_pairs": pairs})
    data = bytearray(buf.getvalue())
    # the 116-byte MAT v5 header text holds a creation time; a fixed text keeps the file reproducible
    data[:116] = b"MATLAB 5.0 MAT-file, written by vssl synth (ASLAN View-2 layout)".ljust(116)
    atomic_write_bytes(out_dir / ASLAN / "View2.mat", bytes(data))
