"""The multilayer perceptron language model of Bengio et al. (2003), at the scale of characters.

Each of the ``block_size`` previous characters is looked up in an embedding table, the vectors
are concatenated, passed through one hidden ``tanh`` layer, and a last linear layer gives the
logits of the next character.
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor import nn


class MLP(nn.Module):
    """Embeddings, then tanh hidden layer, then logits.

    >>> model = MLP(vocab_size=27, block_size=3, n_embd=10, n_hidden=200)
    >>> logits, loss = model(np.zeros((4, 3), dtype=np.int64))
    >>> logits.shape, loss
    ((4, 27), None)
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 3,
        n_embd: int = 10,
        n_hidden: int = 200,
    ):
        super().__init__()
        self.block_size = block_size
        self.C = nn.Embedding(vocab_size, n_embd)
        self.hidden = nn.Linear(block_size * n_embd, n_hidden)
        self.out = nn.Linear(n_hidden, vocab_size)

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        emb = self.C(idx)  # (B, block_size, n_embd)
        B, T, E = emb.shape
        concat = emb.reshape(B, T * E)  # (B, block_size * n_embd): side by side
        h = self.hidden(concat).tanh()  # (B, n_hidden)
        logits = self.out(h)  # (B, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss
