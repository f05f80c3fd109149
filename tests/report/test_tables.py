"""`vssl table` on hand-made metrics files: aggregation, paper merge, cited rows, provenance, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_support import vssl

from vssl.report.records import ReportError, collect_entries, parse_metric, read_entries_file, resolve_entries
from vssl.report.tables import TABLE_COLUMNS, read_table_csv

SEED_VALUES = {0: 60.0, 1: 62.5, 2: 64.25}


def write_metrics(path: Path, **data) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def runs(tmp_path):
    """Three seeds of a Kinetics-pretrained finetune with full provenance, one scratch run with none."""
    files = []
    for seed, top1 in SEED_VALUES.items():
        files.append(
            write_metrics(
                tmp_path / f"kin_s{seed}.json",
                top1_video=top1,
                top1_clip=top1 - 5,
                seed=seed,
                config=f"runs/rot-kinetics-s{seed}.yaml",
                checkpoint=f"ckpt/s{seed}.pt",
                checkpoint_sha256=f"{seed}" * 64,
                vssl_version="0.1.0",
                git_commit="abc1234",
                gpu_hours=1.25,
                device="NVIDIA H100",
            )
        )
    bare = write_metrics(tmp_path / "scratch.json", top1_video=40.0)
    return files, bare


def kinetics_entries(files):
    return [arg for f in files for arg in ("--entry", "kinetics", "UCF101", "top1_video", str(f))]


def test_three_seeds_mean_std_diff(tmp_path, runs):
    files, bare = runs
    out = tmp_path / "tables"
    rc = vssl(
        "table",
        "rot-T2",
        *kinetics_entries(files),
        "--entry",
        "scratch",
        "UCF101",
        "top1_video",
        str(bare),
        "--out-dir",
        str(out),
    )
    assert rc == 0
    table = read_table_csv(out / "rot-T2.csv")
    assert list(table.columns) == list(TABLE_COLUMNS)
    cell = table[(table["row"] == "kinetics") & (table["column"] == "UCF101")].iloc[0]
    values = np.array(list(SEED_VALUES.values()))
    assert cell["ours_mean"] == pytest.approx(values.mean())
    assert cell["ours_std"] == pytest.approx(values.std(ddof=1))
    assert cell["paper"] == pytest.approx(62.9)
    assert cell["diff"] == pytest.approx(values.mean() - 62.9)
    assert cell["n_seeds"] == 3 and cell["seeds"] == "0;1;2" and cell["source"] == "ours"
    assert cell["checkpoint"] == ";".join(str(s) * 12 for s in SEED_VALUES)
    assert cell["config"].split(";")[1] == "runs/rot-kinetics-s1.yaml"
    assert "gpu_hours=3.75" in cell["compute"] and "NVIDIA H100" in cell["compute"]

    # One seed: no std; missing provenance reads "unknown", never invented.
    scratch = table[(table["row"] == "scratch") & (table["column"] == "UCF101")].iloc[0]
    assert scratch["n_seeds"] == 1 and math.isnan(scratch["ours_std"])
    assert scratch["diff"] == pytest.approx(40.0 - 42.5)
    assert (scratch["seeds"], scratch["config"], scratch["checkpoint"], scratch["compute"]) == ("unknown",) * 4

    # Paper rows we did not compute stay, with ours blank.
    mit = table[table["row"] == "mit"]
    assert set(mit["column"]) == {"UCF101", "HMDB51"} and (mit["n_seeds"] == 0).all() and mit["ours_mean"].isna().all()

    md = (out / "rot-T2.md").read_text()
    mean, std = values.mean(), values.std(ddof=1)
    assert f"{mean:.1f} ± {std:.1f} [3] (62.9, {mean - 62.9:+.1f})" in md
    assert "— (62.8)" in md  # mit/UCF101 not computed
    assert "seed unknown: config `unknown`, checkpoint `unknown`, commit `unknown`" in md
    assert "seed 2: config `runs/rot-kinetics-s2.yaml`, checkpoint `222222222222`, commit `abc1234`" in md
    assert "Paper cells not computed (4)" in md
    tex = (out / "rot-T2.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "$\\pm$" in tex


def test_cited_rows_are_present_and_marked(tmp_path, runs):
    files, _ = runs
    out = tmp_path / "tables"
    entries = [arg for f in files for arg in ("--entry", "RGB", "UCF101", "top1_video", str(f))]
    assert vssl("table", "rot-T7", *entries, "--out-dir", str(out)) == 0
    table = read_table_csv(out / "rot-T7.csv")
    cited = table[table["source"] == "cited"]
    assert {"c3d-sports1m", "3dcubicpuzzle", "o3n"} <= set(cited["row"])
    puzzle = cited[(cited["row"] == "3dcubicpuzzle") & (cited["column"] == "HMDB51")].iloc[0]
    assert puzzle["paper"] == pytest.approx(33.7) and math.isnan(puzzle["ours_mean"]) and puzzle["n_seeds"] == 0
    # Cited rows come after every computed row, never interleaved.
    sources = list(table["source"])
    assert sources.index("cited") == len(sources) - len(cited)
    md = (out / "rot-T7.md").read_text().splitlines()
    separator = md.index(next(line for line in md if line.startswith("| **cited**")))
    assert any("Ours-RGB" in line for line in md[:separator])
    assert any("3DCubicPuzzle [22]" in line for line in md[separator:])
    assert "\\textit{cited}" in (out / "rot-T7.tex").read_text()


def test_cited_rows_selects_the_suites_cited_rows(tmp_path, runs):
    files, _ = runs
    entries = [arg for f in files for arg in ("--entry", "rotation", "UCF101", "top1_video", str(f))]
    none, some = tmp_path / "none", tmp_path / "some"
    # Given no ROW (the toy config): no cited row; given rows: those alone, below our rows.
    assert vssl("table", "suite-T1", *entries, "--cited-rows", "--out-dir", str(none)) == 0
    assert (read_table_csv(none / "suite-T1.csv")["source"] == "ours").all()
    assert "Cited rows" not in (none / "suite-T1.md").read_text()
    args = ("--cited-rows", "rotation-3drotnet", "--out-dir", str(some))
    assert vssl("table", "suite-T1", *entries, *args) == 0
    table = read_table_csv(some / "suite-T1.csv")
    cited = table[table["source"] == "cited"].set_index("column")
    assert set(table.loc[table["source"] == "cited", "row"]) == {"rotation-3drotnet"}
    assert cited.loc["UCF101", "paper"] == pytest.approx(62.9) and cited.loc["UCF101 1-shot", "paper"] == 15.0
    md = (some / "suite-T1.md").read_text()
    assert "| **cited** |" in md and "Cited: 3DRotNet Tables 2 and 5." in md
    assert vssl("table", "suite-T1", *entries, "--cited-rows", "vcop-xu", "--out-dir", str(none)) == 2


def test_a_suite_row_under_a_further_protocol_keeps_its_label(tmp_path, runs, capsys):
    """`vcop@r21d10-ucf101` (config/paper.yaml's second backbone): our row, labelled with its protocol."""
    files, _ = runs
    entries = [
        arg
        for f in files
        for row in ("vcop", "vcop@r21d10-ucf101")
        for arg in ("--entry", row, "UCF101", "top1_video", str(f))
    ]
    assert vssl("table", "suite-T1", *entries, "--cited-rows", "--out-dir", str(tmp_path)) == 0
    table = read_table_csv(tmp_path / "suite-T1.csv")
    assert list(dict.fromkeys(table["row"])) == ["vcop", "vcop@r21d10-ucf101"]
    assert (table["source"] == "ours").all() and (table["n_seeds"] == len(files)).all()
    md = (tmp_path / "suite-T1.md").read_text()
    assert "VCOP (clip order, 3 clips) @ r21d10-ucf101 `vcop@r21d10-ucf101`" in md
    assert "not in the paper" not in capsys.readouterr().err


def test_entries_file_matches_command_line_and_slash_in_name(tmp_path, runs):
    files, _ = runs
    tsv = tmp_path / "entries.tsv"
    tsv.write_text(
        "row\tcolumn\tmetric\tpath\n# comment\n\n"
        + "".join(f"8\tUCF101\ttop1_video\t{f}\n" for f in files)
        + f"360-l1\tUCF101\ttop1_clip\t{files[0]}\n"
    )
    out = tmp_path / "tables"
    assert vssl("table", "rot-8/360", "--entries-file", str(tsv), "--out-dir", str(out)) == 0
    assert (out / "rot-8_360.csv").exists() and (out / "rot-8_360.md").exists()
    assert not (out / "rot-8_360.tex").exists()  # the paper has no table for it (Sec. 4.6 text)
    table = read_table_csv(out / "rot-8_360.csv")
    eight = table[table["row"] == "8"].iloc[0]
    assert eight["ours_mean"] == pytest.approx(np.mean(list(SEED_VALUES.values())))
    extra = table[table["row"] == "360-l1"].iloc[0]  # computed, not in the paper: paper blank
    assert math.isnan(extra["paper"]) and extra["ours_mean"] == pytest.approx(55.0)
    assert "`360-l1` (not in paper)" in (out / "rot-8_360.md").read_text()


def test_metric_scale_suffix(tmp_path):
    path = write_metrics(tmp_path / "aslan.json", acc_mean=0.612, auc=0.7, seed=0)
    entries = collect_entries(
        [["r3d/v3s", "acc", "acc_mean*100", str(path)], ["r3d/v3s", "auc", "auc*100", str(path)]], []
    )
    observations = resolve_entries(entries)
    assert [o.value for o in observations] == pytest.approx([61.2, 70.0])
    assert parse_metric("top1") == ("top1", 1.0)
    with pytest.raises(ReportError, match="not a number"):
        parse_metric("auc*x", "e.tsv:3")


def test_transposed_markdown_keeps_paper_shape(tmp_path, runs):
    files, _ = runs
    out = tmp_path / "tables"
    assert vssl("table", "v3s-T3", "--entry", "V3S", "UCF101", "top1_video", str(files[0]), "--out-dir", str(out)) == 0
    md = (out / "v3s-T3.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("|  | SS"))
    assert header.count("|") == 9  # blank corner + 7 methods
    assert "| UCF101 |" in md


@pytest.mark.parametrize(
    "content,match",
    [
        ("row\tcolumn\tmetric\n", "header line"),
        ("row\tcolumn\tmetric\tpath\nkinetics\tUCF101\ttop1\n", r"entries\.tsv:2: expected 4 tab-separated fields"),
        ("", "empty"),
    ],
)
def test_bad_entries_file_names_file_and_line(tmp_path, content, match):
    tsv = tmp_path / "entries.tsv"
    tsv.write_text(content)
    with pytest.raises(ReportError, match=match):
        read_entries_file(tsv)


def test_bad_metrics_files_are_named(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text('{"top1": 1,\n  "seed": }')
    out = tmp_path / "tables"
    assert vssl("table", "rot-T2", "--entry", "kinetics", "UCF101", "top1", str(broken), "--out-dir", str(out)) == 2
    assert f"{broken}:2: invalid JSON" in capsys.readouterr().err
    good = write_metrics(tmp_path / "good.json", top1_video=50.0, seed=0)
    assert vssl("table", "rot-T2", "--entry", "kinetics", "UCF101", "top5", str(good), "--out-dir", str(out)) == 2
    assert f"{good}: no metric 'top5'; numeric keys: seed, top1_video" in capsys.readouterr().err
    assert not out.exists()  # nothing written on error


def test_cited_row_entry_and_duplicate_seed_are_errors(tmp_path, runs):
    files, _ = runs
    out = tmp_path / "tables"
    assert (
        vssl("table", "v3s-T2", "--entry", "c3d/vcp", "UCF101", "top1_video", str(files[0]), "--out-dir", str(out)) == 2
    )
    copy = tmp_path / "copy.json"
    copy.write_text(files[0].read_text())
    with pytest.raises(ReportError, match="seed 0 twice"):
        resolve_entries(
            collect_entries(
                [["kinetics", "UCF101", "top1_video", str(files[0])], ["kinetics", "UCF101", "top1_video", str(copy)]],
                [],
            )
        )
    assert vssl("table", "rot-F4a", "--out-dir", str(out)) == 2  # a figure, not a table


def test_no_entries_writes_paper_only_table(tmp_path):
    out = tmp_path / "tables"
    assert vssl("table", "v3s-T4", "--out-dir", str(out)) == 0
    table = pd.read_csv(out / "v3s-T4.csv")
    assert (table["n_seeds"] == 0).all()
    assert len(table) == 21 * 5  # every printed cell of V3S Table 4


def test_params_column_prints_our_count_beside_the_papers(tmp_path):
    """v3s-T2 prints the paper's parameter counts; our backbones' counts (test metrics) go beside them."""
    files = [
        write_metrics(tmp_path / f"c3d_s{seed}.json", top1_video=50.0 + seed, seed=seed, backbone_params=912_345)
        for seed in range(2)
    ]
    out = tmp_path / "tables"
    entries = [arg for f in files for arg in ("--entry", "c3d/v3s", "UCF101", "top1_video", str(f))]
    assert vssl("table", "v3s-T2", *entries, "--out-dir", str(out)) == 0
    md = (out / "v3s-T2.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| Method"))
    assert "| params | pretrain | params (ours) |" in header
    row = next(line for line in md.splitlines() if "`c3d/v3s`" in line)
    assert "| 58.3M |" in row and "| 0.912M |" in row
    other = next(line for line in md.splitlines() if "`c3d/random`" in line)
    assert "0.912M" not in other  # rows without our run leave the cell empty
