"""Dataset adapters against tiny fixture trees written in the official formats.

Adapters never decode video, so the fixture videos are empty files.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io

from vssl.cli import main as vssl_main
from vssl.data.datasets import (
    DATASETS,
    SplitFileError,
    load_aslan_pairs,
    load_manifest,
    read_manifest,
)
from vssl.data.datasets.kinetics import class_key, folder_name

REPO = Path(__file__).resolve().parents[2]


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write(path: Path, text: str, newline: str = "\n") -> Path:
    """Write ``text`` with the given line ending, byte for byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of ``path`` containing ``needle``."""
    for number, line in enumerate(path.read_bytes().decode().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture()
def adapter_warnings(caplog):
    """The adapters' warning messages so far (a callable).

    The handler sits on the adapters' own logger: a command run earlier in this
    process may have stopped ``vssl`` from propagating to the root logger.
    """
    logger = logging.getLogger("vssl.data.datasets")
    logger.addHandler(caplog.handler)
    try:  # a record that also propagates to the root logger reaches the handler twice: once here
        yield lambda: [r.getMessage() for r in dict.fromkeys(caplog.records) if r.levelno == logging.WARNING]
    finally:
        logger.removeHandler(caplog.handler)


def test_dataset_names():
    assert DATASETS == ("ucf101", "hmdb51", "kinetics", "mit", "aslan", "folder")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_manifest("ucf-101", ".")


# --------------------------------------------------------------------- UCF101

UCF_VIDEOS = [
    "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
    "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi",
    "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi",
    "Archery/v_Archery_g01_c01.avi",
    "Archery/v_Archery_g08_c01.avi",
    "Archery/v_Archery_g25_c07.avi",  # on disk, in no list -> unused
    "HandstandPushups/v_HandStandPushups_g01_c01.avi",
    "HandstandPushups/v_HandStandPushups_g08_c01.avi",
]


def make_ucf(base: Path) -> tuple[Path, Path]:
    root, lists = base / "UCF-101", base / "ucfTrainTestlist"
    for video in UCF_VIDEOS:
        touch(root / video)
    write(lists / "classInd.txt", "1 ApplyEyeMakeup\n2 Archery\n3 HandstandPushups\n", "\r\n")
    # Split 1: g08 train, g01 test. The HandstandPushups train line spells the
    # file "HandstandPushups" (the folder's case), the test line as on disk.
    write(
        lists / "trainlist01.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1 \n"
        "\n"
        "Archery/v_Archery_g08_c01.avi 2\n"
        "HandstandPushups/v_HandstandPushups_g08_c01.avi 3  \n",
        "\r\n",
    )
    write(
        lists / "testlist01.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n"
        "Archery/v_Archery_g01_c01.avi 2\n"  # a test line carrying its label
        "HandstandPushups/v_HandStandPushups_g01_c01.avi   \n",
        "\r\n",
    )
    # Split 2: the other way round, plus g02 in train; LF endings.
    write(
        lists / "trainlist02.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1\n"
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi 1\n"
        "Archery/v_Archery_g01_c01.avi 2\n"
        "HandstandPushups/v_HandStandPushups_g01_c01.avi 3\n",
    )
    write(
        lists / "testlist02.txt",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi\n"
        "Archery/v_Archery_g08_c01.avi\n"
        "HandstandPushups/v_HandStandPushups_g08_c01.avi\n",
    )
    # Split 3: a Windows-made list with backslashes.
    write(lists / "trainlist03.txt", "Archery\\v_Archery_g08_c01.avi 2\n", "\r\n")
    write(lists / "testlist03.txt", "Archery\\v_Archery_g01_c01.avi\n", "\r\n")
    return root, lists


def test_ucf101_manifest(tmp_path):
    root, _ = make_ucf(tmp_path)
    df = load_manifest("ucf101", root)
    assert list(df.columns) == ["video", "label", "class", "split1", "split2", "split3"]
    assert str(df["label"].dtype) == "Int64"
    assert df["video"].tolist() == sorted(UCF_VIDEOS)
    rows = df.set_index("video")
    # The quirk: the list says v_HandstandPushups, the disk has v_HandStandPushups.
    hs = rows.loc["HandstandPushups/v_HandStandPushups_g08_c01.avi"]
    assert (hs["label"], hs["class"], hs["split1"], hs["split2"], hs["split3"]) == (
        2,
        "HandstandPushups",
        "train",
        "test",
        "unused",
    )
    assert tuple(rows.loc["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", ["label", "split1", "split2"]]) == (
        0,
        "test",
        "train",
    )
    assert tuple(rows.loc["ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi", ["split1", "split2", "split3"]]) == (
        "unused",
        "train",
        "unused",
    )
    assert tuple(rows.loc["Archery/v_Archery_g01_c01.avi", ["split1", "split3"]]) == ("test", "test")
    unused = rows.loc["Archery/v_Archery_g25_c07.avi"]
    assert (unused["label"], unused["class"]) == (1, "Archery")
    assert {unused["split1"], unused["split2"], unused["split3"]} == {"unused"}
    assert df.attrs["missing"] == ()


def test_ucf101_labels_come_from_the_folder_not_the_file_name(tmp_path):
    root, lists = make_ucf(tmp_path)
    touch(root / "Archery/v_ApplyEyeMakeup_g30_c01.avi")  # misleading file name
    write(lists / "trainlist03.txt", "Archery/v_ApplyEyeMakeup_g30_c01.avi 2\n")
    rows = load_manifest("ucf101", root).set_index("video")
    assert tuple(rows.loc["Archery/v_ApplyEyeMakeup_g30_c01.avi", ["label", "class", "split3"]]) == (
        1,
        "Archery",
        "train",
    )


def test_ucf101_default_split_dir_inside_root(tmp_path):
    root, lists = make_ucf(tmp_path)
    lists.rename(root / "ucfTrainTestlist")
    df = load_manifest("ucf101", root)
    assert len(df) == len(UCF_VIDEOS)  # the list folder itself holds no videos


def test_ucf101_missing_video_names_file_and_line(tmp_path):
    root, lists = make_ucf(tmp_path)
    (root / "Archery/v_Archery_g08_c01.avi").unlink()
    with pytest.raises(SplitFileError) as info:
        load_manifest("ucf101", root)
    train = lists / "trainlist01.txt"
    assert f"{train}:{line_of(train, 'v_Archery_g08')}:" in str(info.value)
    assert "3 listed videos are missing" in str(info.value)  # also in testlist02, trainlist03

    df = load_manifest("ucf101", root, missing="skip")
    assert "Archery/v_Archery_g08_c01.avi" not in set(df["video"])
    assert len(df.attrs["missing"]) == 3
    assert df.attrs["missing"][0].startswith(f"{train}:{line_of(train, 'v_Archery_g08')}:")


@pytest.mark.parametrize(
    ("list_name", "line_text", "message"),
    [
        ("trainlist01.txt", "Archery/v_Archery_g08_c01.avi 1", "disagrees with classInd.txt"),
        ("trainlist01.txt", "Archery/v_Archery_g08_c01.avi", "expected"),
        ("trainlist01.txt", "Archery/v_Archery_g08_c01.avi 2 extra", "expected"),
        ("trainlist01.txt", "Archery/v_Archery_g08_c01.avi two", "not an integer"),
        ("trainlist01.txt", "Bowling/v_Bowling_g01_c01.avi 2", "unknown class 'Bowling'"),
        ("trainlist01.txt", "v_Archery_g08_c01.avi 2", "'<Class>/<file>' path"),
        ("testlist01.txt", "Archery/v_Archery_g08_c01.avi 3", "disagrees with classInd.txt"),
        ("testlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "already listed for split 1"),
    ],
)
def test_ucf101_bad_line_names_file_and_line(tmp_path, list_name, line_text, message):
    root, lists = make_ucf(tmp_path)
    path = lists / list_name
    text = path.read_bytes().decode()
    write(path, text.replace("\r\n", "\n") + "\n" + line_text + "\n", "\r\n")
    bad_line = len(text.replace("\r\n", "\n").splitlines()) + 2
    with pytest.raises(SplitFileError, match=message) as info:
        load_manifest("ucf101", root)
    assert str(info.value).startswith(f"{path}:{bad_line}:")
    assert (info.value.path, info.value.line) == (path, bad_line)


def test_ucf101_bad_class_index(tmp_path):
    root, lists = make_ucf(tmp_path)
    write(lists / "classInd.txt", "1 ApplyEyeMakeup\nX Archery\n")
    with pytest.raises(SplitFileError, match=r"classInd.txt:2: class id 'X' is not an integer"):
        load_manifest("ucf101", root)
    write(lists / "classInd.txt", "1 ApplyEyeMakeup\n3 Archery\n")
    with pytest.raises(SplitFileError, match=r"ids must be 1..2; id 2 is missing"):
        load_manifest("ucf101", root)


def test_ucf101_wrong_paths_are_named(tmp_path):
    root, lists = make_ucf(tmp_path)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        load_manifest("ucf101", tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "lists")):
        load_manifest("ucf101", root, tmp_path / "lists")
    (lists / "testlist02.txt").unlink()
    with pytest.raises(FileNotFoundError, match="split 2 has no test list"):
        load_manifest("ucf101", root)


def test_split_file_error_pickles():
    error = SplitFileError("/x/list.txt", "bad", line=3)
    clone = pickle.loads(pickle.dumps(error))
    assert (str(clone), clone.line, clone.path) == (str(error), 3, Path("/x/list.txt"))


# --------------------------------------------------------------------- HMDB51

# Real HMDB names carry ( ) ! # & ' and brackets; "[HD]" as a glob would match
# the single letter H or D, so the decoy below would be picked by a glob.
SPECIAL = "(Bollywood)_Don't_stop_#1!_&_more_[HD]_pick_f_cm_np1_fr_goo_0.avi"
DECOY = "(Bollywood)_Don't_stop_#1!_&_more_H_pick_f_cm_np1_fr_goo_0.avi"
HMDB_SPLITS = {
    "brush_hair": {
        "April_09_brush_hair_u_nm_np1_ba_goo_0.avi": "112",
        "Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi": "221",
    },
    "pick": {SPECIAL: "120", "Pirates_[English]_pick_u_cm_np1_le_goo_1.avi": "012"},
}


def make_hmdb(base: Path) -> tuple[Path, Path]:
    root, splits = base / "videos", base / "testTrainMulti_7030_splits"
    for class_name, videos in HMDB_SPLITS.items():
        for name in videos:
            touch(root / class_name / name)
        for k in (1, 2, 3):
            # The release ends each line with a space.
            write(
                splits / f"{class_name}_test_split{k}.txt",
                "".join(f"{name} {tags[k - 1]} \n" for name, tags in videos.items()),
                "\r\n" if k == 2 else "\n",
            )
    touch(root / "pick" / DECOY)
    return root, splits


def test_hmdb51_manifest_with_special_characters(tmp_path):
    root, _ = make_hmdb(tmp_path)
    df = load_manifest("hmdb51", root)
    assert list(df.columns) == ["video", "label", "class", "split1", "split2", "split3"]
    rows = df.set_index("video")
    special = rows.loc[f"pick/{SPECIAL}"]
    assert tuple(special) == (1, "pick", "train", "test", "unused")
    assert tuple(rows.loc["pick/Pirates_[English]_pick_u_cm_np1_le_goo_1.avi"]) == (
        1,
        "pick",
        "unused",
        "train",
        "test",
    )
    assert tuple(rows.loc["brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi"]) == (
        0,
        "brush_hair",
        "train",
        "train",
        "test",
    )
    decoy = rows.loc[f"pick/{DECOY}"]  # on disk, in no split file
    assert tuple(decoy) == (1, "pick", "unused", "unused", "unused")
    assert df["video"].tolist() == sorted(df["video"])


def test_hmdb51_errors_name_file_and_line(tmp_path):
    root, splits = make_hmdb(tmp_path)
    path = splits / "pick_test_split2.txt"
    write(path, f"{SPECIAL} 2 \nPirates_[English]_pick_u_cm_np1_le_goo_1.avi 3\n")
    with pytest.raises(SplitFileError, match=r"tag '3' must be") as info:
        load_manifest("hmdb51", root)
    assert str(info.value).startswith(f"{path}:2:")

    write(path, f"{SPECIAL} 2 \n\nnot_there_[x].avi 1\n")
    with pytest.raises(SplitFileError, match=r"not_there_\[x\].avi") as info:
        load_manifest("hmdb51", root)
    assert str(info.value).startswith(f"{path}:3:")
    df = load_manifest("hmdb51", root, missing="skip")
    assert len(df.attrs["missing"]) == 1

    write(path, f"{SPECIAL}\n")
    with pytest.raises(SplitFileError, match="expected '<name>.avi <tag>'"):
        load_manifest("hmdb51", root)

    (splits / "pick_test_split3.txt").unlink()
    with pytest.raises(FileNotFoundError, match="pick_test_split3.txt"):
        load_manifest("hmdb51", root)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "missing_root")):
        load_manifest("hmdb51", tmp_path / "missing_root", splits)


# ------------------------------------------------------------------- Kinetics

FOOTBALL = "passing American football (in game)"
KINETICS_TRAIN = [  # label, youtube_id, start, end
    ("abseiling", "--07WQ2iBlw", 1, 11),
    ("abseiling", "-3B32lodo2M", 59, 69),
    (FOOTBALL, "_4a4f_yqgyI", 0, 10),
    ("massaging person's head", "a'b(c)d&e", 120, 130),
]
KINETICS_VAL = [("abseiling", "0wR5jVB-WPk", 417, 427), (FOOTBALL, "zz9_Wq-XnHo", 3, 13)]
KINETICS_TEST = [("massaging person's head", "T3sT-ViD3o0", 30, 40)]
# Three downloader conventions for class folders, all matched by class_key.
FOLDERS = {
    "abseiling": "abseiling",
    FOOTBALL: "passing_American_football_-in_game-",
    "massaging person's head": "massaging person's head",
}


def stem(youtube_id: str, start: int, end: int) -> str:
    return f"{youtube_id}_{start:06d}_{end:06d}"


def csv_field(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ' ,"()') else value


def make_kinetics(
    base: Path, *, layout: str, val_name: str = "validate.csv", is_cc: bool = True, test_labels: bool = False
) -> tuple[Path, Path]:
    root, annotations = base / "kinetics", base / "kinetics" / "annotations"
    for subset, rows in (("train", KINETICS_TRAIN), ("val", KINETICS_VAL), ("test", KINETICS_TEST)):
        for label, youtube_id, start, end in rows:
            folder = FOLDERS[label] if layout == "folders" and subset != "test" else ""
            touch(root / subset / folder / f"{stem(youtube_id, start, end)}.mp4")
    cc = ",is_cc" if is_cc else ""
    write(
        annotations / "train.csv",
        "label,youtube_id,time_start,time_end,split"
        + cc
        + "\n"
        + "".join(
            f"{csv_field(label)},{y},{s},{e},train{',0' if is_cc else ''}\n" for label, y, s, e in KINETICS_TRAIN
        ),
    )
    write(
        annotations / val_name,
        "label,youtube_id,time_start,time_end,split\n"
        + "".join(f"{csv_field(label)},{y},{s},{e},val\n" for label, y, s, e in KINETICS_VAL),
        "\r\n",
    )
    if test_labels:
        test = "label,youtube_id,time_start,time_end,split\n" + "".join(
            f"{csv_field(label)},{y},{s}.0,{e}.0,test\n" for label, y, s, e in KINETICS_TEST
        )
    else:
        test = "youtube_id,time_start,time_end,split\n" + "".join(f"{y},{s},{e},test\n" for _, y, s, e in KINETICS_TEST)
    write(annotations / "test.csv", test)
    return root, annotations


@pytest.mark.parametrize("layout", ["flat", "folders"])
@pytest.mark.parametrize(
    ("val_name", "is_cc", "test_labels"), [("validate.csv", True, False), ("val.csv", False, True)]
)
def test_kinetics_manifest(tmp_path, layout, val_name, is_cc, test_labels):
    root, _ = make_kinetics(tmp_path, layout=layout, val_name=val_name, is_cc=is_cc, test_labels=test_labels)
    touch(root / "train" / "orphan_000000_000010.mp4")  # on disk, in no CSV
    df = load_manifest("kinetics", root)
    assert list(df.columns) == ["video", "label", "class", "split1", "subset"]
    assert df["video"].tolist() == sorted(df["video"])
    rows = df.set_index("video")
    classes = sorted({label for label, *_ in KINETICS_TRAIN})

    def path(subset, label, youtube_id, start, end):
        folder = f"{FOLDERS[label]}/" if layout == "folders" and subset != "test" else ""
        return f"{subset}/{folder}{stem(youtube_id, start, end)}.mp4"

    for subset, split, listed in (("train", "train", KINETICS_TRAIN), ("val", "test", KINETICS_VAL)):
        for label, *rest in listed:
            row = rows.loc[path(subset, label, *rest)]
            assert tuple(row) == (classes.index(label), label, split, subset)
    test_row = rows.loc[path("test", *KINETICS_TEST[0])]
    assert test_row["split1"] == "unused"
    if test_labels:
        assert (test_row["label"], test_row["class"]) == (1, "massaging person's head")
    else:
        assert pd.isna(test_row["label"]) and test_row["class"] == ""
    orphan = rows.loc["train/orphan_000000_000010.mp4"]
    assert orphan["split1"] == "unused" and pd.isna(orphan["label"])
    assert len(df) == len(KINETICS_TRAIN) + len(KINETICS_VAL) + len(KINETICS_TEST) + 1


def test_kinetics_class_folder_normalisation():
    assert folder_name(FOOTBALL) == "passing_American_football_in_game"
    assert folder_name("massaging person's head") == "massaging_persons_head"
    keys = {
        class_key(FOOTBALL),
        class_key("passing_American_football_in_game"),
        class_key("passing_American_football_-in_game-"),
        class_key('"passing American football (in game)"'),
    }
    assert keys == {"passing_american_football_in_game"}
    assert class_key("massaging_person's_head") == class_key("massaging person's head")


def test_kinetics_missing_videos_suggest_skip(tmp_path):
    root, annotations = make_kinetics(tmp_path, layout="folders")
    label, youtube_id, start, end = KINETICS_TRAIN[2]
    (root / "train" / FOLDERS[label] / f"{stem(youtube_id, start, end)}.mp4").unlink()
    with pytest.raises(SplitFileError, match="--skip-missing") as info:
        load_manifest("kinetics", root)
    assert str(info.value).startswith(f"{annotations / 'train.csv'}:4:")
    df = load_manifest("kinetics", root, missing="skip")
    assert len(df) == len(KINETICS_TRAIN) + len(KINETICS_VAL) + len(KINETICS_TEST) - 1
    assert df.attrs["missing"][0].startswith(f"{annotations / 'train.csv'}:4:")


def test_kinetics_absent_subset_directory(tmp_path):
    root, annotations = make_kinetics(tmp_path, layout="flat")
    for video in (root / "val").iterdir():
        video.unlink()
    (root / "val").rmdir()
    with pytest.raises(SplitFileError, match=r"directory does not exist\) \(2 listed videos are missing in total\)"):
        load_manifest("kinetics", root)
    df = load_manifest("kinetics", root, missing="skip")
    assert set(df["subset"]) == {"train", "test"} and len(df.attrs["missing"]) == 2


def test_kinetics_errors(tmp_path):
    root, annotations = make_kinetics(tmp_path, layout="folders")
    label, youtube_id, start, end = KINETICS_VAL[0]
    wrong = root / "val" / FOLDERS[FOOTBALL]
    (root / "val" / label / f"{stem(youtube_id, start, end)}.mp4").rename(wrong / f"{stem(youtube_id, start, end)}.mp4")
    with pytest.raises(SplitFileError, match="do not match label 'abseiling'") as info:
        load_manifest("kinetics", root)
    assert str(info.value).startswith(f"{annotations / 'validate.csv'}:2:")

    write(annotations / "train.csv", "label,ytid,time_start,time_end,split\nabseiling,x,1,11,train\n")
    with pytest.raises(SplitFileError, match=r"train.csv:1: header lacks column\(s\) \['youtube_id'\]"):
        load_manifest("kinetics", root)
    write(annotations / "train.csv", "label,youtube_id,time_start,time_end,split\nabseiling,x,1.5,11,train\n")
    with pytest.raises(SplitFileError, match=r"train.csv:2: time_start '1.5' is not a whole number"):
        load_manifest("kinetics", root)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "ann")):
        load_manifest("kinetics", root, tmp_path / "ann")


# ------------------------------------------------------- Moments in Time


def make_mit(base: Path) -> Path:
    root = base / "Moments_in_Time_Raw"
    write(root / "moments_categories.txt", "adult+female+singing,0\nbathing,1\nyawning,2\n")
    write(
        root / "trainingSet.csv",
        "yawning/-0oOBzUjj1w_56.mp4,yawning,3,0\nbathing/getty-bath-video-id1234_2.mp4,bathing,2,1\n",
    )
    write(root / "validationSet.csv", "adult+female+singing/flickr-0-1-2-3_1.mp4,adult+female+singing,3,0\n", "\r\n")
    for video in (
        "training/yawning/-0oOBzUjj1w_56.mp4",
        "training/bathing/getty-bath-video-id1234_2.mp4",
        "validation/adult+female+singing/flickr-0-1-2-3_1.mp4",
        "training/yawning/extra_9.mp4",
    ):
        touch(root / video)
    return root


def test_mit_manifest(tmp_path):
    root = make_mit(tmp_path)
    df = load_manifest("mit", root)
    assert list(df.columns) == ["video", "label", "class", "split1", "subset"]
    assert [tuple(r) for r in df.itertuples(index=False)] == [
        ("training/bathing/getty-bath-video-id1234_2.mp4", 1, "bathing", "train", "training"),
        ("training/yawning/-0oOBzUjj1w_56.mp4", 2, "yawning", "train", "training"),
        ("training/yawning/extra_9.mp4", 2, "yawning", "unused", "training"),
        ("validation/adult+female+singing/flickr-0-1-2-3_1.mp4", 0, "adult+female+singing", "test", "validation"),
    ]


def test_mit_errors(tmp_path):
    root = make_mit(tmp_path)
    write(root / "trainingSet.csv", "yawning/-0oOBzUjj1w_56.mp4,yawning,3,0\nbathing/x.mp4,yawning,3,0\n")
    with pytest.raises(SplitFileError, match="trainingSet.csv:2: path folder 'bathing' disagrees"):
        load_manifest("mit", root)
    write(root / "trainingSet.csv", "yawning/-0oOBzUjj1w_56.mp4,sneezing,3,0\n")
    with pytest.raises(SplitFileError, match="trainingSet.csv:1: unknown category 'sneezing'"):
        load_manifest("mit", root)
    write(root / "trainingSet.csv", "yawning/gone.mp4,yawning,3,0\n")
    with pytest.raises(SplitFileError, match="trainingSet.csv:1: video 'yawning/gone.mp4' not found"):
        load_manifest("mit", root)
    write(root / "moments_categories.txt", "bathing,1\nyawning,2\n")
    with pytest.raises(SplitFileError, match="ids must be exactly 0..1"):
        load_manifest("mit", root)


# ----------------------------------------------------------------------- ASLAN


def aslan_array() -> np.ndarray:
    """pairs x 5 x splits = 3 x 5 x 2; ids 1..8, 9 and 10 on disk but unused."""
    split1 = [[1, 2, 1, 7, 7], [3, 4, 0, 7, 12], [1, 3, 1, 7, 7]]
    split2 = [[5, 6, 1, 20, 20], [7, 8, 0, 20, 33], [6, 8, 0, 20, 33]]
    return np.stack([np.array(split1), np.array(split2)], axis=2).astype(np.float64)


def save_v73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """What MATLAB's ``save -v7.3`` writes: HDF5 with a 512-byte MATLAB header
    block and column-major arrays, i.e. each array's axes reversed."""
    with h5py.File(path, "w", userblock_size=512) as handle:
        for name, array in variables.items():
            dataset = handle.create_dataset(name, data=np.ascontiguousarray(array.T))
            dataset.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    with open(path, "r+b") as handle:
        handle.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")


