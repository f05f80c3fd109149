"""`vssl aslan`: ASLAN action similarity (Kliper-Gross, Hassner, Wolf 2012; V3S Table 6).

Protocol (EXPERIMENTS.md, "ASLAN"): each video is cut into 16-frame clips with
stride 8; pool3, pool4 and pool5 features of the clips are averaged per video
and L2-normalised. For every pair the 12 measures below are computed per layer
(36 numbers), each dimension is standardised on the training folds only, and a
linear SVM decides same/not-same. View-2 is evaluated leave-one-split-out over
its 10 splits: mean accuracy +- standard error, and AUC.

The 12 measures for a pair (x1, x2), in the paper's order (sums run over the
feature dimensions):

  1. sum x1*x2                      7. L1: sum |x1-x2|
  2. sqrt(sum x1*x2)                8. Hellinger: sqrt(sum (sqrt x1 - sqrt x2)^2)
  3. sqrt(sum sqrt(x1)*sqrt(x2))    9. Euclidean: sqrt(sum (x1-x2)^2)
  4. sqrt(sum x1*x2/(x1+x2))       10. symmetric KL: sum (x1-x2)*(log x1 - log x2)
  5. cosine                        11. sum sqrt(max(x1,x2))/sqrt(x1+x2)
  6. chi^2: sqrt(sum (x1-x2)^2/(x1+x2))   12. sum min(x1,x2) / (sum x1 * sum x2)

Resolved ambiguities (all configurable where it matters):
- Non-negativity. Measures 2, 3, 4, 6, 8, 10, 11 and 12 need non-negative
  inputs, but a backbone's features may be negative. One rule is applied to
  the feature vectors *before all 12 measures*, so every measure sees the same
  vectors: ``nonneg="relu"`` (default) clips negatives to 0 -- for ResNet,
  C3D and S3D taps, which follow a ReLU, the features are already
  non-negative and this is the identity; ``nonneg="abs"`` takes |x| instead.
  Both are per-vector rules, so the features do not depend on the folds (a
  shift by a training-fold minimum would). Vectors are *not* re-normalised
  after the rule.
- Vanishing denominators (x1+x2 = 0 in measures 4, 6, 11; zero norms in 5;
  zero sums in 12; log 0 in 10) get ``eps`` added, so a pair of zero entries
  contributes 0 instead of NaN.
- Symmetric KL is KL(x1||x2) + KL(x2||x1) of the vectors as they are, without
  first normalising them to sum 1; for positive vectors this equals the sum of
  the two generalised KL divergences, so the choice is well defined.
- Standard error is sigma/sqrt(n_folds) with sigma the sample standard
  deviation (ddof=1) over the fold accuracies, as in the LFW/ASLAN protocol.
- AUC is given two ways: the mean of the per-fold AUCs and the AUC of the
  pooled ROC (all folds' SVM decision values concatenated; the decision
  values of different folds come from different SVMs, which is why the mean
  of per-fold AUCs is the headline number).
- Accuracies are percentages, like the paper's table.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

MEASURE_NAMES: tuple[str, ...] = (
    "dot",
    "sqrt_dot",
    "sqrt_sum_sqrt_products",
    "sqrt_harmonic",
    "cosine",
    "chi2",
    "l1",
    "hellinger",
    "euclidean",
    "symmetric_kl",
    "sqrt_max_over_sqrt_sum",
    "min_over_product_of_sums",
)
DEFAULT_LAYERS: tuple[str, ...] = ("pool3", "pool4", "pool5")
NONNEG_RULES: tuple[str, ...] = ("relu", "abs")
DEFAULT_EPS = 1e-10

log = logging.getLogger(__name__)


def make_nonnegative(x: np.ndarray, rule: str = "relu") -> np.ndarray:
    """Apply the non-negativity rule (see module docstring) to feature vectors."""
    if rule == "relu":
        return np.maximum(x, 0.0)
    if rule == "abs":
        return np.abs(x)
    raise ValueError(f"unknown non-negativity rule {rule!r}; choose one of {NONNEG_RULES}")


def aslan_measures(x1: np.ndarray, x2: np.ndarray, *, nonneg: str = "relu", eps: float = DEFAULT_EPS) -> np.ndarray:
    """The 12 ASLAN measures for each pair of rows: (P, D), (P, D) -> (P, 12), in the paper's order."""
    x1 = np.atleast_2d(np.asarray(x1, dtype=np.float64))
    x2 = np.atleast_2d(np.asarray(x2, dtype=np.float64))
    if x1.shape != x2.shape:
        raise ValueError(f"pair features differ in shape: {x1.shape} vs {x2.shape}")
    a = make_nonnegative(x1, nonneg)
    b = make_nonnegative(x2, nonneg)
    total = a + b
    diff = a - b
    sqrt_a, sqrt_b = np.sqrt(a), np.sqrt(b)
    dot = (a * b).sum(axis=1)
    measures = [
        dot,
        np.sqrt(dot),
        np.sqrt((sqrt_a * sqrt_b).sum(axis=1)),
        np.sqrt((a * b / (total + eps)).sum(axis=1)),
        dot / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + eps),
        np.sqrt((diff**2 / (total + eps)).sum(axis=1)),
        np.abs(diff).sum(axis=1),
        np.sqrt(((sqrt_a - sqrt_b) ** 2).sum(axis=1)),
        np.sqrt((diff**2).sum(axis=1)),
        (diff * (np.log(a + eps) - np.log(b + eps))).sum(axis=1),
        (np.sqrt(np.maximum(a, b)) / np.sqrt(total + eps)).sum(axis=1),
        np.minimum(a, b).sum(axis=1) / (a.sum(axis=1) * b.sum(axis=1) + eps),
    ]
    return np.stack(measures, axis=1)


