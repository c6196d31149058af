"""Seeded stratified splitting (mcuforge.data.splits) on label arrays alone."""

from __future__ import annotations

import numpy as np
import pytest

from mcuforge.data.splits import cut, cut_quotas, largest_remainder, split_flat, split_val
from mcuforge.errors import DataError, InputError

CLASSES = ("a", "b", "c")


def test_largest_remainder_exact_counts_and_ties():
    assert largest_remainder(np.array([5, 3, 2]), 3).tolist() == [1, 1, 1]  # 1.5, .9, .6: the two largest remainders
    assert largest_remainder(np.array([10, 10, 1]), 7).tolist() == [4, 3, 0]  # equal remainders: lowest class first
    assert largest_remainder(np.array([6000] * 10), 5000).tolist() == [500] * 10
    q = largest_remainder(np.array([7, 13, 29, 51]), 17)
    assert q.sum() == 17 and q.tolist() == [1, 2, 5, 9]  # 1.19, 2.21, 4.93, 8.67


def test_default_quota_gives_each_class_one_where_it_can():
    counts = np.array([50, 2, 1])
    # 10% of 53 rounds to 5, all to class a by proportion; b can spare one, c cannot.
    assert cut_quotas(counts, CLASSES, 5, 1, False, "validation", "x").tolist() == [5, 1, 0]


def test_explicit_quota_names_the_class_that_cannot_give_its_share():
    with pytest.raises(DataError, match="class 'a' has only 1 image in src, too few to give 1 to the validation split"):
        cut_quotas(np.array([1, 1, 8]), CLASSES, 5, 1, True, "validation", "src")
    with pytest.raises(DataError, match="validation split of 10 images leaves no training images of the 10 in src"):
        cut_quotas(np.array([5, 5]), CLASSES[:2], 10, 1, True, "validation", "src")


def labels_of(counts):
    rng = np.random.default_rng(1)
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def test_cut_is_stratified_disjoint_and_sorted():
    labels = labels_of([40, 25, 15])
    kept, taken = cut(labels, np.array([4, 3, 1]), 0)
    assert np.bincount(labels[taken], minlength=3).tolist() == [4, 3, 1]
    assert np.intersect1d(kept, taken).size == 0 and kept.size + taken.size == labels.size
    assert np.all(np.diff(kept) > 0) and np.all(np.diff(taken) > 0)


def test_split_depends_only_on_labels_and_seed():
    labels = labels_of([40, 25, 15])
    state = np.random.get_state()
    np.random.seed(1)
    a = split_val(labels, CLASSES, None, 3, "x")
    np.random.seed(2)
    b = split_val(labels, CLASSES, None, 3, "x")
    c = split_val(labels, CLASSES, None, 4, "x")
    np.random.set_state(state)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    np.random.seed(7)
    before = np.random.random()
    np.random.seed(7)
    split_val(labels, CLASSES, None, 3, "x")
    assert np.random.random() == before  # the global generator is never drawn from
    np.random.set_state(state)


def test_split_val_default_is_ten_percent_stratified():
    labels = labels_of([40, 25, 15])  # 10% of 80 = 8: 4, 2.5, 1.5 -> 4, 3, 1 (ties to the lower class)
    train, val = split_val(labels, CLASSES, None, 0, "x")
    assert np.bincount(labels[val]).tolist() == [4, 3, 1]
    assert np.bincount(labels[train]).tolist() == [36, 22, 14]
    _, val = split_val(labels, CLASSES, 20, 0, "x")
    assert np.bincount(labels[val]).tolist() == [10, 6, 4]  # 10, 6.25, 3.75
    _, val = split_val(labels, CLASSES, None, 0, "x", default=40)
    assert np.bincount(labels[val]).tolist() == [20, 13, 7]  # 20, 12.5, 7.5


def test_split_flat_is_80_10_10_with_every_class_everywhere():
    labels = labels_of([50, 30, 3])
    train, val, test = split_flat(labels, CLASSES, None, 0, "x")
    assert np.bincount(labels[test]).tolist() == [5, 3, 1]  # 10% of 83 = 8: 4.82, 2.89, .29 -> 5, 3, 0, then c gets 1
    assert np.bincount(labels[val]).tolist() == [5, 3, 1]
    assert np.bincount(labels[train]).tolist() == [40, 24, 1]
    assert np.union1d(np.union1d(train, val), test).size == labels.size
    _, val2, test2 = split_flat(labels, CLASSES, 12, 0, "x")
    assert np.array_equal(test, test2)  # the test split does not depend on val_size
    assert val2.size == 12


def test_split_flat_names_a_class_too_small_to_split():
    with pytest.raises(DataError, match="class 'b' has only 2 images in src"):
        split_flat(labels_of([10, 2, 10]), CLASSES, None, 0, "src")


def test_bad_seed():
    from mcuforge.data import load_dataset

    with pytest.raises(InputError, match="split_seed must be a non-negative integer"):
        load_dataset("npz:/nonexistent.npz", split_seed=-1)
