"""The two-moons data set: shape, labels, balance, determinism and the moons' geometry."""

import numpy as np
import pytest

from gpt_from_scratch.micrograd.moons import make_moons


def test_shapes_labels_and_balance():
    X, y = make_moons(101, noise=0.1, seed=0)
    assert X.shape == (101, 2)
    assert y.shape == (101,)
    assert set(y.tolist()) == {-1.0, 1.0}
    assert (y == -1).sum() == 50


def test_same_seed_same_points():
    first, second = make_moons(20, seed=3), make_moons(20, seed=3)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_noiseless_moons_lie_on_their_arcs():
    X, y = make_moons(40, noise=0.0, seed=0)
    upper, lower = X[y == -1], X[y == 1]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert (upper[:, 1] >= 0).all() and (lower[:, 1] <= 0.5).all()


def test_too_few_points_is_an_error():
    with pytest.raises(ValueError, match="n >= 2"):
        make_moons(1)
