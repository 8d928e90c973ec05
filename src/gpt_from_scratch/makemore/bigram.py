"""The bigram model two ways: a table of counts, and a one-layer network trained to the same table.

Both predict the next character from the current one alone (``block_size = 1``), and both are
``nn.Module``s returning logits, so the shared training loop, evaluation and sampler work on them.

>>> from gpt_from_scratch.makemore.data import Vocabulary
>>> vocab = Vocabulary.from_words(["ab"])
>>> count_bigrams(["ab"], vocab).tolist()  # .a ab b.
[[0, 1, 0], [0, 0, 1], [1, 0, 0]]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gpt_from_scratch.makemore.data import Vocabulary, build_examples
from gpt_from_scratch.tensor import Tensor, nn, rng
from gpt_from_scratch.tensor import functional as F


def count_bigrams(words: Iterable[str], vocab: Vocabulary) -> np.ndarray:
    """``counts[i, j]``: how often character j follows character i (boundaries too)."""
    X, Y = build_examples(words, vocab, block_size=1)  # (N, 1), (N,)
    counts = np.zeros((vocab.size, vocab.size), dtype=np.int64)  # (V, V)
    np.add.at(counts, (X[:, 0], Y), 1)  # repeated pairs add up
    return counts


def bigram_probs(counts: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    """Each row of ``counts + smoothing`` divided by its sum: P(next = j | current = i).

    >>> bigram_probs(np.array([[3, 1], [0, 2]]), smoothing=1).tolist()
    [[0.6666666666666666, 0.3333333333333333], [0.25, 0.75]]
    """
    smoothed = counts + smoothing  # (V, V)
    totals = smoothed.sum(axis=1, keepdims=True)  # (V, 1)
    if (totals == 0).any():
        rows = np.flatnonzero(totals[:, 0] == 0).tolist()
        raise ValueError(f"rows {rows} have no counts: smooth them (smoothing > 0)")
    return smoothed / totals


def mean_nll(probs: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """The mean negative log-likelihood of targets ``Y`` after the last character of X.

    >>> P = np.array([[0.5, 0.5], [0.9, 0.1]])
    >>> mean_nll(P, np.array([[0], [1]]), np.array([1, 0]))
    0.399...
    """
    return float(-np.log(probs[X[:, -1], Y]).mean())


class CountBigram(nn.Module):
    """The counting model as a module: its logits are the table's log-probabilities."""

    block_size = 1

    def __init__(self, probs: np.ndarray):
        super().__init__()
        with np.errstate(divide="ignore"):  # log 0 = -inf: never drawn
            self.log_probs = np.log(probs).astype(np.float32)  # (V, V)

    @classmethod
    def from_words(cls, words: Iterable[str], vocab: Vocabulary, smoothing: float = 1):
        return cls(bigram_probs(count_bigrams(words, vocab), smoothing))

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        logits = Tensor(self.log_probs[np.asarray(idx)[:, -1]])  # (B, V)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def one_hot(ids: np.ndarray, size: int) -> np.ndarray:
    """Row k is all zeros but a one at column ``ids[k]``: (B,) -> (B, size) float32."""
    encoded = np.zeros((len(ids), size), dtype=np.float32)
    encoded[np.arange(len(ids)), ids] = 1.0
    return encoded


class NeuralBigram(nn.Module):
    """One linear layer without bias on the one-hot current character:
    logits = onehot(x) @ W.

    Multiplying a one-hot row by ``W`` picks a row of ``W``, so the layer is computed
    as that lookup, without the multiplications by zero. ``exp(W)`` plays the part of
    the count table: row i of ``softmax(W)`` is P(next | i).
    """

    block_size = 1

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        W = rng().standard_normal((vocab_size, vocab_size))  # (V, V)
        self.W = Tensor(W, requires_grad=True)

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        logits = self.W[np.asarray(idx)[:, -1]]  # (B, V), = one_hot(idx[:, -1]) @ W
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    def probs(self) -> np.ndarray:
        """The learned table, softmax of each row of W: like :func:`bigram_probs`."""
        W = self.W.data.astype(np.float64)
        weights = np.exp(W - W.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)


def counts_nll(W: Tensor, counts: np.ndarray) -> Tensor:
    """The mean NLL of every bigram of the data, read off the counts, one term per
    cell instead of one per example: -sum_ij N_ij log softmax(W)_ij / sum_ij N_ij."""
    log_probs = F.log_softmax(W, axis=1)  # (V, V)
    return -(log_probs * Tensor(counts.astype(np.float32))).sum() / float(counts.sum())


def fit_bigram(
    counts: np.ndarray, regularization: float = 0.0, steps: int = 300, lr: float = 50.0
) -> np.ndarray:
    """Full-batch gradient descent from W = 0 on
    ``counts_nll + regularization * mean(W**2)``; returns the learned softmax(W)."""
    W = Tensor(np.zeros(counts.shape, dtype=np.float32), requires_grad=True)  # (V, V)
    for _ in range(steps):
        loss = counts_nll(W, counts) + regularization * (W * W).mean()
        W.grad = None
        loss.backward()
        W.data -= lr * W.grad
    return F.softmax(W, axis=1).data.astype(np.float64)