def make_aslan(base: Path, fmt: str) -> tuple[Path, Path]:
    videos = base / "aslan" / "videos"
    for video_id in range(1, 11):
        touch(videos / f"{video_id:04d}.avi")
    touch(videos / "0003.mp4")  # another copy; .avi is preferred
    mat = base / "aslan" / "View2.mat"
    if fmt == "v5":
        scipy.io.savemat(mat, {"action_splits_pairs": aslan_array(), "other": np.zeros(2)})
    else:
        save_v73(mat, {"action_splits_pairs": aslan_array()})
    return videos, mat


@pytest.mark.parametrize("fmt", ["v5", "v7.3"])
def test_aslan_pairs_and_manifest(tmp_path, fmt):
    videos, mat = make_aslan(tmp_path, fmt)
    if fmt == "v7.3":
        assert h5py.File(mat, "r")["action_splits_pairs"].shape == (2, 5, 3)  # as h5py sees it
        with pytest.raises(NotImplementedError):
            scipy.io.loadmat(mat)  # scipy refuses v7.3: the h5py path is needed
    pairs = load_aslan_pairs(mat)
    assert list(pairs.columns) == ["split", "pair", "id1", "id2", "same", "action1", "action2"]
    assert pairs.loc[(pairs.split == 2) & (pairs.pair == 3)].iloc[0].tolist() == [2, 3, 6, 8, 0, 20, 33]
    assert pairs.loc[(pairs.split == 1) & (pairs.pair == 2)].iloc[0].tolist() == [1, 2, 3, 4, 0, 7, 12]
    assert pairs["split"].tolist() == [1, 1, 1, 2, 2, 2]
    assert load_aslan_pairs(mat.parent).equals(pairs)  # the directory holding View2.mat works too

    df = load_manifest("aslan", videos)  # default: View2.mat beside the video directory
    assert list(df.columns) == ["video", "label", "class", "split", "id"]
    assert df["video"].tolist() == [f"{i:04d}.avi" for i in range(1, 9)]
    assert df["label"].tolist() == [6, 6, 6, 11, 19, 19, 19, 32]
    assert df["class"].tolist() == ["7", "7", "7", "12", "20", "20", "20", "33"]
    assert df["split"].tolist() == ["1"] * 4 + ["2"] * 4
    assert df["id"].tolist() == list(range(1, 9))


