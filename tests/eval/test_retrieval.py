"""Retrieval math on hand-made features with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from vssl.eval.retrieval import first_hit_ranks, retrieval_topk


def _sort_based_ranks(q, ql, g, gl):
    """Independent reference: full stable sort of cosine similarities per query."""
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    gn = g / np.linalg.norm(g, axis=1, keepdims=True)
    ranks = []
    for i in range(len(q)):
        order = sorted(range(len(g)), key=lambda j: (-float(qn[i] @ gn[j]), j))
        hits = [r for r, j in enumerate(order, start=1) if gl[j] == ql[i]]
        ranks.append(hits[0] if hits else len(g) + 1)
    return np.array(ranks)


def test_identical_features_give_full_top1():
    rng = np.random.default_rng(0)
    g = rng.normal(size=(12, 8))
    labels = np.arange(12) % 4
    result = retrieval_topk(g.copy(), labels, g, labels, ks=(1, 5))
    assert result == {1: 100.0, 5: 100.0}


def test_constructed_partial_hits():
    # Gallery: one unit vector per axis, class = axis index.
    g = np.eye(4)
    g_labels = np.array([0, 1, 2, 3])
    # Query 0 sits on axis 0 (class 0): rank 1.
    # Query 1 (class 1) is nearest to axis 0, then axis 1: rank 2.
    # Query 2 (class 3) is ordered axis 2 > axis 1 > axis 3 > axis 0: rank 3.
    # Query 3 has class 7, absent from the gallery: never a hit.
    q = np.array(
        [
            [1.0, 0.0, 0.0, 0.0],
            [0.9, 0.5, 0.0, 0.0],
            [0.0, 0.6, 0.9, 0.3],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    q_labels = np.array([0, 1, 3, 7])
    np.testing.assert_array_equal(first_hit_ranks(q, q_labels, g, g_labels), [1, 2, 3, 5])
    result = retrieval_topk(q, q_labels, g, g_labels, ks=(1, 2, 3, 50))
    assert result == {1: 25.0, 2: 50.0, 3: 75.0, 50: 75.0}  # k=50 is capped at the 4 gallery items


def test_cosine_ignores_scale_and_ties_follow_gallery_order():
    g = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    g_labels = np.array([5, 6, 6])
    q = np.array([[3.0, 0.0]])  # equally similar (cosine 1) to items 0 and 1
    assert first_hit_ranks(q, np.array([6]), g, g_labels)[0] == 2
    assert first_hit_ranks(q, np.array([5]), g, g_labels)[0] == 1


@pytest.mark.parametrize("chunk", [1, 3, None])
def test_ranks_match_sort_reference(chunk):
    rng = np.random.default_rng(1)
    g = rng.normal(size=(40, 6))
    g[5] = g[3]  # exact ties
    gl = rng.integers(0, 5, size=40)
    q = rng.normal(size=(17, 6))
    q[2] = g[3]
    ql = rng.integers(0, 6, size=17)  # class 5 may be absent from the gallery
    np.testing.assert_array_equal(first_hit_ranks(q, ql, g, gl, chunk=chunk), _sort_based_ranks(q, ql, g, gl))


def test_zero_vector_gives_no_nan():
    g = np.array([[1.0, 0.0], [0.0, 1.0]])
    q = np.zeros((1, 2))
    result = retrieval_topk(q, np.array([1]), g, np.array([0, 1]), ks=(1, 2))
    assert result == {1: 0.0, 2: 100.0}  # all similarities 0: gallery order decides


def test_bad_inputs_raise():
    g = np.eye(3)
    with pytest.raises(ValueError, match="feature sizes differ"):
        retrieval_topk(np.ones((2, 4)), np.zeros(2), g, np.zeros(3))
    with pytest.raises(ValueError, match="labels do not match"):
        retrieval_topk(np.ones((2, 3)), np.zeros(3), g, np.zeros(3))
    with pytest.raises(ValueError, match="k must be >= 1"):
        retrieval_topk(np.ones((2, 3)), np.zeros(2), g, np.zeros(3), ks=(0,))
    with pytest.raises(ValueError, match="NaN"):
        retrieval_topk(np.full((1, 3), np.nan), np.zeros(1), g, np.zeros(3))
