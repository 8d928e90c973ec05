"""Bag-of-words makemore: each position sees the mean of its context, then an MLP.

The simplest way for positions to talk to each other: every position's vector (its
character's embedding plus its position's) is joined by the mean of its own and every
earlier position's vector. This causal average is a Transformer's attention with every
score equal. An MLP then works on each position alone, and the logits of the next
character are read at the context's last position, as in makemore's bag of words::

    x_t = wte[c_t] + wpe[t]
    x_t = x_t + (x_1 + ... + x_t) / t               the causal average
    x_t = x_t + tanh(x_t W_fc + b_fc) W_proj + b_proj
    logits = x_T W_out + b_out

>>> model = BoW(vocab_size=27, block_size=16, n_embd=64, n_embd2=64)
>>> logits, loss = model(np.zeros((4, 16), dtype=np.int64))
>>> logits.shape, loss, model.num_parameters()
((4, 27), None, 12827)
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.makemore.data import check_contexts
from gpt_from_scratch.tensor import Tensor, nn
from gpt_from_scratch.tensor import functional as F


def causal_average(x: Tensor) -> Tensor:
    """(B, T, C) -> (B, T, C): position t holds the mean of positions 1 to t of ``x``.

    >>> causal_average(Tensor(np.array([[[1.0], [3.0], [8.0]]]))).tolist()
    [[[1.0], [2.0], [4.0]]]
    """
    T = x.shape[1]
    past = np.tril(np.ones((T, T), dtype=x.dtype))  # (T, T): row t is 1 up to column t
    weights = past / past.sum(axis=1, keepdims=True)  # (T, T): row t averages 1..t
    return weights @ x  # (B, T, C)


class BoW(nn.Module):
    """Token and position embeddings, the causal average, a tanh MLP, logits at the
    last position."""

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 16,
        n_embd: int = 64,
        n_embd2: int = 64,
    ):
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.c_fc = nn.Linear(n_embd, n_embd2)
        self.c_proj = nn.Linear(n_embd2, n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        check_contexts(idx, self.block_size)
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(np.arange(T))  # (B, T, n_embd): what, and where
        x = x + causal_average(x)  # (B, T, n_embd)
        x = x[:, -1, :]  # (B, n_embd): the last position, the only one the MLP must see
        x = x + self.c_proj(self.c_fc(x).tanh())  # (B, n_embd)
        logits = self.lm_head(x)  # (B, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss
