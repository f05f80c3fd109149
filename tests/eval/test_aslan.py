"""ASLAN: the 12 measures against a loop-based reference, the SVM pipeline, the standard error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vssl.eval.aslan import (
    MEASURE_NAMES,
    aslan_measures,
    leave_one_split_out,
    pair_vector_names,
    pair_vectors,
    standard_error,
    summarize_folds,
)

EPS = 1e-10


def _reference_measures(x1, x2, eps=EPS):
    """Direct, element-by-element transcription of the 12 formulas (inputs already non-negative)."""
    d = len(x1)
    s = lambda f: sum(f(x1[i], x2[i]) for i in range(d))  # noqa: E731
    dot = s(lambda a, b: a * b)
    n1 = math.sqrt(s(lambda a, b: a * a))
    n2 = math.sqrt(s(lambda a, b: b * b))
    return [
        dot,
        math.sqrt(dot),
        math.sqrt(s(lambda a, b: math.sqrt(a) * math.sqrt(b))),
        math.sqrt(s(lambda a, b: a * b / (a + b + eps))),
        dot / (n1 * n2 + eps),
        math.sqrt(s(lambda a, b: (a - b) ** 2 / (a + b + eps))),
        s(lambda a, b: abs(a - b)),
        math.sqrt(s(lambda a, b: (math.sqrt(a) - math.sqrt(b)) ** 2)),
        math.sqrt(s(lambda a, b: (a - b) ** 2)),
        s(lambda a, b: (a - b) * (math.log(a + eps) - math.log(b + eps))),
        s(lambda a, b: math.sqrt(max(a, b)) / math.sqrt(a + b + eps)),
        s(lambda a, b: min(a, b)) / (sum(x1) * sum(x2) + eps),
    ]


def _unit_nonneg(rng, n, d):
    x = np.abs(rng.normal(size=(n, d)))
    x[:, :2] = 0.0  # zero entries exercise the epsilon paths
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_twelve_measures_match_loop_reference():
    rng = np.random.default_rng(0)
    x1, x2 = _unit_nonneg(rng, 5, 7), _unit_nonneg(rng, 5, 7)
    got = aslan_measures(x1, x2)
    assert got.shape == (5, 12) and len(MEASURE_NAMES) == 12
    for p in range(5):
        np.testing.assert_allclose(got[p], _reference_measures(list(x1[p]), list(x2[p])), rtol=1e-9, atol=1e-12)


def test_identical_vectors_have_zero_distances():
    x = _unit_nonneg(np.random.default_rng(1), 3, 6)
    m = aslan_measures(x, x)
    distance_columns = [MEASURE_NAMES.index(n) for n in ("chi2", "l1", "hellinger", "euclidean", "symmetric_kl")]
    np.testing.assert_allclose(m[:, distance_columns], 0.0, atol=1e-12)
    np.testing.assert_allclose(m[:, MEASURE_NAMES.index("cosine")], 1.0, atol=1e-9)


def test_negative_features_follow_one_rule_for_all_measures():
    rng = np.random.default_rng(2)
    x1, x2 = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    relu = aslan_measures(x1, x2, nonneg="relu")
    absolute = aslan_measures(x1, x2, nonneg="abs")
    assert np.isfinite(relu).all() and np.isfinite(absolute).all()
    np.testing.assert_allclose(relu, aslan_measures(np.maximum(x1, 0), np.maximum(x2, 0)))
    np.testing.assert_allclose(absolute, aslan_measures(np.abs(x1), np.abs(x2)))
    for p in range(4):
        np.testing.assert_allclose(
            relu[p], _reference_measures(list(np.maximum(x1[p], 0)), list(np.maximum(x2[p], 0))), rtol=1e-9, atol=1e-12
        )
    with pytest.raises(ValueError, match="non-negativity rule"):
        aslan_measures(x1, x2, nonneg="shift")


def test_all_zero_pair_is_finite():
    z = np.zeros((1, 4))
    m = aslan_measures(z, z)
    assert np.isfinite(m).all()
    np.testing.assert_array_equal(m, 0.0)


def test_pair_vectors_concatenate_layers_in_order():
    rng = np.random.default_rng(3)
    feats = {layer: _unit_nonneg(rng, 6, 5 + i) for i, layer in enumerate(("pool3", "pool4", "pool5"))}
    i1, i2 = np.array([0, 1, 2]), np.array([3, 4, 5])
    v = pair_vectors(feats, i1, i2)
    assert v.shape == (3, 36)
    np.testing.assert_allclose(v[:, 12:24], aslan_measures(feats["pool4"][i1], feats["pool4"][i2]))
    assert pair_vector_names()[12] == "pool4/dot" and len(pair_vector_names()) == 36
    with pytest.raises(KeyError, match="pool9"):
        pair_vectors(feats, i1, i2, layers=("pool9",))


def test_standard_error_formula():
    values = [60.0, 62.0, 64.0, 66.0, 68.0, 61.0, 63.0, 65.0, 67.0, 69.0]
    mean = sum(values) / 10
    sigma = math.sqrt(sum((v - mean) ** 2 for v in values) / 9)
    assert standard_error(values) == pytest.approx(sigma / math.sqrt(10))
    assert standard_error([70.0]) == 0.0


def test_svm_pipeline_separable_pairs_near_perfect():
    rng = np.random.default_rng(4)
    n_splits, per_split = 10, 40
    splits = np.repeat(np.arange(1, n_splits + 1), per_split)
    same = np.tile(np.r_[np.ones(per_split // 2), np.zeros(per_split // 2)], n_splits).astype(int)
    x = rng.normal(size=(len(same), 36)) * 5.0 + 100.0  # large offset/scale: the scaler must handle it
    x[:, 7] += np.where(same == 1, 30.0, -30.0)  # one separating dimension
    folds, decision = leave_one_split_out(x, same, splits, seed=0)
    assert list(folds["split"]) == list(range(1, 11))
    assert (folds["n_test"] == per_split).all() and (folds["n_train"] == per_split * 9).all()
    summary = summarize_folds(folds, same, decision)
    assert summary["accuracy_mean"] >= 99.0
    assert summary["auc_mean"] >= 0.99 and summary["auc_pooled"] >= 0.99
    assert np.isfinite(decision).all()


def test_svm_pipeline_random_labels_near_chance():
    rng = np.random.default_rng(5)
    splits = np.repeat(np.arange(10), 60)
    same = rng.integers(0, 2, size=600)
    x = rng.normal(size=(600, 36))
    folds, decision = leave_one_split_out(x, same, splits, svm="svc", seed=0)
    summary = summarize_folds(folds, same, decision)
    assert 35.0 < summary["accuracy_mean"] < 65.0
    assert summary["accuracy_se"] == pytest.approx(folds["accuracy"].std(ddof=1) / math.sqrt(10))


def test_scaler_sees_training_folds_only():
    # Each fold's decision values must equal those of a scaler + SVM fit by hand
    # on the other splits alone; the held-out split is shifted far away so a
    # scaler that had seen it would give different numbers.
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(6)
    splits = np.repeat([0, 1, 2], 20)
    same = np.tile(np.r_[np.ones(10), np.zeros(10)], 3).astype(int)
    x = rng.normal(size=(60, 3))
    x[:, 0] += np.where(same == 1, 3.0, -3.0)
    x[splits == 2] += 50.0
    _, decision = leave_one_split_out(x, same, splits, C=0.5, seed=3)
    for held_out in (0, 1, 2):
        train, test = splits != held_out, splits == held_out
        scaler = StandardScaler().fit(x[train])
        svm = LinearSVC(C=0.5, dual="auto", max_iter=100_000, random_state=3).fit(
            scaler.transform(x[train]), same[train]
        )
        np.testing.assert_allclose(
            decision[test], svm.decision_function(scaler.transform(x[test])), rtol=1e-6, atol=1e-8
        )


def test_pipeline_input_errors():
    with pytest.raises(ValueError, match="length mismatch"):
        leave_one_split_out(np.zeros((4, 2)), np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least 2 splits"):
        leave_one_split_out(np.zeros((4, 2)), np.array([0, 1, 0, 1]), np.zeros(4))
    x = np.zeros((4, 2))
    x[1, 1] = np.inf
    with pytest.raises(ValueError, match="pair vector 1"):
        leave_one_split_out(x, np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]))
