"""`vssl linear-probe`: logistic regression on frozen features (beyond the papers).

Frozen last-pool features (one centre clip, or N evenly spaced clips averaged
per video) of the split's train videos train a standardised multinomial
logistic regression (scikit-learn); the split's test videos give top-1.

Resolved choices:
- Standardisation (StandardScaler) is fit on the training videos only.
- The inverse regularisation strength C is a flag. Given several values, C is
  chosen by stratified k-fold cross-validation on the *training* videos only
  (never on test), then refit on all training videos; the chosen C and every
  candidate's CV accuracy are recorded.
- Accuracies are percentages.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)


def make_probe(C: float = 1.0, *, max_iter: int = 2000, seed: int = 0):
    """StandardScaler + multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))


def select_c(
    train_x: np.ndarray,
    train_y: np.ndarray,
    c_values: Sequence[float],
    *,
    folds: int = 3,
    max_iter: int = 2000,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """C with the best mean stratified-CV accuracy on the training set (ties: the smaller C)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    _, counts = np.unique(train_y, return_counts=True)
    folds = int(min(folds, counts.min()))
    if folds < 2:
        raise ValueError("choosing C by cross-validation needs at least 2 training videos per class")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = {}
    for c in sorted(float(c) for c in c_values):
        cv = cross_val_score(make_probe(c, max_iter=max_iter, seed=seed), train_x, train_y, cv=splitter)
        scores[c] = float(100.0 * cv.mean())
    best = max(scores, key=lambda c: (scores[c], -c))
    return best, scores


def linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    *,
    c_values: Sequence[float] = (1.0,),
    cv_folds: int = 3,
    max_iter: int = 2000,
    seed: int = 0,
) -> dict:
    """Fit on train, score on test. Returns top1 and top5 (percent), the chosen C and the CV scores."""
    train_x = np.asarray(train_x, dtype=np.float64)
    test_x = np.asarray(test_x, dtype=np.float64)
    train_y = np.asarray(train_y, dtype=np.int64)
    test_y = np.asarray(test_y, dtype=np.int64)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("labels and features differ in length")
    if (train_y < 0).any() or (test_y < 0).any():
        raise ValueError("the linear probe needs labelled videos; found label < 0")
    if len(np.unique(train_y)) < 2:
        raise ValueError("the linear probe needs at least 2 classes in the training set")
    if not c_values:
        raise ValueError("give at least one C value")
    cv_scores: dict[float, float] = {}
    if len(c_values) > 1:
        chosen_c, cv_scores = select_c(train_x, train_y, c_values, folds=cv_folds, max_iter=max_iter, seed=seed)
    else:
        chosen_c = float(c_values[0])
    model = make_probe(chosen_c, max_iter=max_iter, seed=seed)
    model.fit(train_x, train_y)
    proba = model.predict_proba(test_x)
    classes = model.classes_
    ranked = classes[np.argsort(-proba, axis=1, kind="stable")]
    top1 = float(100.0 * np.mean(ranked[:, 0] == test_y))
    top5 = float(100.0 * np.mean((ranked[:, : min(5, len(classes))] == test_y[:, None]).any(axis=1)))
    return {
        "top1": top1,
        "top5": top5,
        "C": chosen_c,
        "cv_accuracy": cv_scores,
        "n_train": int(len(train_y)),
        "n_test": int(len(test_y)),
        "n_classes_train": int(len(classes)),
        "predictions": ranked[:, 0],
    }


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F

    F.add_train_test_arguments(parser)
    group = parser.add_argument_group("logistic regression")
    group.add_argument(
        "--C",
        dest="c_values",
        type=float,
        nargs="+",
        default=[1.0],
        help="inverse regularisation strength; several values = choose by CV on the train split",
    )
    group.add_argument("--cv-folds", type=int, default=3, help="folds for choosing C")
    group.add_argument("--max-iter", type=int, default=2000, help="solver iterations")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from vssl.eval import features as F
    from vssl.runtime.context import command_context
    from vssl.utils.io import atomic_write_csv, atomic_write_json

    with command_context(args, "linear_probe") as ctx:
        started = ctx.started
        data = F.train_test_features(args, ctx.device)
        result = linear_probe(
            data.train_x,
            data.train_y,
            data.test_x,
            data.test_y,
            c_values=args.c_values,
            cv_folds=args.cv_folds,
            max_iter=args.max_iter,
            seed=args.seed,
        )
        predictions = pd.DataFrame(
            {"video": data.test_videos, "label": data.test_y, "predicted": result.pop("predictions")}
        )
        atomic_write_csv(args.out / "predictions.csv", predictions)
        table = pd.DataFrame([{k: result[k] for k in ("top1", "top5", "C", "n_train", "n_test")}])
        atomic_write_csv(args.out / "linear_probe.csv", table)
        metrics = F.run_metadata(
            "linear-probe",
            args,
            [data.source],
            device=data.device,
            started=started,
            extra={
                **{k: v for k, v in result.items() if k != "cv_accuracy"},
                "cv_accuracy": {str(c): v for c, v in result["cv_accuracy"].items()},
                "excluded_videos": data.excluded,
                "transform": vars(data.transform) | {"clip_length": data.clip_length, "num_clips": args.num_clips},
            },
        )
        atomic_write_json(args.out / "metrics.json", metrics)
        print(
            f"linear probe (C={result['C']:g}, {result['n_train']} train, {result['n_test']} test): "
            f"top1 {result['top1']:.2f}  top5 {result['top5']:.2f}"
        )
        log.info("linear probe: top1 %.2f top5 %.2f (C=%g)", result["top1"], result["top5"], result["C"])
    return 0