def test_aslan_single_split_and_errors(tmp_path):
    videos, mat = make_aslan(tmp_path, "v5")
    scipy.io.savemat(mat, {"action_splits_pairs": aslan_array()[:, :, 0]})  # MATLAB drops the trailing 1
    assert load_aslan_pairs(mat)["split"].unique().tolist() == [1]

    (videos / "0006.avi").unlink()
    for fmt_save in (
        lambda a: scipy.io.savemat(mat, {"action_splits_pairs": a}),
        lambda a: save_v73(mat, {"action_splits_pairs": a}),
    ):
        fmt_save(aslan_array())
        with pytest.raises(SplitFileError, match=r"View2.mat: split 2, pair 1: video id 6 \(0006.avi"):
            load_manifest("aslan", videos, mat)
    df = load_manifest("aslan", videos, mat, missing="skip")
    assert 6 not in set(df["id"]) and len(df.attrs["missing"]) == 1

    conflicting = aslan_array()
    conflicting[2, 4, 1] = 21  # id 8's action 33 -> 21 in split 2, pair 3
    scipy.io.savemat(mat, {"action_splits_pairs": conflicting})
    with pytest.raises(SplitFileError, match=r"split 2, pair 3: video 8 has action 21 here but 33 at split 2, pair 2"):
        load_manifest("aslan", videos, mat, missing="skip")
    bad_same = aslan_array()
    bad_same[1, 2, 0] = 2
    scipy.io.savemat(mat, {"action_splits_pairs": bad_same})
    with pytest.raises(SplitFileError, match=r"split 1, pair 2: same must be 0 or 1"):
        load_aslan_pairs(mat)
    scipy.io.savemat(mat, {"pairs": aslan_array()})
    with pytest.raises(SplitFileError, match=r"no 'action_splits_pairs' array; variables: \['pairs'\]"):
        load_aslan_pairs(mat)
    scipy.io.savemat(mat, {"action_splits_pairs": np.zeros((3, 4, 2))})
    with pytest.raises(SplitFileError, match=r"pairs x 5 x splits .* got shape \(3, 4, 2\)"):
        load_aslan_pairs(mat)
    with pytest.raises(FileNotFoundError, match="View2.mat"):
        load_aslan_pairs(tmp_path)


