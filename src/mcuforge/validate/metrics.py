"""Accuracy figures from stacked class vectors, with one ranking rule everywhere: a higher
score ranks first and, among equal scores, the lower class index (so the prediction is
the first maximum, as np.argmax gives it, and top-k counts the same ties the same way).
"""

from __future__ import annotations

import numpy as np


def scores(outputs: np.ndarray) -> np.ndarray:
    """(N, K) comparable scores of N stacked class vectors (any dtype, any unit dims)."""
    y = np.asarray(outputs)
    return y.reshape(y.shape[0], -1)


def predictions(outputs: np.ndarray) -> np.ndarray:
    """Predicted class of each image: the first index of the largest score."""
    return scores(outputs).argmax(axis=1)


def ranks(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rank of the true class among the scores (0 = predicted): classes with a higher
    score, plus classes with an equal score and a lower index."""
    s = scores(outputs)
    labels = np.asarray(labels, dtype=np.int64)
    true = s[np.arange(len(labels)), labels][:, None]
    lower = np.arange(s.shape[1])[None, :] < labels[:, None]
    return ((s > true) | ((s == true) & lower)).sum(axis=1)


def top_k(outputs: np.ndarray, labels: np.ndarray, k: int) -> float:
    return float((ranks(outputs, labels) < k).mean())


def accuracy(preds: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(preds) == np.asarray(labels)).mean())


def per_class(preds: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> dict[str, float | None]:
    """Accuracy on each class's images (None for a class without images)."""
    out: dict[str, float | None] = {}
    for c, name in enumerate(classes):
        mine = labels == c
        out[name] = float((preds[mine] == c).mean()) if mine.any() else None
    return out


def confusion(preds: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts: row = true class, column = predicted class."""
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return m


def disagreements(outputs: list[np.ndarray]) -> tuple[int, int]:
    """(images where some backend's output bytes differ from the first backend's, images
    where some backend's prediction differs from the first's)."""
    first = np.ascontiguousarray(outputs[0]).reshape(outputs[0].shape[0], -1)
    n = first.shape[0]
    differ = np.zeros(n, dtype=bool)
    pred_differ = np.zeros(n, dtype=bool)
    p0 = predictions(first)
    for other in outputs[1:]:
        o = np.ascontiguousarray(other).reshape(n, -1)
        if o.dtype != first.dtype or o.shape != first.shape:
            differ[:] = True
        else:  # compare bytes (a float NaN equals itself here, as the bytes do)
            differ |= (o.view(np.uint8).reshape(n, -1) != first.view(np.uint8).reshape(n, -1)).any(axis=1)
        pred_differ |= predictions(o) != p0
    return int(differ.sum()), int(pred_differ.sum())
