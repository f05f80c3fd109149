"""`vssl retrieve`: nearest-neighbour video retrieval, the VCOP protocol (V3S Tables 4/5).

Protocol (EXPERIMENTS.md, "Retrieval"): 10 evenly spaced 16-frame clips per
video, resized to 128x171 and centre-cropped to 112 (both configurable for the
toy scale); features from the last pooling layer averaged over the clips;
split-1 *test* videos are the queries, split-1 *train* videos the gallery;
ranking by cosine similarity; a query hits at k when any of its k nearest
gallery videos has the query's class. No video is dropped: VCOP's loader used
``drop_last`` and silently lost 8 videos, so the counts are asserted here.

Resolved ambiguities:
- k larger than the gallery is capped at the gallery size (every gallery item
  is then retrieved); the effective k is written beside each row.
- Ties in similarity are broken by gallery order (a stable sort), so results
  do not depend on the sort implementation.
- A zero feature vector has no direction; it gets cosine 0 against everything
  (norms are clamped by a tiny epsilon) instead of NaN.
- Accuracies are percentages, like the papers' tables.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import numpy as np

DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 20, 50)

log = logging.getLogger(__name__)


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalisation; all-zero rows stay zero."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, eps)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities in float64."""
    return l2_normalize(a) @ l2_normalize(b).T


