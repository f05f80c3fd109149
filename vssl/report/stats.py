"""Small statistics shared by tables, figures and claims (numpy/pandas only, no scipy)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample std (ddof=1); the std is NaN for a single value (no spread is known)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return math.nan, math.nan
    std = float(arr.std(ddof=1)) if arr.size >= 2 else math.nan
    return float(arr.mean()), std


def pooled_std(std_a: float, n_a: int, std_b: float, n_b: int) -> float:
    """Pooled sample std of two groups, ``sqrt(((na-1)sa² + (nb-1)sb²) / (na+nb-2))``; NaN if undefined."""
    if n_a < 2 or n_b < 2 or math.isnan(std_a) or math.isnan(std_b):
        return math.nan
    return math.sqrt(((n_a - 1) * std_a**2 + (n_b - 1) * std_b**2) / (n_a + n_b - 2))


def _unit_ranks(values: Sequence[float]) -> np.ndarray | None:
    """Average ranks, centred and scaled to unit length (None for a constant series)."""
    ranks = pd.Series(values, dtype=float).rank().to_numpy()
    ranks = ranks - ranks.mean()
    norm = float(np.sqrt((ranks**2).sum()))
    return ranks / norm if norm > 0 else None


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties); NaN for fewer than 3 points or a constant series."""
    if len(x) != len(y):
        raise ValueError(f"spearman: {len(x)} x values but {len(y)} y values")
    if len(x) < 3:
        return math.nan
    rx, ry = _unit_ranks(x), _unit_ranks(y)
    if rx is None or ry is None:
        return math.nan
    return float(np.clip(rx @ ry, -1.0, 1.0))


def spearman_permutation_test(
    groups: Sequence[tuple[Sequence[float], Sequence[float]]], n_permutations: int = 10000, seed: int = 0
) -> tuple[float, float]:
    """Mean Spearman rho over groups (seeds) and its one-sided permutation p-value for rho > 0.

    The null shuffles y within each group independently; the p-value counts permuted statistics at
    least as large as the observed one, with the +1 correction so it is never exactly 0. Groups with
    fewer than 3 points are skipped; NaN when no group is usable or one is constant.
    """
    usable = [(x, y) for x, y in groups if len(x) >= 3]
    if not usable:
        return math.nan, math.nan
    ranks = [(_unit_ranks(x), _unit_ranks(y)) for x, y in usable]
    if any(rx is None or ry is None for rx, ry in ranks):
        return math.nan, math.nan
    observed = float(np.mean([rx @ ry for rx, ry in ranks]))
    rng = np.random.default_rng(seed)
    null = np.zeros(n_permutations)
    for rx, ry in ranks:
        # Permuting y permutes its ranks, and the norms do not change: rho is a dot product.
        null += rng.permuted(np.tile(ry, (n_permutations, 1)), axis=1) @ rx
    null /= len(ranks)
    hits = int((null >= observed - 1e-12).sum())
    return observed, (hits + 1) / (n_permutations + 1)
