"""Claims evaluated on constructed tables: holds, does not hold, inconclusive, not run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from vssl.report.claims import (
    DEFAULT_CLAIMS,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    evaluate_claims,
    load_claims,
    overall_verdict,
    parse_claim,
    render_claims_markdown,
)
from vssl.report.records import Observation, ReportError
from vssl.report.stats import pooled_std, spearman, spearman_permutation_test
from vssl.report.tables import write_table


def observations(cells: dict[tuple[str, str], list[float]]) -> list[Observation]:
    return [
        Observation(
            row=row,
            column=col,
            metric="top1",
            value=v,
            path=Path(f"/runs/{row}-{col}-{seed}.json"),
            seed=str(seed),
            config="cfg",
            checkpoint="0" * 12,
            checkpoint_path="unknown",
            git_commit="unknown",
            vssl_version="unknown",
        )
        for (row, col), values in cells.items()
        for seed, v in enumerate(values)
    ]


def rot_t3(tables: Path, four: list[float], two: list[float]) -> None:
    write_table("rot-T3", observations({("0,90,180,270", "UCF101"): four, ("0,90", "UCF101"): two}), tables)


def only(claim_id: str) -> list:
    return [parse_claim(next(c for c in DEFAULT_CLAIMS if c["id"] == claim_id))]


@pytest.mark.parametrize(
    "four,two,verdict,reason",
    [
        ([60.0, 61.0, 62.0], [50.0, 51.0, 52.0], HOLDS, "Δ > one pooled std"),
        ([50.0, 51.0, 52.0], [60.0, 61.0, 62.0], FAILS, "Δ < −one pooled std"),
        ([55.0, 60.0, 65.0], [56.0, 58.0, 60.0], INCONCLUSIVE, "≤ one pooled std"),
        ([60.0], [50.0, 51.0], INCONCLUSIVE, "n_seeds < 2 (1 vs 2)"),
    ],
)
def test_greater_claim_verdicts(tmp_path, four, two, verdict, reason):
    rot_t3(tmp_path, four, two)
    (result,) = evaluate_claims(only("rot-T3/4>2"), tmp_path, tmp_path)
    (check,) = result.checks
    assert check.verdict == verdict and result.verdict == verdict
    assert reason in check.reason
    assert check.paper == "holds (62.90 vs 50.94)"
    assert result.paper_verdict == HOLDS


def test_a_claim_left_out_of_replicated_claims_says_its_rows_have_one_seed(tmp_path):
    rot_t3(tmp_path, [60.0], [50.0])
    (left_out,) = evaluate_claims(only("rot-T3/4>2"), tmp_path, tmp_path, replicated=["rot-T2/pretrained>scratch"])
    (replicated,) = evaluate_claims(only("rot-T3/4>2"), tmp_path, tmp_path, replicated=["rot-T3/4>2"])
    assert left_out.verdict == replicated.verdict == INCONCLUSIVE
    assert left_out.checks[0].reason.startswith("one seed per row by config (not in `replicated_claims`)")
    assert replicated.checks[0].reason.startswith("n_seeds < 2")
    assert "replicated_claims" in render_claims_markdown([left_out])


def test_missing_table_or_cell_is_not_run(tmp_path):
    (result,) = evaluate_claims(only("rot-T7/fusion>rgb,dif"), tmp_path, tmp_path)
    assert result.verdict == NOT_RUN and all(c.reason == "table not found" for c in result.checks)
    write_table("rot-T7", observations({("Fusion", "UCF101"): [77.0, 78.0], ("RGB", "UCF101"): [65.0, 66.0]}), tmp_path)
    (result,) = evaluate_claims(only("rot-T7/fusion>rgb,dif"), tmp_path, tmp_path)
    verdicts = {c.comparison: c.verdict for c in result.checks}
    assert verdicts == {
        "Fusion > RGB (UCF101)": HOLDS,
        "Fusion > RGB (HMDB51)": NOT_RUN,
        "Fusion > DIF (UCF101)": NOT_RUN,
        "Fusion > DIF (HMDB51)": NOT_RUN,
    }
    assert result.verdict == HOLDS  # every comparison that ran holds; the markdown says 1 of 4 ran
    assert "(1 of 4 comparisons run)" in render_claims_markdown([result])
    assert "no result for DIF/UCF101" in {c.reason for c in result.checks}


def test_column_pairs_and_one_failure_fails_the_claim(tmp_path):
    cells = {(shots, "pretrained"): [30.0, 31.0] for shots in ("1", "5")}
    cells |= {("1", "scratch"): [10.0, 11.0], ("5", "scratch"): [40.0, 41.0]}
    write_table("rot-T5", observations(cells), tmp_path)
    (result,) = evaluate_claims(only("rot-T5/pretrained>scratch"), tmp_path, tmp_path)
    verdicts = {c.comparison: c.verdict for c in result.checks if c.verdict != NOT_RUN}
    assert verdicts == {"pretrained > scratch (1)": HOLDS, "pretrained > scratch (5)": FAILS}
    assert result.verdict == FAILS


def test_best_claim(tmp_path):
    curve = observations(
        {("C1", "UCF101"): [60.0, 61.0], ("C2", "UCF101"): [64.0, 65.0], ("C3", "UCF101"): [58.0, 59.0]}
    )
    from vssl.report.figures import bars_frame
    from vssl.report.paper import experiment
    from vssl.utils.io import atomic_write_csv

    atomic_write_csv(tmp_path / "rot-F4a.csv", bars_frame(experiment("rot-F4a"), curve))
    ucf, hmdb = evaluate_claims(only("rot-F4a/best-UCF101") + only("rot-F4a/best-HMDB51"), tmp_path, tmp_path)
    assert ucf.verdict == HOLDS and "best: C2" in ucf.checks[0].ours
    assert hmdb.verdict == NOT_RUN


@pytest.mark.parametrize(
    "action,verdict",
    [
        ([40, 45, 47, 52, 55, 58, 60, 61], HOLDS),
        ([61, 60, 58, 55, 52, 47, 45, 40], FAILS),
        ([50, 52, 49, 51, 50, 53, 48, 50], INCONCLUSIVE),
    ],
)
def test_spearman_claim(tmp_path, action, verdict):
    rotation = [60, 65, 70, 74, 78, 81, 84, 86]
    frame = pd.DataFrame({"step": range(8), "seed": "0", "rotation_acc": rotation, "action_acc": action})
    frame.to_csv(tmp_path / "rot-F4b.csv", index=False)
    (result,) = evaluate_claims(only("rot-F4b/rotation~action"), tmp_path, tmp_path)
    assert result.verdict == verdict
    assert result.paper_verdict.startswith("holds")


def test_stats_helpers():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2], [1, 2]) != spearman([1, 2], [1, 2])  # NaN below 3 points
    rho, p = spearman_permutation_test([([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])], n_permutations=2000)
    assert rho == pytest.approx(1.0) and p == pytest.approx(1 / 120, abs=0.01)  # 1 of 5! orders
    assert pooled_std(1.0, 3, 1.0, 3) == pytest.approx(1.0)
    assert overall_verdict([NOT_RUN, NOT_RUN]) == NOT_RUN
    assert overall_verdict([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE


def test_claims_spec_file(tmp_path):
    spec = tmp_path / "claims.json"
    spec.write_text(
        json.dumps(
            {
                "claims": [
                    {
                        "id": "ss+sp>ss",
                        "experiment": "v3s-T3",
                        "kind": "greater",
                        "statement": "SS+SP beats SS",
                        "comparisons": [[["SS+SP", "UCF101"], ["SS", "UCF101"]]],
                    }
                ]
            }
        )
    )
    (claim,) = load_claims(spec)
    assert claim.comparisons == ((("SS+SP", "UCF101"), ("SS", "UCF101")),)
    assert len(load_claims()) == len(DEFAULT_CLAIMS)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps([{"id": "x", "experiment": "v3s-T3", "kind": "greater", "statement": "s", "rows": ["SS"]}])
    )
    with pytest.raises(ReportError, match=r"bad\.json \(claim #1\): claim 'x': kind 'greater' needs"):
        load_claims(bad)
    bad.write_text(json.dumps([{"id": "x", "experiment": "rot-T99", "kind": "greater", "statement": "s"}]))
    with pytest.raises(ReportError, match="unknown experiment id 'rot-T99'"):
        load_claims(bad)


@pytest.mark.parametrize("c6,verdict", [([40.0, 41.0], HOLDS), ([70.0, 71.0], FAILS), ([58.0, 61.0], INCONCLUSIVE)])
def test_worst_claim_all_blocks_frozen(tmp_path, c6, verdict):
    """3DRotNet Sec. 4.5: with all convolution blocks frozen (C6, head only) finetuning is worst."""
    curve = observations(
        {
            ("C1", "UCF101"): [60.0, 61.0],
            ("C2", "UCF101"): [64.0, 65.0],
            ("C5", "UCF101"): [59.0, 60.0],
            ("C6", "UCF101"): c6,
        }
    )
    from vssl.report.figures import bars_frame
    from vssl.report.paper import experiment
    from vssl.utils.io import atomic_write_csv

    atomic_write_csv(tmp_path / "rot-F4a.csv", bars_frame(experiment("rot-F4a"), curve))
    (result,) = evaluate_claims(only("rot-F4a/worst-UCF101"), tmp_path, tmp_path)
    assert result.verdict == verdict, result.checks[0]
    assert "weakest other C5" in result.checks[0].ours or c6[0] < 59.0


def test_the_suite_premise_reads_the_suite_F1_figure_and_states_no_paper(tmp_path):
    from vssl.report.figures import bars_frame
    from vssl.report.paper import experiment
    from vssl.utils.io import atomic_write_csv

    cells = {("rotation", "pretext"): [60.0, 62.0, 64.0], ("rotation", "chance"): [25.0, 25.0, 25.0]}
    cells |= {("vcop", "pretext"): [15.0, 17.0, 16.0], ("vcop", "chance"): [16.7, 16.7, 16.7]}
    atomic_write_csv(tmp_path / "suite-F1.csv", bars_frame(experiment("suite-F1"), observations(cells)))
    (result,) = evaluate_claims(only("suite-F1/pretext>chance"), tmp_path, tmp_path)
    verdicts = {c.comparison: c.verdict for c in result.checks}
    assert verdicts["pretext > chance (rotation)"] == HOLDS
    assert verdicts["pretext > chance (vcop)"] == INCONCLUSIVE
    assert verdicts["pretext > chance (pace)"] == NOT_RUN
    assert result.paper_verdict == "none (ours, the suite's premise)"
    assert "The suite's own claims (`suite-F1/pretext>chance`)" in render_claims_markdown([result])
    papers_only = evaluate_claims(only("rot-T3/4>2"), tmp_path, tmp_path)
    assert "suite's own" not in render_claims_markdown(papers_only)