def pair_vectors(
    features: Mapping[str, np.ndarray],
    index1: np.ndarray,
    index2: np.ndarray,
    *,
    layers: Sequence[str] = DEFAULT_LAYERS,
    nonneg: str = "relu",
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """(P, 12 * len(layers)) pair vectors: the 12 measures of each layer, layers in the given order."""
    missing = [layer for layer in layers if layer not in features]
    if missing:
        raise KeyError(f"features lack layers {missing}; have {sorted(features)}")
    blocks = [
        aslan_measures(features[layer][index1], features[layer][index2], nonneg=nonneg, eps=eps) for layer in layers
    ]
    return np.concatenate(blocks, axis=1)


def pair_vector_names(layers: Sequence[str] = DEFAULT_LAYERS) -> list[str]:
    return [f"{layer}/{name}" for layer in layers for name in MEASURE_NAMES]


def standard_error(values: Sequence[float]) -> float:
    """sigma / sqrt(n) with the sample standard deviation (ddof=1); 0 for a single value."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return 0.0
    return float(values.std(ddof=1) / np.sqrt(values.size))


def make_svm(*, kind: str = "linearsvc", C: float = 1.0, seed: int = 0, max_iter: int = 100_000):
    """A standardise-then-linear-SVM pipeline (the scaler sees the training folds only)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    if kind == "linearsvc":
        svm = LinearSVC(C=C, dual="auto", max_iter=max_iter, random_state=seed)
    elif kind == "svc":
        svm = SVC(kernel="linear", C=C, max_iter=-1, random_state=seed)
    else:
        raise ValueError(f"unknown SVM kind {kind!r}; choose 'linearsvc' or 'svc'")
    return make_pipeline(StandardScaler(), svm)


def leave_one_split_out(
    pair_x: np.ndarray,
    same: np.ndarray,
    splits: np.ndarray,
    *,
    svm: str = "linearsvc",
    C: float = 1.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Train on all splits but one, test on that one, for every split.

    Returns the per-fold table (split, n_train, n_test, accuracy [%], auc) and
    each pair's decision value from the SVM that did not see its split.
    """
    from sklearn.metrics import roc_auc_score

    pair_x = np.asarray(pair_x, dtype=np.float64)
    same = np.asarray(same).astype(np.int64)
    splits = np.asarray(splits)
    if not (len(pair_x) == len(same) == len(splits)):
        raise ValueError(f"length mismatch: {len(pair_x)} vectors, {len(same)} labels, {len(splits)} split ids")
    if not np.isfinite(pair_x).all():
        bad = np.argwhere(~np.isfinite(pair_x))[0]
        raise ValueError(f"pair vector {bad[0]} has a non-finite value in dimension {bad[1]}")
    if not set(np.unique(same)) <= {0, 1}:
        raise ValueError(f"'same' must be 0/1, got values {sorted(set(np.unique(same)))}")
    split_ids = np.unique(splits)
    if len(split_ids) < 2:
        raise ValueError(f"leave-one-split-out needs at least 2 splits, got {list(split_ids)}")
    decision = np.full(len(pair_x), np.nan)
    rows = []
    for split in split_ids:
        test = splits == split
        train = ~test
        if len(np.unique(same[train])) < 2:
            raise ValueError(f"training folds for split {split} hold only one class")
        model = make_svm(kind=svm, C=C, seed=seed)
        model.fit(pair_x[train], same[train])
        scores = model.decision_function(pair_x[test])
        decision[test] = scores
        predicted = (scores > 0).astype(np.int64)
        accuracy = 100.0 * float(np.mean(predicted == same[test]))
        auc = float(roc_auc_score(same[test], scores)) if len(np.unique(same[test])) == 2 else float("nan")
        rows.append(
            {
                "split": int(split) if np.issubdtype(type(split), np.integer) else split,
                "n_train": int(train.sum()),
                "n_test": int(test.sum()),
                "n_same_test": int(same[test].sum()),
                "accuracy": accuracy,
                "auc": auc,
            }
        )
    return pd.DataFrame(rows), decision


def summarize_folds(folds: pd.DataFrame, same: np.ndarray, decision: np.ndarray) -> dict[str, float]:
    """Mean accuracy, its standard error, mean per-fold AUC and pooled-ROC AUC."""
    from sklearn.metrics import roc_auc_score

    return {
        "accuracy_mean": float(folds["accuracy"].mean()),
        "accuracy_std": float(folds["accuracy"].std(ddof=1)) if len(folds) > 1 else 0.0,
        "accuracy_se": standard_error(folds["accuracy"].to_numpy()),
        "auc_mean": float(folds["auc"].mean()),
        "auc_pooled": float(roc_auc_score(np.asarray(same).astype(int), decision)),
        "n_folds": int(len(folds)),
        "n_pairs": int(len(decision)),
    }


# --------------------------------------------------------------------------- data


def video_ids(manifest) -> dict[int, str]:
    """ASLAN sample id -> store key: the manifest's ``id`` column, else the file stem (``0001.avi`` -> 1)."""
    path = manifest.attrs.get("path", "manifest")
    mapping: dict[int, str] = {}
    has_id = "id" in manifest.columns
    for line, row in enumerate(manifest.itertuples(index=False), start=2):
        key = str(row.video)
        stem = Path(key).stem
        if has_id:
            video_id = int(row.id)
        elif stem.isdigit():
            video_id = int(stem)
        else:
            raise SystemExit(f"{path}:{line}: video {key!r} is not named by an ASLAN id (expected e.g. 0001.avi)")
        if video_id in mapping:
            raise SystemExit(f"{path}:{line}: ASLAN id {video_id} appears twice ({mapping[video_id]!r}, {key!r})")
        mapping[video_id] = key
    return mapping


def pair_positions(
    pairs: pd.DataFrame, ids_to_key: Mapping[int, str], key_to_position: Mapping[str, int], pairs_path: str
) -> tuple[np.ndarray, np.ndarray]:
    """Feature-row positions of each pair's two videos; a pair naming an absent video is an error."""
    first, second = [], []
    for row in pairs.itertuples(index=False):
        for video_id, out in ((int(row.id1), first), (int(row.id2), second)):
            key = ids_to_key.get(video_id)
            if key is None or key not in key_to_position:
                raise SystemExit(
                    f"{pairs_path}: split {row.split} names video id {video_id:04d}, which the store lacks"
                )
            out.append(key_to_position[key])
    return np.asarray(first), np.asarray(second)


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F

    F.add_model_arguments(parser)
    F.add_store_arguments(parser, split_column=False)
    group = parser.add_argument_group("ASLAN")
    group.add_argument("--pairs", required=True, type=Path, help="View2.mat (or the folder holding it)")
    group.add_argument("--layers", nargs="+", default=list(DEFAULT_LAYERS), help="feature taps, in pair-vector order")
    group.add_argument("--stride", type=int, default=8, help="frames between consecutive 16-frame clips")
    group.add_argument("--nonneg", choices=NONNEG_RULES, default="relu", help="rule making features non-negative")
    group.add_argument("--eps", type=float, default=DEFAULT_EPS, help="added to vanishing denominators")
    group.add_argument(
        "--svm",
        choices=("linearsvc", "svc"),
        default="linearsvc",
        help="LinearSVC (liblinear) or SVC(kernel='linear') (libsvm)",
    )
    group.add_argument("--C", dest="svm_c", type=float, default=1.0, help="SVM regularisation")
    group.add_argument(
        "--save-features", action="store_true", help="also write OUT/features.npz and OUT/pair_vectors.npz"
    )
    F.add_clip_arguments(parser, num_clips=None, clip_length=16, resize=(128, 171), crop=112)
    F.add_runtime_arguments(parser)


def paired_rows(manifest: pd.DataFrame, pairs: pd.DataFrame, pairs_path: str, *, allow_failed: bool):
    """The store rows the pairs name, and the pairs left once pairs naming a failed video go.

    Returns ``(rows, excluded, pairs, ids_to_key, dropped_pairs)``; a paired id the store lacks is an error.
    """
    from vssl.eval import features as F

    ids_to_key = video_ids(manifest)
    needed = sorted(set(pairs["id1"].astype(int)) | set(pairs["id2"].astype(int)))
    absent = [i for i in needed if i not in ids_to_key]
    if absent:
        raise SystemExit(f"{pairs_path}: {len(absent)} paired video id(s) are not in the store (e.g. {absent[:5]})")
    wanted = {ids_to_key[i] for i in needed}
    subset = manifest[manifest["video"].astype(str).isin(wanted)].reset_index(drop=True)
    subset.attrs["path"] = manifest.attrs.get("path")
    rows, excluded = F.select_rows(subset, split_column=None, split=None, allow_failed=allow_failed)
    dropped_pairs = 0
    if excluded:
        # --allow-failed: a pair is only defined with both videos, so pairs naming a failed video go.
        failed_ids = {i for i, key in ids_to_key.items() if key in set(excluded)}
        keep = ~(pairs["id1"].isin(failed_ids) | pairs["id2"].isin(failed_ids))
        dropped_pairs = int((~keep).sum())
        log.warning("dropping %d pair(s) that name failed videos", dropped_pairs)
        pairs = pairs[keep].reset_index(drop=True)
    return rows, excluded, pairs, ids_to_key, dropped_pairs


def _write_results(out: Path, folds: pd.DataFrame, pairs: pd.DataFrame, same: np.ndarray, decision: np.ndarray) -> None:
    from sklearn.metrics import roc_curve

    from vssl.utils.io import atomic_write_csv

    per_pair = pairs[["split", "id1", "id2", "same"]].copy()
    per_pair["decision"] = decision
    per_pair["predicted_same"] = (decision > 0).astype(int)
    fpr, tpr, thresholds = roc_curve(same, decision)
    atomic_write_csv(out / "folds.csv", folds)
    atomic_write_csv(out / "pairs.csv", per_pair)
    atomic_write_csv(out / "roc_pooled.csv", pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds}))


