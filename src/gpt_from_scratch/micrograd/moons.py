"""Two interleaving half circles ("two moons"): a small data set no line can separate.

>>> X, y = make_moons(6, noise=0.0, seed=0)
>>> X.shape, sorted(set(y.tolist()))
((6, 2), [-1.0, 1.0])
"""

import numpy as np


def make_moons(n, noise=0.1, seed=0):
    """`n` points in 2-D, half on each moon, labelled -1 (upper moon) and +1 (lower).

    The upper moon is the top half of the unit circle; the lower moon is the same arc
    flipped and shifted by (1, 0.5), so the two hook into each other. Gaussian noise of
    standard deviation `noise` is added to every coordinate. Returns X (n, 2), y (n,).
    """
    _check_points(n)
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    angle_upper = np.linspace(0.0, np.pi, n_upper)  # (n_upper,)
    angle_lower = np.linspace(0.0, np.pi, n_lower)  # (n_lower,)
    upper = np.stack([np.cos(angle_upper), np.sin(angle_upper)], axis=1)  # (n_upper, 2)
    lower = np.stack([1.0 - np.cos(angle_lower), 0.5 - np.sin(angle_lower)], axis=1)
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))  # (n, 2)
    y = np.concatenate([-np.ones(n_upper), np.ones(n_lower)])  # (n,)
    order = rng.permutation(n)  # shuffle, so the classes are interleaved in the data
    return X[order], y[order]


def _check_points(n):
    """Refuse fewer than two points: each moon needs one."""
    if n < 2:
        raise ValueError(f"make_moons needs n >= 2 points, got n={n}")
