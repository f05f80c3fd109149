"""`vssl knn`: cosine k-NN classification on frozen features (beyond the papers).

Frozen last-pool features (one centre clip, or N evenly spaced clips averaged
per video) of the split's train videos vote for the class of each test video;
top-1 accuracy is reported for every k asked for (default 1..20).

Votes:
- ``majority``: each of the k neighbours gives one vote. Ties between classes
  are broken by the larger summed similarity of their voters, then by the
  smaller class id, so the answer never depends on array order.
- ``weighted``: neighbour j votes exp(s_j / temperature) for its class, s_j its
  cosine similarity (the weighting of Wu et al. 2018's instance
  discrimination k-NN; temperature 0.07 by default). Remaining exact ties go to
  the smaller class id.
Neighbours at equal similarity are taken in training-set order (stable sort).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import numpy as np

from vssl.eval.retrieval import l2_normalize

VOTES: tuple[str, ...] = ("majority", "weighted")

log = logging.getLogger(__name__)


def nearest_neighbours(
    train_x: np.ndarray, test_x: np.ndarray, k: int, *, chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities of the k most similar training rows, most similar first."""
    train = l2_normalize(train_x)
    test = l2_normalize(test_x)
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"feature sizes differ: train {train.shape[1]}, test {test.shape[1]}")
    k = min(int(k), len(train))
    if k < 1:
        raise ValueError("k-NN needs k >= 1 and a non-empty training set")
    if chunk is None:
        chunk = max(1, (1 << 24) // len(train))
    indices = np.empty((len(test), k), dtype=np.int64)
    sims = np.empty((len(test), k), dtype=np.float64)
    for start in range(0, len(test), chunk):
        sim = test[start : start + chunk] @ train.T
        order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        indices[start : start + chunk] = order
        sims[start : start + chunk] = np.take_along_axis(sim, order, axis=1)
    return indices, sims


def vote(
    neighbour_labels: np.ndarray,
    neighbour_sims: np.ndarray,
    num_classes: int,
    *,
    method: str = "majority",
    temperature: float = 0.07,
) -> np.ndarray:
    """Predicted class per row from its neighbours' labels and similarities (see module docstring)."""
    if method not in VOTES:
        raise ValueError(f"unknown vote {method!r}; choose one of {VOTES}")
    n, k = neighbour_labels.shape
    rows = np.repeat(np.arange(n), k)
    labels = neighbour_labels.reshape(-1).astype(np.int64)
    sims = neighbour_sims.reshape(-1).astype(np.float64)
    score = np.zeros((n, num_classes), dtype=np.float64)
    if method == "majority":
        counts = np.zeros_like(score)
        sim_sums = np.zeros_like(score)
        np.add.at(counts, (rows, labels), 1.0)
        np.add.at(sim_sums, (rows, labels), sims)
        # Lexicographic (count, summed similarity): similarity sums lie in [-k, k],
        # so scaling counts by 2k+1 keeps the count decisive.
        score = counts * (2 * k + 1) + sim_sums
        score[counts == 0] = -np.inf  # a class nobody voted for never wins on similarity
    else:
        weights = np.exp((sims - 1.0) / temperature)  # shift by the max cosine: no overflow
        np.add.at(score, (rows, labels), weights)
    return score.argmax(axis=1)  # argmax takes the first maximum: the smaller class id


def knn_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    ks: Sequence[int],
    *,
    method: str = "majority",
    temperature: float = 0.07,
) -> dict[int, float]:
    """Top-1 accuracy (percent) of k-NN for each k; the neighbour search runs once for the largest k."""
    train_y = np.asarray(train_y, dtype=np.int64)
    test_y = np.asarray(test_y, dtype=np.int64)
    if len(train_y) != len(train_x) or len(test_y) != len(test_x):
        raise ValueError("labels and features differ in length")
    if (train_y < 0).any() or (test_y < 0).any():
        raise ValueError("k-NN needs labelled videos; found label < 0")
    if not ks or min(ks) < 1:
        raise ValueError(f"every k must be >= 1, got {list(ks)}")
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    indices, sims = nearest_neighbours(train_x, test_x, max(ks))
    labels = train_y[indices]
    result = {}
    for k in ks:
        kk = min(int(k), indices.shape[1])
        predicted = vote(labels[:, :kk], sims[:, :kk], num_classes, method=method, temperature=temperature)
        result[int(k)] = float(100.0 * np.mean(predicted == test_y))
    return result


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F

    F.add_train_test_arguments(parser)
    group = parser.add_argument_group("k-NN")
    group.add_argument("--k", type=int, nargs="+", default=list(range(1, 21)), help="neighbour counts (default 1..20)")
    group.add_argument("--vote", choices=VOTES, default="majority", help="majority or similarity-weighted vote")
    group.add_argument("--temperature", type=float, default=0.07, help="temperature of the weighted vote")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from vssl.eval import features as F
    from vssl.runtime.context import command_context
    from vssl.utils.io import atomic_write_csv, atomic_write_json

    with command_context(args, "knn") as ctx:
        started = ctx.started
        data = F.train_test_features(args, ctx.device)
        accuracy = knn_accuracy(
            data.train_x, data.train_y, data.test_x, data.test_y, args.k, method=args.vote, temperature=args.temperature
        )
        table = pd.DataFrame(
            [
                {"k": k, "vote": args.vote, "top1": acc, "n_train": len(data.train_y), "n_test": len(data.test_y)}
                for k, acc in accuracy.items()
            ]
        )
        atomic_write_csv(args.out / "knn.csv", table)
        best_k = max(accuracy, key=lambda k: (accuracy[k], -k))
        metrics = F.run_metadata(
            "knn",
            args,
            [data.source],
            device=data.device,
            started=started,
            extra={
                "top1": {str(k): v for k, v in accuracy.items()},
                "best_k": best_k,
                "n_train": len(data.train_y),
                "n_test": len(data.test_y),
                "excluded_videos": data.excluded,
                "transform": vars(data.transform) | {"clip_length": data.clip_length, "num_clips": args.num_clips},
            },
        )
        atomic_write_json(args.out / "metrics.json", metrics)
        shown = "  ".join(f"k={k} {v:.2f}" for k, v in accuracy.items())
        print(f"k-NN top-1 ({args.vote}, {len(data.train_y)} train, {len(data.test_y)} test): {shown}")
        log.info("k-NN top-1: %s", shown)
    return 0
