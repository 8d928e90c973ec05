"""The GPT's data pipeline refuses sizes and data it cannot cut batches from."""

import numpy as np
import pytest

from gpt_from_scratch.gpt import get_batch


@pytest.mark.parametrize(
    ("data", "block_size", "message"),
    [
        (np.arange(100), 0, "block_size must be an int >= 1, got 0"),
        (np.arange(100), -3, "block_size must be an int >= 1, got -3"),
        (np.arange(100), 2.5, "block_size must be an int >= 1, got 2.5"),
        (np.arange(100), True, "block_size must be an int >= 1, got True"),
        (np.arange(100).reshape(10, 10), 4, r"one sequence of ids, got shape \(10, 10\)"),
        (np.arange(8), 8, "the data has 8 tokens, too few for a context of block_size=8"),
    ],
)
def test_get_batch_refuses_what_it_cannot_cut(data, block_size, message):
    with pytest.raises(ValueError, match=message):
        get_batch(data, block_size, 2, np.random.default_rng(0))


def test_a_numpy_integer_block_size_is_fine():
    x, y = get_batch(np.arange(100), np.int64(4), 3, np.random.default_rng(0))
    assert x.shape == y.shape == (3, 4)
