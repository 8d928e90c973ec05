"""Making more words: sample any makemore model one character at a time."""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.makemore.data import BOUNDARY, Vocabulary
from gpt_from_scratch.tensor import no_grad


def next_char_probs(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of ``logits / temperature`` over the last axis, computed stably.

    >>> next_char_probs(np.array([[0.0, np.log(3.0)]])).round(2).tolist()
    [[0.25, 0.75]]
    """
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)  # the largest becomes 0: exp cannot overflow
    weights = np.exp(scaled)
    return weights / weights.sum(axis=-1, keepdims=True)


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``probs`` (B, V), row i drawn with probabilities ``probs[i]``."""
    cumulative = np.cumsum(probs, axis=-1)  # (B, V)
    u = rng.random((len(probs), 1)) * cumulative[:, -1:]  # (B, 1), uniform below each row's total
    return np.minimum((cumulative <= u).sum(axis=-1), probs.shape[-1] - 1)  # (B,)


def sample(
    model,
    vocab: Vocabulary,
    n: int,
    *,
    seed: int,
    max_len: int = 50,
    temperature: float = 1.0,
) -> list[str]:
    """``n`` new words from ``model``, drawn with a numpy generator seeded by ``seed``.

    All ``n`` words grow together: the context starts as ``block_size`` boundaries, the model
    gives the next-character distribution, one character is drawn per word, and a word ends at
    the first boundary it draws (or after ``max_len`` characters). The same model and seed give
    the same words. Runs in eval mode without a graph, and restores the model's mode.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if n == 0:
        return []
    rng = np.random.default_rng(seed)
    end = vocab.stoi[BOUNDARY]
    context = np.full((n, model.block_size), end, dtype=np.int64)  # (n, block_size)
    chars = np.zeros((n, max_len), dtype=np.int64)  # (n, max_len)
    alive = np.ones(n, dtype=bool)  # words that have not drawn their boundary yet
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for t in range(max_len):
                if not alive.any():
                    break
                logits = model(context).numpy()  # (n, V)
                if logits.shape != (n, vocab.size):
                    raise ValueError(
                        f"model gives logits {logits.shape}, expected {(n, vocab.size)}"
                    )
                nxt = draw(next_char_probs(logits, temperature), rng)  # (n,)
                chars[:, t] = np.where(alive, nxt, end)
                alive &= nxt != end
                context = np.concatenate([context[:, 1:], nxt[:, None]], axis=1)
    finally:
        model.train(was_training)
    return [vocab.decode(row[row != end]) for row in chars]
