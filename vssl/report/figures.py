"""``vssl figure ID``: the papers' figures as ``<out-dir>/<stem>.png`` and ``.pdf`` (matplotlib Agg, seaborn style).

Five kinds, chosen by the experiment id (see ``paper.Experiment.figure_kind``):

- ``bars`` (rot-F4a): accuracy per freeze level (x: ``C1``..``C6``, blocks before Cn frozen; hue: dataset),
  from ``--entry``/``--entries-file`` exactly like ``vssl table``. Bars are means over seeds with ±1 std
  (ddof=1) error bars and one dot per seed. Data: ``<stem>.csv`` in the table CSV schema.
- ``scatter`` (suite-F1): one point per row (pretext), from ``--entry`` like ``bars``, with columns
  ``pretext`` and ``chance`` (the pretext's own accuracy and a uniform guess's), ``finetune`` and
  ``probe``. Left panel: finetune vs pretext accuracy, each point labelled with its chance level;
  right panel: finetune vs linear-probe accuracy (scratch included). Points are means over seeds with
  ±1 std bars. Data: ``<stem>.csv`` in the table CSV schema.
- ``curve`` (rot-F4b): rotation accuracy vs action accuracy over pretraining checkpoints, from
  ``--curve CSV``. The CSV has columns ``step``, ``rotation_acc`` and either ``action_acc`` or
  ``action_metrics`` (a metrics JSON per step, read with ``--action-metric``, default ``top1_video``),
  plus an optional ``seed``. Accuracies are in percent. Left panel: both accuracies vs step; right
  panel: action vs rotation accuracy, Spearman rho (mean over seeds) in the title.
  Data: ``<stem>.csv`` with columns step, seed, rotation_acc, action_acc.
- ``image-grid`` (rot-F1, F3, F5, F6-F9, v3s-F5): panels from ``--images`` titled by ``--labels`` (one per
  file, or one per panel). A PNG/JPEG is one panel. An ``.npz`` as ``vssl attention`` writes it may
  hold several: kernel grids ``grid_<i>`` (+ ``labels``) give one panel each; ``frames`` (T,H,W,3) with
  Grad-CAM ``maps`` (M,T,H,W) give one overlay strip per model; ``frames`` (R,T,H,W,3) with ``maps``
  (M,R,T,H,W) and ``rotations`` give one strip per (rotation, model). Strips show ``--frames``
  (default 4) evenly spaced frames with the map blended on (jet, alpha 0.5, min-max over the clip).
  A plain ``image`` array (H,W[,3|4]) is one panel; floats outside [0,1] are min-max scaled.
- ``transforms`` (v3s-F1, v3s-F2): ``--transforms NPZ`` with arrays ``original``, ``ss``, ``sp``, ``ts``,
  ``tp`` (each (T,H,W,3) uint8) and optional string arrays ``<name>_label``; a grid of rows
  (transform) × columns (``--frames`` evenly spaced frames of each clip, index shown per cell).

Image figures are not plotted from numbers, so they write no data CSV.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import textwrap
import zipfile
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vssl.report.paper import FIGURE_IDS, Experiment, experiment, file_stem
from vssl.report.records import (
    ReportError,
    aggregate,
    collect_entries,
    load_metrics,
    metric_value,
    parse_metric,
    resolve_entries,
)
from vssl.report.stats import spearman
from vssl.report.tables import TABLE_COLUMNS
from vssl.utils.io import atomic_path, atomic_write_csv

TRANSFORM_KEYS = ("original", "ss", "sp", "ts", "tp")
TRANSFORM_NAMES = {
    "original": "original",
    "ss": "SS\nspatial scale",
    "sp": "SP\nspatial projection",
    "ts": "TS\ntemporal scale",
    "tp": "TP\ntemporal projection",
}
CURVE_COLUMNS = ("step", "seed", "rotation_acc", "action_acc")
DPI = 150


def _style():
    import seaborn as sns  # imported lazily: only figure commands pay for it

    return sns, sns.axes_style("whitegrid")


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def save_figure(fig: Figure, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write ``stem.png`` and ``stem.pdf`` atomically; the PDF carries no creation date (reproducible bytes)."""
    paths = {"png": out_dir / f"{stem}.png", "pdf": out_dir / f"{stem}.pdf"}
    with atomic_path(paths["png"]) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    with atomic_path(paths["pdf"]) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None})
    return paths