def first_hit_ranks(
    queries: np.ndarray,
    query_labels: np.ndarray,
    gallery: np.ndarray,
    gallery_labels: np.ndarray,
    *,
    chunk: int | None = None,
) -> np.ndarray:
    """1-based rank of the first gallery item sharing each query's class.

    A query whose class is absent from the gallery gets rank ``len(gallery) + 1``
    (never a hit). Queries are processed in chunks so the similarity matrix of
    a Kinetics-sized gallery never has to be held whole.
    """
    queries, gallery = _check_features(queries, gallery)
    query_labels = np.asarray(query_labels)
    gallery_labels = np.asarray(gallery_labels)
    if len(query_labels) != len(queries) or len(gallery_labels) != len(gallery):
        raise ValueError(
            f"labels do not match features: {len(query_labels)} query labels for {len(queries)} queries, "
            f"{len(gallery_labels)} gallery labels for {len(gallery)} gallery items"
        )
    if len(gallery) == 0:
        raise ValueError("the gallery is empty")
    g = l2_normalize(gallery)
    n_gallery = len(g)
    if chunk is None:
        chunk = max(1, (1 << 24) // n_gallery)  # ~128 MiB of float64 similarities per chunk
    positions = np.arange(n_gallery)
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        stop = start + chunk
        sim = l2_normalize(queries[start:stop]) @ g.T
        same = gallery_labels[None, :] == query_labels[start:stop, None]
        # The first hit in a stable descending sort is the best same-class item
        # (lowest index among equals); its rank counts everything sorted before
        # it, so no O(G log G) sort is needed.
        best = np.where(same, sim, -np.inf).max(axis=1, keepdims=True)
        first = np.where(same & (sim == best), positions, n_gallery).min(axis=1, keepdims=True)
        before = (sim > best) | ((sim == best) & (positions < first))
        rank = before.sum(axis=1) + 1
        ranks[start:stop] = np.where(same.any(axis=1), rank, n_gallery + 1)
    return ranks


def retrieval_topk(
    q: np.ndarray,
    q_labels: np.ndarray,
    g: np.ndarray,
    g_labels: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[int, float]:
    """Top-k retrieval accuracy (percent) for each k: share of queries with a same-class item among the k nearest.

    k above the gallery size is capped at the gallery size (see module docstring).
    """
    if any(int(k) < 1 for k in ks):
        raise ValueError(f"every k must be >= 1, got {list(ks)}")
    ranks = first_hit_ranks(q, q_labels, g, g_labels)
    n_gallery = len(g)
    return {int(k): float(100.0 * np.mean(ranks <= min(int(k), n_gallery))) for k in ks}


def _check_features(queries: np.ndarray, gallery: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    queries = np.asarray(queries, dtype=np.float64)
    gallery = np.asarray(gallery, dtype=np.float64)
    if queries.ndim != 2 or gallery.ndim != 2:
        raise ValueError(f"features must be 2-D (videos, dims), got {queries.shape} and {gallery.shape}")
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"feature sizes differ: queries {queries.shape[1]}, gallery {gallery.shape[1]}")
    if not (np.isfinite(queries).all() and np.isfinite(gallery).all()):
        raise ValueError("features contain NaN or Inf")
    return queries, gallery


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vssl.eval import features as F

    F.add_model_arguments(parser)
    F.add_store_arguments(parser)
    group = parser.add_argument_group("retrieval")
    group.add_argument("--query-split", default="test", help="split value of the query videos")
    group.add_argument("--gallery-split", default="train", help="split value of the gallery videos")
    group.add_argument("--ks", type=int, nargs="+", default=list(DEFAULT_KS), help="top-k values")
    group.add_argument("--tap", default="last_pool", help="feature tap (default: the last pooling layer)")
    group.add_argument("--save-features", action="store_true", help="also write OUT/features_<split>.npz")
    F.add_clip_arguments(parser, num_clips=10, clip_length=16, resize=(128, 171), crop=112)
    F.add_runtime_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from vssl.data.clips import EvenlySpaced
    from vssl.eval import features as F
    from vssl.runtime.context import command_context
    from vssl.utils.io import atomic_write_csv, atomic_write_json

    with command_context(args, "retrieve") as ctx:
        started = ctx.started
        device = ctx.device
        backbone, source = F.load_backbone_source(args)
        transform = F.build_clip_transform(args, source)
        length = F.resolve_clip_length(args, source)
        sampler = EvenlySpaced(num_clips=args.num_clips, length=transform.frames_to_load(length))
        manifest = F.read_manifest(args.store, args.manifest)
        common = dict(sampler=sampler, clip_transform=transform, device=device, taps=(args.tap,))
        log.info(
            "retrieval: %s on %s (%s queries, %s gallery)",
            source.label,
            args.store,
            args.query_split,
            args.gallery_split,
        )
        g_feats, g_videos, g_labels, g_excluded = F.split_features(
            args, backbone, manifest, args.gallery_split, **common
        )
        q_feats, q_videos, q_labels, q_excluded = F.split_features(args, backbone, manifest, args.query_split, **common)
        F.require_labels(g_labels, g_videos, "gallery")
        F.require_labels(q_labels, q_videos, "queries")
        q, g = q_feats[args.tap], g_feats[args.tap]
        ranks = first_hit_ranks(q, q_labels, g, g_labels)
        n_gallery = len(g)
        table = pd.DataFrame(
            [
                {
                    "k": k,
                    "k_effective": min(k, n_gallery),
                    "accuracy": float(100.0 * np.mean(ranks <= min(k, n_gallery))),
                    "n_queries": len(q),
                    "n_gallery": n_gallery,
                }
                for k in args.ks
            ]
        )
        per_query = pd.DataFrame({"video": q_videos, "label": q_labels, "first_hit_rank": ranks})
        atomic_write_csv(args.out / "retrieval.csv", table)
        atomic_write_csv(args.out / "per_query.csv", per_query)
        if args.save_features:
            F.save_features(args.out / f"features_{args.gallery_split}.npz", g_feats, g_videos, g_labels)
            F.save_features(args.out / f"features_{args.query_split}.npz", q_feats, q_videos, q_labels)
        metrics = F.run_metadata(
            "retrieve",
            args,
            [source],
            device=device,
            started=started,
            extra={
                "topk": {str(row.k): row.accuracy for row in table.itertuples()},
                "n_queries": len(q),
                "n_gallery": n_gallery,
                "excluded_videos": {"query": q_excluded, "gallery": g_excluded},
                "transform": vars(transform) | {"clip_length": length, "num_clips": args.num_clips},
            },
        )
        atomic_write_json(args.out / "metrics.json", metrics)
        summary = "  ".join(f"top{row.k} {row.accuracy:.2f}" for row in table.itertuples())
        print(f"retrieval ({len(q)} queries, {n_gallery} gallery): {summary}")
        log.info("retrieval: %s", summary)
    return 0