def test_hmdb51_empty_split_file_is_a_warning(tmp_path, adapter_warnings):
    root, splits = make_hmdb(tmp_path)
    path = write(splits / "pick_test_split2.txt", "")
    df = load_manifest("hmdb51", root).set_index("video")
    assert (df.loc[df["class"] == "pick", "split2"] == "unused").all()
    assert [m for m in adapter_warnings() if str(path) in m] == [
        f"{path}: split file is empty; class 'pick' has no train or test video in split 2"
    ]


# ---------------------------------------------------------------------- folder


def test_folder_manifest(tmp_path):
    root = tmp_path / "clips"
    for name in (
        "b.mp4",
        "a/c.MKV",
        "a/deep/d.webm",
        "e.avi",
        "f.mov",
        "g.mpg",
        "notes.txt",
        "._b.mp4",
        ".cache/h.mp4",
        "[x] (1) & y's.mp4",
    ):
        touch(root / name)
    df = load_manifest("folder", root)
    assert list(df.columns) == ["video", "label", "class"]
    assert df["video"].tolist() == ["[x] (1) & y's.mp4", "a/c.MKV", "a/deep/d.webm", "b.mp4", "e.avi", "f.mov", "g.mpg"]
    assert df["label"].isna().all() and (df["class"] == "").all()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        load_manifest("folder", tmp_path / "nope")