# --------------------------------------------------------------------------- bars (rot-F4a)


def bars_frame(exp: Experiment, observations) -> pd.DataFrame:
    """Aggregated cells in the table CSV schema (paper blank: the paper prints no numbers for the figure)."""
    frame = aggregate(observations)
    order = {key: i for i, key in enumerate(exp.row_keys)}
    first_seen = {key: len(order) + i for i, key in enumerate(dict.fromkeys(frame["row"]))}
    frame = frame.assign(_order=[order.get(r, first_seen[r]) for r in frame["row"]])
    frame = frame.sort_values("_order", kind="stable").drop(columns="_order")
    frame = frame.assign(paper=math.nan, diff=math.nan, source="ours")
    return frame[list(TABLE_COLUMNS)].reset_index(drop=True)


def render_bars(exp: Experiment, observations, out_dir: Path, title: str | None = None) -> dict[str, Path]:
    if not observations:
        raise ReportError(f"{exp.id}: no entries; give --entry ROW COLUMN METRIC PATH or --entries-file")
    frame = bars_frame(exp, observations)
    sns, style = _style()
    levels = list(dict.fromkeys(frame["row"]))
    hues = list(dict.fromkeys(frame["column"]))
    palette = sns.color_palette("deep", len(hues))
    width = 0.8 / len(hues)
    with style:
        fig = Figure(figsize=(2.4 + 1.0 * len(levels), 3.8), layout="constrained")
        ax = fig.subplots()
        for h, (hue, color) in enumerate(zip(hues, palette)):
            sub = frame[frame["column"] == hue].set_index("row").reindex(levels)
            x = np.arange(len(levels)) + (h - (len(hues) - 1) / 2) * width
            ax.bar(
                x,
                sub["ours_mean"],
                width,
                yerr=sub["ours_std"].fillna(0),
                color=color,
                label=hue,
                capsize=3,
                edgecolor="white",
            )
            for i, level in enumerate(levels):  # one dot per seed, so n is visible
                values = [o.value for o in observations if o.row == level and o.column == hue]
                ax.scatter(np.full(len(values), x[i]), values, s=10, color="black", zorder=3)
        ax.set_xticks(np.arange(len(levels)), [f">{lv}" if lv.startswith("C") else lv for lv in levels])
        ax.set_xlabel("blocks before Cn frozen during finetuning")
        ax.set_ylabel("top-1 accuracy (%)")
        ax.legend(title=None, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(_wrap(f"{title or exp.title}. Paper: {exp.statement}", 60), fontsize=8)
        paths = save_figure(fig, out_dir, file_stem(exp.id))
    paths["csv"] = out_dir / f"{file_stem(exp.id)}.csv"
    atomic_write_csv(paths["csv"], frame)
    return paths


# --------------------------------------------------------------------------- scatter (suite-F1)

SCATTER_PANELS = (("pretext", "finetune", "pretext accuracy (%)"), ("probe", "finetune", "linear-probe top-1 (%)"))


def render_scatter(exp: Experiment, observations, out_dir: Path, title: str | None = None) -> dict[str, Path]:
    if not observations:
        raise ReportError(f"{exp.id}: no entries; give --entry ROW COLUMN METRIC PATH or --entries-file")
    frame = bars_frame(exp, observations)
    cells = {(r.row, r.column): (r.ours_mean, r.ours_std) for r in frame.itertuples(index=False)}
    rows = list(dict.fromkeys(frame["row"]))
    sns, style = _style()
    palette = dict(zip(rows, sns.color_palette("deep", len(rows))))
    with style:
        fig = Figure(figsize=(9.0, 3.9), layout="constrained")
        for ax, (x_col, y_col, x_label) in zip(fig.subplots(1, 2), SCATTER_PANELS):
            for row in rows:
                if (row, x_col) not in cells or (row, y_col) not in cells:
                    continue
                (x, x_std), (y, y_std) = cells[(row, x_col)], cells[(row, y_col)]
                ax.errorbar(x, y, xerr=_zero(x_std), yerr=_zero(y_std), fmt="o", color=palette[row], capsize=3)
                chance = cells.get((row, "chance"), (math.nan, 0))[0] if x_col == "pretext" else math.nan
                text = row if math.isnan(chance) else f"{row} (chance {chance:.0f})"
                ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
            ax.set_xlabel(x_label)
            ax.set_ylabel(f"finetuned top-1 on {exp.dataset or 'the dataset'} (%)")
        fig.suptitle(_wrap(f"{title or exp.title}. {exp.statement}", 100), fontsize=8)
        paths = save_figure(fig, out_dir, file_stem(exp.id))
    paths["csv"] = out_dir / f"{file_stem(exp.id)}.csv"
    atomic_write_csv(paths["csv"], frame)
    return paths


def _zero(std: float) -> float:
    return 0.0 if std is None or math.isnan(std) else std


# --------------------------------------------------------------------------- curve (rot-F4b)


def read_curve(path: str | Path, action_metric: str = "top1_video") -> pd.DataFrame:
    """Read the F4b curve CSV into columns step, seed, rotation_acc, action_acc (sorted by seed, step)."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ReportError(f"{path}: curve CSV does not exist") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ReportError(f"{path}: not a readable CSV ({err})") from None
    has_acc, has_json = "action_acc" in raw.columns, "action_metrics" in raw.columns
    missing = [c for c in ("step", "rotation_acc") if c not in raw.columns]
    if missing or not (has_acc or has_json):
        raise ReportError(
            f"{path}: needs columns step, rotation_acc and action_acc or action_metrics; has {list(raw.columns)}"
        )
    key, scale = parse_metric(action_metric, f"{path}")
    records = []
    for i, line in raw.iterrows():
        where = f"{path}:{i + 2}"  # +1 for the header, +1 for 1-based lines
        try:
            step = float(line["step"])
            rotation = float(line["rotation_acc"])
        except ValueError:
            raise ReportError(
                f"{where}: step and rotation_acc must be numbers, got {line['step']!r}, {line['rotation_acc']!r}"
            ) from None
        if has_acc and line["action_acc"].strip():
            try:
                action = float(line["action_acc"])
            except ValueError:
                raise ReportError(f"{where}: action_acc {line['action_acc']!r} is not a number") from None
        elif has_json and line["action_metrics"].strip():
            metrics_path = Path(line["action_metrics"].strip())
            action = metric_value(load_metrics(metrics_path, where), key, metrics_path) * scale
        else:
            raise ReportError(f"{where}: no action_acc value and no action_metrics file")
        if not (math.isfinite(step) and math.isfinite(rotation) and math.isfinite(action)):
            raise ReportError(f"{where}: values must be finite")
        seed = line["seed"].strip() if "seed" in raw.columns and line["seed"].strip() else "unknown"
        records.append({"step": step, "seed": seed, "rotation_acc": rotation, "action_acc": action})
    if len(records) < 2:
        raise ReportError(f"{path}: needs at least 2 checkpoints, has {len(records)}")
    frame = pd.DataFrame(records, columns=list(CURVE_COLUMNS)).sort_values(["seed", "step"], kind="stable")
    duplicated = frame.duplicated(["seed", "step"])
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        raise ReportError(f"{path}: step {first['step']:g} appears twice for seed {first['seed']}")
    return frame.reset_index(drop=True)


def curve_spearman(frame: pd.DataFrame) -> tuple[float, float, int]:
    """Spearman rho of action vs rotation accuracy per seed: (mean, std (ddof=1) or NaN, n_seeds)."""
    rhos = [spearman(g["rotation_acc"], g["action_acc"]) for _, g in frame.groupby("seed", sort=False)]
    rhos = [r for r in rhos if not math.isnan(r)]
    if not rhos:
        return math.nan, math.nan, 0
    return float(np.mean(rhos)), float(np.std(rhos, ddof=1)) if len(rhos) > 1 else math.nan, len(rhos)


def render_curve(exp: Experiment, frame: pd.DataFrame, out_dir: Path, title: str | None = None) -> dict[str, Path]:
    sns, style = _style()
    rho, rho_std, n = curve_spearman(frame)
    rho_text = (
        "n/a (< 3 checkpoints or constant)"
        if math.isnan(rho)
        else (f"{rho:.2f}" + (f" ± {rho_std:.2f} over {n} seeds" if n > 1 else ""))
    )
    long = frame.melt(
        id_vars=["step", "seed"], value_vars=["rotation_acc", "action_acc"], var_name="accuracy", value_name="percent"
    )
    long["accuracy"] = long["accuracy"].map({"rotation_acc": "rotation recognition", "action_acc": "action (UCF101)"})
    with style:
        fig = Figure(figsize=(8.5, 3.8), layout="constrained")
        ax_steps, ax_scatter = fig.subplots(1, 2)
        # errorbar="sd" shows the spread over seeds at each step when there are several seeds.
        sns.lineplot(data=long, x="step", y="percent", hue="accuracy", marker="o", errorbar="sd", ax=ax_steps)
        ax_steps.set_xlabel("pretraining step")
        ax_steps.set_ylabel("accuracy (%)")
        ax_steps.legend(title=None, frameon=False, fontsize=8)
        multi_seed = frame["seed"].nunique() > 1
        sns.scatterplot(
            data=frame,
            x="rotation_acc",
            y="action_acc",
            hue="seed" if multi_seed else None,
            ax=ax_scatter,
            s=30,
            legend=multi_seed,
        )
        ax_scatter.set_xlabel("rotation recognition accuracy (%)")
        ax_scatter.set_ylabel("action recognition accuracy (%)")
        ax_scatter.set_title(f"Spearman ρ = {rho_text}", fontsize=9)
        fig.suptitle(_wrap(f"{title or exp.title}. Paper: {exp.statement}", 100), fontsize=9)
        paths = save_figure(fig, out_dir, file_stem(exp.id))
    paths["csv"] = out_dir / f"{file_stem(exp.id)}.csv"
    atomic_write_csv(paths["csv"], frame)
    return paths


# --------------------------------------------------------------------------- image grids


def _unit_range(array: np.ndarray, where: str) -> np.ndarray:
    """uint8 -> [0,1]; floats already in [0,1] stay; anything else is min-max scaled (e.g. raw kernels)."""
    if array.dtype == np.uint8:
        return array.astype(float) / 255.0
    array = np.asarray(array, dtype=float)
    if not np.isfinite(array).all():
        raise ReportError(f"{where}: non-finite values")
    if array.size and array.min() >= 0 and array.max() <= 1:
        return array
    lo, hi = (array.min(), array.max()) if array.size else (0.0, 0.0)
    return (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)


def _as_display(array: np.ndarray, where: str) -> np.ndarray:
    """One still image, (H,W) grey or (H,W,3|4) colour, scaled to [0,1]."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ReportError(f"{where}: image must be (H,W), (H,W,3) or (H,W,4), got shape {array.shape}")
    return _unit_range(array, where)


def _strip(frames: np.ndarray, heat: np.ndarray | None, n_frames: int, where: str) -> np.ndarray:
    """``n_frames`` evenly spaced frames of a (T,H,W,3) clip side by side, a (T,H,W) map blended on top.

    The map is min-max normalised over all frames of the clip (as ``vssl attention`` draws it), so
    brightness compares across frames of one clip, not across panels.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ReportError(f"{where}: frames must be (T,H,W,3), got shape {frames.shape}")
    rgb = _unit_range(frames, where)
    if heat is not None:
        if heat.shape != frames.shape[:3]:
            raise ReportError(f"{where}: map shape {heat.shape} does not match frames {frames.shape[:3]}")
        colored = matplotlib.colormaps["jet"](_unit_range(np.asarray(heat, float), where))[..., :3]
        rgb = 0.5 * rgb + 0.5 * colored
    picks = frame_indices(frames.shape[0], n_frames)
    return np.concatenate([rgb[t] for t in picks], axis=1)


def _strings(arrays: dict[str, np.ndarray], key: str, count: int, default: str) -> list[str]:
    if key in arrays and arrays[key].size == count:
        return [str(v) for v in np.asarray(arrays[key]).reshape(-1)]
    return [f"{default} {i}" if count > 1 else default for i in range(count)]


def _npz_panels(path: Path, arrays: dict[str, np.ndarray], n_frames: int) -> list[tuple[np.ndarray, str]]:
    """Panels of one ``.npz``: the keys ``vssl attention`` writes, or a plain ``image``.

    - ``image`` (H,W[,3|4]): one panel.
    - ``grid_0``, ``grid_1``, ... (kernel grids) with ``labels``: one panel per grid.
    - ``frames`` (T,H,W,3) with ``maps`` (M,T,H,W) or (T,H,W) (Grad-CAM): one overlay strip per model.
    - ``frames`` (R,T,H,W,3) with ``maps`` (M,R,T,H,W) and ``rotations`` (attention per rotation):
      one overlay strip per (rotation, model). Without ``maps``, the plain frames.
    """
    where = str(path)
    if "image" in arrays:
        return [(_as_display(arrays["image"], where), "")]
    grids = sorted((k for k in arrays if re.fullmatch(r"grid_\d+", k)), key=lambda k: int(k[5:]))
    if grids:
        names = _strings(arrays, "labels", len(grids), "model")
        return [(_as_display(arrays[k], f"{where}[{k}]"), name) for k, name in zip(grids, names)]
    if "frames" not in arrays:
        raise ReportError(f"{where}: .npz needs 'image', 'grid_<i>' or 'frames' arrays; has {sorted(arrays)}")
    frames, maps = arrays["frames"], arrays.get("maps")
    if frames.ndim == 4:  # one clip
        if maps is None:
            return [(_strip(frames, None, n_frames, where), "")]
        maps = maps[None] if maps.ndim == 3 else maps
        if maps.ndim != 4:
            raise ReportError(f"{where}: maps must be (M,T,H,W) or (T,H,W) for (T,H,W,3) frames, got {maps.shape}")
        names = _strings(arrays, "labels", len(maps), "model")
        return [(_strip(frames, m, n_frames, where), name) for m, name in zip(maps, names)]
    if frames.ndim == 5:  # one clip per rotation
        rotations = _strings(arrays, "rotations", frames.shape[0], "rotation")
        rotations = [f"{r}°" if r.lstrip("-").isdigit() else r for r in rotations]
        if maps is None:
            return [(_strip(f, None, n_frames, where), rot) for f, rot in zip(frames, rotations)]
        if maps.ndim != 5 or maps.shape[1] != frames.shape[0]:
            raise ReportError(f"{where}: maps must be (M,R,T,H,W) for (R,T,H,W,3) frames, got {maps.shape}")
        names = _strings(arrays, "labels", len(maps), "model")
        return [
            (_strip(frames[r], maps[m, r], n_frames, where), f"{rotations[r]} · {names[m]}")
            for r in range(frames.shape[0])
            for m in range(len(maps))
        ]
    raise ReportError(f"{where}: frames must be (T,H,W,3) or (R,T,H,W,3), got shape {frames.shape}")


def load_panels(path: str | Path, n_frames: int = 4) -> list[tuple[np.ndarray, str]]:
    """(pixels in [0,1], sub-label) panels of one input: a PNG/JPEG is one panel, an ``.npz`` may hold several."""
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path}: image file does not exist")
    if path.suffix.lower() == ".npz":
        if not zipfile.is_zipfile(path):  # np.load would otherwise try to unpickle it
            raise ReportError(f"{path}: not an .npz archive")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as err:
            raise ReportError(f"{path}: not a readable .npz ({err})") from None
        return _npz_panels(path, arrays, n_frames)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise ReportError(f"{path}: not a readable image ({err})") from None
    return [(pixels.astype(float) / 255.0, "")]


def panel_labels(per_file: Sequence[list[str]], labels: Sequence[str] | None, images: Sequence[Path]) -> list[str]:
    """Titles: one ``--labels`` item per file (prefixed to its panels' own labels) or one per panel."""
    total = sum(len(p) for p in per_file)
    if labels is None:
        return [sub or Path(img).stem for img, subs in zip(images, per_file) for sub in subs]
    labels = list(labels)
    if len(labels) == len(images):
        return [" · ".join(t for t in (label, sub) if t) for label, subs in zip(labels, per_file) for sub in subs]
    if len(labels) == total:
        return labels
    raise ReportError(
        f"{len(labels)} labels for {len(images)} images ({total} panels); give one per image or per panel"
    )


def render_image_grid(
    exp: Experiment,
    images: Sequence[Path],
    labels: Sequence[str] | None,
    out_dir: Path,
    cols: int | None = None,
    title: str | None = None,
    n_frames: int = 4,
) -> dict[str, Path]:
    if not images:
        raise ReportError(f"{exp.id}: give --images PATH [PATH ...]")
    loaded = [load_panels(p, n_frames) for p in images]
    try:
        titles = panel_labels([[sub for _, sub in panels] for panels in loaded], labels, images)
    except ReportError as err:
        raise ReportError(f"{exp.id}: {err}") from None
    panels = [pixels for group in loaded for pixels, _ in group]
    aspect = max(p.shape[1] / p.shape[0] for p in panels)
    # Strips of frames are wide: one per line keeps them readable.
    cols = cols or (1 if aspect > 2 else min(len(panels), 4))
    if cols < 1:
        raise ReportError(f"{exp.id}: --cols must be at least 1")
    rows = math.ceil(len(panels) / cols)
    panel_w = min(2.2 * aspect, 14.0 / cols) if aspect > 1 else 3.0
    fig = Figure(figsize=(panel_w * cols, (panel_w / aspect + 0.4) * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, pixels, label in zip(axes, panels, titles):
        ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.axis("off")
    for ax in axes[len(panels) :]:
        ax.axis("off")
    fig.suptitle(f"{title or exp.title} ({exp.paper}, {exp.ref})", fontsize=10)
    return save_figure(fig, out_dir, file_stem(exp.id))


def load_transforms(path: str | Path) -> dict[str, tuple[np.ndarray, str]]:
    """The five clips of a V3S transform illustration: name -> ((T,H,W,3) uint8, row label)."""
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path}: transforms .npz does not exist")
    if not zipfile.is_zipfile(path):  # np.load would otherwise try to unpickle it
        raise ReportError(f"{path}: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise ReportError(f"{path}: not a readable .npz ({err})") from None
    missing = [k for k in TRANSFORM_KEYS if k not in arrays]
    if missing:
        raise ReportError(f"{path}: missing arrays {missing}; needs {list(TRANSFORM_KEYS)}, has {sorted(arrays)}")
    clips = {}
    for key in TRANSFORM_KEYS:
        clip = arrays[key]
        if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8 or clip.shape[0] == 0:
            raise ReportError(
                f"{path}: array {key!r} must be non-empty (T,H,W,3) uint8, got shape {clip.shape} {clip.dtype}"
            )
        label = TRANSFORM_NAMES[key]
        if f"{key}_label" in arrays:
            label = f"{label}\n{str(np.asarray(arrays[f'{key}_label']).reshape(-1)[0])}"
        clips[key] = (clip, label)
    return clips


def frame_indices(length: int, count: int) -> list[int]:
    """``count`` evenly spaced indices over ``range(length)`` (all of them when the clip is shorter)."""
    if length <= count:
        return list(range(length))
    return [int(round(i)) for i in np.linspace(0, length - 1, count)]


def render_transforms(
    exp: Experiment, path: Path, out_dir: Path, n_frames: int = 8, title: str | None = None
) -> dict[str, Path]:
    if n_frames < 1:
        raise ReportError(f"{exp.id}: --frames must be at least 1")
    clips = load_transforms(path)
    picks = {k: frame_indices(clip.shape[0], n_frames) for k, (clip, _) in clips.items()}
    cols = max(len(p) for p in picks.values())
    fig = Figure(figsize=(1.4 * cols + 1.6, 1.5 * len(clips) + 0.5), layout="constrained")
    axes = fig.subplots(len(clips), cols, squeeze=False)
    for r, (key, (clip, label)) in enumerate(clips.items()):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(picks[key]):
                ax.axis("off")
                continue
            t = picks[key][c]
            ax.imshow(clip[t], interpolation="nearest")
            ax.set_title(f"t={t}", fontsize=7)
            if c == 0:
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(f"{title or exp.title} ({exp.paper}, {exp.ref})", fontsize=10)
    return save_figure(fig, out_dir, file_stem(exp.id))


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help=f"figure id, one of: {', '.join(FIGURE_IDS)}")
    parser.add_argument("--out-dir", type=Path, default=Path("results/figures"))
    parser.add_argument("--title", help="figure title (default: the experiment's)")
    bars = parser.add_argument_group("bars (rot-F4a) and scatter (suite-F1)")
    bars.add_argument(
        "--entry",
        nargs=4,
        action="append",
        metavar=("ROW", "COLUMN", "METRIC", "PATH"),
        help="as in `vssl table`: ROW is the freeze level C1..C6, COLUMN the dataset",
    )
    bars.add_argument("--entries-file", action="append", type=Path, metavar="TSV")
    curve = parser.add_argument_group("curve (rot-F4b)")
    curve.add_argument(
        "--curve",
        type=Path,
        metavar="CSV",
        help="columns step, rotation_acc, and action_acc or action_metrics (JSON path); optional seed",
    )
    curve.add_argument(
        "--action-metric",
        default="top1_video",
        help="key read from each action_metrics JSON (append *100 for a fraction)",
    )
    grid = parser.add_argument_group("image grid (rot-F1/F3/F5/F6-F9, v3s-F5)")
    grid.add_argument(
        "--images",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="PNG/JPEG, or .npz as written by `vssl attention` (may hold several panels)",
    )
    grid.add_argument("--labels", nargs="+", metavar="LABEL", help="one title per image (or per panel)")
    grid.add_argument("--cols", type=int, help="panels per row (default: up to 4)")
    trans = parser.add_argument_group("transforms (v3s-F1/F2)")
    trans.add_argument("--transforms", type=Path, metavar="NPZ", help="arrays original, ss, sp, ts, tp")
    parser.add_argument("--frames", type=int, help="frames shown per clip (default: 4 in image grids, 8 per transform)")


def render(args: argparse.Namespace) -> dict[str, Path]:
    """Dispatch on the experiment's figure kind; every required input is checked with a clear error."""
    exp = experiment(args.id)
    if exp.kind != "figure":
        raise ReportError(f"{args.id} is a table; render it with `vssl table {args.id}`")
    out_dir = Path(args.out_dir)
    if exp.figure_kind == "bars":
        observations = resolve_entries(collect_entries(args.entry, args.entries_file))
        return render_bars(exp, observations, out_dir, args.title)
    if exp.figure_kind == "scatter":
        observations = resolve_entries(collect_entries(args.entry, args.entries_file))
        return render_scatter(exp, observations, out_dir, args.title)
    if exp.figure_kind == "curve":
        if args.curve is None:
            raise ReportError(f"{exp.id}: give --curve CSV")
        return render_curve(exp, read_curve(args.curve, args.action_metric), out_dir, args.title)
    if exp.figure_kind == "image-grid":
        return render_image_grid(exp, args.images or [], args.labels, out_dir, args.cols, args.title, args.frames or 4)
    if exp.figure_kind == "transforms":
        if args.transforms is None:
            raise ReportError(f"{exp.id}: give --transforms NPZ")
        return render_transforms(exp, args.transforms, out_dir, args.frames or 8, args.title)
    raise ReportError(f"{exp.id}: no renderer for figure kind {exp.figure_kind!r}")


def run(args: argparse.Namespace) -> int:
    try:
        paths = render(args)
    except (ReportError, KeyError) as err:
        print(f"vssl figure: error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    print(f"{args.id} -> " + ", ".join(str(p) for p in paths.values()))
    return 0
