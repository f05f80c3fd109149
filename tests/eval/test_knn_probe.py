"""k-NN and linear probe on hand-made features with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from vssl.eval.knn import knn_accuracy, nearest_neighbours, vote
from vssl.eval.probe import linear_probe, select_c


def _clusters(rng, n_classes, per_class, dim, spread):
    centres = np.eye(dim)[:n_classes] * 10.0 + 1.0
    x = np.concatenate([c + spread * rng.normal(size=(per_class, dim)) for c in centres])
    y = np.repeat(np.arange(n_classes), per_class)
    return x, y


def test_nearest_neighbours_cosine_order():
    train = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [5.0, 0.1]])
    idx, sims = nearest_neighbours(train, np.array([[2.0, 0.0]]), 3)
    np.testing.assert_array_equal(idx[0], [0, 3, 2])  # cosine, not Euclidean: [5, .1] is second
    assert sims[0, 0] == pytest.approx(1.0)
    assert sims[0, 2] == pytest.approx(1 / np.sqrt(2))


def test_majority_vote_and_tie_breaks():
    labels = np.array([[2, 1, 1, 2]])
    # 2 votes each; class 2's voters are more similar in total -> 2.
    assert vote(labels, np.array([[0.9, 0.8, 0.7, 0.65]]), 3)[0] == 2
    # Same counts and same summed similarity -> smaller class id.
    assert vote(np.array([[2, 1]]), np.array([[0.5, 0.5]]), 3)[0] == 1
    # Count beats similarity.
    assert vote(np.array([[0, 1, 1]]), np.array([[1.0, 0.1, 0.1]]), 2)[0] == 1


def test_weighted_vote_lets_a_close_neighbour_win():
    labels = np.array([[0, 1, 1]])
    sims = np.array([[0.99, 0.5, 0.5]])
    assert vote(labels, sims, 2, method="majority")[0] == 1
    assert vote(labels, sims, 2, method="weighted", temperature=0.07)[0] == 0
    with pytest.raises(ValueError, match="unknown vote"):
        vote(labels, sims, 2, method="softmax")


def test_knn_accuracy_known_answer():
    train = np.eye(3)
    train_y = np.array([0, 1, 2])
    test = np.array([[1.0, 0.1, 0.0], [0.0, 1.0, 0.2], [0.9, 0.0, 1.0]])
    test_y = np.array([0, 1, 0])  # the third is nearer class 2
    result = knn_accuracy(train, train_y, test, test_y, ks=(1, 2))
    assert result[1] == pytest.approx(200 / 3)
    # k=2, one vote each for the top two: the summed-similarity tie-break picks the nearer one again
    assert result[2] == pytest.approx(200 / 3)


def test_knn_separable_clusters_perfect():
    rng = np.random.default_rng(0)
    x, y = _clusters(rng, 4, 10, 8, 0.5)
    xt, yt = _clusters(rng, 4, 5, 8, 0.5)
    for method in ("majority", "weighted"):
        result = knn_accuracy(x, y, xt, yt, ks=range(1, 21), method=method)
        assert set(result) == set(range(1, 21))
        assert all(v == 100.0 for v in result.values())


def test_knn_k_beyond_train_size_is_capped():
    x, y = np.eye(2), np.array([0, 1])
    result = knn_accuracy(x, y, np.array([[1.0, 0.0]]), np.array([0]), ks=(5,))
    assert result[5] == 100.0  # one vote each; summed similarity decides


def test_knn_rejects_unlabelled():
    with pytest.raises(ValueError, match="label < 0"):
        knn_accuracy(np.eye(2), np.array([0, -1]), np.eye(2), np.array([0, 1]), ks=(1,))


def test_linear_probe_separable_perfect_and_shapes():
    rng = np.random.default_rng(1)
    x, y = _clusters(rng, 3, 12, 6, 0.3)
    xt, yt = _clusters(rng, 3, 4, 6, 0.3)
    result = linear_probe(x, y, xt, yt)
    assert result["top1"] == 100.0 and result["top5"] == 100.0
    assert result["n_train"] == 36 and result["n_test"] == 12 and result["C"] == 1.0
    np.testing.assert_array_equal(result["predictions"], yt)


def test_linear_probe_learns_a_linear_rule_not_a_neighbour_rule():
    # Labels depend on the sign of one coordinate only; other dims are noise.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 5))
    y = (x[:, 2] > 0).astype(int)
    xt = rng.normal(size=(100, 5))
    yt = (xt[:, 2] > 0).astype(int)
    result = linear_probe(x, y, xt, yt, c_values=(100.0,))
    assert result["top1"] >= 95.0


def test_c_selection_uses_training_cv_only():
    rng = np.random.default_rng(3)
    x, y = _clusters(rng, 2, 20, 4, 3.0)
    best, scores = select_c(x, y, (1e-4, 1.0), folds=3)
    assert set(scores) == {1e-4, 1.0}
    assert best == max(scores, key=lambda c: (scores[c], -c))
    result = linear_probe(x, y, x[:4], y[:4], c_values=(1e-4, 1.0))
    assert result["C"] == best and result["cv_accuracy"] == scores


def test_linear_probe_errors():
    with pytest.raises(ValueError, match="at least 2 classes"):
        linear_probe(np.eye(3), np.zeros(3), np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="differ in length"):
        linear_probe(np.eye(3), np.zeros(2), np.eye(3), np.zeros(3))