def test_folder_unreadable_directory_is_a_warning(tmp_path, adapter_warnings):
    if os.geteuid() == 0:
        pytest.skip("root lists any directory")
    root = tmp_path / "clips"
    touch(root / "a.mp4")
    locked = touch(root / "locked" / "b.mp4").parent
    locked.chmod(0)
    try:
        df = load_manifest("folder", root)
    finally:
        locked.chmod(0o755)  # else tmp_path cannot be cleaned up
    assert df["video"].tolist() == ["a.mp4"]
    assert [m for m in adapter_warnings() if str(locked) in m] == [
        f"skipped directory {locked}: cannot list it (Permission denied); its videos are not in the manifest"
    ]


def test_whitespace_after_the_extension_is_a_warning(tmp_path, adapter_warnings):
    root = tmp_path / "clips"
    touch(root / "a.mp4")
    odd = touch(root / "sub" / "video.avi ")
    assert load_manifest("folder", root)["video"].tolist() == ["a.mp4"]
    message = f"skipped {str(odd)!r}: whitespace after its video extension (rename the file to use it)"
    assert adapter_warnings() == [message]
    # the adapters with split files list their folders through DirIndex: same warning
    hmdb_root, _ = make_hmdb(tmp_path / "hmdb")
    odd = touch(hmdb_root / "pick" / "Pirates_pick_u_cm_np1_le_goo_2.avi\t")
    assert "pick/Pirates_pick_u_cm_np1_le_goo_2.avi\t" not in set(load_manifest("hmdb51", hmdb_root)["video"])
    assert adapter_warnings()[1:] == [
        f"skipped {str(odd)!r}: whitespace after its video extension (rename the file to use it)"
    ]


