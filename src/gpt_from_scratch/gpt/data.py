"""Text in, batches of context windows out: the data pipeline of the character-level GPT.

A text becomes a vocabulary of its characters (makemore's :class:`CharVocab`, without the
word boundary: a text is one long sequence), then one long array of character ids, split
90/10 into a training part and a validation part. A batch is ``batch_size`` windows of
``block_size`` ids cut at random places, with the same windows shifted by one as targets: every
position of a window is a training example (predict the next character from the ones before).

>>> vocab = CharVocab.from_text("hello")
>>> vocab.itos, vocab.encode("hole")
(['e', 'h', 'l', 'o'], [1, 3, 2, 0])
>>> vocab.decode([1, 0, 2, 2, 3])
'hello'
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.makemore.data import CharVocab

__all__ = ["CharVocab", "encode_text", "get_batch", "train_val_split"]


def encode_text(text: str, vocab: CharVocab) -> np.ndarray:
    """The whole text as one int64 array of ids."""
    return np.array(vocab.encode(text), dtype=np.int64)


def train_val_split(ids: np.ndarray, train_fraction: float = 0.9):
    """The first 90% of the ids for training, the last 10% for validation (no
    shuffling: the validation text is a contiguous stretch the model never saw).

    >>> train, val = train_val_split(np.arange(10))
    >>> train.tolist(), val.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7, 8], [9])
    """
    check_fraction(train_fraction)
    n = int(train_fraction * len(ids))
    return ids[:n], ids[n:]


def get_batch(data: np.ndarray, block_size: int, batch_size: int, rng):
    """``batch_size`` random windows of ``block_size`` ids from the generator ``rng``,
    and the same windows one step later.

    >>> rng = np.random.default_rng(0)
    >>> x, y = get_batch(np.arange(100), block_size=4, batch_size=2, rng=rng)
    >>> x.shape, bool((y == x + 1).all())
    ((2, 4), True)
    """
    check_block_fits(data, block_size)
    starts = rng.integers(0, len(data) - block_size, size=batch_size)  # (B,)
    offsets = np.arange(block_size)  # (T,)
    x = data[starts[:, None] + offsets]  # (B, T)
    y = data[starts[:, None] + offsets + 1]  # (B, T)
    return x, y


def check_fraction(train_fraction: float) -> None:
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be between 0 and 1, got {train_fraction}")


def check_block_fits(data: np.ndarray, block_size: int) -> None:
    """A ``ValueError`` unless ``data`` is one sequence that holds a window of ``block_size``
    (an int >= 1) plus a target."""
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise ValueError(f"block_size must be an int >= 1, got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be an int >= 1, got {block_size}")
    if np.ndim(data) != 1:
        raise ValueError(f"the data must be one sequence of ids, got shape {np.shape(data)}")
    if len(data) <= block_size:
        raise ValueError(
            f"the data has {len(data)} tokens, too few for a context of block_size={block_size} "
            "plus one target; use a longer text or a smaller block_size"
        )
