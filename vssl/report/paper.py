"""Every number the two papers print, per (experiment, row, column).

Sources: 3DRotNet (Jing & Tian; seed text ``seeds/000_*.txt``, Tables 1-7 and Sec. 4.6 text) and
V3S (Li et al.; ``seeds/004_*.txt``, Tables 1-6). Values are transcribed as printed, in percent.

Naming scheme (stable strings the workflow passes as ``vssl table --entry ROW COLUMN ...``):

- Columns are dataset names (``UCF101``, ``HMDB51``) where the paper's columns are datasets;
  otherwise the paper's column heading in a plain form (``scratch``/``pretrained`` in rot-T5,
  ``top1``..``top50`` in v3s-T4/T5, ``acc`` in v3s-T6).
- 3DRotNet rows follow the paper's wording: rot-T1/T2 ``kinetics``, ``mit`` (the paper's "MT"),
  ``scratch``; rot-T3 the rotation set in degrees (``0,90``, ``0,90,180``, ``90,180,270``,
  ``0,90,180,270``); rot-8/360 the number of rotation classes (``4``, ``8``, ``360``); rot-T4 the
  number of pretraining videos (``0``, ``100k``, ``200k``, ``400k``, ``all``); rot-T5 the shots
  (``1``, ``5``, ``10``, ``20``, ``full``); rot-T6 ``<frames>-<RGB|DIF>``; rot-T7 ``RGB``, ``DIF``,
  ``Fusion``; rot-F4a the freeze level ``C1``..``C5`` (blocks before Cn frozen) and ``C6`` (all five
  blocks frozen, only the head trains: the text's worst case).
- V3S rows are ``<backbone>/<method>`` with backbones ``c3d``, ``r3d``, ``r21d`` (R(2+1)D),
  ``s3dg`` (S3D-G), ``s3d`` and methods ``random``, ``v3s``, ``v3s-k400`` (pretrained on
  Kinetics-400, the paper's "*"), and the cited ``vcp``, ``prp``, ``pacepred``, ``pacepred-noctr``,
  ``pacepred-k400``, ``st-puzzle``, ``speednet-k400``, ``coclr``, ``sts``, ``supervised``. Rows
  without a backbone (``jigsaw``, ``opn``, ``buchler``, ``hof``, ``hnf``, ``hog``) are cited 2D or
  hand-crafted methods. v3s-T1 rows are ``<transform>-<k>`` (``SS-1``..``TP-3``) for the k-th
  parameter set in the paper's order; v3s-T3 rows are ``SS``, ``SP``, ``SS+SP``, ``TS``, ``TP``,
  ``TS+TP``, ``V3S``.

Rows we compute ourselves (scratch/random baselines included) have ``cited=False`` even where the
paper attributes its number to earlier work (3DRotNet Table 2's "3DResNet (scratch) [14]").
Rows that are only quoted from other work have ``cited=True`` and the work's name in ``source``.

Paper inconsistencies found while transcribing (absolute values are kept as printed; differences
are always recomputed, never copied):

- 3DRotNet Table 2 prints "62.8 (+19.2)" for MT on UCF101, but 62.8 - 42.5 = 20.3.
- 3DRotNet Sec. 4.9 says Ours-RGB is 3.7 points above 3DCubicPuzzle on HMDB51; Table 7 gives
  37.1 - 33.7 = 3.4.
- The rot-8/360 numbers (57.0, 60.9) and the 4-rotation reference (62.9 = 57.0 + 5.9) are from the
  text of Sec. 4.6; the paper has no table for them, so no LaTeX table is written for rot-8/360.
- Which regression loss (L1 or L2) gave 60.9 is not stated; row ``360`` is the configured loss, and
  a run with the other loss can be added as an extra row (e.g. ``360-l1``, paper blank).
- 3DRotNet Fig. 4a's "Cn" levels: ">Cn means the blocks before the n-th convolution block are
  frozen", so ``C1`` freezes nothing and ``C2`` freezes conv1 (the paper's best for UCF101).
- Tables 1-3 of V3S and the rot-T3 table are printed with methods as columns; we store them with
  methods as rows and render them transposed (``transpose=True``) to keep the paper's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

# Columns of the frame returned by :func:`paper_values`.
PAPER_COLUMNS = ("experiment", "row", "column", "value", "cited", "source", "label")


@dataclass(frozen=True)
class PaperRow:
    """One printed row: its stable key, display label and values per column (percent)."""

    key: str
    label: str
    values: Mapping[str, float] = field(default_factory=dict)
    cited: bool = False
    source: str = ""  # the cited work's name; empty for rows we compute
    attrs: Mapping[str, str] = field(default_factory=dict)  # extra descriptive columns (network, params, ...)


@dataclass(frozen=True)
class Experiment:
    """One target of the workflow: a table (with paper numbers) or a figure."""

    id: str
    paper: str  # "3DRotNet" or "V3S"
    ref: str  # where in the paper: "Table 2", "Sec. 4.6 (text)", "Figure 4a"
    title: str
    kind: str  # "table" or "figure"
    columns: tuple[str, ...] = ()
    rows: tuple[PaperRow, ...] = ()
    metric: str = ""  # what the numbers are
    decimals: int = 1  # how the paper prints them
    has_tex: bool = False  # whether the paper prints a table (then a .tex is written)
    transpose: bool = False  # paper prints methods as columns
    headline: tuple[str, str] | None = None  # (row, column) quoted in SUMMARY.md
    attr_names: tuple[str, ...] = ()  # order of PaperRow.attrs columns
    figure_kind: str = ""  # figures: "bars", "curve", "image-grid", "transforms"
    statement: str = ""  # figures: what the paper says the figure shows

    def row(self, key: str) -> PaperRow | None:
        for row in self.rows:
            if row.key == key:
                return row
        return None

    @property
    def row_keys(self) -> tuple[str, ...]:
        return tuple(row.key for row in self.rows)


def _rows(columns: tuple[str, ...], table: list[tuple]) -> tuple[PaperRow, ...]:
    """Build rows from compact tuples ``(key, label, values, [cited source], [attrs])``.

    ``values`` is a tuple aligned with ``columns``; ``None`` marks a cell the paper leaves blank ("—").
    """
    rows = []
    for item in table:
        key, label, values = item[0], item[1], item[2]
        source = item[3] if len(item) > 3 else ""
        attrs = item[4] if len(item) > 4 else {}
        if len(values) != len(columns):
            raise ValueError(f"paper row {key!r}: {len(values)} values for {len(columns)} columns")
        cells = {col: float(v) for col, v in zip(columns, values) if v is not None}
        rows.append(PaperRow(key, label, cells, cited=bool(source), source=source, attrs=attrs))
    return tuple(rows)


UH = ("UCF101", "HMDB51")
UCF = ("UCF101",)
TOPK = ("top1", "top5", "top10", "top20", "top50")

# --------------------------------------------------------------------------- 3DRotNet (seed 000)

_ROT: list[Experiment] = [
    Experiment(
        "rot-T1",
        "3DRotNet",
        "Table 1",
        "Rotation recognition accuracy across domains",
        "table",
        UH,
        _rows(
            UH,
            [
                ("kinetics", "Kinetics", (92.79, 93.66)),
                ("mit", "MT (Moments in Time)", (93.21, 89.88)),
            ],
        ),
        metric="rotation recognition accuracy (%), mean over the 4 rotations, all videos",
        decimals=2,
        has_tex=True,
        headline=("kinetics", "UCF101"),
    ),
    Experiment(
        "rot-T2",
        "3DRotNet",
        "Table 2",
        "Transfer to action recognition (split 1)",
        "table",
        UH,
        _rows(
            UH,
            [
                ("scratch", "3DResNet (scratch) [14]", (42.5, 17.0)),
                ("kinetics", "Ours (Kinetics)", (62.9, 33.7)),
                ("mit", "Ours (MT)", (62.8, 29.6)),
            ],
        ),
        metric="top-1 action accuracy (%), split 1",
        has_tex=True,
        headline=("kinetics", "UCF101"),
    ),
    Experiment(
        "rot-F4a",
        "3DRotNet",
        "Figure 4a",
        "Finetuning with frozen blocks",
        "figure",
        UH,
        tuple(PaperRow(f"C{n}", f">C{n}") for n in range(1, 6)) + (PaperRow("C6", "all frozen"),),
        metric="top-1 action accuracy (%), split 1",
        figure_kind="bars",
        statement="best on UCF101 with conv1 frozen (C2), on HMDB51 with the first two blocks "
        "frozen (C3); worst with all blocks frozen",
    ),
    Experiment(
        "rot-F4b",
        "3DRotNet",
        "Figure 4b",
        "Rotation accuracy vs action accuracy over pretraining",
        "figure",
        UCF,
        metric="rotation accuracy and top-1 action accuracy (%), UCF101",
        figure_kind="curve",
        statement="action recognition accuracy increases along with rotation recognition accuracy",
    ),
    Experiment(
        "rot-T3",
        "3DRotNet",
        "Table 3",
        "Subsets of rotations",
        "table",
        UCF,
        _rows(
            UCF,
            [
                ("0,90", "0°, 90°", (50.94,)),
                ("0,90,180", "0°, 90°, 180°", (58.79,)),
                ("90,180,270", "90°, 180°, 270°", (59.24,)),
                ("0,90,180,270", "0°, 90°, 180°, 270°", (62.90,)),
            ],
        ),
        metric="top-1 action accuracy (%), UCF101 split 1",
        decimals=2,
        has_tex=True,
        transpose=True,
        headline=("0,90,180,270", "UCF101"),
    ),
    Experiment(
        "rot-8/360",
        "3DRotNet",
        "Sec. 4.6 (text)",
        "8 rotations and 0-360° regression",
        "table",
        UCF,
        _rows(
            UCF,
            [
                ("4", "4 rotations (reference, = rot-T3)", (62.9,)),
                ("8", "8 rotations (45° steps, centre crop)", (57.0,)),
                ("360", "0-360° regression", (60.9,)),
            ],
        ),
        metric="top-1 action accuracy (%), UCF101 split 1",
        has_tex=False,
        headline=("8", "UCF101"),
    ),
    Experiment(
        "rot-T4",
        "3DRotNet",
        "Table 4",
        "Amount of pretraining data (Kinetics videos)",
        "table",
        UH,
        _rows(
            UH,
            [
                ("0", "0", (42.5, 17.0)),
                ("100k", "100,000", (56.4, 27.3)),
                ("200k", "200,000", (58.3, 28.1)),
                ("400k", "400,000", (60.7, 28.6)),
                ("all", "All", (62.9, 33.7)),
            ],
        ),
        metric="top-1 action accuracy (%), split 1",
        has_tex=True,
        headline=("all", "UCF101"),
    ),
    Experiment(
        "rot-T5",
        "3DRotNet",
        "Table 5",
        "Few-shot UCF101",
        "table",
        ("scratch", "pretrained"),
        _rows(
            ("scratch", "pretrained"),
            [
                ("1", "1", (8.33, 15.0)),
                ("5", "5", (15.2, 31.5)),
                ("10", "10", (19.9, 40.4)),
                ("20", "20", (21.7, 47.1)),
                ("full", "Full", (42.5, 62.9)),
            ],
        ),
        metric="top-1 action accuracy (%), UCF101 split 1, labelled videos per class",
        has_tex=True,
        headline=("1", "pretrained"),
    ),
    Experiment(
        "rot-T6",
        "3DRotNet",
        "Table 6",
        "Clip length and modality",
        "table",
        UH,
        _rows(
            UH,
            [
                ("16-RGB", "16-RGB", (62.9, 33.7)),
                ("32-RGB", "32-RGB", (64.5, 34.3)),
                ("64-RGB", "64-RGB", (66.4, 37.4)),
                ("16-DIF", "16-DIF", (70.8, 40.0)),
                ("64-DIF", "64-DIF", (73.4, 42.0)),
            ],
        ),
        metric="top-1 action accuracy (%), split 1",
        has_tex=True,
        headline=("64-DIF", "UCF101"),
    ),
    Experiment(
        "rot-T7",
        "3DRotNet",
        "Table 7",
        "Comparison with other methods (mean over 3 splits)",
        "table",
        UH,
        _rows(
            UH,
            [
                ("RGB", "Ours-RGB", (66.0, 37.1)),
                ("DIF", "Ours-DIF", (74.3, 42.5)),
                ("Fusion", "Ours-Fusion", (76.6, 47.0)),
                ("c3d-sports1m", "C3D (Sport-1M)", (82.3, None), "C3D Sports-1M", {"group": "supervised"}),
                (
                    "3dresnet18-kinetics",
                    "Supervised 3DResNet-18 (Kinetics)",
                    (84.4, 56.4),
                    "3DResNet-18 Kinetics [14]",
                    {"group": "supervised"},
                ),
                ("p3d-kinetics", "P3D (Kinetics)", (84.4, None), "P3D Kinetics", {"group": "supervised"}),
                ("objectpatch", "ObjectPatch [47]", (42.7, 15.6), "ObjectPatch", {"group": "2DCNN self-sup."}),
                (
                    "temporalcoherency",
                    "TemporalCoherency [30]",
                    (45.4, 15.9),
                    "TemporalCoherency",
                    {"group": "2DCNN self-sup."},
                ),
                ("shufflelearn", "ShuffleLearn [29]", (50.9, 19.8), "ShuffleLearn", {"group": "2DCNN self-sup."}),
                ("geometryguided", "GeometryGuided [11]", (54.1, 22.6), "GeometryGuided", {"group": "2DCNN self-sup."}),
                ("aot", "AOT [49]", (55.3, None), "AOT", {"group": "2DCNN self-sup."}),
                ("opn", "OPN [26]", (56.3, 22.1), "OPN", {"group": "2DCNN self-sup."}),
                ("crosslearn", "CrossLearn [39]", (58.7, 27.2), "CrossLearn", {"group": "2DCNN self-sup."}),
                ("o3n", "O3N [10]", (60.3, 32.5), "O3N", {"group": "2DCNN self-sup."}),
                ("3d-ae", "3D AE [22]", (48.7, None), "3D AE", {"group": "3DCNN self-sup."}),
                ("3d-ae-future", "3D AE + future [22]", (50.1, None), "3D AE + future", {"group": "3DCNN self-sup."}),
                ("3d-inpainting", "3D inpainting [22]", (50.9, None), "3D inpainting", {"group": "3DCNN self-sup."}),
                ("videogan", "VideoGAN [43]", (52.1, None), "VideoGAN", {"group": "3DCNN self-sup."}),
                (
                    "3dcubicpuzzle",
                    "3DCubicPuzzle [22]",
                    (65.8, 33.7),
                    "3DCubicPuzzle (ST-puzzle)",
                    {"group": "3DCNN self-sup."},
                ),
            ],
        ),
        metric="top-1 action accuracy (%), mean over the 3 splits",
        has_tex=True,
        headline=("Fusion", "UCF101"),
        attr_names=("group",),
    ),
]

for _n, _what in [
    (1, "Attention maps per rotation (self-supervised)"),
    (3, "Attention maps: self-supervised vs supervised"),
    (6, "Attention maps per rotation (baby crawling)"),
    (7, "Attention maps per rotation (moving person)"),
    (8, "Attention maps per rotation (multiple persons)"),
    (9, "Attention maps per rotation (two persons)"),
]:
    _ROT.append(
        Experiment(
            f"rot-F{_n}",
            "3DRotNet",
            f"Figure {_n}",
            _what,
            "figure",
            figure_kind="image-grid",
            statement="mean first-layer activation highlights the moving foreground",
        )
    )
_ROT.append(
    Experiment(
        "rot-F5",
        "3DRotNet",
        "Figure 5",
        "First-layer kernels: self-supervised vs supervised",
        "figure",
        figure_kind="image-grid",
        statement="the self-supervised model learns kernels similar to the supervised one",
    )
)

# --------------------------------------------------------------------------- V3S (seed 004)

_T2_ATTRS = ("network", "input", "params", "pretrain")


def _t2(network: str, size: int, params: str, pretrain: str) -> dict[str, str]:
    return {"network": network, "input": f"{size}×{size}", "params": params, "pretrain": pretrain}


_C3D = ("C3D", 112, "58.3M")
_R3D = ("R3D", 112, "33.6M")
_R21D = ("R(2+1)D", 112, "14.4M")
_S3DG = ("S3D-G", 112, "9.6M")

_V3S: list[Experiment] = [
    Experiment(
        "v3s-T1",
        "V3S",
        "Table 1",
        "Hyper-parameters of each transform (R(2+1)D, UCF101 pretrain)",
        "table",
        UCF,
        _rows(
            UCF,
            [
                ("SS-1", "SS {(1,1.15),(1,1.3),(1,1.45),(1.15,1),(1.3,1),(1.45,1)}", (73.2,)),
                ("SS-2", "SS {(1,1.3),(1,1.6),(1,1.9),(1.3,1),(1.6,1),(1.9,1)}", (71.1,)),
                ("SS-3", "SS {(1,1.45),(1,1.9),(1,2.35),(1.45,1),(1.9,1),(2.35,1)}", (72.8,)),
                ("SP-1", "SP {0.8,0.75,0.7}", (73.5,)),
                ("SP-2", "SP {0.8,0.7,0.6}", (73.6,)),
                ("SP-3", "SP {0.8,0.65,0.5}", (73.7,)),
                ("TS-1", "TS {1,2}", (71.0,)),
                ("TS-2", "TS {1,2,3}", (76.4,)),
                ("TS-3", "TS {1,2,3,4}", (76.3,)),
                ("TP-1", "TP {(1,2),(2,3),(2,1),(3,2)}", (75.0,)),
                ("TP-2", "TP {(1,2),(2,3),(3,4),(2,1),(3,2),(4,3)}", (76.8,)),
                ("TP-3", "TP {(1,2),(2,3),(3,4),(4,5),(2,1),(3,2),(4,3),(5,4)}", (77.0,)),
            ],
        ),
        metric="top-1 action accuracy (%), UCF101 split 1",
        has_tex=True,
        headline=("SS-1", "UCF101"),
    ),
    Experiment(
        "v3s-T2",
        "V3S",
        "Table 2",
        "Action recognition (split 1)",
        "table",
        UH,
        _rows(
            UH,
            [
                ("c3d/random", "Random", (63.7, 24.7), "", _t2(*_C3D, "UCF101")),
                ("c3d/vcp", "VCP [17]", (68.5, 32.5), "VCP", _t2(*_C3D, "UCF101")),
                ("c3d/prp", "PRP [32]", (69.1, 34.5), "PRP", _t2(*_C3D, "UCF101")),
                ("c3d/v3s", "V3S (Ours)", (74.8, 34.9), "", _t2(*_C3D, "UCF101")),
                ("r3d/random", "Random", (54.5, 23.4), "", _t2(*_R3D, "UCF101")),
                (
                    "r3d/st-puzzle",
                    "ST-puzzle [13]",
                    (65.8, 33.7),
                    "ST-puzzle",
                    _t2("R3D", 224, "33.6M", "Kinetics-400"),
                ),
                ("r3d/vcp", "VCP [17]", (66.0, 31.5), "VCP", _t2(*_R3D, "UCF101")),
                ("r3d/prp", "PRP [32]", (66.5, 29.7), "PRP", _t2(*_R3D, "UCF101")),
                ("r3d/v3s", "V3S (Ours)", (74.0, 38.0), "", _t2(*_R3D, "UCF101")),
                ("r21d/random", "Random", (55.8, 22.0), "", _t2(*_R21D, "UCF101")),
                ("r21d/vcp", "VCP [17]", (66.3, 32.2), "VCP", _t2(*_R21D, "UCF101")),
                ("r21d/prp", "PRP [32]", (72.1, 35.0), "PRP", _t2(*_R21D, "UCF101")),
                ("r21d/pacepred-noctr", "PacePred [27] w/o Ctr", (73.9, 33.8), "PacePred", _t2(*_R21D, "UCF101")),
                ("r21d/pacepred", "PacePred [27]", (75.9, 35.0), "PacePred", _t2(*_R21D, "UCF101")),
                ("r21d/pacepred-k400", "PacePred [27]", (77.1, 35.0), "PacePred", _t2(*_R21D, "Kinetics-400")),
                ("r21d/v3s", "V3S (Ours)", (79.1, 38.7), "", _t2(*_R21D, "UCF101")),
                ("r21d/v3s-k400", "V3S (Ours)", (79.2, 40.4), "", _t2(*_R21D, "Kinetics-400")),
                ("s3dg/speednet-k400", "SpeedNet [1]", (81.1, 48.8), "SpeedNet", _t2(*_S3DG, "Kinetics-400")),
                ("s3d/coclr", "CoCLR [8]", (81.4, 52.1), "CoCLR", _t2("S3D", 128, "9.6M", "UCF101")),
                ("s3dg/v3s", "V3S (Ours)", (85.4, 53.2), "", _t2(*_S3DG, "UCF101")),
            ],
        ),
        metric="top-1 action accuracy (%), split 1, 10 clips per video",
        has_tex=True,
        headline=("r21d/v3s", "UCF101"),
        attr_names=_T2_ATTRS,
    ),
    Experiment(
        "v3s-T3",
        "V3S",
        "Table 3",
        "Combining spatial and temporal transforms (R(2+1)D)",
        "table",
        UCF,
        _rows(
            UCF,
            [
                ("SS", "SS", (73.2,)),
                ("SP", "SP", (73.7,)),
                ("SS+SP", "SS+SP", (73.8,)),
                ("TS", "TS", (76.4,)),
                ("TP", "TP", (77.0,)),
                ("TS+TP", "TS+TP", (78.0,)),
                ("V3S", "V3S", (79.1,)),
            ],
        ),
        metric="top-1 action accuracy (%), UCF101 split 1",
        has_tex=True,
        transpose=True,
        headline=("V3S", "UCF101"),
    ),
]

_RETRIEVAL_UCF = [
    ("jigsaw", "Jigsaw", (19.7, 28.5, 33.5, 40.0, 49.4), "Jigsaw"),
    ("opn", "OPN", (19.9, 28.7, 34.0, 40.6, 51.6), "OPN"),
    ("buchler", "Buchler", (25.7, 36.2, 42.2, 49.2, 59.5), "Buchler"),
    ("c3d/random", "C3D (random)", (16.7, 27.5, 33.7, 41.4, 53.0)),
    ("c3d/vcp", "C3D (VCP [17])", (17.3, 31.5, 42.0, 52.6, 67.7), "VCP"),
    ("c3d/prp", "C3D (PRP [32])", (23.2, 38.1, 46.0, 55.7, 68.4), "PRP"),
    ("c3d/pacepred", "C3D (PacePred [27])", (20.0, 37.4, 46.9, 58.5, 73.1), "PacePred"),
    ("c3d/v3s", "C3D (V3S)", (21.8, 39.0, 47.7, 57.0, 69.2)),
    ("r3d/random", "R3D (random)", (9.9, 18.9, 26.0, 35.5, 51.9)),
    ("r3d/vcp", "R3D (VCP [17])", (18.6, 33.6, 42.5, 53.5, 68.1), "VCP"),
    ("r3d/prp", "R3D (PRP [32])", (22.8, 38.5, 46.7, 55.2, 69.1), "PRP"),
    ("r3d/pacepred", "R3D (PacePred [27])", (19.9, 36.2, 46.1, 55.6, 69.2), "PacePred"),
    ("r3d/v3s", "R3D (V3S)", (28.3, 43.7, 51.3, 60.1, 71.9)),
    ("r21d/random", "R(2+1)D (random)", (10.6, 20.7, 27.4, 37.4, 53.1)),
    ("r21d/vcp", "R(2+1)D (VCP [17])", (19.9, 33.7, 42.0, 50.5, 64.4), "VCP"),
    ("r21d/prp", "R(2+1)D (PRP [32])", (20.3, 34.0, 41.9, 51.7, 64.2), "PRP"),
    ("r21d/pacepred", "R(2+1)D (PacePred [27])", (17.9, 34.3, 44.6, 55.5, 72.9), "PacePred"),
    ("r21d/v3s", "R(2+1)D (V3S)", (23.1, 40.5, 48.7, 58.5, 72.4)),
    ("r21d/v3s-k400", "R(2+1)D (V3S*)", (23.5, 40.0, 49.4, 59.7, 73.9)),
    ("s3dg/speednet-k400", "S3D-G (SpeedNet* [1])", (13.0, 28.1, 37.5, 49.5, 65.0), "SpeedNet"),
    ("s3dg/v3s", "S3D-G (V3S)", (16.6, 32.2, 41.8, 52.3, 68.0)),
]

_RETRIEVAL_HMDB = [
    ("c3d/random", "C3D (random)", (7.4, 20.5, 31.9, 44.5, 66.3)),
    ("c3d/vcp", "C3D (VCP [17])", (7.8, 23.8, 35.5, 49.3, 71.6), "VCP"),
    ("c3d/prp", "C3D (PRP [32])", (10.5, 27.2, 40.4, 56.2, 75.9), "PRP"),
    ("c3d/pacepred", "C3D (PacePred [27])", (8.0, 25.2, 37.8, 54.4, 77.5), "PacePred"),
    ("c3d/v3s", "C3D (V3S)", (11.1, 26.5, 38.0, 52.0, 73.0)),
    ("r3d/random", "R3D (random)", (6.7, 18.3, 28.3, 43.1, 67.9)),
    ("r3d/vcp", "R3D (VCP [17])", (7.6, 24.4, 36.6, 53.6, 76.4), "VCP"),
    ("r3d/prp", "R3D (PRP [32])", (8.2, 25.8, 38.5, 53.3, 75.9), "PRP"),
    ("r3d/pacepred", "R3D (PacePred [27])", (8.2, 24.2, 37.3, 53.3, 74.5), "PacePred"),
    ("r3d/v3s", "R3D (V3S)", (10.8, 30.6, 42.3, 56.2, 77.1)),
    ("r21d/random", "R(2+1)D (random)", (4.5, 14.8, 23.4, 38.9, 63.0)),
    ("r21d/vcp", "R(2+1)D (VCP [17])", (6.7, 21.3, 32.7, 49.2, 73.3), "VCP"),
    ("r21d/prp", "R(2+1)D (PRP [32])", (8.2, 25.3, 36.2, 51.0, 73.0), "PRP"),
    ("r21d/pacepred", "R(2+1)D (PacePred [27])", (10.0, 24.6, 37.6, 54.4, 77.1), "PacePred"),
    ("r21d/v3s", "R(2+1)D (V3S)", (9.6, 24.0, 37.2, 54.3, 77.9)),
    ("r21d/v3s-k400", "R(2+1)D (V3S*)", (9.8, 26.9, 38.5, 52.7, 72.2)),
]

_V3S += [
    Experiment(
        "v3s-T4",
        "V3S",
        "Table 4",
        "Video retrieval on UCF101 (split 1)",
        "table",
        TOPK,
        _rows(TOPK, _RETRIEVAL_UCF),
        metric="top-k retrieval accuracy (%): test queries, train gallery, cosine similarity",
        has_tex=True,
        headline=("r3d/v3s", "top1"),
    ),
    Experiment(
        "v3s-T5",
        "V3S",
        "Table 5",
        "Video retrieval on HMDB51 (split 1)",
        "table",
        TOPK,
        _rows(TOPK, _RETRIEVAL_HMDB),
        metric="top-k retrieval accuracy (%): test queries, train gallery, cosine similarity",
        has_tex=True,
        headline=("r3d/v3s", "top1"),
    ),
    Experiment(
        "v3s-T6",
        "V3S",
        "Table 6",
        "Action similarity on ASLAN (View-2, 10 folds)",
        "table",
        ("acc",),
        _rows(
            ("acc",),
            [
                ("r3d/v3s", "V3S, R3D", (65.4,), "", {"features": "self-sup."}),
                ("c3d/supervised", "C3D", (78.3,), "C3D (supervised)", {"features": "sup."}),
                ("hof", "HOF", (56.7,), "HOF", {"features": "hand-crafted"}),
                ("hnf", "HNF", (59.5,), "HNF", {"features": "hand-crafted"}),
                ("hog", "HOG", (59.8,), "HOG", {"features": "hand-crafted"}),
                ("r3d/sts", "STS [26], R3D", (60.9,), "STS", {"features": "self-sup."}),
            ],
        ),
        metric="ASLAN accuracy (%), mean over the 10 View-2 folds",
        has_tex=True,
        headline=("r3d/v3s", "acc"),
        attr_names=("features",),
    ),
    Experiment(
        "v3s-F1",
        "V3S",
        "Figure 1",
        "3D sampling illustrated on a clip",
        "figure",
        figure_kind="transforms",
        statement="T-, H- and W-sampling of a video",
    ),
    Experiment(
        "v3s-F2",
        "V3S",
        "Figure 2",
        "The four transforms on a clip: original, SS, SP, TS, TP",
        "figure",
        figure_kind="transforms",
        statement="spatial transform first, then temporal sampling",
    ),
    Experiment(
        "v3s-F5",
        "V3S",
        "Figure 5",
        "Grad-CAM attention maps",
        "figure",
        figure_kind="image-grid",
        statement="highly activated regions follow the movement of the action",
    ),
]

EXPERIMENTS: dict[str, Experiment] = {exp.id: exp for exp in _ROT + _V3S}
EXPERIMENT_IDS: tuple[str, ...] = tuple(EXPERIMENTS)
TABLE_IDS: tuple[str, ...] = tuple(e.id for e in EXPERIMENTS.values() if e.kind == "table")
FIGURE_IDS: tuple[str, ...] = tuple(e.id for e in EXPERIMENTS.values() if e.kind == "figure")


def experiment(experiment_id: str) -> Experiment:
    """The experiment spec for ``experiment_id``; a clear error lists the valid ids."""
    try:
        return EXPERIMENTS[experiment_id]
    except KeyError:
        raise KeyError(f"unknown experiment id {experiment_id!r}; known ids: {', '.join(EXPERIMENT_IDS)}") from None


def file_stem(experiment_id: str) -> str:
    """File name stem of an experiment's outputs.

    The id with ``/`` replaced by ``_`` (``rot-8/360`` -> ``rot-8_360``).
    """
    return experiment_id.replace("/", "_")


def paper_values(experiment_id: str) -> pd.DataFrame:
    """Every printed number of one experiment, one line per (row, column), in the paper's order.

    Columns: experiment, row, column, value (percent), cited (bool), source (cited work, else ""),
    label (the paper's row label). Cells the paper leaves blank ("—") are absent; figure-only
    experiments give an empty frame.
    """
    exp = experiment(experiment_id)
    records = [
        {
            "experiment": exp.id,
            "row": row.key,
            "column": col,
            "value": row.values[col],
            "cited": row.cited,
            "source": row.source,
            "label": row.label,
        }
        for row in exp.rows
        for col in exp.columns
        if col in row.values
    ]
    frame = pd.DataFrame(records, columns=list(PAPER_COLUMNS))
    return frame.astype({"value": float, "cited": bool})