# ------------------------------------------------------------------------- CLI


def test_cli_writes_manifest_and_counts(tmp_path, capsys):
    root, _ = make_ucf(tmp_path)
    out = tmp_path / "out" / "manifest.csv"
    assert vssl_main(["manifest", "--dataset", "ucf101", "--root", str(root), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 videos, 3 classes" in printed
    assert "split1: train=3 test=3 unused=2" in printed
    assert "split3: train=1 test=1 unused=6" in printed
    back = read_manifest(out)
    expected = load_manifest("ucf101", root)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert str(back["label"].dtype) == "Int64"
    assert [p.name for p in out.parent.iterdir()] == ["manifest.csv"]  # no temp file left behind


def test_cli_errors_and_skip_missing(tmp_path, capsys):
    root, _ = make_kinetics(tmp_path, layout="flat")
    label, youtube_id, start, end = KINETICS_TRAIN[0]
    (root / "train" / f"{stem(youtube_id, start, end)}.mp4").unlink()
    out = tmp_path / "k.csv"
    args = ["manifest", "--dataset", "kinetics", "--root", str(root), "--out", str(out)]
    assert vssl_main(args) == 1
    assert "--skip-missing" in capsys.readouterr().err and not out.exists()
    assert vssl_main(args + ["--skip-missing"]) == 0
    printed = capsys.readouterr().out
    assert "split1: train=3 test=2 unused=1" in printed and "skipped 1 missing videos" in printed
    back = read_manifest(out)
    assert back["label"].isna().sum() == 1  # the unlabelled test video

    assert vssl_main(["manifest", "--dataset", "folder", "--root", str(tmp_path / "nope"), "--out", str(out)]) == 1
    assert str(tmp_path / "nope") in capsys.readouterr().err


# -------------------------------------------------- synthetic data end to end


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("vssl.data.synth") is None,
    reason="vssl/data/synth.py (the synthetic generator) is not in this tree yet",
)
def test_synthetic_tiny_layouts_load(tmp_path):
    out = tmp_path / "synth"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run(
        [sys.executable, "-m", "vssl", "synth", str(out), "--scale", "tiny"],
        check=True,
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=600,
    )
    ucf = load_manifest("ucf101", out / "ucf101" / "UCF-101")
    hmdb = load_manifest("hmdb51", out / "hmdb51" / "videos")
    kinetics = load_manifest("kinetics", out / "kinetics")
    aslan = load_manifest("aslan", out / "aslan" / "videos")
    for frame in (ucf, hmdb, kinetics, aslan):
        assert len(frame) > 0 and frame.attrs["missing"] == ()
        assert frame["label"].notna().any()
    for frame in (ucf, hmdb):
        assert {"train", "test"} <= set(frame["split1"])
    assert "train" in set(kinetics["split1"])
    pairs = load_aslan_pairs(out / "aslan" / "View2.mat")
    assert set(pairs["id1"]) | set(pairs["id2"]) == set(aslan["id"])
