"""The figures from hand-computed cases: first index on ties for predictions and top-k,
confusion rows = true class, byte and prediction disagreements."""

from __future__ import annotations

import numpy as np

from mcuforge.validate import metrics


def test_ties_go_to_the_first_index_everywhere():
    y = np.array([[3, 7, 7, 1], [5, 5, 5, 5], [0, 0, 9, 9]], np.int8)
    assert metrics.predictions(y).tolist() == [1, 0, 2]
    # ranks of the true class: row 0 class 2 ties with class 1 (lower index ranks first)
    assert metrics.ranks(y, np.array([2, 3, 2])).tolist() == [1, 3, 0]
    assert metrics.top_k(y, np.array([2, 3, 2]), 1) == 1 / 3
    assert metrics.top_k(y, np.array([2, 3, 2]), 2) == 2 / 3
    assert metrics.top_k(y, np.array([2, 3, 2]), 4) == 1.0


def test_unit_dimensions_are_flattened():
    y = np.array([[[[1, 9, 2]]], [[[8, 0, 0]]]], np.int8)  # (2, 1, 1, 3)
    assert metrics.predictions(y).tolist() == [1, 0]


def test_accuracy_per_class_and_confusion():
    labels = np.array([0, 0, 1, 1, 1, 2])
    preds = np.array([0, 1, 1, 1, 0, 0])
    assert metrics.accuracy(preds, labels) == 3 / 6
    assert metrics.per_class(preds, labels, ("a", "b", "c", "d")) == {"a": 0.5, "b": 2 / 3, "c": 0.0, "d": None}
    assert metrics.confusion(preds, labels, 3).tolist() == [[1, 1, 0], [1, 2, 0], [1, 0, 0]]


def test_disagreements_count_bytes_and_predictions():
    a = np.array([[1, 2, 3], [4, 5, 6], [9, 0, 0]], np.int8)
    b = a.copy()
    assert metrics.disagreements([a, b]) == (0, 0)
    b[0, 0] = 0  # a byte differs, the prediction does not
    c = a.copy()
    c[2] = [0, 9, 0]  # another image, another prediction
    assert metrics.disagreements([a, b, c]) == (2, 1)
    f = np.array([[0.0, -0.0]], np.float32)  # equal as numbers, not as bytes
    assert metrics.disagreements([f, np.array([[0.0, 0.0]], np.float32)]) == (1, 0)
