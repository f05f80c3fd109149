"""`vssl summary`: SUMMARY.md links what exists and lists what is missing; claims.md is written."""

from __future__ import annotations

import json

import pandas as pd
from cli_support import vssl


def test_summary_lists_existing_and_missing(tmp_path):
    results = tmp_path / "results"
    tables, figures = results / "tables", results / "figures"
    args = []
    for row, values in [("kinetics", [61.0, 62.0, 63.0]), ("scratch", [41.0, 42.0, 43.0])]:
        for seed, value in enumerate(values):
            path = tmp_path / f"{row}_{seed}.json"
            path.write_text(json.dumps({"top1_video": value, "seed": seed, "gpu_hours": 0.5}))
            args += ["--entry", row, "UCF101", "top1_video", str(path)]
    assert vssl("table", "rot-T2", *args, "--out-dir", str(tables)) == 0
    curve = tmp_path / "curve.csv"
    curve.write_text("step,rotation_acc,action_acc\n1,60,40\n2,70,45\n3,75,50\n4,80,52\n5,82,55\n")
    assert vssl("figure", "rot-F4b", "--curve", str(curve), "--out-dir", str(figures)) == 0

    out, claims = results / "SUMMARY.md", tables / "claims.md"
    assert (
        vssl(
            "summary",
            "--tables-dir",
            str(tables),
            "--figures-dir",
            str(figures),
            "--out",
            str(out),
            "--claims-out",
            str(claims),
        )
        == 0
    )
    summary = out.read_text()
    assert "[md](tables/rot-T2.md)" in summary and "[tex](tables/rot-T2.tex)" in summary
    assert "kinetics/UCF101: 62.0 ± 1.0 [3] vs paper 62.9 (Δ -0.9)" in summary
    assert "| 2/6 | 3 |" in summary  # paper cells computed, GPU-hours
    assert "[png](figures/rot-F4b.png)" in summary
    missing_tables = next(line for line in summary.splitlines() if line.startswith("Missing tables"))
    assert "rot-T3" in missing_tables and "rot-8/360" in missing_tables and "rot-T2 " not in missing_tables
    missing_figures = next(line for line in summary.splitlines() if line.startswith("Missing figures"))
    assert "rot-F4a" in missing_figures and "rot-F4b" not in missing_figures

    claims_md = claims.read_text()
    assert "| `rot-T2/pretrained>scratch` |" in claims_md
    frame = pd.read_csv(claims.with_suffix(".csv"))
    verdicts = dict(zip(frame["claim"], frame["claim_verdict"]))
    assert verdicts["rot-T2/pretrained>scratch"] == "holds"  # 62 ± 1 vs 42 ± 1 on UCF101; HMDB51 not run
    assert verdicts["rot-F4b/rotation~action"] == "holds"  # 5 monotone checkpoints: p = 1/120
    assert verdicts["v3s-T3/all>each"] == "not run"