def _save_features(
    out: Path,
    features,
    videos: list[str],
    vectors: np.ndarray,
    pairs: pd.DataFrame,
    same: np.ndarray,
    layers: list[str],
) -> None:
    from vssl.eval import features as F
    from vssl.utils.io import atomic_path

    F.save_features(out / "features.npz", features, videos, np.full(len(videos), -1))
    with atomic_path(out / "pair_vectors.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                vectors=vectors,
                names=np.asarray(pair_vector_names(layers)),
                same=same,
                split=pairs["split"].to_numpy(),
            )


def run(args: argparse.Namespace) -> int:
    from vssl.data.clips import Strided
    from vssl.data.datasets import load_aslan_pairs
    from vssl.eval import features as F
    from vssl.runtime.context import command_context
    from vssl.utils.io import atomic_write_csv, atomic_write_json

    with command_context(args, "aslan") as ctx:
        pairs_path = str(args.pairs)
        manifest = F.read_manifest(args.store, args.manifest)
        rows, excluded, pairs, ids_to_key, dropped_pairs = paired_rows(
            manifest, load_aslan_pairs(args.pairs), pairs_path, allow_failed=args.allow_failed
        )

        backbone, source = F.load_backbone_source(args)
        transform = F.build_clip_transform(args, source)
        length = F.resolve_clip_length(args, source)
        sampler = Strided(length=transform.frames_to_load(length), stride=args.stride)
        dataset = F.build_dataset(args.store, rows, sampler=sampler, seed=args.seed)
        features, videos, _ = F.extract_video_features(
            backbone,
            dataset,
            taps=args.layers,
            device=ctx.device,
            batch_size=args.batch_size,
            clip_transform=transform,
            normalize=True,
            workers=args.workers,
            amp=args.amp,
            progress=args.progress,
            desc="ASLAN features",
        )
        position = {key: i for i, key in enumerate(videos)}
        first, second = pair_positions(pairs, ids_to_key, position, pairs_path)
        vectors = pair_vectors(features, first, second, layers=args.layers, nonneg=args.nonneg, eps=args.eps)
        same = pairs["same"].astype(int).to_numpy()
        folds, decision = leave_one_split_out(
            vectors, same, pairs["split"].to_numpy(), svm=args.svm, C=args.svm_c, seed=args.seed
        )
        summary = summarize_folds(folds, same, decision)
        _write_results(args.out, folds, pairs, same, decision)
        atomic_write_csv(args.out / "aslan.csv", pd.DataFrame([summary]))
        if args.save_features:
            _save_features(args.out, features, videos, vectors, pairs, same, args.layers)
        metrics = F.run_metadata(
            "aslan",
            args,
            [source],
            device=ctx.device,
            started=ctx.started,
            extra={
                **summary,
                "pairs_file": pairs_path,
                "pairs_sha256": F.sha256_file(args.pairs) if args.pairs.is_file() else None,
                "n_videos": len(videos),
                "excluded_videos": excluded,
                "dropped_pairs": dropped_pairs,
                "measures": list(MEASURE_NAMES),
                "transform": vars(transform) | {"clip_length": length, "stride": args.stride},
            },
        )
        atomic_write_json(args.out / "metrics.json", metrics)
        print(
            f"ASLAN ({summary['n_folds']} folds, {summary['n_pairs']} pairs, {len(videos)} videos): "
            f"accuracy {summary['accuracy_mean']:.2f} +- {summary['accuracy_se']:.2f} (SE), "
            f"AUC {summary['auc_mean']:.4f} (mean of folds), {summary['auc_pooled']:.4f} (pooled)"
        )
        log.info("ASLAN: %s", summary)
    return 0
